"""`keras_sparse_ae.losses` reconstruction terms against the reference."""

import math

import keras
import numpy as np
import pytest
from hypothesis import given, seed
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from penalty_checks import (
    MAX_BATCH,
    RTOL,
    SMALLEST_NORMAL,
    U,
    to_float,
    value_and_gradient,
)
from penalty_checks import MAX_UNITS as MAX_FEATURES

from keras_sparse_ae import losses, reference

# === Tolerances ===
#
# Every summand of the MSE and of the BCE has one sign, so the shared RTOL
# (tests/penalty_checks.py) bounds their float32 means.

# The logs of the BCE: rounding their argument (1 - x_hat, and the clip
# bounds) shifts each log by <= U absolutely, the log itself by <= U more;
# x and 1 - x are <= 1. 4 U absolute covers logs of numbers near 1, whose
# value is near 0.
BCE_ATOL = 4 * U

# The upper clip bound 1 - 1e-7 is not a float32 number: float32 rounds it to
# 1 - 2**-23 (1 - 1.19e-7), so an output within 1e-7 of 1 (in float32: 1 and
# 1 - 2**-24) gets -log(2**-23) instead of the reference's -log(1e-7): 0.176
# less on that element, times its weight 1 - x.
CLIP_SHIFT = math.log(2.0**-23 / 1e-7)
EPSILON = 1e-7

# TensorFlow flushes float32 subnormals to 0 on CPU: an input or a square
# below the smallest normal, 2**-126, may become 0, which moves a mean by
# less than 2**-126.
UNDERFLOW_ATOL = SMALLEST_NORMAL

# float64 inputs are computed in float64: agreement to a few EPS64.
RTOL64 = 1e-12


def bce_atol(x, x_hat):
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    clipped_high = x_hat > 1.0 - EPSILON
    return BCE_ATOL + np.mean((1.0 - x) * clipped_high) * CLIP_SHIFT


@st.composite
def pairs(draw, low, high):
    batch = draw(st.integers(1, MAX_BATCH))
    features = draw(st.integers(1, MAX_FEATURES))
    elements = st.floats(low, high, width=32)
    x = draw(arrays(np.float32, (batch, features), elements=elements))
    x_hat = draw(arrays(np.float32, (batch, features), elements=elements))
    return x, x_hat


# === Parity with the reference ===


@seed(31)
@given(data=pairs(-3.0, 3.0))
def test_mse_matches_reference(data):
    x, x_hat = data
    value = losses.mse(x, x_hat)
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    np.testing.assert_allclose(
        to_float(value), reference.mse(x, x_hat), rtol=RTOL, atol=UNDERFLOW_ATOL
    )


@seed(32)
@given(data=pairs(-3.0, 3.0))
def test_l2_per_input_matches_reference(data):
    x, x_hat = data
    np.testing.assert_allclose(
        to_float(losses.l2_per_input(x, x_hat)),
        reference.l2_loss_per_input(x, x_hat, reduction="mean"),
        rtol=RTOL,
        atol=UNDERFLOW_ATOL,
    )


@seed(33)
@given(data=pairs(0.0, 1.0))
def test_bce_matches_reference(data):
    x, x_hat = data
    value = to_float(losses.bce(x, x_hat))
    assert np.isfinite(value)
    np.testing.assert_allclose(
        value, reference.bce(x, x_hat), rtol=RTOL, atol=bce_atol(x, x_hat)
    )


@pytest.fixture
def float64():
    """Lets the backend hold float64 tensors for the test's duration.

    JAX turns float64 arrays into float32 unless its 64-bit mode is on
    (`jax_enable_x64`, off by default); TensorFlow and PyTorch keep float64.
    """
    if keras.backend.backend() == "jax":
        import jax

        with jax.enable_x64(True):
            yield
    else:
        yield


