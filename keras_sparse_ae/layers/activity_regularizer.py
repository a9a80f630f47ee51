"""`ActivityRegularizer`: an L1 or L2 penalty on a layer's activations."""

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer
from keras_sparse_ae.losses import activity_penalty

KINDS = ("l1", "l2")
REDUCTIONS = ("mean", "sum")


def check_activity_arguments(kind, weight, reduction):
    """Validate `ActivityRegularizer`/`ActivityPenalty` arguments.

    Returns the cleaned `(kind, weight, reduction)`; raises `TypeError` or
    `ValueError` with `_validation`'s messages.
    """
    return (
        _validation.check_choice("kind", kind, KINDS),
        _validation.check_weight("weight", weight),
        _validation.check_choice("reduction", reduction, REDUCTIONS),
    )


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class ActivityRegularizer(PenaltyLayer):
    """Identity layer that adds an L1 or L2 penalty on its input.

    With `reduction="mean"` the penalty is `weight * mean(|h|)` (`kind="l1"`,
    the L1-sparse autoencoder of lesson 004: the mean runs over the batch and
    the units) or `weight * mean(h**2)` (`kind="l2"`). With
    `reduction="sum"` the mean becomes a sum, which is the form of Keras'
    own `keras.regularizers.L1`/`L2` (the regularizer sweep of lesson 002).

    Unlike `activity_regularizer=` on a Keras layer, the penalty is not
    divided by the batch size: the value added is exactly the formula above.

    Args:
        kind: `"l1"` or `"l2"`.
        weight: float >= 0, the penalty's weight; 0 disables it.
        reduction: `"mean"` or `"sum"`.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = ActivityRegularizer(kind="l1", weight=0.5)
    >>> h = np.array([[0.0, 1.0], [2.0, -1.0]], dtype="float32")
    >>> out = layer(h)
    >>> float(layer.losses[0])  # 0.5 * mean(|h|) = 0.5 * 1.0
    0.5
    """

    def __init__(self, kind="l1", weight=0.01, reduction="mean", **kwargs):
        super().__init__(**kwargs)
        self.kind, self.weight, self.reduction = check_activity_arguments(
            kind, weight, reduction
        )

    @property
    def penalty_terms(self):
        return (self.kind,) if self.weight > 0 else ()

    def call(self, inputs):
        if self.weight > 0:
            self.add_penalty(
                self.kind,
                self.weight * activity_penalty(inputs, self.kind, self.reduction),
            )
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {"kind": self.kind, "weight": self.weight, "reduction": self.reduction}
        )
        return config
