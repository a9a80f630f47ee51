"""The NumPy float64 reference against hand-derived values and the lessons.

The layers are tested against `keras_sparse_ae.reference`; these tests make
sure the reference itself is right, independently of the library.
"""

import math

import numpy as np
import pytest
from hypothesis import given, seed
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from lesson_004 import BD, BE, LOSS, WD, WE, XIN, XOUT
from penalty_checks import kl

from keras_sparse_ae import reference

# float64 throughout: values computed two ways agree to a few EPS64 times
# their magnitude; 1e-12 leaves room for sums of a few hundred terms.
RTOL = 1e-12
ATOL = 1e-14

# === Lesson 004's worked example ===


def test_lesson_004_worked_example():
    x_out, loss = reference.l1_autoencoder(XIN, WE, BE, WD, BD, beta=0.05)
    # The lesson prints Xout to 8 decimals.
    np.testing.assert_allclose(x_out, XOUT, rtol=0, atol=1e-7)
    assert abs(loss - LOSS) <= 1e-12


def test_lesson_004_loss_decomposition():
    code = reference.relu(XIN @ WE + BE)
    x_out = reference.sigmoid(code @ WD + BD)
    expected = np.mean((XIN - x_out) ** 2) + 0.05 * np.mean(np.abs(code))
    _, loss = reference.l1_autoencoder(XIN, WE, BE, WD, BD, beta=0.05)
    assert abs(loss - expected) <= 1e-15
    # beta = 0 leaves the MSE alone.
    _, mse_only = reference.l1_autoencoder(XIN, WE, BE, WD, BD, beta=0.0)
    assert abs(mse_only - reference.mse(XIN, x_out)) <= 1e-15
    assert loss > mse_only


def test_dense_stack_equals_manual_composition(rng):
    weights = [
        (rng.normal(size=(5, 4)), rng.normal(size=4)),
        (rng.normal(size=(4, 3)), rng.normal(size=3)),
        (rng.normal(size=(3, 2)), rng.normal(size=2)),
    ]
    x = rng.normal(size=(7, 5))
    outputs = reference.dense_stack(x, weights, ["relu", "tanh", "sigmoid"])
    first = np.maximum(x @ weights[0][0] + weights[0][1], 0.0)
    second = np.tanh(first @ weights[1][0] + weights[1][1])
    third = 1.0 / (1.0 + np.exp(-(second @ weights[2][0] + weights[2][1])))
    assert len(outputs) == 3
    np.testing.assert_allclose(outputs[0], first, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(outputs[1], second, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(outputs[2], third, rtol=RTOL, atol=ATOL)


def test_dense_activations(rng):
    x = rng.normal(size=(3, 2))
    kernel, bias = rng.normal(size=(2, 4)), rng.normal(size=4)
    z = x @ kernel + bias
    np.testing.assert_allclose(reference.dense(x, kernel, bias), z, rtol=RTOL)
    np.testing.assert_allclose(
        reference.dense(x, kernel, bias, "elu"),
        np.where(z > 0, z, np.exp(z) - 1.0),
        rtol=RTOL,
        atol=ATOL,
    )


def test_sigmoid_and_relu():
    z = np.array([-800.0, -50.0, -1.0, 0.0, 1.0, 50.0, 800.0])
    s = reference.sigmoid(z)
    assert np.all(np.isfinite(s))
    # 0.5 (1 + tanh(z / 2)) is accurate to ~1e-16 absolutely, not relatively:
    # sigmoid(-50) ~ 1.9e-22 comes out as exactly 0.
    np.testing.assert_allclose(
        s[1:-1], 1.0 / (1.0 + np.exp(-z[1:-1])), rtol=1e-12, atol=1e-16
    )
    assert s[0] == 0.0 and s[-1] == 1.0 and s[3] == 0.5
    np.testing.assert_array_equal(reference.relu(z), np.maximum(z, 0.0))


# === Reconstruction ===


def test_l2_loss_per_input_forms(rng):
    x = rng.random((6, 10))
    x_hat = rng.random((6, 10))
    d = x_hat - x
    total = reference.l2_loss_per_input(x, x_hat, reduction="sum")
    mean = reference.l2_loss_per_input(x, x_hat, reduction="mean")
    n = x.shape[1]
    np.testing.assert_allclose(total, 0.5 * np.sum(d**2) / n, rtol=RTOL)
    np.testing.assert_allclose(total, x.shape[0] * mean, rtol=RTOL)
    # The mean form is half the MSE.
    np.testing.assert_allclose(mean, 0.5 * reference.mse(x, x_hat), rtol=RTOL)


def test_mse_and_bce_hand_values():
    x = np.array([[0.0, 1.0]])
    x_hat = np.array([[0.5, 0.5]])
    assert reference.mse(x, x_hat) == 0.25
    np.testing.assert_allclose(reference.bce(x, x_hat), math.log(2.0), rtol=RTOL)
    # Outputs exactly 0 and 1 are clipped to [1e-7, 1 - 1e-7]: finite.
    wrong = reference.bce(np.array([[1.0, 0.0]]), np.array([[0.0, 1.0]]))
    np.testing.assert_allclose(wrong, -math.log(1e-7), rtol=1e-9)
    right = reference.bce(np.array([[1.0, 0.0]]), np.array([[1.0, 0.0]]))
    np.testing.assert_allclose(right, -math.log(1.0 - 1e-7), rtol=1e-9)


# === Activity and KL ===


def test_activity_penalty_hand_values():
    h = np.array([[0.0, 1.0], [2.0, -1.0]])
    assert reference.activity_penalty(h, "l1") == 1.0
    assert reference.activity_penalty(h, "l1", 0.5, "sum") == 2.0
    assert reference.activity_penalty(h, "l2") == 1.5
    assert reference.activity_penalty(h, "l2", 2.0, "sum") == 12.0


@pytest.mark.parametrize("target", [0.02, 0.1, 0.5, 0.9])
def test_kl_zero_at_target(target):
    h = np.full((4, 3), target)
    assert abs(reference.kl_sparsity_penalty(h, target)) <= 1e-15
    assert abs(reference.kl_sparsity_penalty(h, target, 5.0, "mean")) <= 1e-15


def test_kl_hand_value():
    # Unit means 0.5 and 0.25.
    h = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])
    expected = kl(0.1, 0.5) + kl(0.1, 0.25)
    np.testing.assert_allclose(
        reference.kl_sparsity_penalty(h, 0.1), expected, rtol=RTOL
    )
    np.testing.assert_allclose(
        reference.kl_sparsity_penalty(h, 0.1, 3.0, "mean"), 1.5 * expected, rtol=RTOL
    )


