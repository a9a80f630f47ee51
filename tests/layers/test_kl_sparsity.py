"""`KLSparsity` against the NumPy float64 reference (lessons 001 and 003).

Parity of the KL term, edge cases with finite values and gradients, mixed
precision, argument checks and the standard layer checks.
"""

import functools
import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, seed
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from layer_checks import run_layer_checks

from keras_sparse_ae import KLSparsity, reference

# === Tolerances ===
#
# The layer computes in float32, the reference in float64; U = 2**-24 is
# float32's unit roundoff. Inputs are at most 16 x 12.

U = 2.0**-24
MAX_BATCH, MAX_UNITS = 16, 12
N_MAX = MAX_BATCH * MAX_UNITS

# Sums and means of at most N_MAX terms of one sign: within (n - 1) U
# relatively, plus a few elementwise roundings: ~1.2e-5.
RTOL = (N_MAX + 8) * U

# TensorFlow flushes float32 subnormals to 0 on CPU: an input, square,
# product or weight below the smallest normal, 2**-126, may become 0. At most
# N_MAX such values enter a term (then times its weight), and a flushed
# weight drops weight * penalty < 2**-126 * MAX_PENALTY:
# the KL sum over 12 units is < 12 * 14 < 2**8.
MAX_PENALTY = 2.0**8


def underflow_atol(weight):
    return 2.0**-126 * (weight * N_MAX + MAX_PENALTY)


# Mixed precision: penalties in float32 from the float16-rounded input,
# compared with the reference on that same input.
MIXED_RTOL = 1e-3


def kl_atol(h, target, weight, reduction):
    """Bound on |layer - reference| for `weight * sum_j KL(target || rho_j)`.

    float32 computes rho_j = mean_i h_ij to within (batch + 1) U rho_j, and
    the clip bound 1 - 1e-6 is itself rounded to float32 (by ~1.3e-8 < U):
    d_rho = (batch + 1) U rho + U. The KL's derivative in rho is
    -t / rho + (1 - t) / (1 - rho), so d_rho moves unit j's KL by at most
    t d_rho / rho + (1 - t) d_rho / (1 - rho): large only where rho is
    within a few U of 1, where 1 - rho has no correct float32 digit left.
    The logs, products and the sum over units add (units + 4) U relatively
    to |t log(t/rho)| + |(1-t) log((1-t)/(1-rho))| (the two terms may have
    opposite signs), plus a few U absolute for the logs of numbers near 1.
    """
    h = np.asarray(h, np.float64)
    batch, units = h.shape
    rho = np.clip(h.mean(axis=0), reference.losses.KL_EPSILON, 1 - 1e-6)
    d_rho = (batch + 1) * U * rho + U
    first = target * np.log(target / rho)
    second = (1 - target) * np.log((1 - target) / (1 - rho))
    per_unit = (
        target * d_rho / rho
        + (1 - target) * d_rho / (1 - rho)
        + (units + 4) * U * (np.abs(first) + np.abs(second) + 1.0)
    )
    total = per_unit.sum() if reduction == "sum" else per_unit.mean()
    return weight * total + underflow_atol(weight)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def kl_value(layer):
    return float(to_numpy(layer.penalty_values["kl"]))


def assert_matches_reference(h, target, weight, reduction):
    layer = KLSparsity(target=target, weight=weight, reduction=reduction)
    out = layer(h)
    np.testing.assert_array_equal(to_numpy(out), h)
    if weight == 0:
        assert layer.penalty_values == {}
        assert layer.losses == []
        return layer
    assert list(layer.penalty_values) == ["kl"]
    assert len(layer.losses) == 1
    expected = reference.kl_sparsity_penalty(h, target, weight, reduction)
    np.testing.assert_allclose(
        kl_value(layer),
        expected,
        rtol=RTOL,
        atol=kl_atol(h, target, weight, reduction),
    )
    np.testing.assert_allclose(float(to_numpy(layer.losses[0])), kl_value(layer))
    return layer


# === Parity with the reference ===


@st.composite
def activations(draw):
    batch = draw(st.integers(1, MAX_BATCH))
    units = draw(st.integers(1, MAX_UNITS))
    return draw(
        arrays(np.float32, (batch, units), elements=st.floats(0.0, 1.0, width=32))
    )


