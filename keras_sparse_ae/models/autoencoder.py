"""`Autoencoder`: the unsupervised model every builder returns."""

import collections.abc
import copy
import types

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer
from keras_sparse_ae.losses import RECONSTRUCTIONS, reconstruction_loss


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class Autoencoder(keras.Model):
    """An encoder and a decoder trained to reconstruct their input.

    `fit(X)` takes the data only: the target is the input itself (or `y`
    when one is given, e.g. clean images for a denoising model). The loss
    is

        loss = reconstruction(x, decoder(encoder(x))) + sum of added losses

    where the added losses are the penalties of the sparsity layers
    (`ParticipationTrace`, `KLSparsity`, `ActivityRegularizer`) inside the
    encoder and decoder, plus any weight regularizers. `History` reports
    `loss`, `reconstruction` and every enabled penalty term of every
    sparsity layer as `<layer name>_<term>` (for example
    `h1_participation`), each the weighted value added to the loss, so the
    terms add up to `loss`. These trackers live on the model, which makes
    them work on the TensorFlow, JAX and PyTorch backends alike.

    Args:
        encoder: a `keras.Model` (or layer) mapping inputs to codes.
        decoder: a `keras.Model` (or layer) mapping codes to reconstructions.
        reconstruction: `"mse"` (mean squared error per feature), `"l2"`
            (lesson 000's `l2_loss / n_inputs` per sample, i.e. half the
            MSE) or `"bce"` (binary cross-entropy, for inputs in [0, 1]).
        **kwargs: base model arguments (`name`, `dtype`, ...).

    Example:

    >>> import keras, numpy as np
    >>> from keras_sparse_ae import KLSparsity
    >>> encoder = keras.Sequential([
    ...     keras.Input((16,)), keras.layers.Dense(4, activation="sigmoid"),
    ...     KLSparsity(target=0.1, weight=0.1, name="code")], name="encoder")
    >>> decoder = keras.Sequential([
    ...     keras.Input((4,)), keras.layers.Dense(16, activation="sigmoid")],
    ...     name="decoder")
    >>> model = Autoencoder(encoder, decoder)
    >>> model.compile(optimizer="adam")
    >>> x = np.random.default_rng(0).random((32, 16)).astype("float32")
    >>> history = model.fit(x, epochs=1, verbose=0)
    >>> sorted(history.history)
    ['code_kl', 'loss', 'reconstruction']
    """

    def __init__(self, encoder, decoder, reconstruction="mse", **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.reconstruction = _validation.check_choice(
            "reconstruction", reconstruction, RECONSTRUCTIONS
        )
        self._reconstruction_fn = reconstruction_loss(self.reconstruction)
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.penalty_trackers = []
        self._penalty_sources = []
        for layer in self.penalty_layers:
            for term in layer.penalty_terms:
                self.penalty_trackers.append(
                    keras.metrics.Mean(name=f"{layer.name}_{term}")
                )
                self._penalty_sources.append((layer, term))

    @property
    def penalty_layers(self):
        """The sparsity layers inside the encoder and decoder, in order."""
        found = []
        for part in (self.encoder, self.decoder):
            for layer in part._flatten_layers(include_self=True):
                if isinstance(layer, PenaltyLayer):
                    found.append(layer)
        return found

    def build(self, input_shape):
        if not self.encoder.built:
            self.encoder.build(input_shape)
        if not self.decoder.built:
            self.decoder.build(self.encoder.compute_output_shape(input_shape))
        self.built = True

    def call(self, inputs, training=None):
        return self.decoder(self.encoder(inputs, training=training), training=training)

    def encode(self, x, batch_size=None, verbose=0):
        """Codes of `x` as a NumPy array (inference mode)."""
        return self.encoder.predict(x, batch_size=batch_size, verbose=verbose)

    def decode(self, codes, batch_size=None, verbose=0):
        """Reconstructions from `codes` as a NumPy array (inference mode)."""
        return self.decoder.predict(codes, batch_size=batch_size, verbose=verbose)

    def reconstruct(self, x, batch_size=None, verbose=0):
        """Reconstructions of `x` as a NumPy array (inference mode)."""
        return self.predict(x, batch_size=batch_size, verbose=verbose)

    def fit(self, x=None, y=None, **kwargs):
        """Trains on `x` alone (see `keras.Model.fit`).

        Besides arrays and `tf.data.Dataset`s of X, a Python generator may
        yield bare batches of X (Keras itself wants `(x,)` tuples).
        """
        return super().fit(_tuple_batches(x), y, **kwargs)

    def evaluate(self, x=None, y=None, **kwargs):
        """Returns the loss (and terms) on `x` (see `keras.Model.evaluate`)."""
        return super().evaluate(_tuple_batches(x), y, **kwargs)

    def predict(self, x, **kwargs):
        """Reconstructions of `x` (see `keras.Model.predict`)."""
        return super().predict(_tuple_batches(x), **kwargs)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        if sample_weight is not None:
            raise ValueError(
                "Invalid value for argument `sample_weight`. Expected None: "
                "autoencoders in keras_sparse_ae do not support sample weights. "
                "Received: sample_weight of type "
                f"{type(sample_weight).__name__}"
            )
        target = x if y is None else y
        reconstruction = self._reconstruction_fn(target, y_pred)
        # Python's sum, not ops.sum: a tracked list of JAX tracers cannot be
        # converted to one array inside a traced step.
        total = reconstruction
        for loss in self.losses:
            total = total + keras.ops.cast(
                self._aggregate_additional_loss(loss), total.dtype
            )
        self.reconstruction_tracker.update_state(reconstruction)
        for tracker, (layer, term) in zip(self.penalty_trackers, self._penalty_sources):
            value = layer.penalty_values.get(term)
            if value is not None:
                tracker.update_state(value)
        return total

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "encoder": keras.saving.serialize_keras_object(self.encoder),
                "decoder": keras.saving.serialize_keras_object(self.decoder),
                "reconstruction": self.reconstruction,
            }
        )
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras pops entries from nested configs while rebuilding them.
        config = copy.deepcopy(config)
        for part in ("encoder", "decoder"):
            config[part] = keras.saving.deserialize_keras_object(
                config[part], custom_objects=custom_objects
            )
        return cls(**config)


def _tuple_batches(data):
    """Wraps a generator of bare arrays so that it yields `(x,)` tuples."""
    if isinstance(data, (types.GeneratorType, collections.abc.Iterator)) and not (
        hasattr(data, "element_spec")  # tf.data iterators
    ):
        return (batch if isinstance(batch, tuple) else (batch,) for batch in data)
    return data
