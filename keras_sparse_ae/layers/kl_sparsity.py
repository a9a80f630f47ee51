"""`KLSparsity`: the KL-divergence sparsity penalty of lessons 001 and 003."""

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer
from keras_sparse_ae.losses import KL_EPSILON, kl_sparsity_penalty

REDUCTIONS = ("sum", "mean")


def check_kl_arguments(target, weight, reduction):
    """Validate `KLSparsity`/`KLSparsityPenalty` arguments.

    Returns the cleaned `(target, weight, reduction)`; raises `TypeError` or
    `ValueError` with `_validation`'s messages.
    """
    return (
        _validation.check_float(
            "target", target, 0.0, 1.0, low_open=True, high_open=True
        ),
        _validation.check_weight("weight", weight),
        _validation.check_choice("reduction", reduction, REDUCTIONS),
    )


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class KLSparsity(PenaltyLayer):
    """Identity layer that pulls each unit's mean activity towards `target`.

    For activations `h` of shape (batch, n) in [0, 1] (sigmoid units),
    `rho_hat_j = mean_i h_ij` is unit j's mean activity over the batch and

        penalty = weight * sum_j KL(target || rho_hat_j)
        KL(r || q) = r log(r / q) + (1 - r) log((1 - r) / (1 - q))

    (`reduction="mean"` averages over units instead of summing).
    `rho_hat` is clipped to `[1e-6, 1 - 1e-6]`, so the value and its
    gradient stay finite when a unit is exactly 0 or 1 on the whole batch.
    Under data-parallel training `rho_hat` is the mean over the global
    batch, not over one replica's part (`keras_sparse_ae.distribute`).

    Lesson 001 uses 1000 sigmoid codings with `target=0.1, weight=0.2`;
    lesson 003 uses `target=0.02, weight=7.5e-5` on both encoder layers.

    Args:
        target: float in (0, 1), the wanted mean activity of every unit.
        weight: float >= 0, the penalty's weight; 0 disables it.
        reduction: `"sum"` (the lessons' form) or `"mean"` over units.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = KLSparsity(target=0.5, weight=1.0)
    >>> out = layer(np.full((4, 3), 0.5, dtype="float32"))
    >>> round(float(layer.losses[0]), 6)  # at the target the KL is 0
    0.0
    """

    def __init__(self, target=0.1, weight=0.2, reduction="sum", **kwargs):
        super().__init__(**kwargs)
        self.target, self.weight, self.reduction = check_kl_arguments(
            target, weight, reduction
        )

    @property
    def penalty_terms(self):
        return ("kl",) if self.weight > 0 else ()

    def call(self, inputs):
        if self.weight > 0:
            self.add_penalty(
                "kl",
                self.weight
                * kl_sparsity_penalty(inputs, self.target, self.reduction, KL_EPSILON),
            )
        return inputs

    def get_config(self):
        config = super().get_config()
        config.update(
            {"target": self.target, "weight": self.weight, "reduction": self.reduction}
        )
        return config
