"""`Autoencoder`: the unsupervised model every builder returns."""

import collections.abc
import copy
import numbers
import os
import types

import keras
import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.callbacks import DivergenceGuard
from keras_sparse_ae.datasets.validation import check_data
from keras_sparse_ae.io import atomic_path, check_finite_weights
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer
from keras_sparse_ae.losses import RECONSTRUCTIONS, reconstruction_loss
from keras_sparse_ae.models import scan
from keras_sparse_ae.models.term_means import TermMeans


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
    `h1_participation`), each the weighted value added to the loss. When a
    layer of the encoder or decoder has a weight regularizer
    (`kernel_regularizer=`, `bias_regularizer=`, ...), a last term
    `weight_penalty` reports the sum of the regularizers' penalties (for
    example `l2 * sum(W**2)` per kernel for `keras.regularizers.L2(l2)`),
    together with any other loss not added by a sparsity layer (such as
    Keras' own `activity_regularizer=`); models without weight regularizers
    have no `weight_penalty` entry. The terms add up to `loss`. These
    trackers live on the model, which makes them work on the TensorFlow,
    JAX and PyTorch backends alike.

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
        self._penalty_sources = [
            (layer, term)
            for layer in self.penalty_layers
            for term in layer.penalty_terms
        ]
        # Checked once: the term list (and so History's keys) is fixed here.
        self._reports_weight_penalty = _has_weight_regularizer(
            (self.encoder, self.decoder)
        )
        self.term_tracker = TermMeans(
            ["reconstruction"]
            + [f"{layer.name}_{term}" for layer, term in self._penalty_sources]
            + (["weight_penalty"] if self._reports_weight_penalty else [])
            + list(self.extra_terms),
            name="terms",
        )

    #: Names of the loss terms a subclass adds in `extra_losses` (reported in
    #: `History` under these names, after the penalty terms).
    extra_terms = ()

    def extra_losses(self, target, y_pred):
        """The weighted values of `extra_terms` for this step (a list).

        A hook for subclasses whose loss has terms that no layer adds (for
        example `TopKAutoencoder`'s AuxK term): called in `compute_loss`
        after the forward pass, each value is added to the loss and reported
        under its name. The base class adds none.

        Args:
            target: the reconstruction target (`x`, or `y` when given).
            y_pred: the reconstruction.
        """
        return []

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

    @property
    def input_dim(self):
        """Number of input features, or `None` if the encoder does not say."""
        try:
            shape = self.encoder.input_shape
        except (AttributeError, ValueError):
            return None
        if isinstance(shape, tuple) and len(shape) == 2 and shape[-1] is not None:
            return int(shape[-1])
        return None

    def _check_array(self, data, name, *, target=False):
        """Checks array data before Keras sees it; leaves datasets alone.

        NumPy arrays and nested lists go through
        `keras_sparse_ae.datasets.check_data`: NaN/inf, a wrong rank or
        width, strings and empty arrays raise a Keras-style error naming
        `name` before any work starts, and 8-bit pixels are scaled to
        [0, 1]. A model trained with binary cross-entropy also requires its
        targets in [0, 1].
        """
        if data is None:
            return data
        if keras.ops.is_tensor(data):
            # A backend tensor (possibly resident on a GPU): check its shape
            # only, copying it to the host would defeat its purpose.
            if len(data.shape) != 2 or (
                self.input_dim is not None and data.shape[-1] != self.input_dim
            ):
                raise ValueError(
                    f"Invalid value for argument `{name}`. Expected a 2-D "
                    f"tensor of shape (samples, {self.input_dim}). Received: "
                    f"{name}=tensor of shape {tuple(data.shape)}"
                )
            return data
        if not isinstance(data, _ARRAY_LIKE) and not hasattr(data, "to_numpy"):
            return data
        return check_data(
            data,
            name=name,
            input_dim=self.input_dim,
            require_unit_interval=target and self.reconstruction == "bce",
        )

    def _check_validation_data(self, validation_data):
        if isinstance(validation_data, tuple):
            return tuple(
                self._check_array(part, f"validation_data[{i}]", target=True)
                if i < 2
                else part
                for i, part in enumerate(validation_data)
            )
        return self._check_array(validation_data, "validation_data", target=True)

    def make_train_function(self, force=False):
        """Keras' train function; on JAX, `steps_per_execution` steps scanned
        in one dispatch (`keras_sparse_ae.models.scan`), same results."""
        if self.train_function is not None and not force:
            return self.train_function
        super().make_train_function(force=force)
        if scan.uses_scanned_steps(self):
            self.train_function = scan.scanned_train_function(self)
        return self.train_function

    def fit(self, x=None, y=None, **kwargs):
        """Trains on `x` alone (see `keras.Model.fit`).

        Besides arrays and `tf.data.Dataset`s of X, a Python generator may
        yield bare batches of X (Keras itself wants `(x,)` tuples). Array
        data is checked first (see `keras_sparse_ae.datasets.check_data`).

        A `keras_sparse_ae.callbacks.DivergenceGuard` watches every run:
        if the loss or a term becomes NaN or infinite, training stops, the
        weights and optimizer state of the last finite epoch are put back
        and `keras_sparse_ae.callbacks.TrainingDivergedError` is raised,
        naming the learning rate as the likely cause.

        Raises:
            ValueError, TypeError: bad data (before any training).
            TrainingDivergedError: training diverged.
        """
        _check_no_sample_weight(kwargs)
        x = self._check_array(x, "x", target=y is None)
        y = self._check_array(y, "y", target=True)
        if "validation_data" in kwargs:
            kwargs["validation_data"] = self._check_validation_data(
                kwargs["validation_data"]
            )
        callbacks = list(kwargs.pop("callbacks", None) or ())
        guard = next((c for c in callbacks if isinstance(c, DivergenceGuard)), None)
        if guard is None:
            guard = DivergenceGuard()
            callbacks.append(guard)
        history = super().fit(_tuple_batches(x), y, callbacks=callbacks, **kwargs)
        if guard.error is not None:
            guard.error.history = history
            raise guard.error
        return history

    def evaluate(self, x=None, y=None, return_dict=False, **kwargs):
        """Returns the loss (and terms) on `x` (see `keras.Model.evaluate`).

        As a list: `loss`, `reconstruction`, then every penalty term in the
        model's order and `weight_penalty` last when the model has one (the
        order of `term_tracker.names`).
        """
        _check_no_sample_weight(kwargs)
        x = self._check_array(x, "x", target=y is None)
        y = self._check_array(y, "y", target=True)
        logs = super().evaluate(_tuple_batches(x), y, return_dict=True, **kwargs)
        if return_dict:
            return logs
        # Keras lists a dict-valued metric's entries alphabetically.
        order = ["loss", *self.term_tracker.names]
        values = [logs[name] for name in order if name in logs]
        values += [value for name, value in sorted(logs.items()) if name not in order]
        return values[0] if len(values) == 1 else values

    def predict(self, x, **kwargs):
        """Reconstructions of `x` (see `keras.Model.predict`)."""
        return super().predict(_tuple_batches(self._check_array(x, "x")), **kwargs)

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Saves the model as a `.keras` file, atomically (see `keras.Model.save`).

        The archive is written to a temporary file beside `filepath` and
        renamed over it only once complete, so an interrupted save leaves an
        existing file intact. A model whose weights hold NaN or inf (a
        diverged run) is refused with a `ValueError`.
        """
        check_finite_weights(self)
        optimizer = getattr(self, "optimizer", None)
        if optimizer is not None and not optimizer.built and self.built:
            # Loading builds the optimizer; an unbuilt one would be saved
            # without its slots and reloaded with a "skipping" warning.
            optimizer.build(self.trainable_variables)
        path = os.fspath(filepath) if isinstance(filepath, (str, os.PathLike)) else ""
        if zipped is False or not path.endswith(".keras") or "://" in path:
            return super().save(filepath, overwrite=overwrite, zipped=zipped, **kwargs)
        if os.path.exists(path) and not overwrite:
            answer = input(f"{path} already exists. Overwrite it? [y/n] ")
            if answer.strip().lower() not in ("y", "yes"):
                return None
        with atomic_path(path, suffix=".keras") as tmp:
            super().save(tmp, overwrite=True, zipped=zipped, **kwargs)
        return None

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        _check_no_sample_weight({"sample_weight": sample_weight})
        target = x if y is None else y
        reconstruction = self._reconstruction_fn(target, y_pred)
        # Scaled like the penalties: under tf.distribute, Keras divides each
        # added loss by the number of replicas (their gradients are summed
        # across replicas) and multiplies the total back for the `loss`
        # metric; unscaled, the reconstruction's gradient and its share of
        # `loss` would be num_replicas times too large. The method is private
        # Keras API, but the penalties below already go through it, which
        # keeps all terms scaled alike. Without replicas it changes nothing.
        total = self._aggregate_additional_loss(reconstruction)
        penalty_layers = self.penalty_layers
        losses = PenaltyLayer.replica_losses(self.losses, penalty_layers)
        extra = list(self.extra_losses(target, y_pred))
        # Python's sum, not ops.sum: a tracked list of JAX tracers cannot be
        # converted to one array inside a traced step.
        for loss in losses + extra:
            total = total + keras.ops.cast(
                self._aggregate_additional_loss(loss), total.dtype
            )
        values = [reconstruction] + [
            layer.penalty_values.get(term) for layer, term in self._penalty_sources
        ]
        if self._reports_weight_penalty:
            # Every loss of this replica that no sparsity layer recorded:
            # the weight regularizers' penalties (computed by Keras from the
            # weights whenever `losses` is read), reported unscaled like
            # the sparsity terms above.
            recorded = {
                id(value)
                for layer in penalty_layers
                for value in layer.penalty_values.values()
            }
            weight_penalty = keras.ops.zeros((), "float32")
            for loss in losses:
                if id(loss) not in recorded:
                    weight_penalty = weight_penalty + keras.ops.cast(
                        keras.ops.sum(loss), "float32"
                    )
            values.append(weight_penalty)
        values.extend(extra)
        # Weighted by the batch size, as Keras weights `loss`: with a shorter
        # last batch the epoch's terms still add up to the epoch's loss.
        self.term_tracker.update_state(values, weight=keras.ops.shape(target)[0])
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


#: Inputs checked by `check_data`; anything else (datasets, generators,
#: `keras.utils.PyDataset`) goes to Keras unchanged.
_ARRAY_LIKE = (np.ndarray, list, str, bytes, numbers.Number)


def _check_no_sample_weight(kwargs):
    """Sample and class weights are refused: the loss does not use them."""
    for name in ("sample_weight", "class_weight"):
        value = kwargs.get(name)
        if value is not None:
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected None: "
                f"autoencoders in keras_sparse_ae do not support "
                f"{name.replace('_', ' ')}s. "
                f"Received: {name} of type {type(value).__name__}"
            )


def _has_weight_regularizer(parts):
    """Whether a layer inside `parts` (recursively) regularizes its weights.

    A layer counts when one of its `*_regularizer` attributes other than
    `activity_regularizer` (`kernel_regularizer`, `bias_regularizer`,
    `recurrent_regularizer`, ...) is set, or when one of its variables
    carries a regularizer (`add_weight(regularizer=...)`).
    """
    for part in parts:
        for layer in part._flatten_layers(include_self=True):
            for name, value in vars(layer).items():
                if (
                    value is not None
                    and name.endswith("_regularizer")
                    and name.lstrip("_") != "activity_regularizer"
                ):
                    return True
            for variable in layer.weights:
                if getattr(variable, "regularizer", None) is not None:
                    return True
    return False


def _tuple_batches(data):
    """Wraps a generator of bare arrays so that it yields `(x,)` tuples."""
    if isinstance(data, (types.GeneratorType, collections.abc.Iterator)) and not (
        hasattr(data, "element_spec")  # tf.data iterators
    ):
        return (batch if isinstance(batch, tuple) else (batch,) for batch in data)
    return data
