"""`ParticipationTrace` against the NumPy float64 reference (lesson 000).

Parity of every enabled term and of the trace update, edge cases with
finite values and gradients, the training-mode semantics of the trace,
mixed precision, argument checks and the standard layer checks.
"""

import functools
import math

import keras
import numpy as np
import pytest
from hypothesis import given, seed
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from layer_checks import run_layer_checks, tiny_autoencoder
from penalty_checks import (
    MAX_BATCH,
    MAX_UNITS,
    MIXED_RTOL,
    PARTICIPATION_MAX_PENALTY,
    RTOL,
    UNIT_EDGE_INPUTS,
    UNIT_OPEN,
    WEIGHT,
    U,
    assert_finite_penalty_and_gradient,
    assert_rejects_non_2d_input,
    backend_dtype,
    numeric_gradient,
    penalty_and_gradient,
    raises_exactly,
    to_numpy,
    type_error,
    underflow_atol,
    value_error,
    weights,
)

from keras_sparse_ae import ParticipationTrace, reference

# === Tolerances (the shared ones: tests/penalty_checks.py) ===

# The trace update `gamma * t + (1 - gamma) * mean_i h_i` stays within [0, 1];
# the batch mean is off by at most MAX_BATCH * U and the products, the sum
# and the float32 rounding of gamma add about 4 U: ~1.2e-6 absolute.
TRACE_ATOL = (MAX_BATCH + 4) * U

# float64 rounding unit: bounds the reference's own error.
EPS64 = 2.0**-52


def sparsity_atol(h, alpha_s, sparsity):
    """Bound on |layer - reference| for `alpha_s * (mean(h) - p)**2`.

    With d = mean(h) - p, float32 computes d to within
    delta = (n + 2) U (the mean to n U, p and the subtraction one U each),
    and squaring turns that into 2 |d| delta + delta**2: an absolute bound,
    since d**2 can be 0 while its inputs are O(1).
    """
    d = abs(float(np.mean(np.asarray(h, np.float64))) - (1.0 - sparsity))
    delta = (np.size(h) + 2) * U
    return alpha_s * (2.0 * d * delta + delta**2)


def participation_atol(alpha_p, gamma, k, sparsity):
    """Bound on |layer - reference| for the participation term.

    The layer computes `alpha_p (1-gamma)**2 mean_ij (h_ij - s_j)**2` with
    `s_j = sigmoid(z_j)`, `z_j = k (p - trace_j - x_s)`. In float32, z_j goes
    through at most five roundings of values bounded by k (1 + |x_s|), so
    |dz| <= 5 U k (1 + |x_s|); the sigmoid's slope is at most 1/4 and its own
    error at most 2 U, so |ds| <= 5/4 U k (1 + |x_s|) + 2 U. Since
    |h - s| <= 1, each square moves by at most 2 |ds| + 4 U.

    The reference uses the lesson's literal form, whose two terms of size
    1/(1-gamma) cancel exactly in exact arithmetic. In float64 that
    cancellation leaves an error of at most ~16 EPS64 in each inner value
    (every partial sum is O(1) once multiplied by 1 - gamma), hence at most
    2 (1 - gamma) 16 EPS64 on each squared inner value: <= 7e-15 (1-gamma),
    far below the float32 term, which is >= 4 U (1-gamma)**2 >= 2.4e-13
    (1 - gamma) for gamma <= 0.999. No further loosening is needed.
    """
    p = 1.0 - sparsity
    x_s = abs(math.log((1.0 - p) / p) / k)
    ds = 1.25 * U * k * (1.0 + x_s) + 2.0 * U
    float32_bound = (1.0 - gamma) ** 2 * (2.0 * ds + 4.0 * U)
    reference_bound = 2.0 * (1.0 - gamma) * 16.0 * EPS64
    return alpha_p * (float32_bound + reference_bound)


WEIGHT_OF = {"sparsity": "alpha_s", "participation": "alpha_p", "binary": "alpha_b"}


def term_atols(h, sparsity, gamma, alpha_s, alpha_p, k):
    # Binary: every product h**2 (h-1)**2 >= 0 is accurate to 5 U relatively,
    # so RTOL alone bounds it (atol 0).
    return {
        "sparsity": sparsity_atol(h, alpha_s, sparsity),
        "participation": participation_atol(alpha_p, gamma, k, sparsity),
        "binary": 0.0,
    }


