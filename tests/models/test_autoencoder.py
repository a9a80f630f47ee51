"""The `Autoencoder` model: loss without targets, per-term metrics, trace."""

import json
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_checks import tiny_autoencoder

from keras_sparse_ae import (
    ActivityRegularizer,
    Autoencoder,
    KLSparsity,
    ParticipationTrace,
    reference,
)

# float32 forward passes against the float64 reference.
RTOL = 1e-5
ATOL = 1e-6

N, D, H = 64, 12, 5


@pytest.fixture
def data(rng):
    return rng.random((N, D)).astype("float32")


def three_penalty_model(reconstruction="mse"):
    """12-5-12 sigmoid model with every kind of penalty layer in it."""
    encoder = keras.Sequential(
        [
            keras.Input((D,)),
            keras.layers.Dense(H, activation="sigmoid", name="dense_h1"),
            ParticipationTrace(
                sparsity=0.7, alpha_s=2.0, alpha_p=50.0, alpha_b=0.5, name="h1"
            ),
            KLSparsity(target=0.2, weight=0.3, name="h1_kl"),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((H,)),
            keras.layers.Dense(D, activation="sigmoid", name="dense_out"),
            ActivityRegularizer(kind="l2", weight=0.1, name="out_l2"),
        ],
        name="decoder",
    )
    model = Autoencoder(encoder, decoder, reconstruction=reconstruction)
    model.compile(optimizer=keras.optimizers.SGD(0.5))
    return model


def reference_loss(model, x, reconstruction):
    """Total loss and its terms from the NumPy reference, for the whole batch."""
    enc = model.encoder
    h = reference.dense(x, *enc.get_layer("dense_h1").get_weights(), "sigmoid")
    x_hat = reference.dense(
        h, *model.decoder.get_layer("dense_out").get_weights(), "sigmoid"
    )
    trace = keras.ops.convert_to_numpy(enc.get_layer("h1").trace)
    terms, _ = reference.participation_trace_penalties(
        h, trace, sparsity=0.7, gamma=0.99, alpha_s=2.0, alpha_p=50.0, alpha_b=0.5
    )
    terms = {f"h1_{name}": value for name, value in terms.items()}
    terms["h1_kl_kl"] = reference.kl_sparsity_penalty(h, 0.2, weight=0.3)
    terms["out_l2_l2"] = reference.activity_penalty(x_hat, "l2", 0.1)
    rec = {
        "mse": reference.mse,
        "l2": reference.l2_loss_per_input,
        "bce": reference.bce,
    }[reconstruction](x, x_hat)
    terms["reconstruction"] = rec
    terms["loss"] = rec + sum(v for k, v in terms.items() if k != "reconstruction")
    return terms


@pytest.mark.parametrize("reconstruction", ["mse", "l2", "bce"])
def test_evaluate_matches_reference(data, reconstruction):
    model = three_penalty_model(reconstruction)
    model.fit(data, batch_size=16, epochs=2, verbose=0)
    got = model.evaluate(data, batch_size=N, verbose=0, return_dict=True)
    expected = reference_loss(model, data, reconstruction)
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=RTOL, atol=ATOL, err_msg=name)


def test_history_reports_each_term_and_they_add_up(data):
    model = three_penalty_model()
    history = model.fit(
        data, validation_data=data[:16], batch_size=16, epochs=3, verbose=0
    )
    terms = ["h1_sparsity", "h1_participation", "h1_binary", "h1_kl_kl", "out_l2_l2"]
    for name in ["loss", "reconstruction", *terms]:
        assert len(history.history[name]) == 3
        assert len(history.history["val_" + name]) == 3
    # Equal batches: the epoch mean of the total is the sum of the epoch means.
    summed = np.sum([history.history[n] for n in ["reconstruction", *terms]], axis=0)
    np.testing.assert_allclose(history.history["loss"], summed, rtol=1e-5)