@seed(3)
@given(
    h=activations(),
    target=st.floats(0.01, 0.99, exclude_min=True, exclude_max=True),
    weight=st.one_of(st.just(0.0), st.floats(0.0, 100.0)),
    reduction=st.sampled_from(["sum", "mean"]),
)
def test_kl_matches_reference(h, target, weight, reduction):
    assert_matches_reference(h, target, weight, reduction)


def test_kl_hand_value():
    # rho = (0.5, 0.25) exactly: weight * [KL(0.1||0.5) + KL(0.1||0.25)].
    h = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]], np.float32)
    layer = KLSparsity(target=0.1, weight=2.0)
    layer(h)

    def kl(r, q):
        return r * math.log(r / q) + (1 - r) * math.log((1 - r) / (1 - q))

    expected = 2.0 * (kl(0.1, 0.5) + kl(0.1, 0.25))
    np.testing.assert_allclose(kl_value(layer), expected, rtol=1e-6)
    layer = KLSparsity(target=0.1, weight=2.0, reduction="mean")
    layer(h)
    np.testing.assert_allclose(kl_value(layer), expected / 2, rtol=1e-6)


def test_kl_is_zero_at_target():
    # Each unit's batch mean is exactly the target (0.25, a float32 value).
    h = np.array([[1.0, 0.25], [0.0, 0.25], [0.0, 0.25], [0.0, 0.25]], np.float32)
    layer = KLSparsity(target=0.25, weight=10.0)
    layer(h)
    assert abs(kl_value(layer)) < 1e-6


# === Edge cases ===

EDGE_INPUTS = {
    "zeros": np.zeros((4, 3), np.float32),
    "ones": np.ones((4, 3), np.float32),
    "batch_of_one": np.array([[0.1, 0.9, 0.5, 0.0, 1.0]], np.float32),
    "one_unit": np.array([[0.2], [0.7], [1.0], [0.0]], np.float32),
    "one_value": np.array([[0.3]], np.float32),
}


@pytest.mark.parametrize("reduction", ["sum", "mean"])
@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_match_reference(name, reduction):
    assert_matches_reference(EDGE_INPUTS[name], 0.1, 0.2, reduction)


def test_saturated_units_are_clipped():
    # A unit at exactly 0 (or 1) on the whole batch is clipped to 1e-6 (or
    # 1 - 1e-6): the KL is large but finite, ~ t log(t / 1e-6).
    layer = KLSparsity(target=0.1, weight=1.0)
    layer(np.zeros((4, 1), np.float32))
    expected = 0.1 * math.log(0.1 / 1e-6) + 0.9 * math.log(0.9 / (1 - 1e-6))
    np.testing.assert_allclose(kl_value(layer), expected, rtol=1e-6)
    # In float32, 1 - (1 - 1e-6) is 1.0133e-6, not 1e-6: the value at
    # exactly 1 is off by 0.9 * log(1.0133) ~ 0.012, i.e. 1e-3 relatively.
    layer(np.ones((4, 1), np.float32))
    expected = 0.1 * math.log(0.1 / (1 - 1e-6)) + 0.9 * math.log(0.9 / 1e-6)
    np.testing.assert_allclose(kl_value(layer), expected, rtol=2e-3)


def penalty_and_gradient(layer, h):
    var = tf.Variable(h)
    with tf.GradientTape() as tape:
        layer(var)
        total = tf.add_n(layer.losses)
    return total.numpy(), tape.gradient(total, var).numpy()


@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_finite_values_and_gradients(name):
    h = EDGE_INPUTS[name]
    total, grad = penalty_and_gradient(KLSparsity(target=0.05, weight=1.0), h)
    assert np.isfinite(total)
    assert grad.shape == h.shape
    assert np.all(np.isfinite(grad))


def test_saturated_sigmoid_finite_values_and_gradients():
    # Column 0 is always 1, column 1 always ~0, column 2 mixed.
    z = tf.Variable(np.array([[50.0, -50.0, 50.0], [50.0, -50.0, -50.0]], np.float32))
    layer = KLSparsity(target=0.1, weight=1.0)
    with tf.GradientTape() as tape:
        h = tf.sigmoid(z)
        layer(h)
        total = tf.add_n(layer.losses)
    assert np.all(h.numpy()[:, 0] == 1.0)
    assert np.all(h.numpy()[:, 1] < 1e-21)
    assert np.isfinite(total.numpy())
    grad = tape.gradient(total, z).numpy()
    assert np.all(np.isfinite(grad))


