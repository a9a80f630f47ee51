"""`build_l2_sae`: lesson 002's autoencoder with L2 activity and kernel penalties."""

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.activity_regularizer import ActivityRegularizer
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    initializer,
    layer_seeds,
)


def build_l2_sae(
    input_dim=784,
    units=196,
    activity_weight=0.0,
    kernel_weight=0.0,
    learning_rate=1e-3,
    seed=None,
    *,
    optimizer="adam",
):
    """Builds lesson 002's L2-regularised autoencoder.

    One ReLU code layer and a sigmoid decoder,
    `h = relu(x W_1 + b_1)`, `x_hat = sigmoid(h W_2 + b_2)`, trained on

        loss = mean_ij (x_ij - x_hat_ij)**2
               + activity_weight * mean_i sum_c h_ic**2
               + kernel_weight * sum(W_1**2)

    (lesson 002's `L + lambda_a sum_i |h_i|^2 + lambda_k sum |W_1|^2`, with
    `lambda_a = activity_weight` and `lambda_k = kernel_weight`; only the
    encoder's kernel is penalised, as in the lesson).

    `activity_weight` weighs the squared code summed over the units, *per
    sample*: the lesson's `activity_regularizer=L2(lambda_a)` summed the
    squares over units and batch, and its `tf.keras` divided that by the
    batch size (as Keras 3.15 does again, keras-team/keras#22021; Keras
    3.0 to 3.14 did not). Here the
    penalty comes from an `ActivityRegularizer(kind="l2",
    reduction="mean", weight=activity_weight * units)` layer named `code`:
    `weight * mean over batch and units` equals `activity_weight * mean_i
    sum_c h_ic**2`, whatever the batch size and the Keras version. Its
    value is reported in `History` as `code_l2` (when `activity_weight >
    0`), the kernel penalty as `weight_penalty` (when `kernel_weight > 0`).

    Args:
        input_dim: int >= 1, number of input features.
        units: int >= 1, width of the code (196 in the lesson).
        activity_weight: float >= 0, `lambda_a`, the weight of the per-sample
            sum of squared code activations; 0 disables it.
        kernel_weight: float >= 0, `lambda_k`, the weight of Keras'
            `L2(kernel_weight)` on the encoder's kernel; 0 disables it.
        learning_rate: float > 0, or `None` for the optimizer's default
            (`None` is required when `optimizer` is an optimizer instance).
        seed: int or `None`, seeds the initialisers.
        optimizer: `"adam"` (the lesson's), `"sgd"`, `"sgd_halving"` or an
            optimizer.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder` whose weights are, in
        order, `[W_1, b_1, W_2, b_2]`.

    Example:

    >>> model = build_l2_sae(input_dim=8, units=4, activity_weight=1e-3, seed=0)
    >>> [w.shape for w in model.get_weights()]
    [(8, 4), (4,), (4, 8), (8,)]
    >>> layer = model.encoder.get_layer("code")
    >>> layer.kind, layer.reduction, round(layer.weight, 6)  # 1e-3 * 4 units
    ('l2', 'mean', 0.004)
    """
    input_dim, seed = check_common(input_dim, "relu", "mse", seed)
    units = _validation.check_int("units", units)
    activity_weight = _validation.check_weight("activity_weight", activity_weight)
    kernel_weight = _validation.check_weight("kernel_weight", kernel_weight)
    seeds = layer_seeds(seed, 2)
    encoder = keras.Sequential(
        [
            keras.Input((input_dim,), name="x"),
            keras.layers.Dense(
                units,
                activation="relu",
                kernel_initializer=initializer("glorot_uniform", seeds[0]),
                kernel_regularizer=(
                    keras.regularizers.L2(kernel_weight) if kernel_weight > 0 else None
                ),
                name="h1_dense",
            ),
            ActivityRegularizer(
                kind="l2",
                weight=activity_weight * units,
                reduction="mean",
                name="code",
            ),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((units,), name="code"),
            keras.layers.Dense(
                input_dim,
                activation="sigmoid",
                kernel_initializer=initializer("glorot_uniform", seeds[1]),
                name="reconstruction",
            ),
        ],
        name="decoder",
    )
    model = Autoencoder(encoder, decoder, reconstruction="mse", name="l2_sae")
    model.build((None, input_dim))
    return compile_autoencoder(model, optimizer, learning_rate)
