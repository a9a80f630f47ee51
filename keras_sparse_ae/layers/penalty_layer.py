"""Base class of the identity layers that add sparsity penalties."""

import keras


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
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.penalty_values = {}

    @property
    def penalty_terms(self):
        """Names of the terms this layer adds, in the order it adds them."""
        return ()

    def __call__(self, *args, **kwargs):
        # Records belong to one call: values from an earlier call (for
        # example the symbolic build) must not leak into a later graph.
        self.penalty_values = {}
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