def test_kl_clips_saturated_units():
    zeros, ones = np.zeros((3, 1)), np.ones((3, 1))
    np.testing.assert_allclose(
        reference.kl_sparsity_penalty(zeros, 0.1), kl(0.1, 1e-6), rtol=RTOL
    )
    np.testing.assert_allclose(
        reference.kl_sparsity_penalty(ones, 0.1), kl(0.1, 1 - 1e-6), rtol=1e-9
    )


@seed(21)
@given(
    h=arrays(np.float64, (5, 3), elements=st.floats(0.0, 1.0)),
    target=st.floats(0.01, 0.99),
)
def test_kl_positive_away_from_target(h, target):
    rho = np.clip(h.mean(axis=0), 1e-6, 1 - 1e-6)
    value = reference.kl_sparsity_penalty(h, target)
    assert value >= -1e-15
    # Gibbs' inequality: strictly positive once a unit's mean is off target,
    # at least 2 (rho - target)**2 (Pinsker).
    gap = np.max(np.abs(rho - target))
    assert value >= 2.0 * gap**2 * (1 - 1e-9)
    if gap > 1e-3:
        assert value > 0.0


# === Lesson 000: sparsity, participation, binary, trace ===


@pytest.mark.parametrize("k", [1.0, 10.0, 100.0, 200.0])
@pytest.mark.parametrize("p", [0.02, 0.1, 0.25, 0.5, 0.9])
def test_shifted_sigmoid_at_zero_is_p(p, k):
    # sigmoid_k(0 - x_s) = 1 / (1 + (1 - p) / p) = p.
    x_s = reference.sigmoid_shift(p, k)
    np.testing.assert_allclose(reference.shifted_sigmoid(0.0, x_s, k), p, rtol=1e-12)
    np.testing.assert_allclose(x_s, math.log((1 - p) / p) / k, rtol=1e-15)
    # The lesson's defaults (k = 100 in both).
    default = reference.shifted_sigmoid(0.0, reference.sigmoid_shift(p))
    np.testing.assert_allclose(default, p, rtol=1e-12)


def test_shifted_sigmoid_is_monotone_and_steep():
    x_s = reference.sigmoid_shift(0.1, 100.0)
    x = np.linspace(-0.5, 0.5, 101)
    s = reference.shifted_sigmoid(x, x_s, 100.0)
    # Non-decreasing, strictly increasing where it is not saturated.
    assert np.all(np.diff(s) >= 0)
    middle = (s > 1e-6) & (s < 1 - 1e-6)
    assert middle.sum() >= 5
    assert np.all(np.diff(s[middle]) > 0)
    assert s[0] < 1e-10 and s[-1] > 1 - 1e-10
    np.testing.assert_allclose(
        reference.shifted_sigmoid(x_s, x_s, 100.0), 0.5, rtol=1e-15
    )


