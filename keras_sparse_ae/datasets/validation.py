"""`check_data`: turns user input into the float32 matrix the models train on."""

import os

import numpy as np

from keras_sparse_ae import _validation

_EXPECTED_2D = "a 2-D array of finite numbers"
_EXPECTED_NUMERIC = "a numeric array (integer or float dtype)"


class _Described:
    """Stands in for a large value in a message: its `repr` is `text`."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text


def _describe(array, *, dtype=False):
    """Short description of an array for an error message."""
    text = f"array of shape {array.shape}"
    if dtype:
        text += f" and dtype {array.dtype}"
    return _Described(text)


def _type_error(name, expected, description):
    """Keras-style `TypeError` naming a described (not repr'ed) value."""
    return TypeError(
        f"Invalid type for argument `{name}`. Expected {expected}. "
        f"Received: {name}={description}"
    )


def _with_hint(error, hint):
    """Returns a new exception of the same type with `hint` appended."""
    return type(error)(f"{error}. {hint}")


def _check_bool(name, value):
    """Checks that `value` is a Python or NumPy bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise _validation.invalid_type(name, "a boolean", value)
    return bool(value)


def _check_path(name, value):
    """Checks that `value` is a `str` or `os.PathLike`; returns a `str`."""
    expected = "a file path (str or os.PathLike)"
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if not isinstance(value, str):
        raise _validation.invalid_type(name, expected, value)
    if not value:
        raise _validation.invalid_value(name, expected, value)
    return value


def _to_numpy(X, name):
    """Converts arrays, nested lists and pandas-like objects to NumPy."""
    if hasattr(X, "to_numpy") and not isinstance(X, np.ndarray):
        X = X.to_numpy()
    if isinstance(X, (str, bytes)):
        raise _validation.invalid_type(name, _EXPECTED_NUMERIC, X)
    try:
        return np.asarray(X)
    except (ValueError, TypeError) as err:
        # Ragged nested lists: NumPy refuses to build a rectangular array.
        raise _validation.invalid_value(
            name,
            _EXPECTED_2D,
            _Described(f"{type(X).__name__} that is not rectangular ({err})"),
        ) from None


def _nonfinite_error(name, flat, original_shape):
    """ValueError saying how many values are NaN/inf and where the first is."""
    bad = ~np.isfinite(flat)
    n_nan = int(np.count_nonzero(np.isnan(flat)))
    n_inf = int(np.count_nonzero(bad)) - n_nan
    row, col = (int(i) for i in np.argwhere(bad)[0])
    first = flat[row, col]
    where = f"row {row}, column {col}"
    if len(original_shape) > 2:
        index = np.unravel_index(row * flat.shape[1] + col, original_shape)
        where += f" (index {tuple(int(i) for i in index)} before flattening)"
    total = n_nan + n_inf
    noun = "value" if total == 1 else "values"
    return _validation.invalid_value(
        name,
        _EXPECTED_2D,
        _Described(
            f"array of shape {original_shape} with {total} non-finite {noun} "
            f"({n_nan} NaN, {n_inf} inf); the first is {first} at {where}"
        ),
    )


def _looks_like_pixels(array):
    """Whether an integer array holds 8-bit pixel values (0..255, max > 1)."""
    if array.dtype == np.uint8:
        return True
    low, high = array.min(), array.max()
    return bool(low >= 0 and high <= 255 and high > 1)


def check_data(
    X,
    *,
    name="X",
    input_dim=None,
    allow_uint8=True,
    require_unit_interval=False,
):
    """Validates a data matrix and returns it as C-contiguous float32.

    Every model and loader of the library passes its data through this
    function, so that a bad array is reported before any training starts,
    with a Keras-style message naming the argument, what was expected and
    what was received. Arrays of 3 or more dimensions (images such as
    `(n, 28, 28)` or `(n, 28, 28, 1)`) are flattened to `(n, features)`.

    8-bit pixel data is scaled to [0, 1] explicitly: a `uint8` array, or an
    integer array whose values all lie in 0..255 with a maximum above 1, is
    divided by 255. Other integer arrays (for example 0/1 binary data) and
    float arrays are only cast to float32: float data outside [0, 1] is
    accepted (the library also trains on standardised data) unless
    `require_unit_interval=True`.

    Args:
        X: array-like of numbers: a NumPy array, a nested list, or a
            pandas-like object with a `to_numpy()` method. 2-D
            `(samples, features)`, or 3-D and more (flattened per sample).
        name: name of the argument, used in error messages.
        input_dim: optional integer; if given, the number of features
            (columns, after flattening) that `X` must have.
        allow_uint8: whether 8-bit pixel data may be scaled by 1/255. If
            `False`, such data raises a `ValueError` instead.
        require_unit_interval: if `True`, values outside [0, 1] (after the
            8-bit scaling) raise a `ValueError`. Use it for models with a
            sigmoid output and binary cross-entropy loss.

    Returns:
        A C-contiguous float32 NumPy array of shape `(samples, features)`.
        When `X` already is such an array it is returned as is (no copy).

    Raises:
        TypeError: if `X` is not numeric (strings, objects, booleans,
            complex numbers, dates), or if an argument has the wrong type.
        ValueError: if `X` is 0-D or 1-D, has no rows or no columns,
            contains NaN or inf, has a width other than `input_dim`, holds
            8-bit pixel data while `allow_uint8=False`, or has values
            outside [0, 1] while `require_unit_interval=True`.

    Example:

    >>> import numpy as np
    >>> images = np.full((2, 28, 28), 255, dtype="uint8")
    >>> X = check_data(images, input_dim=784)
    >>> X.shape, X.dtype, float(X.max())
    ((2, 784), dtype('float32'), 1.0)
    """
    if not isinstance(name, str):
        raise _validation.invalid_type("name", "a string", name)
    if input_dim is not None:
        input_dim = _validation.check_int("input_dim", input_dim, low=1)
    allow_uint8 = _check_bool("allow_uint8", allow_uint8)
    require_unit_interval = _check_bool("require_unit_interval", require_unit_interval)

    array = _to_numpy(X, name)
    kind = array.dtype.kind
    if kind not in "iuf":
        # b: bool, c: complex, O: object, U/S: strings, M/m: dates, V: void.
        hint = {
            "b": "Convert booleans explicitly, e.g. X.astype('float32').",
            "O": "Object arrays (mixed or missing values) are not accepted.",
            "U": "Strings are not accepted; parse them into numbers first.",
            "S": "Strings are not accepted; parse them into numbers first.",
        }.get(kind, "")
        error = _type_error(name, _EXPECTED_NUMERIC, _describe(array, dtype=True))
        raise _with_hint(error, hint) if hint else error

    if array.ndim < 2:
        error = _validation.invalid_value(name, _EXPECTED_2D, _describe(array))
        if array.ndim == 1:
            error = _with_hint(
                error,
                f"Reshape it with {name}.reshape(-1, 1) for a single feature "
                f"or {name}.reshape(1, -1) for a single sample.",
            )
        raise error
    original_shape = array.shape
    if array.ndim > 2:
        array = array.reshape(array.shape[0], int(np.prod(array.shape[1:])))
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise _validation.invalid_value(
            name,
            "a non-empty 2-D array (at least one row and one column)",
            _Described(f"empty array of shape {original_shape}"),
        )
    if input_dim is not None and array.shape[1] != input_dim:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected {name} with "
            f"{input_dim} features (columns). Received: {name} with "
            f"{array.shape[1]} features (shape {original_shape})"
        )

    if kind == "f":
        if not np.isfinite(array).all():
            raise _nonfinite_error(name, array, original_shape)
        with np.errstate(over="ignore"):
            result = np.ascontiguousarray(array, dtype=np.float32)
        if array.dtype.itemsize > 4 and not np.isfinite(result).all():
            too_big = int(np.count_nonzero(~np.isfinite(result)))
            raise _validation.invalid_value(
                name,
                "values that fit in float32 (|x| <= 3.4e38)",
                _Described(
                    f"array with {too_big} values too large for float32 "
                    f"(max |x| = {np.abs(array).max():g})"
                ),
            )
    elif _looks_like_pixels(array):
        if not allow_uint8:
            raise _validation.invalid_value(
                name,
                "float data (allow_uint8=False)",
                _Described(
                    f"8-bit pixel data of dtype {array.dtype} with values in "
                    f"[{array.min()}, {array.max()}]; divide it by 255 or "
                    "pass allow_uint8=True"
                ),
            )
        result = np.ascontiguousarray(array, dtype=np.float32) / np.float32(255)
    else:
        result = np.ascontiguousarray(array, dtype=np.float32)

    if require_unit_interval:
        low, high = float(result.min()), float(result.max())
        if low < 0.0 or high > 1.0:
            hint = (
                "divide by 255 if these are 8-bit pixel values"
                if low >= 0.0 and high <= 255.0
                else "rescale it, e.g. (X - X.min()) / (X.max() - X.min())"
            )
            raise _validation.invalid_value(
                name,
                "values in [0, 1] (require_unit_interval=True)",
                _Described(f"values with min={low:g} and max={high:g}; {hint}"),
            )
    return result


__all__ = ["check_data"]
