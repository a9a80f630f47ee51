"""`KLSparsityPenalty`: KL sparsity regularizer, twin of `KLSparsity`."""

import keras

from keras_sparse_ae.layers.kl_sparsity import check_kl_arguments
from keras_sparse_ae.losses import KL_EPSILON, kl_sparsity_penalty


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class KLSparsityPenalty(keras.regularizers.Regularizer):
    """KL sparsity penalty, for `activity_regularizer=`.

    Returns `weight * sum_j KL(target || rho_hat_j)` with `rho_hat_j` the
    batch mean of unit j clipped to `[1e-6, 1 - 1e-6]` (`reduction="mean"`
    averages over units): the same value as the `KLSparsity` layer.

    **Batch-size scaling.** Since Keras 3.15 a layer divides whatever its
    `activity_regularizer` returns by the batch size before adding it to the
    loss. This penalty already averages over the batch (inside `rho_hat`),
    so attached as `activity_regularizer=` it counts `batch_size` times less
    than in lessons 001 and 003, and its strength changes with the batch
    size. Use the `KLSparsity` layer for the lessons' loss, or multiply
    `weight` by the batch size.

    Args:
        target: float in (0, 1), the wanted mean activity of every unit.
        weight: float >= 0.
        reduction: `"sum"` or `"mean"` over units.

    Example:

    >>> import keras
    >>> dense = keras.layers.Dense(
    ...     30, activation="sigmoid",
    ...     activity_regularizer=KLSparsityPenalty(target=0.02, weight=7.5e-5))
    """

    def __init__(self, target=0.1, weight=0.2, reduction="sum"):
        self.target, self.weight, self.reduction = check_kl_arguments(
            target, weight, reduction
        )

    def __call__(self, x):
        return self.weight * kl_sparsity_penalty(
            x, self.target, self.reduction, KL_EPSILON
        )

    def get_config(self):
        return {
            "target": self.target,
            "weight": self.weight,
            "reduction": self.reduction,
        }
