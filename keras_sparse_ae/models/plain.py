"""`build_plain`: the unregularised autoencoder every comparison uses."""

from keras_sparse_ae import _validation
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)


def build_plain(
    input_dim=784,
    hidden=(300, 30),
    *,
    activation="sigmoid",
    reconstruction="mse",
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds a plain (unregularised) dense autoencoder of any shape.

    A mirrored stack `input_dim - hidden... - input_dim` with a sigmoid
    output and no penalty: the baseline of lessons 002 and 003 (whose plain
    model is 784-300-30-300-784 with sigmoid units, the default here).

    Args:
        input_dim: int >= 1, number of input features.
        hidden: tuple of ints >= 1, encoder sizes; the last is the code.
        activation: activation of the hidden layers.
        reconstruction: `"mse"`, `"l2"` or `"bce"`.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder`.

    Example:

    >>> model = build_plain(input_dim=16, hidden=(8, 2), seed=0)
    >>> model.encoder.output_shape
    (None, 2)
    """
    input_dim, seed = check_common(input_dim, activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    model = mirrored_autoencoder(
        input_dim,
        hidden,
        activation=activation,
        reconstruction=reconstruction,
        seed=seed,
        name="plain",
    )
    return compile_autoencoder(model, optimizer, learning_rate)
