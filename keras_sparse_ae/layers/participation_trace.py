"""`ParticipationTrace`: lesson 000's three penalties and the activity trace."""

import keras
import numpy as np

from keras_sparse_ae import _validation, losses
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class ParticipationTrace(PenaltyLayer):
    """Identity layer with lesson 000's sparsity, participation and binary terms.

    Placed on a hidden activation `h` of shape (batch, n) with values in
    [0, 1] (sigmoid units). With the participation `p = 1 - sparsity` (the
    wanted fraction of active units), it adds up to three penalties:

    - within-layer sparsity, `alpha_s * (mean_i mean_j h_ij - p)**2`: the
      layer as a whole is active a fraction p of the time;
    - participation, `alpha_p * (1 - gamma)**2 * mean_ij (h_ij - s_j)**2`
      with `s_j = sigmoid(k * (p - trace_j - x_s))` and
      `x_s = ln((1 - p) / p) / k`: each unit is pushed towards 0 when its
      long-run activity (the trace) is above p and towards 1 when below.
      This is the lesson's "stable minima" form, algebraically simplified
      (see `keras_sparse_ae.losses.participation_penalty`); it uses the
      trace as it was before this batch;
    - binary, `alpha_b * mean_ij h_ij**2 (h_ij - 1)**2`: activations are
      pushed to 0 or 1.

    The trace is a non-trainable weight of shape (n,), initialised to p.
    While training (`fit`, or `training=True`) each call, after computing
    the penalties, updates it in the same forward pass:

        trace <- gamma * trace + (1 - gamma) * mean_i h_i

    `predict`, `evaluate` and inference calls leave it unchanged. Under
    data-parallel training the batch means (here and in the sparsity term)
    are over the global batch (`keras_sparse_ae.distribute.batch_mean`):
    every `MirroredStrategy` replica computes the same new trace, and the
    weight's `aggregation="mean"` keeps that value (a sum would multiply it
    by the number of replicas).

    A weight of 0 disables its term (it is neither computed nor reported);
    the trace is updated whatever the weights.

    Args:
        sparsity: float in (0, 1); the wanted fraction of inactive units,
            so the participation target is `p = 1 - sparsity`.
        gamma: float in [0, 1), the trace's smoothing factor.
        alpha_s: float >= 0, weight of the within-layer sparsity term.
        alpha_p: float >= 0, weight of the participation term.
        alpha_b: float >= 0, weight of the binary term.
        k: float > 0, steepness of the participation sigmoid (lesson: 100).
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = ParticipationTrace(sparsity=0.75, alpha_s=1.0, alpha_p=1.0,
    ...                            alpha_b=1.0)
    >>> h = np.full((8, 4), 0.25, dtype="float32")
    >>> out = layer(h, training=True)
    >>> sorted(layer.penalty_values)
    ['binary', 'participation', 'sparsity']
    >>> [round(float(t), 4) for t in layer.trace.numpy()]  # p = 0.25: unchanged
    [0.25, 0.25, 0.25, 0.25]

    Reference: lesson 000 (participation-constrained deep autoencoder).
    """

    def __init__(
        self,
        sparsity=0.5,
        gamma=0.99,
        alpha_s=1.0,
        alpha_p=1.0,
        alpha_b=1.0,
        k=100.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.sparsity = _validation.check_float(
            "sparsity", sparsity, 0.0, 1.0, low_open=True, high_open=True
        )
        self.gamma = _validation.check_float("gamma", gamma, 0.0, 1.0, high_open=True)
        self.alpha_s = _validation.check_weight("alpha_s", alpha_s)
        self.alpha_p = _validation.check_weight("alpha_p", alpha_p)
        self.alpha_b = _validation.check_weight("alpha_b", alpha_b)
        self.k = _validation.check_float("k", k, 0.0, low_open=True)
        self.participation = 1.0 - self.sparsity

    @property
    def penalty_terms(self):
        weights = {
            "sparsity": self.alpha_s,
            "participation": self.alpha_p,
            "binary": self.alpha_b,
        }
        return tuple(term for term, weight in weights.items() if weight > 0)

    def build(self, input_shape):
        super().build(input_shape)
        self.trace = self.add_weight(
            shape=(input_shape[-1],),
            initializer=keras.initializers.Constant(self.participation),
            trainable=False,
            # Kept in float32 under mixed precision: the EMA moves by
            # (1 - gamma) * delta per step, below float16's resolution.
            autocast=False,
            aggregation="mean",
            name="trace",
        )

    def call(self, inputs, training=None):
        p = self.participation
        # Each unit's batch mean, shared by the sparsity term and the trace.
        means = losses.unit_means(inputs) if self.alpha_s > 0 or training else None
        if self.alpha_s > 0:
            self.add_penalty(
                "sparsity",
                self.alpha_s * losses.layer_sparsity_penalty(inputs, p, means),
            )
        if self.alpha_p > 0:
            self.add_penalty(
                "participation",
                self.alpha_p
                * losses.participation_penalty(
                    inputs, self.trace, p, self.gamma, self.k
                ),
            )
        if self.alpha_b > 0:
            self.add_penalty("binary", self.alpha_b * losses.binary_penalty(inputs))
        if training:
            self.trace.assign(
                losses.trace_update(self.trace, inputs, self.gamma, means)
            )
        return inputs

    def collapsed_units(self, fraction=0.1):
        """Units whose long-run activity collapsed: `trace < fraction * p`.

        The trace is each unit's exponential moving average of its batch
        mean activity; a unit whose trace fell below `fraction` of the
        participation target `p = 1 - sparsity` has (almost) stopped taking
        part, the sigmoid-unit counterpart of a dead unit.

        Args:
            fraction: float in (0, 1].

        Returns:
            A NumPy boolean array of shape (units,).

        Example:

        >>> import numpy as np
        >>> layer = ParticipationTrace(sparsity=0.5)
        >>> _ = layer(np.array([[0.0, 1.0]] * 4, "float32"), training=True)
        >>> layer.collapsed_units(fraction=0.999).tolist()  # 0.495 < 0.4995
        [True, False]
        """
        fraction = _validation.check_float(
            "fraction", fraction, 0.0, 1.0, low_open=True
        )
        trace = np.asarray(keras.ops.convert_to_numpy(self.trace), np.float64)
        return trace < fraction * self.participation

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "sparsity": self.sparsity,
                "gamma": self.gamma,
                "alpha_s": self.alpha_s,
                "alpha_p": self.alpha_p,
                "alpha_b": self.alpha_b,
                "k": self.k,
            }
        )
        return config