def penalties(layer):
    return {term: float(to_numpy(v)) for term, v in layer.penalty_values.items()}


def call_with_trace(layer_kwargs, h, trace0, training=True):
    """Builds the layer, sets its trace to `trace0` and calls it on `h`."""
    layer = ParticipationTrace(**layer_kwargs)
    layer.build((None, h.shape[1]))
    layer.trace.assign(trace0)
    layer(h, training=training)
    return layer


def assert_matches_reference(layer, h, trace0, kwargs):
    expected, expected_trace = reference.participation_trace_penalties(
        h, trace0, **kwargs
    )
    actual = penalties(layer)
    assert sorted(actual) == sorted(expected)
    assert len(layer.losses) == len(expected)
    atols = term_atols(
        h,
        kwargs["sparsity"],
        kwargs["gamma"],
        kwargs["alpha_s"],
        kwargs["alpha_p"],
        kwargs["k"],
    )
    for term, value in expected.items():
        np.testing.assert_allclose(
            actual[term],
            value,
            rtol=RTOL,
            atol=atols[term]
            + underflow_atol(kwargs[WEIGHT_OF[term]], PARTICIPATION_MAX_PENALTY),
            err_msg=term,
        )
    return expected_trace


# === Hypothesis strategies ===

FULL_CONFIG = dict(
    sparsity=0.6, gamma=0.9, alpha_s=1.0, alpha_p=2.0, alpha_b=0.5, k=100.0
)


@st.composite
def activations_and_trace(draw):
    batch = draw(st.integers(1, MAX_BATCH))
    units = draw(st.integers(1, MAX_UNITS))
    unit_interval = st.floats(0.0, 1.0, width=32)
    h = draw(arrays(np.float32, (batch, units), elements=unit_interval))
    trace = draw(arrays(np.float32, (units,), elements=unit_interval))
    return h, trace


alphas = weights
hyperparameters = st.fixed_dictionaries(
    {
        "sparsity": st.floats(0.05, 0.95, exclude_min=True, exclude_max=True),
        "gamma": st.floats(0.0, 0.999),
        "alpha_s": alphas,
        "alpha_p": alphas,
        "alpha_b": alphas,
        "k": st.floats(1.0, 200.0),
    }
)


# === Parity with the reference ===


@seed(1)
@given(data=activations_and_trace(), kwargs=hyperparameters)
def test_terms_and_trace_match_reference(data, kwargs):
    h, trace0 = data
    layer = call_with_trace(kwargs, h, trace0, training=True)
    # The penalties use trace0 (the trace before this batch's update).
    expected_trace = assert_matches_reference(layer, h, trace0, kwargs)
    np.testing.assert_allclose(
        to_numpy(layer.trace), expected_trace, rtol=0, atol=TRACE_ATOL
    )


@seed(2)
@given(data=activations_and_trace(), kwargs=hyperparameters)
def test_inference_terms_match_reference(data, kwargs):
    h, trace0 = data
    layer = call_with_trace(kwargs, h, trace0, training=False)
    assert_matches_reference(layer, h, trace0, kwargs)
    np.testing.assert_array_equal(to_numpy(layer.trace), trace0)


def test_participation_hand_value():
    # At trace == p the target is exactly p: with h = 0 the penalty is
    # (1 - gamma)**2 p**2; here p = 0.25, gamma = 0.5: 0.25 * 0.0625.
    layer = call_with_trace(
        dict(sparsity=0.75, gamma=0.5, alpha_s=0.0, alpha_p=1.0, alpha_b=0.0, k=100.0),
        np.zeros((3, 2), np.float32),
        np.full(2, 0.25, np.float32),
    )
    np.testing.assert_allclose(
        penalties(layer)["participation"], 0.25 * 0.0625, rtol=1e-6
    )


# === Edge cases ===

EDGE_INPUTS = UNIT_EDGE_INPUTS


@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_match_reference(name):
    h = EDGE_INPUTS[name]
    trace0 = np.linspace(0.0, 1.0, h.shape[1]).astype(np.float32)
    layer = call_with_trace(FULL_CONFIG, h, trace0, training=True)
    expected_trace = assert_matches_reference(layer, h, trace0, FULL_CONFIG)
    np.testing.assert_allclose(to_numpy(layer.trace), expected_trace, atol=TRACE_ATOL)


