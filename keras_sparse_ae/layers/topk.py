"""`TopK` and `BatchTopK`: activations that keep the k largest pre-activations."""

import keras
from keras import ops

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.dead_units import DEAD_AFTER, DeadUnitTracker


def _check_k(layer, units):
    if layer.k > units:
        raise ValueError(
            f"Invalid value for argument `k`. Expected an integer <= the number "
            f"of units of layer `{layer.name}` ({units}). Received: k={layer.k}"
        )


def topk_activation(x, k):
    """ReLU of each row's `k` largest entries, 0 elsewhere.

    Every entry equal to the k-th largest value is kept, so a row with ties
    there may keep more than `k` entries. The gradient flows through the
    kept positive entries only.
    """
    values, _ = ops.top_k(x, k, sorted=False)
    kth = ops.min(values, axis=-1, keepdims=True)
    return ops.where(ops.greater_equal(x, kth), ops.relu(x), ops.zeros_like(x))


def batch_kth_largest(x, k):
    """The `(k * batch)`-th largest entry of the (batch, units) tensor `x`.

    Uses a sort of the flattened batch with a dynamic index, which compiles
    with XLA also when the batch size is only known at run time.
    """
    flat = ops.sort(ops.reshape(x, (-1,)))
    batch = x.shape[0] if x.shape[0] is not None else ops.shape(x)[0]
    return ops.take(flat, ops.shape(flat)[0] - batch * k)


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class TopK(DeadUnitTracker):
    """Keeps each sample's k largest pre-activations (ReLU'd), zeroes the rest.

    `TopK(k)(z)_ij = relu(z_ij)` if `z_ij` is among the k largest entries of
    row i, else 0 (Makhzani and Frey, "k-Sparse Autoencoders", 2013; Gao et
    al., "Scaling and evaluating sparse autoencoders", OpenAI 2024). Placed
    on the linear pre-activations of a code, it sets the code's L0 to at
    most k directly, with no penalty to tune. Every entry tied with the k-th
    largest value is kept (a row may then keep more than k). The gradient
    flows through the kept positive entries only.

    The layer also tracks dead units (`DeadUnitTracker`): the non-trainable
    float32 `steps_since_active` counts, per unit, the training steps since
    it was last kept with a positive value.

    Args:
        k: int >= 1 and <= the number of units.
        dead_after: int >= 1, steps without activity after which a unit is
            dead.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> z = np.array([[0.5, -1.0, 2.0, 1.0], [3.0, 3.0, -1.0, 0.0]], "float32")
    >>> np.asarray(TopK(k=2)(z)).tolist()
    [[0.0, 0.0, 2.0, 1.0], [3.0, 3.0, 0.0, 0.0]]

    Reference: Gao et al. 2024, section 2.3.
    """

    def __init__(self, k, dead_after=DEAD_AFTER, **kwargs):
        super().__init__(dead_after=dead_after, **kwargs)
        self.k = _validation.check_int("k", k)

    def build(self, input_shape):
        super().build(input_shape)
        _check_k(self, self.units)

    def call(self, inputs, training=None):
        outputs = topk_activation(inputs, self.k)
        self.track(inputs, outputs, training)
        return outputs

    def get_config(self):
        config = super().get_config()
        config["k"] = self.k
        return config


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class BatchTopK(DeadUnitTracker):
    """Keeps the k·batch largest pre-activations of a batch; a threshold at inference.

    While training, the `k * B` largest entries of the (B, units) batch are
    kept (ReLU'd) and the rest set to 0, so the code has L0 = k on average
    over the batch while single samples may use more or fewer units
    (Bussmann et al., "BatchTopK Sparse Autoencoders", 2024). Entries tied
    with the `(k * B)`-th largest value are all kept.

    Inference must not depend on the rest of the batch, so the layer learns a
    threshold: the non-trainable float32 weight `threshold` follows an
    exponential moving average of the smallest kept activation,
    `max(kth, 0)` with `kth` the `(k * B)`-th largest pre-activation,

        threshold <- momentum * threshold + (1 - momentum) * max(kth, 0)

    the first training batch setting it directly (a non-trainable
    `threshold_updates` counts the updates). At inference (`predict`,
    `evaluate`, `training=False`) an activation is kept when it exceeds the
    threshold; before any training the threshold is 0 (a plain ReLU).

    Dead units are tracked as in `TopK` (`DeadUnitTracker`).

    Args:
        k: int >= 1 and <= the number of units, the mean number of kept
            units per sample.
        momentum: float in [0, 1), the threshold's smoothing factor.
        dead_after: int >= 1, steps without activity after which a unit is
            dead.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> z = np.array([[0.5, -1.0, 2.0, 1.0], [3.0, 4.0, -1.0, 0.0]], "float32")
    >>> layer = BatchTopK(k=2)
    >>> np.asarray(layer(z, training=True)).tolist()  # the 4 largest of 8
    [[0.0, 0.0, 2.0, 1.0], [3.0, 4.0, 0.0, 0.0]]
    >>> float(np.asarray(layer.threshold))
    1.0
    >>> np.asarray(layer(z)).tolist()  # inference: above the threshold
    [[0.0, 0.0, 2.0, 0.0], [3.0, 4.0, 0.0, 0.0]]
    """

    def __init__(self, k, momentum=0.99, dead_after=DEAD_AFTER, **kwargs):
        super().__init__(dead_after=dead_after, **kwargs)
        self.k = _validation.check_int("k", k)
        self.momentum = _validation.check_float(
            "momentum", momentum, 0.0, 1.0, high_open=True
        )

    def build(self, input_shape):
        super().build(input_shape)
        _check_k(self, self.units)
        # Float32 state whatever the dtype policy: the threshold's EMA and how
        # many batches have updated it (the first one sets it directly).
        for name in ("threshold", "threshold_updates"):
            weight = self.add_weight(
                shape=(),
                initializer="zeros",
                dtype="float32",
                trainable=False,
                autocast=False,
                aggregation="mean",
                name=name,
            )
            setattr(self, name, weight)

    def call(self, inputs, training=None):
        if training:
            kth = batch_kth_largest(inputs, self.k)
            keep = ops.greater_equal(inputs, kth)
            batch_threshold = ops.maximum(ops.cast(kth, "float32"), 0.0)
            first = ops.equal(self.threshold_updates, 0.0)
            smoothed = (
                self.momentum * self.threshold + (1.0 - self.momentum) * batch_threshold
            )
            self.threshold.assign(ops.where(first, batch_threshold, smoothed))
            self.threshold_updates.assign(self.threshold_updates + 1.0)
        else:
            keep = ops.greater(inputs, ops.cast(self.threshold, inputs.dtype))
        outputs = ops.where(keep, ops.relu(inputs), ops.zeros_like(inputs))
        self.track(inputs, outputs, training)
        return outputs

    def get_config(self):
        config = super().get_config()
        config.update({"k": self.k, "momentum": self.momentum})
        return config
