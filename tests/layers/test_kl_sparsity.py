"""`KLSparsity` against the NumPy float64 reference (lessons 001 and 003).

Parity of the KL term, edge cases with finite values and gradients, mixed
precision, argument checks and the standard layer checks.
"""

import functools
import math

import keras
import numpy as np
import pytest
from hypothesis import given, seed
from layer_checks import run_layer_checks
from penalty_checks import (
    KL_ARGUMENT_ERRORS,
    KL_ARGUMENTS,
    KL_REDUCTIONS,
    MIXED_RTOL,
    RTOL,
    UNIT_EDGE_INPUTS,
    activations,
    assert_finite_penalty_and_gradient,
    assert_rejects_non_2d_input,
    call_mixed_float16,
    kl,
    kl_atol,
    numeric_gradient,
    penalty_and_gradient,
    raises_exactly,
    to_numpy,
)

from keras_sparse_ae import KLSparsity, reference

# Tolerances: see tests/penalty_checks.py (`kl_atol` bounds the KL's error).


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


@seed(3)
@given(h=activations(0.0, 1.0), **KL_ARGUMENTS)
def test_kl_matches_reference(h, target, weight, reduction):
    assert_matches_reference(h, target, weight, reduction)


def test_kl_hand_value():
    # rho = (0.5, 0.25) exactly: weight * [KL(0.1||0.5) + KL(0.1||0.25)].
    h = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]], np.float32)
    layer = KLSparsity(target=0.1, weight=2.0)
    layer(h)
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

EDGE_INPUTS = UNIT_EDGE_INPUTS


@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
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


@pytest.mark.parametrize("name", sorted(EDGE_INPUTS))
def test_edge_inputs_finite_values_and_gradients(name):
    h = EDGE_INPUTS[name]
    assert_finite_penalty_and_gradient(KLSparsity(target=0.05, weight=1.0), h)


def test_saturated_sigmoid_finite_values_and_gradients():
    # Column 0 is always 1, column 1 always ~0, column 2 mixed.
    z = np.array([[50.0, -50.0, 50.0], [50.0, -50.0, -50.0]], np.float32)
    h = to_numpy(keras.ops.sigmoid(z))
    assert np.all(h[:, 0] == 1.0)
    assert np.all(h[:, 1] < 1e-21)
    layer = KLSparsity(target=0.1, weight=1.0)
    total, grad = penalty_and_gradient(layer, z, before=keras.ops.sigmoid)
    assert np.isfinite(total)
    assert np.all(np.isfinite(grad))


def test_gradient_matches_reference_finite_differences(rng):
    h = rng.uniform(0.05, 0.95, (6, 4)).astype(np.float32)
    _, grad = penalty_and_gradient(KLSparsity(target=0.2, weight=3.0), h)
    numeric = numeric_gradient(
        lambda x: reference.kl_sparsity_penalty(x, 0.2, 3.0), h, step=1e-6
    )
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


@pytest.mark.parametrize("reduction", KL_REDUCTIONS)
@pytest.mark.usefixtures("mixed_float16")
def test_mixed_float16(rng, reduction):
    h = rng.random((16, 6)).astype(np.float32)
    layer = KLSparsity(target=0.05, weight=0.5, reduction=reduction)
    value, h16 = call_mixed_float16(layer, h, "kl")
    expected = reference.kl_sparsity_penalty(h16, 0.05, 0.5, reduction)
    np.testing.assert_allclose(value, expected, rtol=MIXED_RTOL)


# === Argument checks ===


@pytest.mark.parametrize("kwargs, error, message", KL_ARGUMENT_ERRORS)
def test_argument_errors(kwargs, error, message):
    with raises_exactly(error, message):
        KLSparsity(**kwargs)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3,)])
def test_rejects_non_2d_input(shape):
    assert_rejects_non_2d_input(KLSparsity(name="kl"), shape)