@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_finite_values_and_gradients(name):
    h = EDGE_INPUTS[name]
    layer = ParticipationTrace(**FULL_CONFIG)
    assert_finite_penalty_and_gradient(layer, h, training=True)


def test_saturated_sigmoid_finite_values_and_gradients():
    z = np.array([[50.0, -50.0, 50.0], [-50.0, 50.0, -50.0]], np.float32)
    h = to_numpy(keras.ops.sigmoid(z))
    # float32 saturates: sigmoid(50) is exactly 1, sigmoid(-50) ~ 1.9e-22.
    assert np.all(h[z > 0] == 1.0)
    assert np.all(h[z < 0] < 1e-21)
    layer = ParticipationTrace(**FULL_CONFIG)
    total, grad = penalty_and_gradient(
        layer, z, before=keras.ops.sigmoid, training=True
    )
    assert np.isfinite(total)
    assert np.all(np.isfinite(grad))
    # `penalty_and_gradient` leaves the layer's state alone: update it here.
    layer(h, training=True)
    assert np.all(np.isfinite(to_numpy(layer.trace)))


def test_gradient_matches_reference_finite_differences(rng):
    h = rng.uniform(0.05, 0.95, (5, 4)).astype(np.float32)
    trace0 = rng.random(4).astype(np.float32)
    layer = ParticipationTrace(**FULL_CONFIG)
    layer.build((None, 4))
    layer.trace.assign(trace0)
    _, grad = penalty_and_gradient(layer, h, training=False)

    def reference_total(x):
        terms, _ = reference.participation_trace_penalties(x, trace0, **FULL_CONFIG)
        return sum(terms.values())

    numeric = numeric_gradient(reference_total, h, step=1e-6)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-6)


# === Training-mode semantics of the trace ===


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.75, 0.95])
def test_trace_initial_value_is_participation(sparsity):
    layer = ParticipationTrace(sparsity=sparsity)
    layer.build((None, 6))
    trace = to_numpy(layer.trace)
    assert trace.shape == (6,)
    assert trace.dtype == np.float32
    np.testing.assert_array_equal(trace, np.float32(1.0 - sparsity))
    assert not layer.trace.trainable
    assert layer.trainable_weights == []


@pytest.mark.parametrize("call_kwargs", [{}, {"training": False}])
def test_inference_calls_leave_trace_unchanged(rng, call_kwargs):
    h = rng.random((8, 4)).astype(np.float32)
    layer = ParticipationTrace(sparsity=0.8, gamma=0.5)
    layer(h, **call_kwargs)
    layer(h, **call_kwargs)
    np.testing.assert_array_equal(to_numpy(layer.trace), np.float32(0.2))


def test_training_calls_update_trace(rng):
    h = rng.random((8, 4)).astype(np.float32)
    layer = ParticipationTrace(sparsity=0.8, gamma=0.5)
    layer(h, training=True)
    expected = reference.trace_update(np.full(4, np.float32(0.2)), h, 0.5)
    np.testing.assert_allclose(to_numpy(layer.trace), expected, atol=TRACE_ATOL)
    assert not np.allclose(to_numpy(layer.trace), 0.2)
    # A second step starts from the updated trace.
    layer(h, training=True)
    expected = reference.trace_update(expected, h, 0.5)
    np.testing.assert_allclose(to_numpy(layer.trace), expected, atol=2 * TRACE_ATOL)


def compiled_training_call(layer, term):
    """A training-mode call of `layer`, compiled the way `fit` compiles it.

    Returns a function of a NumPy batch that calls the layer with
    `training=True`, leaves its updated state in its variables and returns
    the value of its penalty `term` as a float. TensorFlow traces the call
    into a `tf.function` graph; JAX jit-compiles a `stateless_call` and
    writes the new state back, as its trainer does; PyTorch's trainer runs
    the call eagerly (no `jit_compile`).
    """
    name = keras.backend.backend()
    if name == "tensorflow":
        import tensorflow as tf

        @tf.function
        def graph_step(x):
            layer(x, training=True)
            return layer.penalty_values[term]

        return lambda x: float(graph_step(tf.constant(x)))
    if name == "jax":
        import jax

        @jax.jit
        def pure_step(trainable, non_trainable, x):
            _, non_trainable, _ = layer.stateless_call(
                trainable, non_trainable, x, training=True, return_losses=True
            )
            return layer.penalty_values[term], non_trainable

        def jax_step(x):
            value, non_trainable = pure_step(
                [v.value for v in layer.trainable_variables],
                [v.value for v in layer.non_trainable_variables],
                x,
            )
            for variable, new_value in zip(
                layer.non_trainable_variables, non_trainable
            ):
                variable.assign(new_value)
            return float(value)

        return jax_step

    def eager_step(x):
        layer(x, training=True)
        return float(to_numpy(layer.penalty_values[term]))

    return eager_step


