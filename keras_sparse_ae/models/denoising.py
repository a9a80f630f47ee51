"""`build_denoising`: lesson 001's denoising autoencoder."""

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.seeded_noise import Dropout, GaussianNoise
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)

NOISES = ("gaussian", "dropout")


def build_denoising(
    input_dim=784,
    hidden=(300, 150),
    *,
    noise="gaussian",
    noise_level=None,
    activation="elu",
    reconstruction="mse",
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds lesson 001's denoising autoencoder.

    The input is corrupted while training only, then the model reconstructs
    the clean input: `noise="gaussian"` adds `N(0, noise_level**2)` noise
    (`keras.layers.GaussianNoise`), `noise="dropout"` zeroes a share
    `noise_level` of the inputs (`keras.layers.Dropout`). `predict`,
    `evaluate` and `encode` see the clean input. Both noise layers are
    subclasses that save their random state, so a reloaded model goes on
    drawing the noise the original would have drawn.

    Args:
        input_dim: int >= 1, number of input features.
        hidden: tuple of ints >= 1, encoder sizes; the last is the code.
        noise: `"gaussian"` or `"dropout"`.
        noise_level: the noise's standard deviation (gaussian, default 0.1)
            or drop rate in [0, 1) (dropout, default 0.3: lesson 001's
            `keep_prob=0.7`).
        activation: activation of the hidden layers.
        reconstruction: `"mse"`, `"l2"` or `"bce"`.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers and the noise.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder`.

    Example:

    >>> model = build_denoising(input_dim=16, hidden=(8,), noise="dropout", seed=0)
    >>> model.encoder.layers[0].rate
    0.3
    """
    input_dim, seed = check_common(input_dim, activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    _validation.check_choice("noise", noise, NOISES)
    if noise == "gaussian":
        level = 0.1 if noise_level is None else noise_level
        level = _validation.check_float("noise_level", level, 0.0)
        corrupt = GaussianNoise(level, seed=seed, name="noise")
    else:
        level = 0.3 if noise_level is None else noise_level
        level = _validation.check_float("noise_level", level, 0.0, 1.0, high_open=True)
        corrupt = Dropout(level, seed=seed, name="noise")
    model = mirrored_autoencoder(
        input_dim,
        hidden,
        activation=activation,
        kernel_initializer="he_normal",
        input_layers=[corrupt],
        reconstruction=reconstruction,
        seed=seed,
        name="denoising",
    )
    return compile_autoencoder(model, optimizer, learning_rate)
