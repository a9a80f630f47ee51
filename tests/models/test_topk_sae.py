"""`topk_sae`, `batch_topk_sae` and the AuxK loss against the NumPy reference.

One training step's loss terms (with dead units), inference parity, AuxK
parity and gradients, the History entries, mixed precision, argument
errors, the train CLI, and dead-unit resampling.
"""

import json

import keras
import numpy as np
import pytest
from keras import ops
from penalty_checks import to_numpy, value_and_gradient

import keras_sparse_ae as ksae
from keras_sparse_ae import losses
from keras_sparse_ae.reference import topk as ref

RTOL = 1e-5
ATOL = 1e-6
INPUT_DIM, CODE, K = 12, 8, 2

BUILDERS = {"topk_sae": False, "batch_topk_sae": True}  # name -> batch-wise


def small(name, **kwargs):
    kwargs = {"code_size": CODE, "k": K, "seed": 0, **kwargs}
    return ksae.build(name, input_dim=INPUT_DIM, **kwargs)


def weights(model):
    enc, dec = model.encoder.layers[0], model.decoder_dense
    return [to_numpy(v) for v in (enc.kernel, enc.bias, dec.kernel, dec.bias)]


# === Building ===


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_builds_with_decoder_as_encoder_transpose(name):
    model = small(name)
    w_e, b_e, w_d, b_d = weights(model)
    np.testing.assert_array_equal(w_d, w_e.T)
    assert not b_e.any() and not b_d.any()
    assert model.code_layer.k == K and model.effective_aux_k == 2 * K
    assert small(name, k=6).effective_aux_k == CODE  # min(2 k, units)
    assert model.extra_terms == ("auxk",)
    assert model.term_tracker.names == ("reconstruction", "auxk")


# === Loss parity ===


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_one_training_step_matches_reference(name, rng):
    model = small(name, dead_after=1, aux_weight=0.25)
    x = rng.random((16, INPUT_DIM)).astype("float32")
    before = weights(model)
    result = model.train_on_batch(x, return_dict=True)
    # dead_after=1: a unit not active in this batch is dead in this step.
    w_e, b_e = before[0], before[1]
    pre = x.astype(np.float64) @ w_e + b_e
    codes = ref.batch_topk(pre, K)[0] if BUILDERS[name] else ref.topk(pre, K)
    steps = ref.steps_since_active_update(np.zeros(CODE), codes)
    np.testing.assert_array_equal(to_numpy(model.code_layer.steps_since_active), steps)
    dead = steps >= 1
    assert dead.any() and not dead.all()
    expected = ref.topk_sae_loss(
        x, before, K, dead, aux_weight=0.25, batch=BUILDERS[name]
    )
    assert expected["auxk"] > 0
    assert sorted(result) == sorted(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(result[key], value, rtol=RTOL, atol=ATOL)
    if BUILDERS[name]:
        kth = ref.batch_topk(pre, K)[1]
        assert float(to_numpy(model.code_layer.threshold)) == pytest.approx(
            max(kth, 0.0), rel=1e-6
        )


def test_evaluate_matches_reference_with_trained_state(rng):
    model = small("topk_sae", dead_after=2)
    x = rng.random((32, INPUT_DIM)).astype("float32")
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    got = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    dead = model.code_layer.dead_mask()
    expected = ref.topk_sae_loss(x, weights(model), K, dead, aux_weight=1 / 32)
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=RTOL, atol=ATOL)


