"""`ActivityRegularizer` against the NumPy float64 reference (lessons 002, 004).

Parity of the L1/L2 term, edge cases with finite values and gradients,
lesson 004's worked example, mixed precision, argument checks and the
standard layer checks.
"""

import functools

import keras
import numpy as np
import pytest
from hypothesis import given, seed
from layer_checks import run_layer_checks
from lesson_004 import BD, BE, BETA, LOSS, WD, WE, XIN
from penalty_checks import (
    ACTIVITY_ARGUMENT_ERRORS,
    ACTIVITY_ARGUMENTS,
    ACTIVITY_MAX_PENALTY,
    ACTIVITY_REDUCTIONS,
    KINDS,
    MIXED_RTOL,
    RTOL,
    activations,
    assert_finite_penalty_and_gradient,
    assert_rejects_non_2d_input,
    call_mixed_float16,
    penalty_and_gradient,
    raises_exactly,
    to_numpy,
    underflow_atol,
)

from keras_sparse_ae import ActivityRegularizer, reference
from keras_sparse_ae.losses import mse

# Tolerances: see tests/penalty_checks.py (|h| and h**2 are >= 0: RTOL holds
# with no atol but the underflow bound).


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
    atol = underflow_atol(weight, ACTIVITY_MAX_PENALTY)
    np.testing.assert_allclose(value, expected, rtol=RTOL, atol=atol)
    assert float(to_numpy(layer.losses[0])) == value


# === Parity with the reference ===


@seed(4)
@given(h=activations(-3.0, 3.0), **ACTIVITY_ARGUMENTS)
def test_penalty_matches_reference_signed(h, kind, weight, reduction):
    assert_matches_reference(h, kind, weight, reduction)


@seed(5)
@given(h=activations(0.0, 1.0), **ACTIVITY_ARGUMENTS)
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


@pytest.mark.parametrize("reduction", ACTIVITY_REDUCTIONS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_match_reference(name, kind, reduction):
    assert_matches_reference(EDGE_INPUTS[name], kind, 0.3, reduction)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_finite_values_and_gradients(name, kind):
    h = EDGE_INPUTS[name]
    assert_finite_penalty_and_gradient(ActivityRegularizer(kind=kind, weight=1.0), h)


@pytest.mark.parametrize("kind", KINDS)
def test_saturated_sigmoid_finite_values_and_gradients(kind):
    z = np.array([[50.0, -50.0], [-50.0, 50.0]], np.float32)
    assert np.all(to_numpy(keras.ops.sigmoid(z))[z > 0] == 1.0)
    layer = ActivityRegularizer(kind=kind, weight=1.0)
    total, grad = penalty_and_gradient(layer, z, before=keras.ops.sigmoid)
    assert np.isfinite(total)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("reduction", ACTIVITY_REDUCTIONS)
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


@pytest.mark.parametrize("reduction", ACTIVITY_REDUCTIONS)
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.usefixtures("mixed_float16")
def test_mixed_float16(rng, kind, reduction):
    h = rng.uniform(-3.0, 3.0, (16, 12)).astype(np.float32)
    layer = ActivityRegularizer(kind=kind, weight=0.25, reduction=reduction)
    # The penalty is float32, so that a sum of 192 squares up to 9 neither
    # overflows nor loses float16's 11 bits.
    value, h16 = call_mixed_float16(layer, h, kind)
    expected = reference.activity_penalty(h16, kind, 0.25, reduction)
    np.testing.assert_allclose(value, expected, rtol=MIXED_RTOL)


# === Argument checks ===


@pytest.mark.parametrize("kwargs, error, message", ACTIVITY_ARGUMENT_ERRORS)
def test_argument_errors(kwargs, error, message):
    with raises_exactly(error, message):
        ActivityRegularizer(**kwargs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3,)])
def test_rejects_non_2d_input(shape):
    assert_rejects_non_2d_input(ActivityRegularizer(name="act"), shape)
