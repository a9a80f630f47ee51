"""Figures of images: inputs and reconstructions, filters, VAE samples."""

import math

import keras
import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.plotting._figure import (
    as_array,
    as_matrix,
    check_seed,
    image_shape,
    new_figure,
    show_image,
)


def plot_reconstructions(
    x, x_hat, n=10, title="Held-out digits and their reconstructions"
):
    """Inputs (top row) above their reconstructions (bottom row).

    Square inputs (784 features) are drawn as images (28x28), others as
    one-row strips.

    Args:
        x: (samples, features) inputs.
        x_hat: reconstructions of the same shape.
        n: int >= 1, how many samples to show (the first `n`, at most all).
        title: the figure's title.

    Returns:
        A `matplotlib.figure.Figure` with 2 rows of `min(n, samples)` axes.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((5, 16))
    >>> figure = plot_reconstructions(x, 1 - x, n=3)
    >>> len(figure.axes)
    6
    """
    x = as_matrix("x", x)
    x_hat = as_matrix("x_hat", x_hat)
    if x_hat.shape != x.shape:
        raise ValueError(
            "Invalid value for argument `x_hat`. Expected the shape of `x`, "
            f"{x.shape}. Received: x_hat of shape {x_hat.shape}"
        )
    n = min(_validation.check_int("n", n), len(x))
    shape = image_shape(x.shape[1])
    figure = new_figure(1.2 * n, 2.6)
    axes = figure.subplots(2, n, squeeze=False)
    for i in range(n):
        show_image(axes[0, i], x[i], shape)
        show_image(axes[1, i], x_hat[i], shape)
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    figure.suptitle(title)
    return figure


def first_dense_kernel(model):
    """The kernel (features, units) of the encoder's first Dense layer.

    Args:
        model: an autoencoder with an `encoder` (any zoo model).

    Returns:
        The kernel as a NumPy array.
    """
    for layer in getattr(getattr(model, "encoder", None), "layers", ()):
        if isinstance(layer, keras.layers.Dense):
            return keras.ops.convert_to_numpy(layer.kernel)
    raise ValueError(
        "Invalid value for argument `model`. Expected an autoencoder whose "
        "encoder has a Dense layer. Received: a model without one"
    )


def plot_filters(model, n=64):
    """The first hidden layer's weights, one image per unit.

    Each unit's incoming weights are shown as an image of the input (a
    28x28 digit for MNIST) on a diverging colour map, 8 per row: red
    positive, blue negative, white zero, each unit on its own symmetric
    scale `[-max|w|, max|w|]`.

    Args:
        model: an autoencoder whose encoder starts with a Dense layer.
        n: int >= 1, how many units to show (the first `n`, at most all).

    Returns:
        A `matplotlib.figure.Figure`.
    """
    n = _validation.check_int("n", n)
    kernel = first_dense_kernel(model)
    n = min(n, kernel.shape[1])
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    shape = image_shape(kernel.shape[0])
    figure = new_figure(1.2 * cols, 1.2 * rows + 0.5)
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for j in range(n):
        show_image(axes.flat[j], kernel[:, j], shape, cmap="RdBu_r", symmetric=True)
    figure.suptitle(f"First-layer filters ({n} of {kernel.shape[1]} units)")
    return figure


def plot_images(images, n_cols=10, title=None, row_labels=None):
    """A grid of images, `n_cols` to a row.

    Args:
        images: (samples, features) vectors (square `features` are drawn as
            images, others as strips) or (samples, height, width) images.
        n_cols: int >= 1, images per row (fewer if there are fewer images).
        title: optional title of the figure.
        row_labels: optional sequence of one label per row, written left of
            the row.

    Returns:
        A `matplotlib.figure.Figure` with `rows * cols` axes; cells past the
        last image are blank.

    Example:

    >>> import numpy as np
    >>> images = np.random.default_rng(0).random((12, 64))
    >>> figure = plot_images(images, n_cols=5, row_labels=["a", "b", "c"])
    >>> len(figure.axes), figure.axes[5].get_ylabel()
    (15, 'b')
    """
    images = as_array(
        "images",
        images,
        (2, 3),
        "a non-empty array of shape (samples, features) or (samples, height, width)",
    )
    n_cols = min(_validation.check_int("n_cols", n_cols), len(images))
    rows = math.ceil(len(images) / n_cols)
    if row_labels is not None:
        row_labels = list(row_labels)
        if len(row_labels) != rows:
            raise ValueError(
                "Invalid value for argument `row_labels`. Expected one label "
                f"per row ({rows} rows of {n_cols} images). Received: "
                f"row_labels={row_labels!r}"
            )
    shape = image_shape(images.shape[1]) if images.ndim == 2 else None
    figure = new_figure(1.1 * n_cols + (0.4 if row_labels else 0), 1.1 * rows + 0.4)
    axes = figure.subplots(rows, n_cols, squeeze=False)
    for index, ax in enumerate(axes.flat):
        if index < len(images):
            show_image(ax, images[index], shape)
        else:
            ax.axis("off")
    for row, label in enumerate(row_labels or ()):
        axes[row, 0].set_ylabel(str(label))
    if title is not None:
        figure.suptitle(title)
    return figure