def test_batch_topk_inference_uses_the_threshold(rng):
    model = small("batch_topk_sae")
    x = rng.random((32, INPUT_DIM)).astype("float32")
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    w_e, b_e, w_d, b_d = weights(model)
    threshold = float(to_numpy(model.code_layer.threshold))
    codes = ref.batch_topk_inference(x @ w_e + b_e, threshold)
    np.testing.assert_allclose(model.encode(x), codes, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(
        model.predict(x, verbose=0), codes @ w_d + b_d, rtol=RTOL, atol=ATOL
    )


def test_auxk_is_zero_when_nothing_is_dead(rng):
    model = small("topk_sae")
    x = rng.random((16, INPUT_DIM)).astype("float32")
    history = model.fit(x, epochs=2, verbose=0)
    assert history.history["auxk"] == [0.0, 0.0]
    assert history.history["loss"] == pytest.approx(history.history["reconstruction"])


def test_zero_aux_weight_reports_zero(rng):
    model = small("topk_sae", dead_after=1, aux_weight=0.0)
    result = model.train_on_batch(
        rng.random((16, INPUT_DIM)).astype("float32"), return_dict=True
    )
    assert result["auxk"] == 0.0
    assert result["loss"] == pytest.approx(result["reconstruction"])


# === AuxK ===


@pytest.mark.parametrize("aux_k", [1, 3, 6])
@pytest.mark.parametrize("dead", [[1, 0, 1, 1, 0, 1], [0, 0, 0, 0, 1, 0],
                                  [1, 1, 1, 1, 1, 1], [0, 0, 0, 0, 0, 0]])  # fmt: skip
def test_auxk_loss_matches_reference(rng, aux_k, dead):
    x = rng.random((5, 4))
    x_hat = rng.random((5, 4))
    pre = rng.normal(size=(5, 6))
    pre[0, :] = 0.5  # ties
    w = rng.normal(size=(6, 4))
    dead = np.array(dead, bool)
    got = losses.auxk_loss(
        x.astype("float32"), x_hat.astype("float32"), pre.astype("float32"),
        dead, w.astype("float32"), aux_k,
    )  # fmt: skip
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    expected = ref.auxk_loss(x, x_hat, pre, dead, w, aux_k)
    np.testing.assert_allclose(float(to_numpy(got)), expected, rtol=1e-5, atol=1e-7)


def test_auxk_gradient_stops_at_the_residual_and_reaches_dead_units_only(rng):
    x = rng.random((5, 4)).astype("float32")
    x_hat = rng.random((5, 4)).astype("float32")
    pre = np.abs(rng.normal(size=(5, 6))).astype("float32") + 0.1
    w = rng.normal(size=(6, 4)).astype("float32")
    dead = np.array([1, 0, 1, 0, 0, 1], bool)
    _, grad = value_and_gradient(
        lambda p: losses.auxk_loss(x, x_hat, p, dead, w, 2), pre
    )
    assert not grad[:, ~dead].any()
    assert grad[:, dead].any()
    # `0 * sum(x_hat)`: TensorFlow gives `None` for no dependence at all.
    _, grad = value_and_gradient(
        lambda xh: losses.auxk_loss(x, xh, pre, dead, w, 2) + 0.0 * ops.sum(xh),
        x_hat,
    )
    np.testing.assert_array_equal(grad, 0.0)


def test_auxk_finite_with_float16_and_nothing_dead():
    pre = np.zeros((3, 4), "float16")
    got = losses.auxk_loss(
        np.ones((3, 2)), np.zeros((3, 2)), pre, np.zeros(4, bool), np.ones((4, 2)), 2
    )
    assert float(to_numpy(got)) == 0.0


# === Training ===


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_trains_on_digits_and_reports_auxk_and_dead_fraction(name):
    x, _ = ksae.datasets.load_mnist_5k()
    x = x[:512]
    model = ksae.build(name, input_dim=784, k=8, seed=0, dead_after=4)
    history = model.fit(
        x, batch_size=64, epochs=3, verbose=0, callbacks=[ksae.DeadUnitMonitor()]
    )
    h = history.history
    assert sorted(h) == ["auxk", "dead_fraction", "loss", "reconstruction"]
    assert h["reconstruction"][-1] < h["reconstruction"][0]
    assert np.all(np.isfinite(h["loss"]))
    report = ksae.sparsity_report(model, x)
    assert list(report["layers"]) == ["h1"]
    assert report["layers"]["h1"]["k"] == 8
    if name == "topk_sae":
        assert report["layers"]["h1"]["l0"] <= 8.0
    np.testing.assert_allclose(
        report["mse"], np.mean((model.predict(x, verbose=0) - x) ** 2), rtol=1e-5
    )


def test_mixed_float16(rng, mixed_float16):
    model = small("batch_topk_sae", dead_after=1)
    x = rng.random((16, INPUT_DIM)).astype("float32")
    history = model.fit(x, batch_size=8, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    layer = model.code_layer
    for variable in (layer.steps_since_active, layer.threshold):
        assert variable.dtype == "float32"
    assert float(to_numpy(layer.threshold_updates)) == 4.0


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_keras_round_trip_keeps_state_and_config(name, rng, tmp_path):
    model = small(name, dead_after=2, aux_k=3, aux_weight=0.5)
    x = rng.random((24, INPUT_DIM)).astype("float32")
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    assert isinstance(loaded, ksae.TopKAutoencoder)
    assert (loaded.aux_k, loaded.aux_weight) == (3, 0.5)
    for a, b in zip(model.variables, loaded.variables):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    assert loaded.evaluate(x, verbose=0) == pytest.approx(model.evaluate(x, verbose=0))


# === Errors ===


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(k=CODE + 1), ValueError, "argument `k`"),
        (dict(k=0), ValueError, "argument `k`"),
        (dict(aux_k=CODE + 1), ValueError, "argument `aux_k`"),
        (dict(aux_k=0), ValueError, "argument `aux_k`"),
        (dict(aux_weight=-1.0), ValueError, "argument `aux_weight`"),
        (dict(dead_after=0), ValueError, "argument `dead_after`"),
        (dict(code_size=2.5), TypeError, "argument `code_size`"),
    ],
)
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_argument_errors(name, kwargs, error, message):
    with pytest.raises(error, match=message):
        small(name, **kwargs)


