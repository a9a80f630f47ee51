"""`train_layerwise`: phases, weight copying, cached codes, persistence, errors."""

import math
import re

import keras
import numpy as np
import pytest

from keras_sparse_ae.datasets import load_mnist_5k
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.layerwise import train_layerwise
from keras_sparse_ae.models.stack import compile_autoencoder, mirrored_autoencoder

HIDDEN = (32, 16, 8)


@pytest.fixture(scope="module")
def digits():
    x = load_mnist_5k(return_labels=False)
    return x[np.random.default_rng(0).permutation(len(x))[:384]]


@pytest.fixture(scope="module")
def greedy(digits):
    """A 3-level run without fine-tuning, recording every `fit` call."""
    calls = []
    original_fit = Autoencoder.fit

    def recording_fit(self, x=None, y=None, **kwargs):
        calls.append((self, np.array(x, copy=True)))
        return original_fit(self, x, y, **kwargs)

    keras.utils.set_random_seed(0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Autoencoder, "fit", recording_fit)
        model, report = train_layerwise(
            digits, HIDDEN, epochs=2, learning_rate=1e-2, seed=0
        )
    return model, report, calls


def test_report_has_every_phase_with_finite_values(greedy):
    _, report, calls = greedy
    assert [model.name for model, _ in calls] == ["level_1", "level_2", "level_3"]
    assert sorted(report) == [
        "fine_tune",
        "level_1",
        "level_2",
        "level_3",
        "reconstruction_after_fine_tune",
        "reconstruction_before_fine_tune",
    ]
    dims = [784, *HIDDEN[:-1]]
    for index, units in enumerate(HIDDEN):
        phase = report[f"level_{index + 1}"]
        assert phase["epochs"] == 2 and phase["seconds"] > 0
        assert (phase["input_dim"], phase["units"]) == (dims[index], units)
        assert math.isfinite(phase["loss"]) and phase["loss"] >= phase["reconstruction"]
    assert report["fine_tune"] == {
        "loss": None,
        "reconstruction": None,
        "epochs": 0,
        "seconds": 0.0,
    }
    before = report["reconstruction_before_fine_tune"]
    assert before == report["reconstruction_after_fine_tune"]
    assert 0 < before < 0.2


def test_stacked_model_holds_the_levels_weights(greedy):
    model, _, calls = greedy
    levels = [level for level, _ in calls]
    assert [layer.name for layer in model.encoder.layers] == ["h1", "h2", "h3"]
    assert [layer.name for layer in model.decoder.layers] == [
        "h4",
        "h5",
        "reconstruction",
    ]
    targets = [("h1", "reconstruction"), ("h2", "h5"), ("h3", "h4")]
    for level, (encoder_name, decoder_name) in zip(levels, targets):
        pairs = [
            (model.encoder.get_layer(encoder_name), level.encoder.get_layer("h1")),
            (model.decoder.get_layer(decoder_name), level.decoder.layers[-1]),
        ]
        for stacked, trained in pairs:
            for a, b in zip(stacked.get_weights(), trained.get_weights()):
                np.testing.assert_array_equal(a, b)
    # The level variables are copies: nothing is shared with the stack.
    stacked_ids = {id(v) for v in model.weights}
    assert not stacked_ids & {id(v) for level in levels for v in level.weights}
    assert model.compiled and model.name == "layerwise"


def test_deeper_levels_train_on_the_previous_levels_codes(greedy, digits):
    _, _, calls = greedy
    (level_1, x1), (level_2, x2), (level_3, x3) = calls
    np.testing.assert_array_equal(x1, digits)
    np.testing.assert_allclose(x2, level_1.encode(digits), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(x3, level_2.encode(x2), rtol=1e-6, atol=1e-6)
    assert x2.shape == (len(digits), HIDDEN[0]) and x3.shape == (len(digits), 16)


def test_stacked_model_reconstructs_better_than_untrained(greedy, digits):
    model, report, _ = greedy
    fresh = compile_autoencoder(
        mirrored_autoencoder(
            784, HIDDEN, activation="elu", kernel_initializer="he_normal", seed=0
        )
    )
    untrained = fresh.evaluate(digits, batch_size=len(digits), verbose=0)[1]
    logs = model.evaluate(digits, batch_size=len(digits), verbose=0, return_dict=True)
    assert logs["reconstruction"] == pytest.approx(
        report["reconstruction_before_fine_tune"], rel=1e-5
    )
    assert logs["reconstruction"] < 0.5 * untrained


def test_stacked_model_saves_and_loads(greedy, digits, tmp_path):
    model, _, _ = greedy
    model.save(tmp_path / "layerwise.keras")
    loaded = keras.models.load_model(tmp_path / "layerwise.keras")
    assert isinstance(loaded, Autoencoder)
    np.testing.assert_array_equal(
        loaded.predict(digits, verbose=0), model.predict(digits, verbose=0)
    )


def test_fine_tuning_with_validation_and_an_optimizer_instance(digits):
    optimizer = keras.optimizers.Adam(2e-3)
    model, report = train_layerwise(
        digits[:256],
        (16,),
        epochs=1,
        fine_tune_epochs=3,
        optimizer=optimizer,
        seed=1,
        validation_data=digits[256:],
    )
    for phase in ("level_1", "fine_tune"):
        assert math.isfinite(report[phase]["val_loss"])
    assert report["fine_tune"]["epochs"] == 3 and report["fine_tune"]["seconds"] > 0
    assert (
        report["reconstruction_after_fine_tune"]
        < report["reconstruction_before_fine_tune"]
    )
    # Each phase got its own copy of the optimizer, none of them trained.
    assert model.optimizer is not optimizer and optimizer.iterations.numpy() == 0
    assert float(model.optimizer.learning_rate) == pytest.approx(2e-3)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(x=np.zeros(10)), ValueError, "Invalid value for argument `x`"),
        (dict(x="digits"), TypeError, "Invalid type for argument `x`"),
        (dict(epochs=0), ValueError, "Received: epochs=0"),
        (dict(epochs=1.5), TypeError, "Invalid type for argument `epochs`"),
        (dict(fine_tune_epochs=-1), ValueError, "Received: fine_tune_epochs=-1"),
        (dict(batch_size=0), ValueError, "Invalid value for argument `batch_size`"),
        (dict(hidden=()), ValueError, "Invalid value for argument `hidden`"),
        (dict(activation="gelu"), ValueError, "argument `activation`"),
        (dict(reconstruction="mae"), ValueError, "argument `reconstruction`"),
        (dict(optimizer="rmsprop"), ValueError, "argument `optimizer`"),
        (dict(l2=-1.0), ValueError, "Invalid value for argument `l2`"),
        (
            dict(x=np.full((4, 6), 2.0), reconstruction="bce"),
            ValueError,
            "Expected values in [0, 1]",
        ),
        (
            dict(validation_data=np.zeros((4, 5))),
            ValueError,
            "Expected validation_data with 6 features",
        ),
    ],
)
def test_bad_arguments_are_refused_before_training(kwargs, error, message, monkeypatch):
    def no_fit(*args, **kwargs):
        raise AssertionError("trained before validating")

    monkeypatch.setattr(Autoencoder, "fit", no_fit)
    options = dict(x=np.random.default_rng(0).random((4, 6)), hidden=(3, 2))
    options.update(kwargs)
    with pytest.raises(error, match=re.escape(message)):
        train_layerwise(options.pop("x"), **options)