@pytest.mark.parametrize("name", ["mse", "l2", "bce"])
@pytest.mark.usefixtures("float64")
def test_float64_inputs_match_reference_tightly(rng, name):
    x = rng.random((7, 5))
    x_hat = rng.random((7, 5))
    value = losses.reconstruction_loss(name)(x, x_hat)
    assert keras.backend.standardize_dtype(value.dtype) == "float64"
    expected = {
        "mse": reference.mse(x, x_hat),
        "l2": reference.l2_loss_per_input(x, x_hat),
        "bce": reference.bce(x, x_hat),
    }[name]
    np.testing.assert_allclose(to_float(value), expected, rtol=RTOL64)


def test_integer_targets_are_cast(rng):
    x = (rng.random((4, 6)) > 0.5).astype(np.uint8)
    x_hat = rng.random((4, 6)).astype(np.float32)
    np.testing.assert_allclose(
        to_float(losses.bce(x, x_hat)), reference.bce(x, x_hat), rtol=RTOL
    )
    np.testing.assert_allclose(
        to_float(losses.mse(x, x_hat)), reference.mse(x, x_hat), rtol=RTOL
    )


def test_hand_values():
    x = np.array([[0.0, 1.0]], np.float32)
    x_hat = np.array([[0.5, 0.5]], np.float32)
    assert to_float(losses.mse(x, x_hat)) == 0.25
    assert to_float(losses.l2_per_input(x, x_hat)) == 0.125
    np.testing.assert_allclose(to_float(losses.bce(x, x_hat)), math.log(2.0), rtol=1e-6)


def test_reconstruction_loss_names():
    assert losses.reconstruction_loss("mse") is losses.mse
    assert losses.reconstruction_loss("l2") is losses.l2_per_input
    assert losses.reconstruction_loss("bce") is losses.bce
    assert set(losses.RECONSTRUCTIONS) == {"mse", "l2", "bce"}


# === BCE at saturated outputs ===


@pytest.mark.parametrize(
    "x, x_hat",
    [
        ([[1.0, 0.0]], [[1.0, 0.0]]),  # right and saturated
        ([[1.0, 0.0]], [[0.0, 1.0]]),  # wrong and saturated
        ([[0.5, 0.5]], [[0.0, 1.0]]),
        ([[1.0, 1.0], [0.0, 0.0]], [[1.0, 0.0], [1.0, 0.0]]),
    ],
)
def test_bce_at_outputs_zero_and_one(x, x_hat):
    x = np.array(x, np.float32)
    x_hat = np.array(x_hat, np.float32)
    value, grad = value_and_gradient(lambda h: losses.bce(x, h), x_hat)
    assert np.isfinite(value)
    assert np.all(np.isfinite(grad))
    np.testing.assert_allclose(
        value, reference.bce(x, x_hat), rtol=RTOL, atol=bce_atol(x, x_hat)
    )


def test_bce_wrong_saturated_values():
    # x_hat = 0 where x = 1 costs -log(1e-7) = 16.118 (1e-7 is a float32
    # number to 1e-8 relatively); x_hat = 1 where x = 0 costs -log(2**-23) =
    # 15.942 because 1 - 1e-7 rounds to 1 - 2**-23 in float32.
    low = to_float(losses.bce(np.ones((1, 1)), np.zeros((1, 1), np.float32)))
    np.testing.assert_allclose(low, -math.log(1e-7), rtol=1e-6)
    high = to_float(losses.bce(np.zeros((1, 1)), np.ones((1, 1), np.float32)))
    np.testing.assert_allclose(high, -math.log(2.0**-23), rtol=1e-6)


def test_mse_gradient_hand_value(rng):
    x = rng.random((3, 4)).astype(np.float32)
    x_hat = rng.random((3, 4)).astype(np.float32)
    _, grad = value_and_gradient(lambda h: losses.mse(x, h), x_hat)
    np.testing.assert_allclose(grad, 2.0 * (x_hat - x) / x.size, rtol=1e-5)
