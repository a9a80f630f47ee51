"""Helpers shared by the plotting modules: headless figures, image cells and
the checks of the arrays they draw."""

import math
import numbers

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_sparse_ae import _validation


def new_figure(width, height):
    """A `Figure` of `width` x `height` inches on the Agg canvas.

    Constrained layout, no pyplot: the figure is never registered with
    pyplot's global state, so it is freed with its last reference.
    """
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def image_shape(n_features):
    """`(side, side)` if `n_features` is a perfect square, else `None`.

    Example:

    >>> image_shape(784), image_shape(10)
    ((28, 28), None)
    """
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


def show_image(ax, vector, shape, cmap="gray", symmetric=False):
    """Draws one sample on `ax` without ticks.

    A flat vector is reshaped to `shape`; with `shape=None` it is shown as a
    one-row strip. A 2-D array is shown as it is. With `symmetric=True` the
    colour scale runs from `-max|v|` to `max|v|`, so the middle of a
    diverging colour map means 0.
    """
    ax.set_xticks([])
    ax.set_yticks([])
    vector = np.asarray(vector)
    limits = {}
    if symmetric:
        bound = float(np.abs(vector).max()) or 1.0
        limits = {"vmin": -bound, "vmax": bound}
    if vector.ndim == 2:
        ax.imshow(vector, cmap=cmap, **limits)
    elif shape is None:
        ax.imshow(vector[None, :], aspect="auto", cmap=cmap, **limits)
    else:
        ax.imshow(vector.reshape(shape), cmap=cmap, **limits)


def as_array(name, value, ndims, expected):
    """`value` as a float NumPy array with `ndim` in `ndims` and >= 1 row.

    Raises a Keras-style `TypeError` when `value` is not numeric and a
    `ValueError` when its shape does not fit.
    """
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise _validation.invalid_type(name, expected, value) from None
    if array.ndim not in ndims or array.shape[0] == 0 or 0 in array.shape:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected {expected}. "
            f"Received: {name} of shape {array.shape}"
        )
    return array


def as_matrix(name, value):
    """`value` as a non-empty (samples, features) float array."""
    return as_array(name, value, (2,), "a non-empty 2-D array (samples, features)")


def as_labels(name, value, n_samples):
    """`value` as a 1-D array of `n_samples` labels (ints, strings...)."""
    labels = np.asarray(value)
    if labels.ndim != 1 or len(labels) != n_samples:
        raise ValueError(
            f"Invalid value for argument `{name}`. Expected one label per "
            f"sample, a 1-D array of length {n_samples}. Received: {name} of "
            f"shape {labels.shape}"
        )
    return labels


def check_seed(value):
    """A seed: an integer >= 0, or `None`."""
    if value is None:
        return None
    return _validation.check_int("seed", value, low=0)


def check_name_map(name, value, expected, allow_empty=False):
    """A mapping (dict) with string keys, non-empty unless `allow_empty`;
    returns it as a dict."""
    if not hasattr(value, "items"):
        raise _validation.invalid_type(name, expected, value)
    value = dict(value)
    empty = not value and not allow_empty
    if empty or not all(isinstance(key, str) for key in value):
        raise _validation.invalid_value(name, expected, value)
    return value


def is_number(value):
    """Whether `value` is a real number (bools excluded)."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def python_scalar(value):
    """A NumPy scalar as the Python value (`np.int64(3)` -> `3`)."""
    return value.item() if isinstance(value, np.generic) else value
