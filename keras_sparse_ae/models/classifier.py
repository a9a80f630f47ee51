"""Unsupervised pretraining (lesson 001): reuse a trained encoder in a classifier."""

import numbers

import keras
import numpy as np

from keras_sparse_ae import _validation, config
from keras_sparse_ae.datasets.validation import check_data
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.layerwise import train_layerwise
from keras_sparse_ae.models.optimizers import fresh_optimizer

#: Batch size used to evaluate the classifiers (inference only).
INFERENCE_BATCH_SIZE = 1024


def _encoder_of(encoder):
    """The encoder model of `encoder` (an `Autoencoder` or a Keras model)."""
    if isinstance(encoder, Autoencoder):
        encoder = encoder.encoder
    if not isinstance(encoder, keras.Model):
        raise _validation.invalid_type(
            "encoder", "a `keras.Model` or an `Autoencoder`", encoder
        )
    if not encoder.built or not encoder.inputs:
        raise _validation.invalid_value(
            "encoder",
            "a built functional or Sequential model (give it a `keras.Input`)",
            encoder,
        )
    return encoder


def build_classifier(
    encoder,
    n_classes,
    *,
    freeze_encoder=False,
    pretrained=True,
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds a classifier on top of a copy of a (pretrained) encoder.

    Lesson 001, "unsupervised pretraining": train an autoencoder on all the
    (unlabeled) data, then reuse its lower layers in a network trained on
    the few labels, optionally frozen. The classifier is

        softmax(encoder_copy(x) @ W + b)

    where `encoder_copy` is `keras.models.clone_model(encoder)` holding
    the encoder's trained weights (`pretrained=True`) or its fresh initial
    weights (`pretrained=False`: the same network trained from scratch).
    The copy owns new variables: training the classifier never changes the
    autoencoder. Sparsity layers inside the encoder come along and keep
    adding their penalties to the classifier's loss.

    Args:
        encoder: a built functional or `Sequential` `keras.Model` (e.g.
            `autoencoder.encoder`), or an `Autoencoder`, whose encoder is
            used.
        n_classes: int >= 2, the number of classes (labels `0..n-1`).
        freeze_encoder: whether the copied encoder is frozen
            (`trainable=False`): only the softmax layer is trained.
        pretrained: whether the copy gets the encoder's weights; `False`
            gives the same architecture with new initial weights.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer
            instance (copied).
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the softmax layer's initialiser.

    Returns:
        A `keras.Model` named `classifier` with layers `encoder` (the copy)
        and `classes` (the softmax), compiled with sparse categorical
        cross-entropy and an `accuracy` metric; train it with
        `fit(x, labels)`.

    Example:

    >>> import keras
    >>> encoder = keras.Sequential(
    ...     [keras.Input((16,)), keras.layers.Dense(4, name="h1")], name="encoder")
    >>> classifier = build_classifier(encoder, 3, freeze_encoder=True)
    >>> classifier.output_shape, len(classifier.trainable_weights)
    ((None, 3), 2)
    >>> copy = classifier.get_layer("encoder")
    >>> copy.get_layer("h1").kernel is encoder.get_layer("h1").kernel
    False
    """
    encoder = _encoder_of(encoder)
    n_classes = _validation.check_int("n_classes", n_classes, low=2)
    if not isinstance(freeze_encoder, bool):
        raise _validation.invalid_type("freeze_encoder", "a boolean", freeze_encoder)
    if not isinstance(pretrained, bool):
        raise _validation.invalid_type("pretrained", "a boolean", pretrained)
    if seed is not None:
        seed = _validation.check_int("seed", seed, low=0)
    optimizer = fresh_optimizer(optimizer, learning_rate)

    copy = keras.models.clone_model(encoder)
    if pretrained:
        copy.set_weights(encoder.get_weights())
    copy.trainable = not freeze_encoder
    copy.name = "encoder"  # its role here, whatever the original's name
    inputs = keras.Input(encoder.input_shape[1:], name="x")
    outputs = keras.layers.Dense(
        n_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed),
        name="classes",
    )(copy(inputs))
    classifier = keras.Model(inputs, outputs, name="classifier")
    classifier.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
        jit_compile=config.jit_compile(classifier),
    )
    return classifier


def _check_labels(y, n_samples):
    expected = f"a 1-D array of {n_samples} integer labels >= 0"
    array = np.asarray(y)
    if array.dtype.kind not in "iu":
        raise _validation.invalid_type("y", expected, _Short(array))
    if array.shape != (n_samples,) or (array.size and array.min() < 0):
        raise _validation.invalid_value("y", expected, _Short(array))
    return array.astype(np.int64)


class _Short:
    """Stands in for an array in a message."""

    def __init__(self, array):
        self.text = f"array of shape {array.shape} and dtype {array.dtype}"

    def __repr__(self):
        return self.text


def _check_fractions(fractions):
    expected = "a non-empty tuple of floats in (0, 1]"
    if isinstance(fractions, (str, bytes)) or not hasattr(fractions, "__iter__"):
        raise _validation.invalid_type("fractions", expected, fractions)
    values = tuple(fractions)
    if not values:
        raise _validation.invalid_value("fractions", expected, fractions)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _validation.invalid_type("fractions", expected, fractions)
        if not 0.0 < value <= 1.0:
            raise _validation.invalid_value("fractions", expected, fractions)
    return tuple(float(v) for v in values)


def stratified_indices(y, fraction, rng):
    """A random `fraction` of the indices of each class (at least one each).

    Args:
        y: 1-D array of integer labels.
        fraction: float in (0, 1].
        rng: a `numpy.random.Generator`.

    Returns:
        Sorted int64 indices into `y`.

    Example:

    >>> import numpy as np
    >>> y = np.repeat([0, 1], 10)
    >>> picked = stratified_indices(y, 0.2, np.random.default_rng(0))
    >>> np.bincount(y[picked]).tolist()
    [2, 2]
    """
    picked = []
    for label in np.unique(y):
        members = np.flatnonzero(y == label)
        count = min(len(members), max(1, int(round(fraction * len(members)))))
        picked.append(rng.choice(members, size=count, replace=False))
    return np.sort(np.concatenate(picked)).astype(np.int64)


def _accuracy(classifier, x, y):
    """Held-out accuracy, by direct calls (no compiled function to trace)."""
    correct = 0
    for start in range(0, len(x), INFERENCE_BATCH_SIZE):
        stop = start + INFERENCE_BATCH_SIZE
        probabilities = classifier(x[start:stop], training=False)
        predicted = np.argmax(keras.ops.convert_to_numpy(probabilities), axis=-1)
        correct += int(np.sum(predicted == y[start:stop]))
    return correct / len(x)


def compare_pretraining(
    x,
    y,
    *,
    autoencoder=None,
    hidden=(300, 150),
    pretrain_epochs=10,
    fractions=(0.01, 0.1),
    holdout=0.2,
    epochs=20,
    batch_size=32,
    freeze_encoder=False,
    seed=0,
    verbose=0,
):
    """Held-out accuracy with and without unsupervised pretraining.

    Lesson 001's experiment: with many unlabeled samples and few labels,
    an encoder pretrained as part of an autoencoder on all the data helps
    the classifier trained on the labels. This function

    1. splits `(x, y)` into a training part and a held-out part of
       `holdout` of each class (seeded by `seed`);
    2. trains the autoencoder on the training part's `x` only, without
       labels (by default a stacked `hidden` autoencoder trained layer by
       layer with `train_layerwise`, the lesson's recipe);
    3. for each fraction, draws that fraction of each class of the
       training part (at least one sample per class) and trains on those
       labels, for `epochs` epochs, (a) `build_classifier(encoder,
       pretrained=True)` and (b) the same network from scratch
       (`pretrained=False`, never frozen);
    4. measures both on the held-out part.

    Args:
        x: data `(samples, features)` (see `check_data`).
        y: 1-D integer labels `0..n_classes-1`, one per sample.
        autoencoder: `None` for `train_layerwise(x_train, hidden,
            epochs=pretrain_epochs)`; a compiled `Autoencoder`, trained in
            place for `pretrain_epochs` epochs on the training part (0:
            use it as it is, e.g. already trained; it must then not have
            seen the held-out part); or a callable `input_dim ->
            compiled Autoencoder`, trained likewise.
        hidden: encoder sizes of the default autoencoder.
        pretrain_epochs: int >= 0 (>= 1 without `autoencoder`), epochs of
            unsupervised training (per level for the default).
        fractions: tuple of floats in (0, 1], the labeled fractions of the
            training part to compare.
        holdout: float in (0, 1), the held-out fraction of each class.
        epochs: int >= 1, epochs of each classifier.
        batch_size: int >= 1, batch size of every training.
        freeze_encoder: whether the pretrained encoder is frozen (only its
            softmax layer learns).
        seed: int >= 0, seeds the split, the label draws, the default
            autoencoder's and the softmax layers' initialisers. Shuffling
            in `fit` follows Keras' global seed
            (`keras.utils.set_random_seed`).
        verbose: verbosity of every `fit`.

    Returns:
        A list with one dict per fraction: `fraction`, `n_labels` (the
        number of labeled samples used), `pretrained_accuracy` and
        `scratch_accuracy` (held-out accuracies in [0, 1]).

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> y = np.repeat([0, 1], 40)
    >>> x = (rng.random((80, 16)) * 0.5 + 0.5 * y[:, None]).astype("float32")
    >>> rows = compare_pretraining(x, y, hidden=(4,), pretrain_epochs=1,
    ...                            fractions=(0.5,), epochs=1)
    >>> rows[0]["n_labels"], 0 <= rows[0]["pretrained_accuracy"] <= 1
    (32, True)
    """
    x = check_data(x, name="x")
    y = _check_labels(y, x.shape[0])
    if not (
        autoencoder is None
        or isinstance(autoencoder, Autoencoder)
        or (callable(autoencoder) and not isinstance(autoencoder, keras.Model))
    ):
        raise _validation.invalid_type(
            "autoencoder",
            "None, a compiled `Autoencoder` or a callable returning one",
            autoencoder,
        )
    hidden = _validation.check_sizes("hidden", hidden)
    pretrain_epochs = _validation.check_int(
        "pretrain_epochs", pretrain_epochs, low=1 if autoencoder is None else 0
    )
    fractions = _check_fractions(fractions)
    holdout = _validation.check_float(
        "holdout", holdout, 0.0, 1.0, low_open=True, high_open=True
    )
    epochs = _validation.check_int("epochs", epochs, low=1)
    batch_size = _validation.check_int("batch_size", batch_size, low=1)
    if not isinstance(freeze_encoder, bool):
        raise _validation.invalid_type("freeze_encoder", "a boolean", freeze_encoder)
    seed = _validation.check_int("seed", seed, low=0)
    n_classes = int(y.max()) + 1
    if n_classes < 2:
        raise _validation.invalid_value("y", "labels of at least 2 classes", _Short(y))

    rng = np.random.default_rng(seed)
    test = stratified_indices(y, holdout, rng)
    train = np.setdiff1d(np.arange(len(y)), test)
    x_train, y_train = x[train], y[train]
    x_test, y_test = x[test], y[test]

    if autoencoder is None:
        autoencoder, _ = train_layerwise(
            x_train,
            hidden,
            epochs=pretrain_epochs,
            batch_size=batch_size,
            seed=seed,
            verbose=verbose,
        )
    else:
        if not isinstance(autoencoder, Autoencoder):
            autoencoder = autoencoder(x.shape[1])
            if not isinstance(autoencoder, Autoencoder):
                raise _validation.invalid_type(
                    "autoencoder",
                    "a callable returning a compiled `Autoencoder`",
                    autoencoder,
                )
        if pretrain_epochs:
            autoencoder.fit(
                x_train, epochs=pretrain_epochs, batch_size=batch_size, verbose=verbose
            )

    rows = []
    for fraction in fractions:
        labeled = stratified_indices(y_train, fraction, rng)
        accuracies = {}
        for kind, pretrained in (("pretrained", True), ("scratch", False)):
            classifier = build_classifier(
                autoencoder,
                n_classes,
                freeze_encoder=freeze_encoder and pretrained,
                pretrained=pretrained,
                seed=seed,
            )
            classifier.fit(
                x_train[labeled],
                y_train[labeled],
                epochs=epochs,
                batch_size=batch_size,
                verbose=verbose,
            )
            accuracies[kind] = _accuracy(classifier, x_test, y_test)
        rows.append(
            {
                "fraction": fraction,
                "n_labels": int(len(labeled)),
                "pretrained_accuracy": accuracies["pretrained"],
                "scratch_accuracy": accuracies["scratch"],
            }
        )
    return rows
