"""`build_l1_sae`: lesson 004's L1-sparse autoencoder."""

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.activity_regularizer import ActivityRegularizer
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)


def build_l1_sae(
    input_dim=784,
    code_size=50,
    *,
    beta=0.05,
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds lesson 004's L1-sparse autoencoder.

    `e(x) = relu(x W_e + b_e)`, `x_hat = sigmoid(e(x) W_d + b_d)` and

        loss = mean_ij (x_ij - x_hat_ij)**2 + beta * mean_ic e(x)_ic

    the penalty coming from an `ActivityRegularizer(kind="l1")` on the code
    (ReLU codes are non-negative, so no absolute value or square is needed).
    `model.fit(X)` takes the data only. The weights are, in order,
    `[W_e, b_e, W_d, b_d]`, so `model.set_weights(...)` takes the lesson's
    arrays and `evaluate` / `predict` give its worked example.

    Args:
        input_dim: int >= 1, number of input features.
        code_size: int >= 1, width of the code.
        beta: float >= 0, weight of the L1 activity penalty.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder`; `History` shows `code_l1`.

    Example:

    >>> model = build_l1_sae(input_dim=4, code_size=3, beta=0.05, seed=0)
    >>> [w.shape for w in model.get_weights()]
    [(4, 3), (3,), (3, 4), (4,)]
    """
    input_dim, seed = check_common(input_dim, "relu", "mse", seed)
    code_size = _validation.check_int("code_size", code_size)
    beta = _validation.check_weight("beta", beta)
    model = mirrored_autoencoder(
        input_dim,
        (code_size,),
        activation="relu",
        after_hidden=lambda _, __: [
            ActivityRegularizer(kind="l1", weight=beta, name="code")
        ],
        reconstruction="mse",
        seed=seed,
        name="l1_sae",
    )
    return compile_autoencoder(model, optimizer, learning_rate)
