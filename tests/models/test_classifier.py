"""`build_classifier` and `compare_pretraining`: copies, freezing, the experiment."""

import re

import keras
import numpy as np
import pytest

from keras_sparse_ae.datasets import load_mnist_5k
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.classifier import (
    build_classifier,
    compare_pretraining,
    stratified_indices,
)
from keras_sparse_ae.models.tied import build_tied


@pytest.fixture(scope="module")
def digits():
    x, y = load_mnist_5k()
    order = np.random.default_rng(0).permutation(len(x))[:600]
    return x[order], y[order]


@pytest.fixture(scope="module")
def pretrained(digits):
    """A tied 784-32-16 autoencoder trained one epoch on the digits."""
    keras.utils.set_random_seed(0)
    model = build_tied(hidden=(32, 16), seed=0, learning_rate=1e-2)
    model.fit(digits[0], epochs=1, verbose=0)
    return model


def weights_of(model):
    return [np.array(w) for w in model.get_weights()]


def assert_same(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)


def test_classifier_structure_and_pretrained_copy(pretrained):
    classifier = build_classifier(pretrained, 10, seed=0)
    assert classifier.name == "classifier" and classifier.compiled
    assert classifier.output_shape == (None, 10)
    copy = classifier.get_layer("encoder")
    assert [layer.name for layer in copy.layers] == ["h1", "h2"]
    assert_same(weights_of(copy), weights_of(pretrained.encoder))
    original = {id(v) for v in pretrained.weights}
    assert not original & {id(v) for v in classifier.weights}
    assert len(classifier.trainable_weights) == 6

    scratch = build_classifier(pretrained.encoder, 10, pretrained=False)
    kernel = scratch.get_layer("encoder").get_layer("h1").get_weights()[0]
    assert not np.array_equal(kernel, pretrained.encoder.layers[0].get_weights()[0])


def test_training_leaves_the_autoencoder_unchanged(pretrained, digits):
    x, y = digits
    before = weights_of(pretrained)
    classifier = build_classifier(pretrained, 10, seed=0)
    copy = classifier.get_layer("encoder")
    copy_before = weights_of(copy)
    classifier.fit(x[:128], y[:128], epochs=1, verbose=0)
    assert not np.array_equal(weights_of(copy)[0], copy_before[0])
    assert_same(weights_of(pretrained), before)


def test_frozen_encoder_does_not_move(pretrained, digits):
    x, y = digits
    classifier = build_classifier(pretrained, 10, freeze_encoder=True, seed=0)
    copy = classifier.get_layer("encoder")
    copy_before = weights_of(copy)
    head_before = weights_of(classifier.get_layer("classes"))
    assert len(classifier.trainable_weights) == 2
    history = classifier.fit(x[:128], y[:128], epochs=2, verbose=0)
    assert_same(weights_of(copy), copy_before)
    assert not np.array_equal(
        weights_of(classifier.get_layer("classes"))[0], head_before[0]
    )
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_stratified_indices_take_each_class_fraction():
    y = np.repeat(np.arange(4), [10, 20, 30, 3])
    picked = stratified_indices(y, 0.1, np.random.default_rng(0))
    assert np.bincount(y[picked]).tolist() == [1, 2, 3, 1]
    assert len(np.unique(picked)) == len(picked)
    assert len(stratified_indices(y, 1.0, np.random.default_rng(0))) == len(y)


