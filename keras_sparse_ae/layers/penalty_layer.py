"""Base class of the identity layers that add sparsity penalties."""

import keras

from keras_sparse_ae import distribute


class PenaltyLayer(keras.layers.Layer):
    """Identity layer that adds named penalty terms on its input.

    Subclasses compute their terms in `call` and hand each weighted value to
    `add_penalty(term, value)`, which both adds it to the model's loss
    (`add_loss`) and records it under its name for the current call.
    `keras_sparse_ae.models.Autoencoder` reads those records in
    `compute_loss` to report every term as its own metric (the trackers
    live on the model: metrics updated inside a layer's `call` are not
    carried by the JAX trainer).

    Subclasses list the enabled terms in `penalty_terms` (a term whose weight
    is 0 is neither computed nor reported).

    Under `tf.distribute.MirroredStrategy` the replicas trace a step in
    threads that take turns at each cross-replica reduction, and Keras keeps
    one list of added losses per layer for all of them. The records are
    therefore kept per replica (`penalty_values` is the current replica's),
    and `PenaltyLayer.replica_losses` gives a model's `compute_loss` the
    losses of the replica it runs for.
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        # Replica index -> {term: value} of that replica's last call.
        self._replica_values = {}

    @property
    def penalty_terms(self):
        """Names of the terms this layer adds, in the order it adds them."""
        return ()

    @property
    def penalty_values(self):
        """The `{term: value}` added by the last call (of this replica)."""
        return self._replica_values.setdefault(distribute.replica_id(), {})

    def __call__(self, *args, **kwargs):
        # Records belong to one call: values from an earlier call (for
        # example the symbolic build) must not leak into a later graph.
        self._replica_values[distribute.replica_id()] = {}
        return super().__call__(*args, **kwargs)

    def add_penalty(self, term, value):
        """Adds `value` to the loss and records it as `term` for this call."""
        self.add_loss(value)
        self.penalty_values[term] = value

    def build(self, input_shape):
        if len(input_shape) != 2:
            raise ValueError(
                f"Invalid input shape for layer `{self.name}` "
                f"({type(self).__name__}). Expected a 2-D input (batch, units). "
                f"Received: input_shape={tuple(input_shape)}"
            )
        if input_shape[-1] is None:
            raise ValueError(
                f"Invalid input shape for layer `{self.name}`. Expected a known "
                f"number of units. Received: input_shape={tuple(input_shape)}"
            )

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_mask(self, inputs, mask=None):
        return mask

    @staticmethod
    def replica_losses(losses, layers):
        """A model's `losses` as seen by the replica tracing the current step.

        Without replicas (one device, JAX `DataParallel`, PyTorch) this is
        `losses` itself. Under `MirroredStrategy` Keras' per-layer loss
        lists, shared by the replicas' threads, may hold penalties of another
        replica (added while this one waited at a cross-replica reduction)
        and miss some of this replica's own (cleared when another replica's
        forward pass began). The penalty layers' per-replica records fix
        both: other replicas' values are dropped and this replica's missing
        ones are added back.

        Args:
            losses: the model's `losses`.
            layers: the model's `PenaltyLayer`s.

        Returns:
            A list of scalar tensors.
        """
        if distribute.replicas_in_sync() == 1:
            return list(losses)
        current = distribute.replica_id()
        own, others = [], set()
        for layer in layers:
            for replica, values in layer._replica_values.items():
                if replica == current:
                    own.extend(values.values())
                else:
                    others.update(id(value) for value in values.values())
        present = {id(loss) for loss in losses}
        return [loss for loss in losses if id(loss) not in others] + [
            value for value in own if id(value) not in present
        ]
