"""Argument checks shared by layers, models, loaders and CLIs.

Every check raises a `ValueError` or `TypeError` worded the way Keras words
its own argument errors:

    Invalid value for argument `sparsity`. Expected a float in (0, 1).
    Received: sparsity=1.5

so that a bad argument is reported before any work starts, naming the
argument, what was expected and what was received.
"""

import math
import numbers


def invalid_value(name, expected, value):
    """Returns the Keras-style `ValueError` for argument `name`."""
    return ValueError(
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={value!r}"
    )


def invalid_type(name, expected, value):
    """Returns the Keras-style `TypeError` for argument `name`."""
    return TypeError(
        f"Invalid type for argument `{name}`. Expected {expected}. "
        f"Received: {name}={value!r} of type {type(value).__name__}"
    )


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_float(
    name, value, low=None, high=None, *, low_open=False, high_open=False, expected=None
):
    """Checks that `value` is a finite real number within the given bounds.

    Args:
        name: argument name, used in the message.
        value: the value received.
        low, high: bounds, or `None` for unbounded.
        low_open, high_open: whether the bound itself is excluded.
        expected: wording of the expectation; built from the bounds if
            `None`.

    Returns:
        `value` as a Python float.
    """
    if expected is None:
        expected = "a float" + _interval_text(low, high, low_open, high_open)
    if not _is_real(value):
        raise invalid_type(name, expected, value)
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise invalid_value(name, expected, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise invalid_value(name, expected, value)
    if high is not None and (value > high or (high_open and value == high)):
        raise invalid_value(name, expected, value)
    return value


def _interval_text(low, high, low_open, high_open):
    if low is None and high is None:
        return ""
    if high is None:
        return f" {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f" {'<' if high_open else '<='} {high:g}"
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f" in {left}{low:g}, {high:g}{right}"


def check_weight(name, value):
    """Checks a penalty weight: a finite float >= 0 (0 disables the term)."""
    return check_float(name, value, low=0.0, expected="a finite float >= 0")


def check_int(name, value, low=1):
    """Checks that `value` is an integer >= `low` (bools are rejected)."""
    expected = f"an integer >= {low}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid_type(name, expected, value)
    if value < low:
        raise invalid_value(name, expected, value)
    return int(value)


def check_choice(name, value, choices):
    """Checks that `value` is one of `choices` (strings, case-sensitive)."""
    expected = "one of " + ", ".join(repr(c) for c in choices)
    if not isinstance(value, str):
        raise invalid_type(name, expected, value)
    if value not in choices:
        raise invalid_value(name, expected, value)
    return value


def check_sizes(name, value):
    """Checks a tuple of layer sizes: a non-empty sequence of integers >= 1."""
    expected = "a non-empty tuple of integers >= 1"
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise invalid_type(name, expected, value)
    sizes = tuple(value)
    if not sizes:
        raise invalid_value(name, expected, value)
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral):
            raise invalid_type(name, expected, value)
        if size < 1:
            raise invalid_value(name, expected, value)
    return tuple(int(s) for s in sizes)
