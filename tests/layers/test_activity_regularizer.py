"""`ActivityRegularizer` against the NumPy float64 reference (lessons 002, 004).

Parity of the L1/L2 term, edge cases with finite values and gradients,
lesson 004's worked example, mixed precision, argument checks and the
standard layer checks.
"""

import functools
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, seed
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from layer_checks import run_layer_checks
from lesson_004 import BD, BE, BETA, LOSS, WD, WE, XIN

from keras_sparse_ae import ActivityRegularizer, reference
from keras_sparse_ae.losses import mse

# === Tolerances ===
#
# The layer computes in float32, the reference in float64; U = 2**-24 is
# float32's unit roundoff. Inputs are at most 16 x 12.

U = 2.0**-24
MAX_BATCH, MAX_UNITS = 16, 12
N_MAX = MAX_BATCH * MAX_UNITS

# |h| and h**2 are >= 0, so their float32 sum or mean over n <= N_MAX values
# is within (n - 1) U relatively of the exact one; the square, the division
# by n and the product by the weight add 3 U: RTOL ~= 1.2e-5, no atol.
RTOL = (N_MAX + 8) * U

# TensorFlow flushes float32 subnormals to 0 on CPU: an input, square,
# product or weight below the smallest normal, 2**-126, may become 0. At most
# N_MAX such values enter a term (then times its weight), and a flushed
# weight drops weight * penalty < 2**-126 * MAX_PENALTY:
# the penalty is at most sum(h**2) <= 192 * 9 < 2**11.
MAX_PENALTY = 2.0**11


def underflow_atol(weight):
    return 2.0**-126 * (weight * N_MAX + MAX_PENALTY)


# Mixed precision: penalties in float32 from the float16-rounded input,
# compared with the reference on that same input.
MIXED_RTOL = 1e-3

KINDS = ["l1", "l2"]
REDUCTIONS = ["mean", "sum"]


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def assert_matches_reference(h, kind, weight, reduction):
    layer = ActivityRegularizer(kind=kind, weight=weight, reduction=reduction)
    out = layer(h)
    np.testing.assert_array_equal(to_numpy(out), h)
    if weight == 0:
        assert layer.penalty_values == {}
        assert layer.losses == []
        return
    assert list(layer.penalty_values) == [kind]
    assert len(layer.losses) == 1
    expected = reference.activity_penalty(h, kind, weight, reduction)
    value = float(to_numpy(layer.penalty_values[kind]))
    np.testing.assert_allclose(value, expected, rtol=RTOL, atol=underflow_atol(weight))
    assert float(to_numpy(layer.losses[0])) == value


# === Parity with the reference ===


def activations(low, high):
    @st.composite
    def strategy(draw):
        batch = draw(st.integers(1, MAX_BATCH))
        units = draw(st.integers(1, MAX_UNITS))
        elements = st.floats(low, high, width=32)
        return draw(arrays(np.float32, (batch, units), elements=elements))

    return strategy()


weights = st.one_of(st.just(0.0), st.floats(0.0, 100.0))


@seed(4)
@given(
    h=activations(-3.0, 3.0),
    kind=st.sampled_from(KINDS),
    weight=weights,
    reduction=st.sampled_from(REDUCTIONS),
)
def test_penalty_matches_reference_signed(h, kind, weight, reduction):
    assert_matches_reference(h, kind, weight, reduction)


@seed(5)
@given(
    h=activations(0.0, 1.0),
    kind=st.sampled_from(KINDS),
    weight=weights,
    reduction=st.sampled_from(REDUCTIONS),
)
def test_penalty_matches_reference_unit_interval(h, kind, weight, reduction):
    assert_matches_reference(h, kind, weight, reduction)


@pytest.mark.parametrize(
    "kind, reduction, expected",
    [
        # h = [[0, 1], [2, -1]]: |h| sums to 4, h**2 to 6, over 4 values.
        ("l1", "mean", 0.5 * 1.0),
        ("l1", "sum", 0.5 * 4.0),
        ("l2", "mean", 0.5 * 1.5),
        ("l2", "sum", 0.5 * 6.0),
    ],
)
def test_hand_values(kind, reduction, expected):
    layer = ActivityRegularizer(kind=kind, weight=0.5, reduction=reduction)
    layer(np.array([[0.0, 1.0], [2.0, -1.0]], np.float32))
    assert float(to_numpy(layer.penalty_values[kind])) == expected


def test_lesson_004_worked_example():
    # relu encoder, ActivityRegularizer(l1, 0.05, mean) on the code, sigmoid
    # decoder: MSE + the added loss is lesson 004's loss.
    x, we, be, wd, bd = XIN, WE, BE, WD, BD
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, activation="relu"),
            ActivityRegularizer(kind="l1", weight=0.05),
            keras.layers.Dense(4, activation="sigmoid"),
        ]
    )
    model.layers[0].set_weights([we, be])
    model.layers[2].set_weights([wd, bd])
    out = model(x.astype(np.float32))
    loss = float(to_numpy(mse(x.astype(np.float32), out))) + float(
        to_numpy(sum(model.losses))
    )
    # float32 weights and inputs: ~1e-7 relative error on each product.
    np.testing.assert_allclose(loss, LOSS, rtol=1e-6)
    expected_out, expected_loss = reference.l1_autoencoder(x, we, be, wd, bd, BETA)
    np.testing.assert_allclose(to_numpy(out), expected_out, atol=1e-6)
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-6)


# === Edge cases ===

