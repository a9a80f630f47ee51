"""`TopK`, `BatchTopK` and `DeadUnits` against the NumPy reference.

Parity of the codes, the BatchTopK threshold and the dead-unit step counts;
the gradient flows through the kept units only; state changes only while
training; `.keras` round trips; mixed precision; argument errors; the
`DeadUnitMonitor` callback and `ParticipationTrace.collapsed_units`.
"""

import keras
import numpy as np
import pytest
from keras import ops
from layer_checks import INPUT_DIM, UNITS, tiny_autoencoder
from penalty_checks import backend_dtype, to_numpy, value_and_gradient

from keras_sparse_ae import (
    Autoencoder,
    BatchTopK,
    DeadUnitMonitor,
    DeadUnits,
    ParticipationTrace,
    TopK,
)
from keras_sparse_ae.reference import topk as ref

# float32 codes are copies of float32 inputs: exact.
ATOL = 0.0
# The threshold EMA: a few float32 roundings of values O(1).
THRESHOLD_ATOL = 1e-6


def steps(layer):
    return to_numpy(layer.steps_since_active)


# === Codes ===


@pytest.mark.parametrize("k", [1, 3, UNITS])
def test_topk_matches_reference(rng, k):
    z = rng.normal(size=(16, UNITS)).astype("float32")
    out = TopK(k)(z)
    np.testing.assert_array_equal(to_numpy(out), ref.topk(z, k))
    assert np.all((to_numpy(out) > 0).sum(axis=1) <= k)


def test_topk_keeps_every_tie_at_the_kth_value():
    z = np.array([[1.0, 2.0, 2.0, 2.0, -1.0], [0.0, 0.0, 0.0, 0.0, 0.0]], "float32")
    out = to_numpy(TopK(2)(z))
    np.testing.assert_array_equal(out, [[0, 2, 2, 2, 0], [0, 0, 0, 0, 0]])
    np.testing.assert_array_equal(out, ref.topk(z, 2))


def test_topk_of_negative_rows_is_zero():
    z = -np.arange(1, 11, dtype="float32").reshape(2, 5)
    np.testing.assert_array_equal(to_numpy(TopK(2)(z)), np.zeros((2, 5)))


@pytest.mark.parametrize("k", [1, 2, 4])
def test_batch_topk_training_codes_and_threshold(rng, k):
    layer = BatchTopK(k, momentum=0.9)
    batches = [rng.normal(size=(8, UNITS)).astype("float32") for _ in range(3)]
    threshold = 0.0
    for i, z in enumerate(batches):
        out = layer(z, training=True)
        codes, kth = ref.batch_topk(z, k)
        np.testing.assert_array_equal(to_numpy(out), codes)
        assert (codes > 0).sum() <= k * len(z)
        threshold = ref.threshold_update(threshold, kth, 0.9, first=i == 0)
        np.testing.assert_allclose(
            float(to_numpy(layer.threshold)), threshold, atol=THRESHOLD_ATOL
        )
    assert float(to_numpy(layer.threshold_updates)) == 3.0
    # Inference: above the threshold, whatever the rest of the batch.
    z = batches[0]
    expected = ref.batch_topk_inference(z, float(to_numpy(layer.threshold)))
    np.testing.assert_array_equal(to_numpy(layer(z)), expected)
    np.testing.assert_array_equal(to_numpy(layer(z[:1])), expected[:1])


def test_batch_topk_first_batch_sets_the_threshold_directly():
    z = np.array([[0.5, -1.0, 2.0, 1.0, 0.0], [3.0, 4.0, -1.0, 0.0, 0.2]], "float32")
    layer = BatchTopK(2, momentum=0.99)
    layer(z, training=True)
    assert float(to_numpy(layer.threshold)) == 1.0  # the 4th largest of 10
    # Fewer than k * B positive entries: the threshold is 0, not negative.
    layer = BatchTopK(4)
    layer(-np.abs(z) - 1.0, training=True)
    assert float(to_numpy(layer.threshold)) == 0.0


def test_batch_topk_before_training_is_a_relu(rng):
    z = rng.normal(size=(6, UNITS)).astype("float32")
    np.testing.assert_array_equal(to_numpy(BatchTopK(1)(z)), np.maximum(z, 0))


# === Gradient ===


