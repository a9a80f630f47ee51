"""NumPy (float64) reference losses of the dense zoo models.

Each function takes the data `x` and the model's dense weights as a list of
`(kernel, bias)` pairs from the input to the output, and returns a dict of
the terms the Keras model reports (`reconstruction`, each penalty under its
metric name, and `loss`, their sum), in inference mode (no noise).
"""

import numpy as np

from keras_sparse_ae.reference import losses
from keras_sparse_ae.reference.forward import dense_stack

_RECONSTRUCTIONS = {
    "mse": losses.mse,
    "l2": losses.l2_loss_per_input,
    "bce": losses.bce,
}


def l2_weight_penalty(weights, l2):
    """`l2 * sum over kernels of sum(W**2)`: Keras' `L2(l2)` on each kernel."""
    return float(l2 * sum(np.sum(np.asarray(w, np.float64) ** 2) for w, _ in weights))


def _total(terms):
    terms["loss"] = float(sum(terms.values()))
    return terms


def mirrored_activations(n_layers, activation, output_activation="sigmoid"):
    """Activations of a mirrored stack with `n_layers` dense layers."""
    return [activation] * (n_layers - 1) + [output_activation]


def plain_loss(x, weights, activation="sigmoid", reconstruction="mse", l2=0.0):
    """Plain / stacked / denoising autoencoder: reconstruction (+ L2 weights).

    With `l2 > 0` the weight penalty is reported as `"l2_weights"` (the
    model's `weight_penalty`).
    """
    outputs = dense_stack(x, weights, mirrored_activations(len(weights), activation))
    terms = {"reconstruction": _RECONSTRUCTIONS[reconstruction](x, outputs[-1])}
    if l2 > 0:
        terms["l2_weights"] = l2_weight_penalty(weights, l2)
    return _total(terms)


def linear_loss(x, weights):
    """Linear autoencoder: `mse(x, (x W_e + b_e) W_d + b_d)`."""
    outputs = dense_stack(x, weights, ["linear", "linear"])
    return _total({"reconstruction": losses.mse(x, outputs[-1])})


def kl_sae_loss(
    x, weights, target, weight, l2=0.0, activation="sigmoid", reconstruction="mse"
):
    """KL-sparse autoencoder: reconstruction, KL per encoder layer, L2 weights.

    The encoder layers are the first half of the hidden layers; their KL
    terms are reported as `h1_kl`, `h2_kl`, ...
    """
    outputs = dense_stack(x, weights, mirrored_activations(len(weights), activation))
    hidden = outputs[:-1]
    n_encoder = (len(hidden) + 1) // 2
    terms = {"reconstruction": _RECONSTRUCTIONS[reconstruction](x, outputs[-1])}
    for index, h in enumerate(hidden[:n_encoder]):
        terms[f"h{index + 1}_kl"] = losses.kl_sparsity_penalty(h, target, weight)
    if l2 > 0:
        terms["l2_weights"] = l2_weight_penalty(weights, l2)
    return _total(terms)


def l1_sae_loss(x, weights, beta):
    """Lesson 004's loss: `mse + beta * mean(relu code)` as `code_l1`."""
    (we, be), (wd, bd) = weights
    code = losses.relu(np.asarray(x, np.float64) @ we + be)
    x_hat = losses.sigmoid(code @ wd + bd)
    terms = {
        "reconstruction": losses.mse(x, x_hat),
        "code_l1": losses.activity_penalty(code, "l1", beta),
    }
    return _total(terms)


def l2_sae_loss(x, weights, activity_weight, kernel_weight=0.0):
    """Lesson 002's loss, per sample: reconstruction, `code_l2`, L2 on `W_1`.

    `h = relu(x W_1 + b_1)`, `x_hat = sigmoid(h W_2 + b_2)`;
    `code_l2 = activity_weight * mean_i sum_c h_ic**2` (the squared code
    summed over the units, averaged over the samples) and, with
    `kernel_weight > 0`, `"l2_weights" = kernel_weight * sum(W_1**2)` (the
    encoder's kernel only).
    """
    (w1, b1), (w2, b2) = weights
    code = losses.relu(np.asarray(x, np.float64) @ w1 + b1)
    x_hat = losses.sigmoid(code @ w2 + b2)
    terms = {"reconstruction": losses.mse(x, x_hat)}
    if activity_weight > 0:
        terms["code_l2"] = float(activity_weight * np.mean(np.sum(code**2, axis=1)))
    if kernel_weight > 0:
        terms["l2_weights"] = l2_weight_penalty([(w1, b1)], kernel_weight)
    return _total(terms)
