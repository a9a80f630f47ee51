"""`build_stacked`: lesson 001's stacked autoencoder (ELU, He, L2)."""

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)


def build_stacked(
    input_dim=784,
    hidden=(300, 150),
    *,
    activation="elu",
    l2=5e-5,
    reconstruction="mse",
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds lesson 001's stacked autoencoder.

    784-300-150-300-784 by default, ELU units with He initialisation and an
    L2 penalty `l2 * sum(W**2)` on every kernel (lesson 001 uses
    TensorFlow's `l2_regularizer(1e-4)`, i.e. `1e-4 * sum(W**2) / 2`, which
    is Keras' `L2(5e-5)`: the default). The output is a sigmoid, for inputs
    in [0, 1].

    Args:
        input_dim: int >= 1, number of input features.
        hidden: tuple of ints >= 1, encoder sizes; the last is the code.
        activation: activation of the hidden layers.
        l2: float >= 0, weight of the L2 kernel penalty (0 disables it).
        reconstruction: `"mse"`, `"l2"` or `"bce"`.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder`.

    Example:

    >>> model = build_stacked(input_dim=16, hidden=(8, 4), seed=0)
    >>> len(model.losses)  # one L2 penalty per kernel
    4
    """
    input_dim, seed = check_common(input_dim, activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    l2 = _validation.check_weight("l2", l2)
    model = mirrored_autoencoder(
        input_dim,
        hidden,
        activation=activation,
        kernel_initializer="he_normal",
        kernel_regularizer=keras.regularizers.L2(l2) if l2 > 0 else None,
        reconstruction=reconstruction,
        seed=seed,
        name="stacked",
    )
    return compile_autoencoder(model, optimizer, learning_rate)
