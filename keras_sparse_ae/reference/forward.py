"""NumPy (float64) reference forward passes."""

import numpy as np

from keras_sparse_ae.reference import losses

ACTIVATIONS = {
    "sigmoid": losses.sigmoid,
    "relu": losses.relu,
    "linear": lambda z: np.asarray(z, dtype=np.float64),
    "tanh": lambda z: np.tanh(np.asarray(z, dtype=np.float64)),
    "elu": lambda z: np.where(np.asarray(z) > 0, z, np.expm1(np.minimum(z, 0))),
}


def dense(x, kernel, bias, activation="linear"):
    """`activation(x @ kernel + bias)`, as `keras.layers.Dense` computes it."""
    z = np.asarray(x, np.float64) @ np.asarray(kernel, np.float64)
    return ACTIVATIONS[activation](z + np.asarray(bias, np.float64))


def dense_stack(x, weights, activations):
    """Runs `x` through a stack of dense layers.

    Args:
        x: (batch, features) array.
        weights: list of `(kernel, bias)` pairs, one per layer.
        activations: one activation name per layer (see `ACTIVATIONS`).

    Returns:
        The list of every layer's output, the last one being the stack's.
    """
    outputs = []
    for (kernel, bias), activation in zip(weights, activations):
        x = dense(x, kernel, bias, activation)
        outputs.append(x)
    return outputs


def l1_autoencoder(x, we, be, wd, bd, beta=0.05):
    """Lesson 004's sparse autoencoder: forward pass and loss.

    `e(x) = relu(x We + be)`, `x_out = sigmoid(e(x) Wd + bd)` and

        loss = mean_ij (x_ij - x_out_ij)**2 + beta * mean_ic e(x)_ic

    Returns:
        `(x_out, loss)`.
    """
    code = dense(x, we, be, "relu")
    x_out = dense(code, wd, bd, "sigmoid")
    loss = losses.mse(x, x_out) + losses.activity_penalty(code, "l1", beta, "mean")
    return x_out, loss