def test_training_reduces_the_loss(data):
    model = three_penalty_model()
    history = model.fit(data, batch_size=16, epochs=15, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


def test_disabled_terms_are_not_reported(data):
    model = tiny_autoencoder(
        ParticipationTrace(alpha_s=0.0, alpha_p=1.0, alpha_b=0.0, name="h")
    )
    history = model.fit(data, epochs=1, verbose=0)
    assert sorted(history.history) == ["h_participation", "loss", "reconstruction"]


def _ema(trace, batches, gamma):
    for batch in batches:
        trace = reference.trace_update(trace, batch, gamma)
    return trace


@pytest.mark.parametrize(
    "steps_per_execution",
    [
        1,
        pytest.param(
            5,
            marks=pytest.mark.skipif(
                keras.backend.backend() == "torch",
                reason=(
                    "Keras 3.15's PyTorch trainer refuses steps_per_execution "
                    "> 1 ('`steps_per_execution` must be 1 with the PyTorch "
                    "backend'): https://github.com/keras-team/keras/blob/"
                    "v3.15.1/keras/src/backend/torch/trainer.py#L116-L120; "
                    "lifted upstream by "
                    "https://github.com/keras-team/keras/pull/23234"
                ),
            ),
        ),
    ],
)
def test_trace_after_fit_equals_numpy_ema_on_inputs(rng, steps_per_execution):
    """Trace on the input itself: its batches are known exactly."""
    batch = 8
    x = rng.random((20 * batch, D)).astype("float32")
    encoder = keras.Sequential(
        [
            keras.Input((D,)),
            ParticipationTrace(sparsity=0.6, gamma=0.9, name="input_trace"),
            keras.layers.Dense(H, activation="sigmoid"),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [keras.Input((H,)), keras.layers.Dense(D)], name="decoder"
    )
    model = Autoencoder(encoder, decoder)
    model.compile(optimizer="adam", steps_per_execution=steps_per_execution)
    model.fit(x, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    expected = _ema(np.full(D, 0.4), np.split(x, 20), gamma=0.9)
    got = keras.ops.convert_to_numpy(encoder.get_layer("input_trace").trace)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_trace_after_fit_equals_numpy_ema_on_hidden_layer(rng):
    """Trace on a frozen hidden layer: its activations are computable in NumPy."""
    batch = 8
    x = rng.random((20 * batch, D)).astype("float32")
    trace_layer = ParticipationTrace(sparsity=0.8, gamma=0.95, alpha_p=10.0, name="h1")
    model = tiny_autoencoder(trace_layer)
    frozen = model.encoder.get_layer("code_dense")
    frozen.trainable = False
    model.compile(optimizer="adam")
    kernel, bias = frozen.get_weights()
    model.fit(x, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    hidden = [reference.dense(b, kernel, bias, "sigmoid") for b in np.split(x, 20)]
    expected = _ema(np.full(H, 0.2), hidden, gamma=0.95)
    got = keras.ops.convert_to_numpy(trace_layer.trace)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)


def test_predict_evaluate_and_inference_calls_leave_the_trace(data):
    model = three_penalty_model()
    model.fit(data, batch_size=16, epochs=1, verbose=0)
    trace = model.encoder.get_layer("h1").trace
    before = keras.ops.convert_to_numpy(trace).copy()
    model.predict(data, verbose=0)
    model.evaluate(data, verbose=0)
    model(data)
    model.reconstruct(data)
    model.encode(data)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(trace), before)
    model(data, training=True)
    assert not np.allclose(keras.ops.convert_to_numpy(trace), before)


def test_fit_accepts_datasets_and_generators_of_x_only(data):
    model = three_penalty_model()
    dataset = tf.data.Dataset.from_tensor_slices(data).batch(16)
    history = model.fit(dataset, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])

    def batches():
        while True:
            for start in range(0, N, 16):
                yield data[start : start + 16]

    history = model.fit(batches(), steps_per_epoch=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["h1_participation"][0])


def test_explicit_target_is_used_when_given(data, rng):
    """fit(x, y) trains towards y (e.g. clean images for denoising)."""
    model = three_penalty_model()
    noisy = np.clip(data + 0.1 * rng.standard_normal(data.shape), 0, 1).astype(
        "float32"
    )
    with_target = model.evaluate(noisy, data, batch_size=N, verbose=0, return_dict=True)
    x_hat = model.predict(noisy, verbose=0)
    np.testing.assert_allclose(
        with_target["reconstruction"], reference.mse(data, x_hat), rtol=RTOL
    )


def test_save_load_round_trip_and_continue_training(data, tmp_path):
    model = three_penalty_model()
    model.fit(data, batch_size=16, epochs=2, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, Autoencoder)
    # (JSON-normalised: a reloaded config has lists where shapes were tuples)
    assert json.dumps(loaded.get_config()) == json.dumps(model.get_config())
    np.testing.assert_array_equal(
        loaded.predict(data, verbose=0), model.predict(data, verbose=0)
    )
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(loaded.encoder.get_layer("h1").trace),
        keras.ops.convert_to_numpy(model.encoder.get_layer("h1").trace),
    )
    assert loaded.evaluate(data, verbose=0) == model.evaluate(data, verbose=0)
    # The optimizer state comes back too: one more step agrees exactly.
    model.fit(data, batch_size=N, epochs=1, shuffle=False, verbose=0)
    loaded.fit(data, batch_size=N, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(
        loaded.predict(data, verbose=0),
        model.predict(data, verbose=0),
        rtol=1e-6,
        atol=1e-7,
    )


def test_sample_weight_is_refused(data):
    model = three_penalty_model()
    with pytest.raises(ValueError, match="do not support sample weights"):
        model.fit(data, data, sample_weight=np.ones(N), epochs=1, verbose=0)


def test_unknown_reconstruction_is_refused():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Invalid value for argument `reconstruction`. Expected one of 'mse', "
            "'l2', 'bce'. Received: reconstruction='mae'"
        ),
    ):
        tiny_autoencoder(KLSparsity(), reconstruction="mae")


def test_mixed_precision_training_keeps_float32_loss_and_trace(data):
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        model = three_penalty_model()
        history = model.fit(data, batch_size=16, epochs=2, verbose=0)
    finally:
        keras.mixed_precision.set_dtype_policy("float32")
    assert model.encoder.get_layer("dense_h1").compute_dtype == "float16"
    assert model.encoder.get_layer("h1").trace.dtype == "float32"
    assert all(np.isfinite(v).all() for v in history.history.values())
    assert history.history["loss"][-1] < history.history["loss"][0]