def test_compare_pretraining_on_digits(digits, monkeypatch):
    x, y = digits
    seen = []
    original_fit = Autoencoder.fit

    def recording_fit(self, x=None, y=None, **kwargs):
        seen.append((np.array(x), y))
        return original_fit(self, x, y, **kwargs)

    monkeypatch.setattr(Autoencoder, "fit", recording_fit)
    rows = compare_pretraining(
        x,
        y,
        hidden=(16,),
        pretrain_epochs=1,
        fractions=(0.05, 0.5),
        epochs=1,
        seed=0,
    )
    assert [row["fraction"] for row in rows] == [0.05, 0.5]
    assert rows[0]["n_labels"] < rows[1]["n_labels"] <= 0.5 * 0.8 * len(x) + 10
    assert rows[0]["n_labels"] >= 10
    for row in rows:
        assert sorted(row) == [
            "fraction",
            "n_labels",
            "pretrained_accuracy",
            "scratch_accuracy",
        ]
        for name in ("pretrained_accuracy", "scratch_accuracy"):
            assert 0.0 <= row[name] <= 1.0
    # Pretraining saw the training part only, without labels: level 1 got
    # 80 % of the digits (each class split 80/20).
    assert all(labels is None for _, labels in seen)
    level_1_inputs = seen[0][0]
    assert len(level_1_inputs) == len(x) - sum(
        max(1, round(0.2 * n)) for n in np.bincount(y)
    )
    rows_of_x = {row.tobytes() for row in x}
    assert all(row.tobytes() in rows_of_x for row in level_1_inputs)


def test_compare_pretraining_with_a_trained_autoencoder(pretrained, digits):
    x, y = digits
    before = weights_of(pretrained)
    rows = compare_pretraining(
        x[:200],
        y[:200],
        autoencoder=pretrained,
        pretrain_epochs=0,
        fractions=(0.5,),
        epochs=1,
        freeze_encoder=True,
    )
    assert len(rows) == 1 and 0.0 <= rows[0]["pretrained_accuracy"] <= 1.0
    assert_same(weights_of(pretrained), before)  # used as it is, not trained


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(encoder="encoder"), TypeError, "Invalid type for argument `encoder`"),
        (
            dict(encoder=keras.Sequential([keras.layers.Dense(3)])),
            ValueError,
            "Expected a built functional or Sequential model",
        ),
        (dict(n_classes=1), ValueError, "Received: n_classes=1"),
        (dict(freeze_encoder=1), TypeError, "argument `freeze_encoder`"),
        (dict(optimizer="rmsprop"), ValueError, "argument `optimizer`"),
        (dict(seed=-2), ValueError, "Invalid value for argument `seed`"),
    ],
)
def test_build_classifier_bad_arguments(kwargs, error, message):
    encoder = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3)])
    options = dict(encoder=encoder, n_classes=3)
    options.update(kwargs)
    with pytest.raises(error, match=re.escape(message)):
        build_classifier(options.pop("encoder"), options.pop("n_classes"), **options)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(y=np.zeros(7, int)), ValueError, "Invalid value for argument `y`"),
        (dict(y=np.zeros(8)), TypeError, "Invalid type for argument `y`"),
        (dict(y=np.zeros(8, int)), ValueError, "labels of at least 2 classes"),
        (dict(x=np.zeros(8)), ValueError, "Invalid value for argument `x`"),
        (dict(fractions=(0.0,)), ValueError, "argument `fractions`"),
        (dict(fractions=(0.1, 1.5)), ValueError, "argument `fractions`"),
        (dict(fractions=0.1), TypeError, "argument `fractions`"),
        (dict(holdout=1.0), ValueError, "Invalid value for argument `holdout`"),
        (dict(epochs=0), ValueError, "Received: epochs=0"),
        (dict(pretrain_epochs=0), ValueError, "Received: pretrain_epochs=0"),
        (dict(autoencoder="tied"), TypeError, "argument `autoencoder`"),
        (
            dict(autoencoder=lambda input_dim: None),
            TypeError,
            "Expected a callable returning a compiled `Autoencoder`",
        ),
        (dict(hidden=(0,)), ValueError, "Invalid value for argument `hidden`"),
        (dict(freeze_encoder="yes"), TypeError, "argument `freeze_encoder`"),
        (dict(seed=None), TypeError, "Invalid type for argument `seed`"),
    ],
)
def test_compare_pretraining_bad_arguments(kwargs, error, message, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("trained before validating")

    monkeypatch.setattr(Autoencoder, "fit", no_fit)
    options = dict(x=np.random.default_rng(0).random((8, 6)), y=np.arange(8) % 2)
    options.update(kwargs)
    with pytest.raises(error, match=re.escape(message)):
        compare_pretraining(options.pop("x"), options.pop("y"), **options)
