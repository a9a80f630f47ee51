"""NumPy (float64) reference of the variational autoencoder (lesson 001).

Forward pass, Gaussian KL term and the loss terms `build_vae` models report,
written from the formulas (Kingma and Welling, 2014; lesson 001's
`latent_loss`), for the parity tests of `GaussianSampling` and
`VariationalAutoencoder`.
"""

import numpy as np

from keras_sparse_ae.reference import losses
from keras_sparse_ae.reference.forward import dense

RECONSTRUCTIONS = {
    "bce": losses.bce,
    "mse": losses.mse,
    "l2": losses.l2_loss_per_input,
}


def _f64(x):
    return np.asarray(x, dtype=np.float64)


def sample(z_mean, z_log_var, eps=None):
    """`z_mean + exp(0.5 * z_log_var) * eps`, or `z_mean` if `eps` is None."""
    if eps is None:
        return _f64(z_mean)
    return _f64(z_mean) + np.exp(0.5 * _f64(z_log_var)) * _f64(eps)


def vae_forward(
    x, encoder_weights, head_weights, decoder_weights, activation, eps=None
):
    """Forward pass of a dense VAE.

    Args:
        x: (batch, input_dim) array.
        encoder_weights: list of `(kernel, bias)`, the hidden encoder layers,
            each followed by `activation`.
        head_weights: `((mean_kernel, mean_bias), (log_var_kernel,
            log_var_bias))`, the two linear heads.
        decoder_weights: list of `(kernel, bias)`, the hidden decoder layers
            (with `activation`) and last the output layer (sigmoid).
        activation: name of the hidden activation (see
            `keras_sparse_ae.reference.forward.ACTIVATIONS`).
        eps: (batch, code_size) standard-normal noise, or `None` for
            inference (`z = z_mean`).

    Returns:
        `(z_mean, z_log_var, z, x_hat)`, float64 arrays.
    """
    h = _f64(x)
    for kernel, bias in encoder_weights:
        h = dense(h, kernel, bias, activation)
    (mean_kernel, mean_bias), (log_var_kernel, log_var_bias) = head_weights
    z_mean = dense(h, mean_kernel, mean_bias)
    z_log_var = dense(h, log_var_kernel, log_var_bias)
    z = sample(z_mean, z_log_var, eps)
    h = z
    for index, (kernel, bias) in enumerate(decoder_weights):
        last = index == len(decoder_weights) - 1
        h = dense(h, kernel, bias, "sigmoid" if last else activation)
    return z_mean, z_log_var, z, h


def gaussian_kl(z_mean, z_log_var):
    """`KL(N(mean, exp(log_var)) || N(0, I))` per sample, averaged over the batch.

    Per sample: `-0.5 * sum_j (1 + log_var_j - mean_j**2 - exp(log_var_j))`
    (lesson 001's `latent_loss`, there summed over the batch).
    """
    z_mean, z_log_var = _f64(z_mean), _f64(z_log_var)
    per_sample = -0.5 * np.sum(1.0 + z_log_var - z_mean**2 - np.exp(z_log_var), axis=-1)
    return float(np.mean(per_sample))


def vae_loss(
    x,
    encoder_weights,
    head_weights,
    decoder_weights,
    activation,
    *,
    beta=1.0,
    reconstruction="bce",
    eps=None,
):
    """The terms a `build_vae` model reports, from the NumPy forward pass.

    `reconstruction` is the mean over batch and features; `latent_kl` is
    `beta / input_dim * gaussian_kl` (absent when `beta == 0`, as the model
    then does not report it); `loss` is their sum.

    Returns:
        dict with `"reconstruction"`, `"latent_kl"` and `"loss"` (floats).
    """
    x = _f64(x)
    z_mean, z_log_var, _, x_hat = vae_forward(
        x, encoder_weights, head_weights, decoder_weights, activation, eps
    )
    terms = {"reconstruction": RECONSTRUCTIONS[reconstruction](x, x_hat)}
    if beta > 0:
        terms["latent_kl"] = beta / x.shape[1] * gaussian_kl(z_mean, z_log_var)
    terms["loss"] = sum(terms.values())
    return terms