@pytest.mark.parametrize("kind", ["topk", "batch_topk"])
def test_gradient_flows_through_kept_units_only(rng, kind):
    z = rng.normal(size=(6, UNITS)).astype("float32")
    w = rng.normal(size=(6, UNITS)).astype("float32")
    layer = TopK(2) if kind == "topk" else BatchTopK(2)
    layer.build((None, UNITS))
    codes = ref.topk(z, 2) if kind == "topk" else ref.batch_topk(z, 2)[0]

    weights = ops.convert_to_tensor(w)  # a NumPy operand breaks torch's autograd

    def fn(x):
        # The state update inside is discarded: no traced value may leak
        # into a variable on JAX.
        with keras.StatelessScope():
            return ops.sum(ops.multiply(layer(x, training=True), weights))

    _, grad = value_and_gradient(fn, z)
    np.testing.assert_allclose(grad, np.where(codes > 0, w, 0.0), rtol=1e-6)


# === Dead units ===


@pytest.mark.parametrize("factory", [lambda: TopK(2, dead_after=2),
                                     lambda: BatchTopK(2, dead_after=2),
                                     lambda: DeadUnits(dead_after=2)])  # fmt: skip
def test_steps_since_active_match_reference_and_change_only_in_training(rng, factory):
    layer = factory()
    expected = np.zeros(UNITS)
    for _ in range(4):
        z = rng.normal(size=(3, UNITS)).astype("float32")
        z[:, 0] = -1.0  # unit 0 never active
        out = layer(z, training=True)
        expected = ref.steps_since_active_update(expected, to_numpy(out))
        np.testing.assert_array_equal(steps(layer), expected)
    assert steps(layer)[0] == 4.0
    np.testing.assert_array_equal(layer.dead_mask(), expected >= 2)
    assert layer.dead_fraction() == pytest.approx(np.mean(expected >= 2))
    before = steps(layer).copy()
    layer(-np.ones((3, UNITS), "float32"), training=False)
    layer(-np.ones((3, UNITS), "float32"))
    np.testing.assert_array_equal(steps(layer), before)


