"""Dead-unit tracking: `DeadUnitTracker` (shared base) and `DeadUnits`."""

import keras
import numpy as np
from keras import ops

from keras_sparse_ae import _validation, distribute

#: Default number of training steps without activity after which a unit
#: counts as dead.
DEAD_AFTER = 1000


def steps_since_active_update(steps, outputs, activity_threshold=0.0):
    """`0` for units active in this batch, `steps + 1` for the others.

    A unit is active in a batch when its output exceeds `activity_threshold`
    on at least one sample (of the global batch under `tf.distribute`).

    Args:
        steps: (units,) float32 tensor, the counts before this batch.
        outputs: (batch, units) tensor, the layer's outputs.
        activity_threshold: float.

    Returns:
        The new (units,) counts, in `steps`' dtype.
    """
    # A Keras variable becomes a tensor first: JAX's `zeros_like` cannot read
    # the dtype of a Keras variable.
    steps = ops.convert_to_tensor(steps)
    active = ops.cast(ops.greater(outputs, activity_threshold), "float32")
    seen = distribute.batch_mean(active, axis=0) > 0.0
    return ops.where(seen, ops.zeros_like(steps), steps + 1.0)


class DeadUnitTracker(keras.layers.Layer):
    """Base of the layers that count, per unit, the steps since it was active.

    Holds a non-trainable float32 weight `steps_since_active` of shape
    (units,), initialised to 0. While training (`fit`, or `training=True`)
    each call sets a unit's count to 0 if its output exceeded
    `activity_threshold` on some sample of the batch and adds 1 otherwise;
    `predict`, `evaluate` and inference calls leave it unchanged. A unit is
    dead when its count reaches `dead_after` (`dead_mask()`).

    The count is float32 under mixed precision too (exact up to 2**24
    steps). Each call also records its input and the dead mask it saw for
    the model's `compute_loss` (`last_call`), which is how
    `keras_sparse_ae.models.TopKAutoencoder` computes the AuxK term without
    a second forward pass.

    Args:
        dead_after: int >= 1, steps without activity after which a unit is
            dead.
        **kwargs: base layer arguments (`name`, `dtype`, ...).
    """

    #: A unit is active on a sample when its output exceeds this value.
    activity_threshold = 0.0

    def __init__(self, dead_after=DEAD_AFTER, **kwargs):
        super().__init__(**kwargs)
        self.dead_after = _validation.check_int("dead_after", dead_after)
        self.supports_masking = True
        # Replica index -> {"inputs": ..., "dead": ...} of its last call.
        self._replica_calls = {}

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None:
            raise ValueError(
                f"Invalid input shape for layer `{self.name}` "
                f"({type(self).__name__}). Expected a 2-D input (batch, units) "
                f"with a known number of units. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self.units = int(input_shape[-1])
        self.steps_since_active = self.add_weight(
            shape=(self.units,),
            initializer="zeros",
            dtype="float32",
            trainable=False,
            autocast=False,
            aggregation="mean",
            name="steps_since_active",
        )

    @property
    def last_call(self):
        """`{"inputs", "dead"}` of this replica's last call (empty before one)."""
        return self._replica_calls.setdefault(distribute.replica_id(), {})

    def track(self, inputs, outputs, training):
        """Updates the counts while training and records this call.

        Returns the dead mask (a boolean (units,) tensor) after the update.
        """
        if training:
            steps = steps_since_active_update(
                self.steps_since_active, outputs, self.activity_threshold
            )
            self.steps_since_active.assign(steps)
        else:
            steps = ops.convert_to_tensor(self.steps_since_active)
        dead = ops.greater_equal(steps, float(self.dead_after))
        self._replica_calls[distribute.replica_id()] = {
            "inputs": inputs,
            "dead": dead,
        }
        return dead

    def dead_mask(self):
        """NumPy boolean array: which units have been inactive `dead_after` steps."""
        steps = ops.convert_to_numpy(self.steps_since_active)
        return np.asarray(steps) >= self.dead_after

    def dead_fraction(self):
        """Fraction of the units that are dead, as a Python float."""
        return float(self.dead_mask().mean())

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        config = super().get_config()
        config["dead_after"] = self.dead_after
        return config


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class DeadUnits(DeadUnitTracker):
    """Identity layer that tracks which of its input units are dead.

    Placed on any hidden activation `h` of shape (batch, units): returns `h`
    unchanged and, while training, counts for each unit the steps since its
    activation last exceeded `activity_threshold` on some sample (see
    `DeadUnitTracker`). `keras_sparse_ae.callbacks.DeadUnitMonitor` logs the
    fraction of dead units each epoch.

    Args:
        dead_after: int >= 1, steps without activity after which a unit is
            dead.
        activity_threshold: float, a unit is active on a sample when its
            activation exceeds it (0 for ReLU codes; sigmoid units are never
            exactly 0, use e.g. 0.1 there).
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = DeadUnits(dead_after=2)
    >>> h = np.array([[0.0, 1.0, 0.0], [0.0, 2.0, 0.5]], dtype="float32")
    >>> _ = layer(h, training=True)
    >>> _ = layer(h, training=True)
    >>> np.asarray(layer.steps_since_active).tolist()
    [2.0, 0.0, 0.0]
    >>> layer.dead_mask().tolist(), round(layer.dead_fraction(), 3)
    ([True, False, False], 0.333)
    """

    def __init__(self, dead_after=DEAD_AFTER, activity_threshold=0.0, **kwargs):
        super().__init__(dead_after=dead_after, **kwargs)
        self.activity_threshold = _validation.check_float(
            "activity_threshold", activity_threshold
        )

    def call(self, inputs, training=None):
        self.track(inputs, inputs, training)
        return inputs

    def get_config(self):
        config = super().get_config()
        config["activity_threshold"] = self.activity_threshold
        return config