def test_trace_read_before_update_in_compiled_step(rng):
    # Inside a compiled step (a tf.function graph, a jitted JAX function)
    # the penalty must still read the trace as it was before this call's
    # assignment.
    h = rng.random((8, 3)).astype(np.float32)
    trace0 = np.array([0.0, 0.5, 1.0], np.float32)
    kwargs = dict(
        sparsity=0.5, gamma=0.3, alpha_s=0.0, alpha_p=1.0, alpha_b=0.0, k=10.0
    )
    layer = ParticipationTrace(**kwargs)
    layer.build((None, 3))
    layer.trace.assign(trace0)

    value = compiled_training_call(layer, "participation")(h)
    expected, expected_trace = reference.participation_trace_penalties(
        h, trace0, **kwargs
    )
    np.testing.assert_allclose(value, expected["participation"], rtol=RTOL)
    np.testing.assert_allclose(to_numpy(layer.trace), expected_trace, atol=TRACE_ATOL)


def test_fit_updates_trace_predict_and_evaluate_do_not(rng):
    layer = ParticipationTrace(sparsity=0.9, gamma=0.5, name="pt")
    model = tiny_autoencoder(layer)
    x = rng.random((16, 12)).astype(np.float32)
    model.build((None, 12))
    initial = to_numpy(layer.trace).copy()
    model.predict(x, verbose=0)
    model.evaluate(x, verbose=0)
    np.testing.assert_array_equal(to_numpy(layer.trace), initial)
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    assert not np.allclose(to_numpy(layer.trace), initial)


@pytest.mark.parametrize(
    "alpha_s, alpha_p, alpha_b",
    [
        (0.0, 1.0, 1.0),
        (1.0, 0.0, 1.0),
        (1.0, 1.0, 0.0),
        (0.0, 0.0, 2.0),
        (0.0, 0.0, 0.0),
    ],
)
def test_disabled_terms_are_absent(rng, alpha_s, alpha_p, alpha_b):
    h = rng.random((6, 4)).astype(np.float32)
    layer = ParticipationTrace(alpha_s=alpha_s, alpha_p=alpha_p, alpha_b=alpha_b)
    layer(h, training=True)
    weights = {"sparsity": alpha_s, "participation": alpha_p, "binary": alpha_b}
    enabled = [term for term, weight in weights.items() if weight > 0]
    assert list(layer.penalty_terms) == enabled
    assert sorted(layer.penalty_values) == sorted(enabled)
    assert len(layer.losses) == len(enabled)


def test_trace_updates_with_all_alphas_zero(rng):
    h = rng.random((6, 4)).astype(np.float32)
    layer = ParticipationTrace(
        sparsity=0.5, gamma=0.25, alpha_s=0, alpha_p=0, alpha_b=0
    )
    layer(h, training=True)
    assert layer.losses == []
    assert layer.penalty_values == {}
    expected = reference.trace_update(np.full(4, 0.5), h, 0.25)
    np.testing.assert_allclose(to_numpy(layer.trace), expected, atol=TRACE_ATOL)


def test_penalty_values_belong_to_the_last_call(rng):
    layer = ParticipationTrace(**FULL_CONFIG)
    layer(np.zeros((2, 3), np.float32))
    h = rng.random((2, 3)).astype(np.float32)
    layer(h)
    expected, _ = reference.participation_trace_penalties(
        h, np.full(3, 0.4), **FULL_CONFIG
    )
    np.testing.assert_allclose(
        penalties(layer)["binary"], expected["binary"], rtol=RTOL
    )


# === Standard layer checks ===


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(sparsity=0.9, gamma=0.5, alpha_s=0.0, alpha_p=2.0, alpha_b=0.1, k=20.0),
        dict(alpha_s=0.0, alpha_p=0.0, alpha_b=0.0),
    ],
    ids=["default", "no_sparsity", "all_zero"],
)
def test_layer_checks(tmp_path, kwargs):
    loaded = run_layer_checks(functools.partial(ParticipationTrace, **kwargs), tmp_path)
    layer = next(
        lyr for lyr in loaded.encoder.layers if isinstance(lyr, ParticipationTrace)
    )
    assert layer.get_config()["sparsity"] == kwargs.get("sparsity", 0.5)


