"""Figures of a trained autoencoder (matplotlib, headless).

Every function returns a `matplotlib.figure.Figure`; save it with
`keras_sparse_ae.io.save_figure` (atomic) or `figure.savefig`. Figures are
made with the object-oriented API on the Agg canvas, so they work without a
display and never touch pyplot's global state.
"""

import math

import keras
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _new_figure(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def image_shape(n_features):
    """`(side, side)` if `n_features` is a perfect square, else `None`."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else None


def _show(ax, vector, shape, cmap="gray"):
    ax.set_xticks([])
    ax.set_yticks([])
    if shape is None:
        ax.imshow(vector[None, :], aspect="auto", cmap=cmap)
    else:
        ax.imshow(vector.reshape(shape), cmap=cmap)


def plot_reconstructions(x, x_hat, n=10):
    """Inputs (top row) above their reconstructions (bottom row).

    Args:
        x: (samples, features) inputs.
        x_hat: reconstructions of the same shape.
        n: how many samples to show (the first `n`).
    """
    x, x_hat = np.asarray(x), np.asarray(x_hat)
    n = min(n, len(x))
    shape = image_shape(x.shape[1])
    figure = _new_figure(1.2 * n, 2.6)
    axes = figure.subplots(2, n, squeeze=False)
    for i in range(n):
        _show(axes[0, i], x[i], shape)
        _show(axes[1, i], x_hat[i], shape)
    axes[0, 0].set_ylabel("input")
    axes[1, 0].set_ylabel("output")
    figure.suptitle("Held-out digits and their reconstructions")
    return figure


def first_dense_kernel(model):
    """The kernel (features, units) of the encoder's first Dense layer."""
    for layer in model.encoder.layers:
        if isinstance(layer, keras.layers.Dense):
            return keras.ops.convert_to_numpy(layer.kernel)
    raise ValueError(
        "Invalid value for argument `model`. Expected an autoencoder whose "
        "encoder has a Dense layer. Received: a model without one"
    )


def plot_filters(model, n=64):
    """The first hidden layer's weights, one image per unit.

    Each unit's incoming weights are shown as an image of the input (a
    28x28 digit for MNIST), scaled per unit to its own range.
    """
    kernel = first_dense_kernel(model)
    n = min(n, kernel.shape[1])
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    shape = image_shape(kernel.shape[0])
    figure = _new_figure(1.2 * cols, 1.2 * rows + 0.5)
    axes = figure.subplots(rows, cols, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for j in range(n):
        _show(axes.flat[j], kernel[:, j], shape, cmap="RdBu_r")
    figure.suptitle(f"First-layer filters ({n} of {kernel.shape[1]} units)")
    return figure


def plot_activation_histograms(activations, targets=None, bins=50):
    """Histogram of each hidden layer's activations.

    Args:
        activations: dict `{layer name: (samples, units) array}` (see
            `keras_sparse_ae.metrics.hidden_activations`).
        targets: optional dict `{layer name: target mean activity}`, drawn
            as a vertical line beside the measured mean.
        bins: number of histogram bins.
    """
    names = list(activations)
    figure = _new_figure(3.2 * len(names), 2.8)
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        values = np.asarray(activations[name]).ravel()
        ax.hist(values, bins=bins, color="tab:blue")
        ax.axvline(values.mean(), color="black", linestyle="-", label="mean")
        if targets and name in targets:
            ax.axvline(targets[name], color="tab:red", linestyle="--", label="target")
        ax.set_title(name)
        ax.set_xlabel("activation")
        ax.set_yscale("log")
    axes[0].set_ylabel("count")
    axes[0].legend()
    figure.suptitle("Hidden activations on held-out data")
    return figure