def _check_vae(vae, method):
    if not callable(getattr(vae, method, None)):
        raise _validation.invalid_type(
            "vae",
            f"a variational autoencoder with a `{method}` method (see "
            "`keras_sparse_ae.build_vae`)",
            vae,
        )


def plot_generation_grid(vae, n=8, seed=None):
    """An n x n grid of samples decoded from codes drawn from the prior.

    The codes `z ~ N(0, I)` come from `vae.generate(n * n, seed=seed)`;
    a decoder that learned the data maps them to plausible digits.

    Args:
        vae: a `keras_sparse_ae.VariationalAutoencoder`.
        n: int >= 1, the grid's side.
        seed: int >= 0 or `None`, seeds the codes (same seed, same grid).

    Returns:
        A `matplotlib.figure.Figure` with n x n axes, row by row in the
        order of `generate`'s samples.
    """
    _check_vae(vae, "generate")
    n = _validation.check_int("n", n)
    seed = check_seed(seed)
    samples = np.asarray(vae.generate(n * n, seed=seed))
    shape = image_shape(samples.shape[1])
    figure = new_figure(0.9 * n, 0.9 * n + 0.4)
    axes = figure.subplots(n, n, squeeze=False)
    for ax, sample in zip(axes.flat, samples):
        show_image(ax, sample, shape)
    figure.suptitle(f"{n * n} samples decoded from z ~ N(0, I)")
    return figure


def plot_interpolation(vae, x_a, x_b, steps=8):
    """Decoded straight paths between the mean codes of pairs of samples.

    For each pair, `vae.interpolate(a, b, steps)` decodes
    `z(t) = (1 - t) * mu(a) + t * mu(b)` at `steps` evenly spaced `t` in
    [0, 1]: one strip per pair, from `a` (left) to `b` (right).

    Args:
        vae: a `keras_sparse_ae.VariationalAutoencoder`.
        x_a, x_b: one sample each, shape (features,), or several pairs,
            shape (pairs, features); `x_b` has the shape of `x_a`.
        steps: int >= 2, points per path, both ends included.

    Returns:
        A `matplotlib.figure.Figure` with `pairs` rows of `steps` axes.
    """
    _check_vae(vae, "interpolate")
    expected = "one sample (features,) or pairs (pairs, features)"
    x_a = as_array("x_a", x_a, (1, 2), expected)
    x_b = as_array("x_b", x_b, (1, 2), expected)
    if x_b.shape != x_a.shape:
        raise ValueError(
            "Invalid value for argument `x_b`. Expected the shape of `x_a`, "
            f"{x_a.shape}. Received: x_b of shape {x_b.shape}"
        )
    steps = _validation.check_int("steps", steps, low=2)
    x_a, x_b = np.atleast_2d(x_a), np.atleast_2d(x_b)
    paths = [
        np.asarray(vae.interpolate(a.astype("float32"), b.astype("float32"), steps))
        for a, b in zip(x_a, x_b)
    ]
    shape = image_shape(paths[0].shape[1])
    figure = new_figure(0.9 * steps, 0.9 * len(paths) + 0.6)
    axes = figure.subplots(len(paths), steps, squeeze=False)
    for row, path in zip(axes, paths):
        for ax, sample in zip(row, path):
            show_image(ax, sample, shape)
    for ax, t in zip(axes[0], np.linspace(0.0, 1.0, steps)):
        ax.set_title(f"t={t:.2f}", fontsize="small")
    figure.suptitle("Decoded straight paths between mean codes")
    return figure