EDGE_INPUTS = {
    "zeros": np.zeros((4, 3), np.float32),
    "ones": np.ones((4, 3), np.float32),
    "minus_ones": -np.ones((4, 3), np.float32),
    "batch_of_one": np.array([[0.1, -0.9, 0.5, 0.0, 3.0]], np.float32),
    "one_unit": np.array([[0.2], [-0.7], [1.0], [0.0]], np.float32),
    "one_value": np.array([[-0.3]], np.float32),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_match_reference(name, kind, reduction):
    assert_matches_reference(EDGE_INPUTS[name], kind, 0.3, reduction)


def penalty_and_gradient(layer, h):
    var = tf.Variable(h)
    with tf.GradientTape() as tape:
        layer(var)
        total = tf.add_n(layer.losses)
    return total.numpy(), tape.gradient(total, var).numpy()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_finite_values_and_gradients(name, kind):
    h = EDGE_INPUTS[name]
    total, grad = penalty_and_gradient(ActivityRegularizer(kind=kind, weight=1.0), h)
    assert np.isfinite(total)
    assert grad.shape == h.shape
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("kind", KINDS)
def test_saturated_sigmoid_finite_values_and_gradients(kind):
    z = tf.Variable(np.array([[50.0, -50.0], [-50.0, 50.0]], np.float32))
    layer = ActivityRegularizer(kind=kind, weight=1.0)
    with tf.GradientTape() as tape:
        h = tf.sigmoid(z)
        layer(h)
        total = tf.add_n(layer.losses)
    assert np.all(h.numpy()[z.numpy() > 0] == 1.0)
    assert np.isfinite(total.numpy())
    grad = tape.gradient(total, z).numpy()
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_gradient_hand_values(rng, kind, reduction):
    # d/dh of weight * mean|h| is weight * sign(h) / n; of weight * mean(h**2)
    # it is 2 weight h / n (no division by n for the sum).
    h = rng.uniform(-2.0, 2.0, (5, 4)).astype(np.float32)
    weight = 0.7
    _, grad = penalty_and_gradient(
        ActivityRegularizer(kind=kind, weight=weight, reduction=reduction), h
    )
    local = np.sign(h) if kind == "l1" else 2.0 * h
    scale = 1.0 / h.size if reduction == "mean" else 1.0
    np.testing.assert_allclose(grad, weight * scale * local, rtol=1e-6)


def test_disabled_term_is_absent(rng):
    layer = ActivityRegularizer(weight=0.0)
    assert layer.penalty_terms == ()
    layer(rng.random((4, 3)).astype(np.float32))
    assert layer.penalty_values == {}
    assert layer.losses == []
    assert ActivityRegularizer(kind="l2", weight=1.0).penalty_terms == ("l2",)


# === Standard layer checks ===


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kind="l1", weight=0.05, reduction="mean"),
        dict(kind="l2", weight=1e-3, reduction="sum"),
        dict(kind="l1", weight=0.0),
    ],
    ids=["l1_mean", "l2_sum", "zero_weight"],
)
def test_layer_checks(tmp_path, kwargs):
    run_layer_checks(functools.partial(ActivityRegularizer, **kwargs), tmp_path)


# === Mixed precision ===


@pytest.fixture
def mixed_float16():
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_mixed_float16(mixed_float16, rng, kind, reduction):
    h = rng.uniform(-3.0, 3.0, (16, 12)).astype(np.float32)
    layer = ActivityRegularizer(kind=kind, weight=0.25, reduction=reduction)
    assert layer.compute_dtype == "float16"
    out = layer(h)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    value = layer.penalty_values[kind]
    # float32, so that a sum of 192 squares up to 9 neither overflows nor
    # loses float16's 11 bits.
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    h16 = h.astype(np.float16).astype(np.float64)
    expected = reference.activity_penalty(h16, kind, 0.25, reduction)
    np.testing.assert_allclose(float(to_numpy(value)), expected, rtol=MIXED_RTOL)


# === Argument checks ===


def value_error(name, expected, received):
    return (
        ValueError,
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received}",
    )


WEIGHT = "a finite float >= 0"
KIND = "one of 'l1', 'l2'"
REDUCTION = "one of 'mean', 'sum'"

ARGUMENT_ERRORS = [
    ({"kind": "l3"}, *value_error("kind", KIND, "'l3'")),
    ({"kind": "L1"}, *value_error("kind", KIND, "'L1'")),
    (
        {"kind": 1},
        TypeError,
        "Invalid type for argument `kind`. Expected one of 'l1', 'l2'. "
        "Received: kind=1 of type int",
    ),
    ({"weight": -1}, *value_error("weight", WEIGHT, "-1.0")),
    ({"weight": -0.01}, *value_error("weight", WEIGHT, "-0.01")),
    ({"weight": float("nan")}, *value_error("weight", WEIGHT, "nan")),
    ({"weight": float("inf")}, *value_error("weight", WEIGHT, "inf")),
    (
        {"weight": "0.1"},
        TypeError,
        "Invalid type for argument `weight`. Expected a finite float >= 0. "
        "Received: weight='0.1' of type str",
    ),
    ({"reduction": "max"}, *value_error("reduction", REDUCTION, "'max'")),
    ({"reduction": "Mean"}, *value_error("reduction", REDUCTION, "'Mean'")),
    (
        {"reduction": None},
        TypeError,
        "Invalid type for argument `reduction`. Expected one of 'mean', 'sum'. "
        "Received: reduction=None of type NoneType",
    ),
]


@pytest.mark.parametrize("kwargs, error, message", ARGUMENT_ERRORS)
def test_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        ActivityRegularizer(**kwargs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3,)])
def test_rejects_non_2d_input(shape):
    layer = ActivityRegularizer(name="act")
    message = (
        "Invalid input shape for layer `act` (ActivityRegularizer). Expected a "
        f"2-D input (batch, units). Received: input_shape={shape}"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        layer(np.zeros(shape, np.float32))
