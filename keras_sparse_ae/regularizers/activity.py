"""`ActivityPenalty`: L1/L2 activity regularizer, twin of `ActivityRegularizer`."""

import keras

from keras_sparse_ae.layers.activity_regularizer import check_activity_arguments
from keras_sparse_ae.losses import activity_penalty


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class ActivityPenalty(keras.regularizers.Regularizer):
    """L1 or L2 penalty on activations, for `activity_regularizer=`.

    Returns `weight * mean(|h|)` / `weight * mean(h**2)` (`reduction="mean"`)
    or the same with a sum (`reduction="sum"`, Keras' own `L1`/`L2` form):
    the same value as the `ActivityRegularizer` layer.

    **Batch-size scaling.** Since Keras 3.15 a layer divides whatever its
    `activity_regularizer` returns by the batch size before adding it to the
    loss. Attached as `Dense(..., activity_regularizer=ActivityPenalty(...))`
    the loss therefore grows by `weight * mean(|h|) / batch_size`, not
    `weight * mean(|h|)`. Use the `ActivityRegularizer` layer for the
    unscaled penalty (lesson 004's loss), or multiply `weight` by the batch
    size. The sum form divided by the batch size is a per-sample sum.

    Args:
        kind: `"l1"` or `"l2"`.
        weight: float >= 0.
        reduction: `"mean"` or `"sum"`.

    Example:

    >>> import keras
    >>> dense = keras.layers.Dense(
    ...     8, activation="relu",
    ...     activity_regularizer=ActivityPenalty(kind="l1", weight=0.05))
    """

    def __init__(self, kind="l1", weight=0.01, reduction="mean"):
        self.kind, self.weight, self.reduction = check_activity_arguments(
            kind, weight, reduction
        )

    def __call__(self, x):
        return self.weight * activity_penalty(x, self.kind, self.reduction)

    def get_config(self):
        return {"kind": self.kind, "weight": self.weight, "reduction": self.reduction}