def test_model_without_topk_layer_is_refused():
    encoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    decoder = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
    with pytest.raises(ValueError, match="exactly one `TopK` or `BatchTopK`"):
        ksae.TopKAutoencoder(encoder, decoder)


def test_train_cli_runs_topk_sae(tmp_path, rng):
    from keras_sparse_ae.__main__ import main

    data = tmp_path / "tiny.npy"
    np.save(data, rng.random((60, 16)).astype("float32"))
    out = tmp_path / "run"
    code = main(["train", "--model", "topk_sae", "--data", str(data),
                 "--epochs", "2", "--out", str(out), "--quiet"])  # fmt: skip
    assert code in (0, None)
    metrics = json.loads((out / "metrics.json").read_text())
    assert list(metrics["sparsity_report"]["layers"]) == ["h1"]
    assert np.isfinite(metrics["final_epoch"]["auxk"])


# === Resampling ===


def test_resample_dead_units_follows_the_recipe(rng):
    model = small("topk_sae", dead_after=1)
    x = rng.random((16, INPUT_DIM)).astype("float32")
    model.fit(x, batch_size=16, epochs=1, verbose=0)
    layer = model.code_layer
    layer.steps_since_active.assign(np.array([5, 0, 5, 0, 0, 0, 0, 5], "float32"))
    dead = np.array([1, 0, 1, 0, 0, 0, 0, 1], bool)
    # A zero decoder reconstructs 0; with only sample 3 non-zero, only it
    # has an error, so every dead unit gets its direction.
    model.decoder_dense.kernel.assign(np.zeros((CODE, INPUT_DIM), "float32"))
    model.decoder_dense.bias.assign(np.zeros(INPUT_DIM, "float32"))
    before = weights(model)
    x_bad = np.zeros_like(x)
    x_bad[3] = x[3]
    assert ksae.resample_dead_units(model, x_bad, seed=0) == 3
    w_e, b_e, w_d, b_d = weights(model)
    direction = x_bad[3] / np.linalg.norm(x_bad[3])
    for unit in np.flatnonzero(dead):
        np.testing.assert_allclose(w_d[unit], direction, rtol=1e-5)
        scale = 0.2 * np.linalg.norm(before[0][:, ~dead], axis=0).mean()
        np.testing.assert_allclose(w_e[:, unit], direction * scale, rtol=1e-5)
    assert not b_e[dead].any()
    np.testing.assert_array_equal(w_e[:, ~dead], before[0][:, ~dead])
    np.testing.assert_array_equal(w_d[~dead], before[2][~dead])
    np.testing.assert_array_equal(b_d, before[3])
    assert not layer.dead_mask().any()
    # The Adam moments of the resampled entries are zero, the others kept.
    optimizer = model.optimizer
    index = optimizer._get_variable_index(model.encoder.layers[0].kernel)
    for slots in (optimizer._momentums, optimizer._velocities):
        value = to_numpy(slots[index])
        assert not value[:, dead].any() and value[:, ~dead].any()
    assert ksae.resample_dead_units(model, x_bad) == 0  # nothing dead now


def test_resample_needs_a_single_tracker():
    model = ksae.build("l1_sae", input_dim=INPUT_DIM, code_size=3)
    with pytest.raises(ValueError, match="argument `layer`"):
        ksae.resample_dead_units(model, np.zeros((2, INPUT_DIM), "float32"))


@pytest.mark.parametrize("kind", ["TopK", "BatchTopK"])
def test_layers_build_on_a_symbolic_batch(kind):
    out = getattr(ksae, kind)(K)(keras.Input((CODE,)))
    assert tuple(out.shape) == (None, CODE)
