"""`build_deep_sae`: structure, whole-model parity, trace, persistence, errors."""

import re

import keras
import numpy as np
import pytest

from keras_sparse_ae import Autoencoder, ParticipationTrace, build_deep_sae, reference

RTOL = 1e-5
ATOL = 1e-6

PENALTIES = dict(sparsity=0.6, gamma=0.9, alpha_s=3.0, alpha_p=20.0, alpha_b=0.7)


def small_model(**kwargs):
    options = dict(input_dim=16, hidden=(8, 3), seed=0, **PENALTIES)
    options.update(kwargs)
    return build_deep_sae(**options)


def dense_weights(model):
    dense = [
        layer
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if isinstance(layer, keras.layers.Dense)
    ]
    return [tuple(layer.get_weights()) for layer in dense]


def traces(model):
    return [
        keras.ops.convert_to_numpy(layer.trace).astype(np.float64)
        for layer in model.penalty_layers
    ]


def reference_terms(model, x, reconstruction):
    """Every loss term of the whole model from the NumPy reference."""
    weights = dense_weights(model)
    activations = ["sigmoid"] * (len(weights) - 1) + ["sigmoid"]
    outputs = reference.dense_stack(x, weights, activations)
    hidden, x_hat = outputs[:-1], outputs[-1]
    terms = {}
    for index, (h, trace) in enumerate(zip(hidden, traces(model))):
        layer_terms, _ = reference.participation_trace_penalties(h, trace, **PENALTIES)
        terms.update({f"h{index + 1}_{k}": v for k, v in layer_terms.items()})
    rec = {
        "mse": reference.mse,
        "l2": reference.l2_loss_per_input,
        "bce": reference.bce,
    }
    terms["reconstruction"] = rec[reconstruction](x, x_hat)
    terms["loss"] = sum(terms.values())
    return terms


def test_lesson_shape_and_names():
    model = build_deep_sae(hidden=(200, 45), seed=0)
    assert isinstance(model, Autoencoder)
    dense = [w[0].shape for w in dense_weights(model)]
    assert dense == [(784, 200), (200, 45), (45, 200), (200, 784)]
    assert [layer.name for layer in model.penalty_layers] == ["h1", "h2", "h3"]
    assert model.encoder.name == "encoder" and model.decoder.name == "decoder"
    assert model.encoder.output_shape == (None, 45)
    assert all(isinstance(layer, ParticipationTrace) for layer in model.penalty_layers)
    assert model.compiled


@pytest.mark.parametrize("reconstruction", ["mse", "l2", "bce"])
def test_whole_model_loss_matches_reference(rng, reconstruction):
    model = small_model(reconstruction=reconstruction)
    x = rng.random((32, 16)).astype("float32")
    model.fit(x, batch_size=8, epochs=2, verbose=0)  # traces move off their start
    got = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    expected = reference_terms(model, x, reconstruction)
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=RTOL, atol=ATOL, err_msg=name)


class RecordHidden(keras.callbacks.Callback):
    """Records, before each step, the hidden activations of that step's batch."""

    def __init__(self, x, batch_size):
        super().__init__()
        self.x, self.batch_size, self.hidden = x, batch_size, []

    def on_train_batch_begin(self, batch, logs=None):
        xb = self.x[batch * self.batch_size : (batch + 1) * self.batch_size]
        outputs = reference.dense_stack(xb, dense_weights(self.model), ["sigmoid"] * 4)
        self.hidden.append(outputs[:-1])


def test_traces_after_fit_equal_numpy_ema(rng):
    model = small_model()
    # One step per execution, so that the callback sees every batch.
    model.compile(optimizer=model.optimizer, steps_per_execution=1)
    x = rng.random((20 * 4, 16)).astype("float32")
    recorder = RecordHidden(x, 4)
    model.fit(x, batch_size=4, epochs=1, shuffle=False, verbose=0, callbacks=[recorder])
    assert len(recorder.hidden) == 20
    expected = [np.full(n, 0.4) for n in (8, 3, 8)]
    for step_hidden in recorder.hidden:
        expected = [
            reference.trace_update(t, h, PENALTIES["gamma"])
            for t, h in zip(expected, step_hidden)
        ]
    for got, want in zip(traces(model), expected):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_history_has_reconstruction_and_every_term_per_layer(rng):
    x = rng.random((32, 16)).astype("float32")
    history = small_model().fit(x, validation_data=x[:8], epochs=1, verbose=0)
    terms = [
        f"h{i}_{t}" for i in (1, 2, 3) for t in ("sparsity", "participation", "binary")
    ]
    expected = ["loss", "reconstruction", *terms]
    assert sorted(history.history) == sorted(expected + ["val_" + k for k in expected])


def test_same_seed_same_weights():
    first, second = small_model(seed=3), small_model(seed=3)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    other = small_model(seed=4)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


def test_save_load_and_continue_training(rng, tmp_path):
    x = rng.random((32, 16)).astype("float32")
    model = small_model()
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "deep.keras")
    loaded = keras.models.load_model(tmp_path / "deep.keras")
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    for a, b in zip(traces(loaded), traces(model)):
        np.testing.assert_array_equal(a, b)
    before = loaded.evaluate(x, verbose=0)
    loaded.fit(x, batch_size=8, epochs=3, verbose=0)
    assert loaded.evaluate(x, verbose=0) < before
    assert not np.array_equal(traces(loaded)[0], traces(model)[0])


def test_sgd_halving_really_halves_every_1000_steps():
    model = small_model(optimizer="sgd_halving", learning_rate=10.0)
    schedule = model.optimizer.learning_rate
    rates = [
        float(schedule(step)) if callable(schedule) else None
        for step in (0, 999, 1000, 2500)
    ]
    if rates[0] is None:  # Keras wraps schedules: read the schedule object
        schedule = model.optimizer._learning_rate
        rates = [float(schedule(step)) for step in (0, 999, 1000, 2500)]
    assert rates == [10.0, 10.0, 5.0, 2.5]


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(hidden=()), ValueError, "Invalid value for argument `hidden`"),
        (
            dict(hidden=(0, 3)),
            ValueError,
            "Expected a non-empty tuple of integers >= 1",
        ),
        (dict(hidden=(8.5, 3)), TypeError, "Invalid type for argument `hidden`"),
        (dict(hidden=30), TypeError, "Invalid type for argument `hidden`"),
        (dict(input_dim=0), ValueError, "Received: input_dim=0"),
        (dict(input_dim="784"), TypeError, "Invalid type for argument `input_dim`"),
        (
            dict(sparsity=1.5),
            ValueError,
            "Expected a float in (0, 1). Received: sparsity=1.5",
        ),
        (dict(alpha_p=-1.0), ValueError, "Invalid value for argument `alpha_p`"),
        (dict(gamma=1.0), ValueError, "Invalid value for argument `gamma`"),
        (
            dict(activation="swish"),
            ValueError,
            "Invalid value for argument `activation`",
        ),
        (dict(reconstruction="mae"), ValueError, "argument `reconstruction`"),
        (
            dict(optimizer="rmsprop"),
            ValueError,
            "Invalid value for argument `optimizer`",
        ),
        (
            dict(learning_rate=0.0),
            ValueError,
            "Invalid value for argument `learning_rate`",
        ),
        (dict(seed=-1), ValueError, "Invalid value for argument `seed`"),
    ],
)
def test_bad_arguments_are_refused_before_building(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        small_model(**kwargs)
