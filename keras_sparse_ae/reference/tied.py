"""NumPy (float64) reference of the tied-weights autoencoder (lesson 001)."""

import numpy as np

from keras_sparse_ae.reference import losses
from keras_sparse_ae.reference.forward import ACTIVATIONS

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _selu(z):
    z = np.asarray(z, np.float64)
    return _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0)))


_ACTIVATIONS = {**ACTIVATIONS, "selu": _selu}

_RECONSTRUCTIONS = {
    "mse": losses.mse,
    "l2": losses.l2_loss_per_input,
    "bce": losses.bce,
}


def _dense(x, kernel, bias, activation):
    z = np.asarray(x, np.float64) @ np.asarray(kernel, np.float64)
    return _ACTIVATIONS[activation](z + np.asarray(bias, np.float64))


def tied_forward(x, kernels, biases, activation="elu", output_activation="sigmoid"):
    """Every layer's output of a tied autoencoder, the reconstruction last.

    With encoder kernels `W_1 .. W_k` and biases `b_1 .. b_2k`:

        h_i     = activation(h_{i-1} @ W_i + b_i)               i = 1..k
        h_{k+j} = activation(h_{k+j-1} @ W_{k-j+1}.T + b_{k+j})  j = 1..k-1
        x_hat   = output_activation(h_{2k-1} @ W_1.T + b_2k)

    (lesson 001: `weights3 = tf.transpose(weights2)`,
    `weights4 = tf.transpose(weights1)`).

    Args:
        x: (batch, features) array.
        kernels: the `k` encoder kernels, `W_i` of shape `(n_{i-1}, n_i)`.
        biases: the `2k` biases of the layers from input to output.
        activation: activation of the hidden layers (`"elu"`, `"selu"`,
            `"relu"`, `"sigmoid"`, `"tanh"` or `"linear"`).
        output_activation: activation of the reconstruction layer.

    Returns:
        The list of the `2k` layer outputs, `x_hat` last.

    Example:

    >>> import numpy as np
    >>> w = np.eye(3)
    >>> outputs = tied_forward(np.ones((1, 3)), [w], [np.zeros(3), np.zeros(3)],
    ...                        activation="linear", output_activation="linear")
    >>> outputs[-1].tolist()
    [[1.0, 1.0, 1.0]]
    """
    kernels = [np.asarray(w, np.float64) for w in kernels]
    if len(biases) != 2 * len(kernels):
        raise ValueError(
            f"Expected {2 * len(kernels)} biases for {len(kernels)} kernels. "
            f"Received: {len(biases)} biases"
        )
    weights = list(kernels) + [w.T for w in reversed(kernels)]
    activations = [activation] * (len(weights) - 1) + [output_activation]
    outputs = []
    h = x
    for kernel, bias, act in zip(weights, biases, activations):
        h = _dense(h, kernel, bias, act)
        outputs.append(h)
    return outputs


def tied_loss(
    x,
    kernels,
    biases,
    activation="elu",
    output_activation="sigmoid",
    reconstruction="mse",
    l2=0.0,
):
    """The terms `build_tied`'s model reports, in inference mode.

    `reconstruction` is the error of `tied_forward`'s output against `x`;
    with `l2 > 0`, `l2_weights = l2 * sum_i sum(W_i**2)` counts each tied
    kernel once; `loss` is their sum.

    Args:
        x: (batch, features) array.
        kernels, biases, activation, output_activation: see `tied_forward`.
        reconstruction: `"mse"`, `"l2"` or `"bce"`.
        l2: weight of the L2 kernel penalty.

    Returns:
        A dict with `"reconstruction"`, `"loss"` and, if `l2 > 0`,
        `"l2_weights"`.

    Example:

    >>> import numpy as np
    >>> terms = tied_loss(np.zeros((2, 3)), [np.eye(3)], [np.zeros(3)] * 2,
    ...                   output_activation="linear", l2=0.5)
    >>> terms
    {'reconstruction': 0.0, 'l2_weights': 1.5, 'loss': 1.5}
    """
    x_hat = tied_forward(x, kernels, biases, activation, output_activation)[-1]
    terms = {"reconstruction": _RECONSTRUCTIONS[reconstruction](x, x_hat)}
    if l2 > 0:
        terms["l2_weights"] = float(
            l2 * sum(np.sum(np.asarray(w, np.float64) ** 2) for w in kernels)
        )
    terms["loss"] = float(sum(terms.values()))
    return terms