@seed(22)
@given(
    batch=st.integers(1, 16),
    units=st.integers(1, 12),
    sparsity=st.floats(0.05, 0.95),
    gamma=st.floats(0.0, 0.999),
    k=st.floats(1.0, 200.0),
    data_seed=st.integers(0, 2**32 - 1),
)
def test_participation_penalty_simplified_form(
    batch, units, sparsity, gamma, k, data_seed
):
    # The lesson's literal form equals (1 - gamma)**2 mean_ij (h_ij - s_j)**2:
    # the algebra keras_sparse_ae.losses.participation_penalty relies on.
    rng = np.random.default_rng(data_seed)
    h = rng.random((batch, units))
    trace = rng.random(units)
    p = 1.0 - sparsity
    s = reference.shifted_sigmoid(p - trace, reference.sigmoid_shift(p, k), k)
    simplified = (1.0 - gamma) ** 2 * np.mean((h - s) ** 2)
    literal = reference.participation_penalty(h, trace, sparsity, gamma, k)
    # The literal form cancels two O(1) terms in float64: ~16 EPS64 on each
    # inner value, hence <= 2 (1 - gamma) * 16 EPS64 on the mean of squares.
    np.testing.assert_allclose(
        literal, simplified, rtol=1e-12, atol=(1.0 - gamma) * 32 * 2.0**-52
    )


def test_participation_target_at_trace_equal_p():
    # trace == p: s == p, so h == p everywhere costs nothing.
    h = np.full((3, 4), 0.3)
    assert reference.participation_penalty(h, np.full(4, 0.3), 0.7, 0.9) <= 1e-30
    # h == 0 costs (1 - gamma)**2 p**2.
    value = reference.participation_penalty(np.zeros((3, 4)), np.full(4, 0.3), 0.7, 0.9)
    np.testing.assert_allclose(value, 0.01 * 0.09, rtol=1e-9)


def test_participation_pushes_over_active_units_down():
    # A unit whose trace is far above p has target ~0, far below p ~1.
    trace = np.array([0.9, 0.0])
    off = reference.participation_penalty(np.array([[1.0, 0.0]]), trace, 0.8, 0.5)
    on = reference.participation_penalty(np.array([[0.0, 1.0]]), trace, 0.8, 0.5)
    np.testing.assert_allclose(off, 0.25 * 1.0, rtol=1e-6)
    assert on < 1e-10


@pytest.mark.parametrize("p", [0.1, 0.25, 0.5, 0.9])
def test_layer_sparsity_penalty_zero_at_p(p):
    h = np.full((5, 4), p)
    assert reference.layer_sparsity_penalty(h, 1.0 - p) <= 1e-30
    # Units may differ as long as the layer's mean is p.
    h = np.array([[0.0, 2 * p], [2 * p, 0.0]])
    assert reference.layer_sparsity_penalty(h, 1.0 - p) <= 1e-30


def test_layer_sparsity_penalty_hand_value():
    h = np.array([[1.0, 1.0], [1.0, 0.0]])  # mean 0.75, p = 0.25
    assert reference.layer_sparsity_penalty(h, 0.75) == 0.25


def test_binary_penalty_values():
    assert reference.binary_penalty(np.array([[0.0, 1.0], [1.0, 0.0]])) == 0.0
    assert reference.binary_penalty(np.full((3, 2), 0.5)) == 1.0 / 16.0
    np.testing.assert_allclose(
        reference.binary_penalty(np.array([[0.5, 0.0]])), 1.0 / 32.0, rtol=RTOL
    )


def test_trace_update(rng):
    h = rng.random((6, 4))
    trace = rng.random(4)
    np.testing.assert_allclose(reference.trace_update(trace, h, 0.0), h.mean(axis=0))
    np.testing.assert_allclose(
        reference.trace_update(trace, h, 0.9),
        0.9 * trace + 0.1 * h.mean(axis=0),
        rtol=RTOL,
    )
    # A trace equal to the batch mean is a fixed point.
    mean = h.mean(axis=0)
    np.testing.assert_allclose(reference.trace_update(mean, h, 0.99), mean, rtol=RTOL)


def test_participation_trace_penalties_assembles_terms(rng):
    h = rng.random((5, 3))
    trace = rng.random(3)
    terms, new_trace = reference.participation_trace_penalties(
        h, trace, 0.6, gamma=0.8, alpha_s=2.0, alpha_p=3.0, alpha_b=0.0, k=50.0
    )
    assert sorted(terms) == ["participation", "sparsity"]
    assert terms["sparsity"] == 2.0 * reference.layer_sparsity_penalty(h, 0.6)
    assert terms["participation"] == 3.0 * reference.participation_penalty(
        h, trace, 0.6, 0.8, 50.0
    )
    np.testing.assert_array_equal(new_trace, reference.trace_update(trace, h, 0.8))