# === Mixed precision ===


@pytest.mark.usefixtures("mixed_float16")
def test_mixed_float16(rng):
    h = rng.random((16, 6)).astype(np.float32)
    trace0 = rng.random(6).astype(np.float32)
    kwargs = dict(
        sparsity=0.7, gamma=0.9, alpha_s=1.0, alpha_p=5.0, alpha_b=0.5, k=20.0
    )
    layer = ParticipationTrace(**kwargs)
    assert layer.compute_dtype == "float16"
    layer.build((None, 6))
    assert layer.trace.dtype == "float32"
    layer.trace.assign(trace0)
    out = layer(h, training=True)
    assert backend_dtype(out) == "float16"
    h16 = h.astype(np.float16).astype(np.float64)
    expected, expected_trace = reference.participation_trace_penalties(
        h16, trace0, **kwargs
    )
    assert sorted(layer.penalty_values) == sorted(expected)
    for term, value in layer.penalty_values.items():
        assert backend_dtype(value) == "float32"
        np.testing.assert_allclose(
            float(to_numpy(value)), expected[term], rtol=MIXED_RTOL
        )
    assert layer.trace.dtype == "float32"
    np.testing.assert_allclose(to_numpy(layer.trace), expected_trace, atol=TRACE_ATOL)


# === Argument checks ===


ARGUMENT_ERRORS = [
    ({"sparsity": 0}, *value_error("sparsity", UNIT_OPEN, "0.0")),
    ({"sparsity": 1}, *value_error("sparsity", UNIT_OPEN, "1.0")),
    ({"sparsity": 1.5}, *value_error("sparsity", UNIT_OPEN, "1.5")),
    ({"sparsity": -0.1}, *value_error("sparsity", UNIT_OPEN, "-0.1")),
    ({"sparsity": float("nan")}, *value_error("sparsity", UNIT_OPEN, "nan")),
    ({"sparsity": float("inf")}, *value_error("sparsity", UNIT_OPEN, "inf")),
    ({"sparsity": "0.5"}, *type_error("sparsity", UNIT_OPEN, "'0.5'", "str")),
    ({"sparsity": True}, *type_error("sparsity", UNIT_OPEN, "True", "bool")),
    ({"gamma": 1.0}, *value_error("gamma", "a float in [0, 1)", "1.0")),
    ({"gamma": -0.1}, *value_error("gamma", "a float in [0, 1)", "-0.1")),
    ({"gamma": float("nan")}, *value_error("gamma", "a float in [0, 1)", "nan")),
    ({"gamma": None}, *type_error("gamma", "a float in [0, 1)", "None", "NoneType")),
    ({"k": 0}, *value_error("k", "a float > 0", "0.0")),
    ({"k": -5.0}, *value_error("k", "a float > 0", "-5.0")),
    ({"k": float("inf")}, *value_error("k", "a float > 0", "inf")),
    ({"k": float("nan")}, *value_error("k", "a float > 0", "nan")),
] + [
    ({alpha: bad}, *value_error(alpha, WEIGHT, text))
    for alpha in ("alpha_s", "alpha_p", "alpha_b")
    for bad, text in (
        (-1, "-1.0"),
        (-1e-9, "-1e-09"),
        (float("nan"), "nan"),
        (float("inf"), "inf"),
        (float("-inf"), "-inf"),
    )
]


@pytest.mark.parametrize("kwargs, error, message", ARGUMENT_ERRORS)
def test_argument_errors(kwargs, error, message):
    with raises_exactly(error, message):
        ParticipationTrace(**kwargs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3,), (1, 2, 3, 4)])
def test_rejects_non_2d_input(shape):
    assert_rejects_non_2d_input(ParticipationTrace(name="pt"), shape)


def test_rejects_unknown_units():
    layer = ParticipationTrace(name="pt")
    message = (
        "Invalid input shape for layer `pt`. Expected a known number of units. "
        "Received: input_shape=(None, None)"
    )
    with raises_exactly(ValueError, message):
        layer(keras.Input((None,)))
