"""`build_linear`: the linear autoencoder, which learns PCA's subspace."""

from keras_sparse_ae import _validation
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)


def build_linear(
    input_dim=784,
    code_size=30,
    *,
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds the linear autoencoder of lesson 001.

    `x_hat = (x W_e + b_e) W_d + b_d` trained with MSE. Its optimum spans
    the same subspace as the first `code_size` principal components (the
    code is a linear map of them, not necessarily the components
    themselves), which makes it the bridge between PCA and autoencoders.

    Args:
        input_dim: int >= 1, number of input features.
        code_size: int >= 1, width of the linear code.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder`.

    Example:

    >>> model = build_linear(input_dim=16, code_size=3, seed=0)
    >>> [layer.activation.__name__ for layer in model.encoder.layers]
    ['linear']
    """
    input_dim, seed = check_common(input_dim, "linear", "mse", seed)
    code_size = _validation.check_int("code_size", code_size)
    model = mirrored_autoencoder(
        input_dim,
        (code_size,),
        activation="linear",
        output_activation="linear",
        reconstruction="mse",
        seed=seed,
        name="linear",
    )
    return compile_autoencoder(model, optimizer, learning_rate)
