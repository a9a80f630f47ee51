"""`DenseTranspose`: a dense layer whose kernel is another layer's, transposed."""

import contextlib
import threading

import keras
from keras import ops

from keras_sparse_ae import _validation

_EXPECTED_TIED_TO = (
    "a built `keras.layers.Dense` layer, or the name of one made known by "
    "`tied_layer_scope` (as `TiedAutoencoder.from_config` does)"
)

_SCOPES = threading.local()


@contextlib.contextmanager
def tied_layer_scope(layers):
    """Makes Dense layers known by name to `DenseTranspose(tied_to=name)`.

    A `DenseTranspose` stores the name of its `Dense` layer in its config,
    not the layer: the kernel belongs to the encoder and is saved once,
    with it. When a model is rebuilt from its config, the encoder is
    deserialized first and the decoder inside this scope, so that each
    `DenseTranspose` finds the new encoder's layer of that name.
    `TiedAutoencoder.from_config` does it for you. Scopes nest; the
    innermost one that knows a name wins.

    Args:
        layers: a mapping `name -> Dense layer`, or an iterable of layers
            (keyed by their `name`).

    Yields:
        The mapping in use.

    Example:

    >>> import keras
    >>> dense = keras.layers.Dense(4, name="h1")
    >>> dense.build((None, 6))
    >>> with tied_layer_scope([dense]):
    ...     tied = DenseTranspose("h1")
    >>> tied.tied_to is dense
    True
    """
    if isinstance(layers, dict):
        mapping = dict(layers)
    else:
        mapping = {layer.name: layer for layer in layers}
    stack = getattr(_SCOPES, "stack", None)
    if stack is None:
        stack = _SCOPES.stack = []
    stack.append(mapping)
    try:
        yield mapping
    finally:
        stack.pop()


def _resolve(name):
    """The layer called `name` in the innermost scope that knows it."""
    for mapping in reversed(getattr(_SCOPES, "stack", None) or []):
        if name in mapping:
            return mapping[name]
    return None


class _Link:
    """Holds the tied layer without Keras tracking it as a sublayer.

    A tracked sublayer would list the encoder's kernel among the decoder's
    weights too: it would be saved twice and counted twice.
    """

    def __init__(self, layer):
        self.layer = layer


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class DenseTranspose(keras.layers.Layer):
    """Dense layer that reuses the transposed kernel of another `Dense` layer.

    For the tied `Dense` layer with kernel `W` of shape `(n_in, units)`,

        outputs = activation(inputs @ W.T + bias)

    maps `units` features back to `n_in`: the decoder layer mirroring an
    encoder layer. Only the bias (of shape `(n_in,)`) belongs to this
    layer; `W` stays the encoder's single variable, so tying halves the
    number of kernel weights and every training step updates `W` through
    both of its uses (lesson 001, "tied weights":
    `weights3 = tf.transpose(weights2)`).

    The config stores the tied layer's name. Rebuilding from a config
    (`keras.models.load_model`, `from_config`) therefore needs the layer
    made known by `tied_layer_scope`; `TiedAutoencoder` does this, so save
    tied layers inside a `TiedAutoencoder`.

    On JAX, a compiled function of a model that contains this layer but
    not the tied `Dense` layer (e.g. `decoder.predict`) keeps the kernel's
    value from when it was traced; use `TiedAutoencoder.decode` or the
    whole model, whose functions see the kernel as one of their variables.

    Args:
        tied_to: a built `keras.layers.Dense` layer, or the name of one
            inside `tied_layer_scope`.
        activation: activation function or its name; `None` is linear.
        bias_initializer: initializer of the bias.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import keras, numpy as np
    >>> dense = keras.layers.Dense(3, name="h1")
    >>> encoder = keras.Sequential([keras.Input((5,)), dense])
    >>> tied = DenseTranspose(dense, activation="sigmoid")
    >>> out = tied(np.zeros((2, 3), dtype="float32"))
    >>> tuple(out.shape), [tuple(w.shape) for w in tied.weights]
    ((2, 5), [(5,)])
    """

    def __init__(self, tied_to, activation=None, bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if isinstance(tied_to, str):
            resolved = _resolve(tied_to)
            if resolved is None:
                raise _validation.invalid_value("tied_to", _EXPECTED_TIED_TO, tied_to)
            tied_to = resolved
        if not isinstance(tied_to, keras.layers.Dense):
            raise _validation.invalid_type("tied_to", _EXPECTED_TIED_TO, tied_to)
        self._link = _Link(tied_to)
        self.activation = keras.activations.get(activation)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_spec = keras.layers.InputSpec(min_ndim=2)

    @property
    def tied_to(self):
        """The `Dense` layer whose kernel this layer uses, transposed."""
        return self._link.layer

    @property
    def tied_kernel(self):
        """The tied layer's kernel `W`, shape `(n_in, units)` (not transposed)."""
        return self.tied_to.kernel

    def _tied_shape(self):
        dense = self.tied_to
        if not dense.built:
            raise ValueError(
                f"Invalid value for argument `tied_to`. Expected {_EXPECTED_TIED_TO}."
                f" Received: tied_to={dense.name!r}, which is not built yet; build "
                "the encoder first (e.g. give it a `keras.Input`)"
            )
        return tuple(dense.kernel.shape)

    def build(self, input_shape):
        n_in, units = self._tied_shape()
        if input_shape[-1] is not None and input_shape[-1] != units:
            raise ValueError(
                f"Layer '{self.name}' expects inputs with {units} features (the "
                f"units of '{self.tied_to.name}'). Received: input_shape="
                f"{tuple(input_shape)}"
            )
        self.bias = self.add_weight(
            name="bias", shape=(n_in,), initializer=self.bias_initializer
        )
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: units})

    def call(self, inputs):
        kernel = ops.cast(self.tied_kernel, self.compute_dtype)
        outputs = ops.matmul(inputs, ops.transpose(kernel)) + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        n_in, _ = self._tied_shape()
        return tuple(input_shape[:-1]) + (n_in,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "tied_to": self.tied_to.name,
                "activation": keras.activations.serialize(self.activation),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            }
        )
        return config