def test_gradient_matches_reference_finite_differences(rng):
    h = rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32)
    _, grad = penalty_and_gradient(KLSparsity(target=0.2, weight=3.0), h)
    step = 1e-6
    numeric = np.zeros(h.shape)
    h64 = h.astype(np.float64)
    for index in np.ndindex(h.shape):
        up, down = h64.copy(), h64.copy()
        up[index] += step
        down[index] -= step
        numeric[index] = (
            reference.kl_sparsity_penalty(up, 0.2, 3.0)
            - reference.kl_sparsity_penalty(down, 0.2, 3.0)
        ) / (2 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-3, atol=1e-6)


def test_disabled_term_is_absent(rng):
    layer = KLSparsity(weight=0.0)
    assert layer.penalty_terms == ()
    layer(rng.random((4, 3)).astype(np.float32))
    assert layer.penalty_values == {}
    assert layer.losses == []
    assert KLSparsity(weight=1e-3).penalty_terms == ("kl",)


# === Standard layer checks ===


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        dict(target=0.02, weight=7.5e-5, reduction="mean"),
        dict(target=0.5, weight=0.0),
    ],
    ids=["default", "lesson_003_mean", "zero_weight"],
)
def test_layer_checks(tmp_path, kwargs):
    run_layer_checks(functools.partial(KLSparsity, **kwargs), tmp_path)


# === Mixed precision ===


@pytest.fixture
def mixed_float16():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_mixed_float16(mixed_float16, rng, reduction):
    h = rng.random((16, 6)).astype(np.float32)
    layer = KLSparsity(target=0.05, weight=0.5, reduction=reduction)
    assert layer.compute_dtype == "float16"
    out = layer(h)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    value = layer.penalty_values["kl"]
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    h16 = h.astype(np.float16).astype(np.float64)
    expected = reference.kl_sparsity_penalty(h16, 0.05, 0.5, reduction)
    np.testing.assert_allclose(float(to_numpy(value)), expected, rtol=MIXED_RTOL)


# === Argument checks ===


def value_error(name, expected, received):
    return (
        ValueError,
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received}",
    )


UNIT_OPEN = "a float in (0, 1)"
WEIGHT = "a finite float >= 0"
REDUCTION = "one of 'sum', 'mean'"

ARGUMENT_ERRORS = [
    ({"target": 0}, *value_error("target", UNIT_OPEN, "0.0")),
    ({"target": 1}, *value_error("target", UNIT_OPEN, "1.0")),
    ({"target": 0.0}, *value_error("target", UNIT_OPEN, "0.0")),
    ({"target": 1.0}, *value_error("target", UNIT_OPEN, "1.0")),
    ({"target": -0.5}, *value_error("target", UNIT_OPEN, "-0.5")),
    ({"target": float("nan")}, *value_error("target", UNIT_OPEN, "nan")),
    (
        {"target": "0.1"},
        TypeError,
        "Invalid type for argument `target`. Expected a float in (0, 1). "
        "Received: target='0.1' of type str",
    ),
    ({"weight": -1}, *value_error("weight", WEIGHT, "-1.0")),
    ({"weight": -0.2}, *value_error("weight", WEIGHT, "-0.2")),
    ({"weight": float("nan")}, *value_error("weight", WEIGHT, "nan")),
    ({"weight": float("inf")}, *value_error("weight", WEIGHT, "inf")),
    (
        {"weight": None},
        TypeError,
        "Invalid type for argument `weight`. Expected a finite float >= 0. "
        "Received: weight=None of type NoneType",
    ),
    ({"reduction": "max"}, *value_error("reduction", REDUCTION, "'max'")),
    ({"reduction": "SUM"}, *value_error("reduction", REDUCTION, "'SUM'")),
    (
        {"reduction": None},
        TypeError,
        "Invalid type for argument `reduction`. Expected one of 'sum', 'mean'. "
        "Received: reduction=None of type NoneType",
    ),
]


@pytest.mark.parametrize("kwargs, error, message", ARGUMENT_ERRORS)
def test_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        KLSparsity(**kwargs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3,)])
def test_rejects_non_2d_input(shape):
    layer = KLSparsity(name="kl")
    message = (
        "Invalid input shape for layer `kl` (KLSparsity). Expected a 2-D "
        f"input (batch, units). Received: input_shape={shape}"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer(np.zeros(shape, np.float32))