def test_dead_units_activity_threshold():
    layer = DeadUnits(dead_after=1, activity_threshold=0.5)
    h = np.array([[0.4, 0.6, 0.5]], "float32")
    out = layer(h, training=True)
    np.testing.assert_array_equal(to_numpy(out), h)  # identity
    np.testing.assert_array_equal(steps(layer), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(layer.dead_mask(), [True, False, True])


@pytest.mark.parametrize("factory", [lambda: TopK(1, dead_after=3),
                                     lambda: BatchTopK(1, dead_after=3),
                                     lambda: DeadUnits(3, activity_threshold=0.6)],
                         ids=["topk", "batch_topk", "dead_units"])  # fmt: skip
def test_state_updates_in_fit_only_and_survives_keras_round_trip(
    rng, tmp_path, factory
):
    model = tiny_autoencoder(factory())
    layer = model.encoder.layers[-1]
    x = rng.random((32, INPUT_DIM)).astype("float32")
    initial = [to_numpy(v).copy() for v in model.non_trainable_weights]
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    trained = [to_numpy(v).copy() for v in model.non_trainable_weights]
    assert any(not np.array_equal(a, b) for a, b in zip(initial, trained))
    model.predict(x, verbose=0)
    model.evaluate(x, verbose=0)
    for before, after in zip(trained, model.non_trainable_weights):
        np.testing.assert_array_equal(to_numpy(after), before)

    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    names = [v.name for v in model.non_trainable_weights]
    assert names == [v.name for v in loaded.non_trainable_weights]
    assert "steps_since_active" in names
    for a, b in zip(model.non_trainable_weights, loaded.non_trainable_weights):
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


def test_topk_steps_count_in_fit(rng):
    model = tiny_autoencoder(TopK(1, dead_after=2))
    x = rng.random((32, INPUT_DIM)).astype("float32")
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    counts = steps(model.encoder.layers[-1])
    assert counts.max() <= 4.0 and counts.dtype == np.float32


def test_mixed_float16(rng, mixed_float16):
    z = rng.normal(size=(8, UNITS)).astype("float32")
    for layer in (TopK(2), BatchTopK(2), DeadUnits()):
        assert layer.compute_dtype == "float16"
        out = layer(z, training=True)
        assert backend_dtype(out) == "float16"
        assert layer.steps_since_active.dtype == "float32"
    assert layer.steps_since_active.dtype == "float32"
    z16 = z.astype(np.float16)
    batch = BatchTopK(2)
    out = batch(z, training=True)
    codes, kth = ref.batch_topk(z16, 2)
    np.testing.assert_array_equal(to_numpy(out).astype(np.float64), codes)
    assert batch.threshold.dtype == "float32"
    assert float(to_numpy(batch.threshold)) == max(float(kth), 0.0)
    model = tiny_autoencoder(TopK(2, dead_after=1))
    model.fit(rng.random((16, INPUT_DIM)).astype("float32"), epochs=1, verbose=0)
    assert model.encoder.layers[-1].steps_since_active.dtype == "float32"


# === Errors ===


@pytest.mark.parametrize(
    "factory, error, message",
    [
        (lambda: TopK(0), ValueError, "argument `k`"),
        (lambda: TopK(2.5), TypeError, "argument `k`"),
        (lambda: TopK(True), TypeError, "argument `k`"),
        (lambda: TopK(2, dead_after=0), ValueError, "argument `dead_after`"),
        (lambda: BatchTopK(2, momentum=1.0), ValueError, "argument `momentum`"),
        (lambda: BatchTopK(2, momentum=-0.1), ValueError, "argument `momentum`"),
        (lambda: DeadUnits(activity_threshold=float("nan")), ValueError,
         "argument `activity_threshold`"),
        (lambda: DeadUnits(dead_after="10"), TypeError, "argument `dead_after`"),
    ],
)  # fmt: skip
def test_argument_errors(factory, error, message):
    with pytest.raises(error, match=message):
        factory()


@pytest.mark.parametrize("kind", [TopK, BatchTopK])
def test_k_above_units_is_refused_at_build(kind):
    with pytest.raises(ValueError, match=r"Expected an integer <= the number of"):
        kind(UNITS + 1).build((None, UNITS))


@pytest.mark.parametrize("factory", [lambda: TopK(1), lambda: DeadUnits()])
def test_non_2d_input_is_refused(factory):
    with pytest.raises(ValueError, match="Expected a 2-D input"):
        factory().build((None, 3, UNITS))


# === Monitoring ===


def test_dead_unit_monitor_logs_each_epoch(rng):
    model = tiny_autoencoder(TopK(1, dead_after=1))
    x = rng.random((16, INPUT_DIM)).astype("float32")
    history = model.fit(x, batch_size=16, epochs=3, verbose=0,
                        callbacks=[DeadUnitMonitor()])  # fmt: skip
    fractions = history.history["dead_fraction"]
    assert len(fractions) == 3
    assert fractions[-1] == model.encoder.layers[-1].dead_fraction()
    assert fractions[-1] in (0.0, 0.2, 0.4, 0.6, 0.8)


def test_dead_unit_monitor_names_each_layer_when_several(rng):
    encoder = keras.Sequential(
        [
            keras.Input((INPUT_DIM,)),
            keras.layers.Dense(UNITS, name="d1"),
            TopK(1, dead_after=1, name="a"),
            keras.layers.Dense(UNITS, activation="relu", name="d2"),
            DeadUnits(dead_after=1, name="b"),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [keras.Input((UNITS,)), keras.layers.Dense(INPUT_DIM)], name="decoder"
    )
    model = Autoencoder(encoder, decoder)
    model.compile(optimizer="adam")
    x = rng.random((8, INPUT_DIM)).astype("float32")
    history = model.fit(x, epochs=1, verbose=0, callbacks=[DeadUnitMonitor()])
    assert "dead_fraction" not in history.history
    assert history.history["a_dead_fraction"] == [encoder.layers[1].dead_fraction()]
    assert history.history["b_dead_fraction"] == [encoder.layers[3].dead_fraction()]


def test_participation_trace_collapsed_units():
    layer = ParticipationTrace(sparsity=0.75, gamma=0.5)
    layer.build((None, 4))
    layer.trace.assign(np.array([0.0, 0.02, 0.025, 0.3], "float32"))
    np.testing.assert_array_equal(layer.collapsed_units(), [True, True, False, False])
    np.testing.assert_array_equal(
        layer.collapsed_units(fraction=1.0), [True, True, True, False]
    )
    with pytest.raises(ValueError, match="argument `fraction`"):
        layer.collapsed_units(fraction=0.0)
