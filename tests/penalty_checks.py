"""Tolerances, argument-error tables and helpers shared by the penalty tests.

The layers (`ActivityRegularizer`, `KLSparsity`, `ParticipationTrace`), their
regularizer twins and the loss terms compute in float32, the NumPy reference
in float64. The bounds below are worst cases derived from float32's unit
roundoff U for the largest input the strategies draw (16 x 12 = 192 values).

Test modules import what they use, the `mixed_float16` fixture included
(imported with `# noqa: F401`, then named in `pytest.mark.usefixtures`).
"""

import math
import re

import keras
import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from keras_sparse_ae import reference

# === float32 tolerances ===

U = 2.0**-24  # float32 unit roundoff
MAX_BATCH, MAX_UNITS = 16, 12
N_MAX = MAX_BATCH * MAX_UNITS

# A float32 sum or mean of n <= N_MAX terms of one sign (|h|, h**2, the KL
# terms, squared errors, the BCE's summands) is within (n - 1) U relatively of
# the exact one; a handful of elementwise roundings (a square, a subtraction,
# a log's argument, the division by n) and the final product by the weight
# add a few U more. 8 U of headroom: RTOL ~= 1.2e-5, no atol.
RTOL = (N_MAX + 8) * U

# The smallest normal float32 number.
SMALLEST_NORMAL = 2.0**-126

# TensorFlow flushes float32 subnormals to 0 on CPU: an input, square,
# product or weight below the smallest normal, 2**-126, may become 0. At most
# N_MAX such values enter a term (then times its weight), and a flushed
# weight drops weight * penalty < 2**-126 * max_penalty, with max_penalty a
# bound on the term before its weight:
# - L1/L2 activity: at most sum(h**2) <= 192 * 9 < 2**11;
# - KL: the sum over 12 units is < 12 * 14 < 2**8;
# - participation trace: each term is <= 1.
ACTIVITY_MAX_PENALTY = 2.0**11
KL_MAX_PENALTY = 2.0**8
PARTICIPATION_MAX_PENALTY = 1.0


def underflow_atol(weight, max_penalty):
    return SMALLEST_NORMAL * (weight * N_MAX + max_penalty)


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
    return weight * total + underflow_atol(weight, KL_MAX_PENALTY)


# Mixed precision: the penalties are float32 but computed from the
# float16-rounded input, compared with the reference on that same input.
MIXED_RTOL = 1e-3

# Through a float32 Dense layer: each pre-activation is off by <= d U sum|x w|
# (~1e-7 here), the sigmoid halves it at least; the penalties' relative
# sensitivity to h is O(1) away from rho == target, hence 1e-5.
DENSE_RTOL = 1e-5


# === Conversions and exact values ===


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def to_float(x):
    return float(to_numpy(x))


def backend_dtype(x):
    return keras.backend.standardize_dtype(x.dtype)


def kl(r, q):
    """KL(r || q) between Bernoulli distributions, in float64."""
    return r * math.log(r / q) + (1 - r) * math.log((1 - r) / (1 - q))


# === Hypothesis strategies ===


def activations(low, high):
    """(batch, units) float32 arrays of values in [low, high], at most 16 x 12."""

    @st.composite
    def strategy(draw):
        batch = draw(st.integers(1, MAX_BATCH))
        units = draw(st.integers(1, MAX_UNITS))
        elements = st.floats(low, high, width=32)
        return draw(arrays(np.float32, (batch, units), elements=elements))

    return strategy()


# Penalty weights: 0 (the term disabled) drawn on purpose, then [0, 100].
weights = st.one_of(st.just(0.0), st.floats(0.0, 100.0))

# The arguments `ActivityRegularizer`/`ActivityPenalty` and
# `KLSparsity`/`KLSparsityPenalty` accept.
KINDS = ("l1", "l2")
ACTIVITY_REDUCTIONS = ("mean", "sum")
KL_REDUCTIONS = ("sum", "mean")
kl_targets = st.floats(0.01, 0.99, exclude_min=True, exclude_max=True)

# `@given(h=..., **ACTIVITY_ARGUMENTS)`: kind, weight and reduction.
ACTIVITY_ARGUMENTS = dict(
    kind=st.sampled_from(KINDS),
    weight=weights,
    reduction=st.sampled_from(ACTIVITY_REDUCTIONS),
)
# `@given(h=..., **KL_ARGUMENTS)`: target, weight and reduction.
KL_ARGUMENTS = dict(
    target=kl_targets,
    weight=weights,
    reduction=st.sampled_from(KL_REDUCTIONS),
)


# === Edge cases ===

# Activations in [0, 1] (sigmoid units) of unusual shapes and values.
UNIT_EDGE_INPUTS = {
    "zeros": np.zeros((4, 3), np.float32),
    "ones": np.ones((4, 3), np.float32),
    "batch_of_one": np.array([[0.1, 0.9, 0.5, 0.0, 1.0]], np.float32),
    "one_unit": np.array([[0.2], [0.7], [1.0], [0.0]], np.float32),
    "one_value": np.array([[0.3]], np.float32),
}


# === Backend-agnostic autodiff ===


def value_and_gradient(fn, x):
    """`(fn(x), d fn / d x)` as NumPy arrays, by the backend's own autodiff.

    `fn` maps a backend tensor to a scalar tensor; `x` is a NumPy array of a
    floating dtype. TensorFlow, JAX and PyTorch each differentiate in their
    own way (a tape, a function transformation, `backward`), so the tests
    that check gradients run under every backend CI uses.
    """
    name = keras.backend.backend()
    if name == "tensorflow":
        import tensorflow as tf

        x = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(x)
        grad = tape.gradient(value, x)
    elif name == "jax":
        import jax

        value, grad = jax.value_and_grad(fn)(jax.numpy.asarray(x))
    elif name == "torch":
        x = keras.ops.convert_to_tensor(x).detach().clone().requires_grad_(True)
        value = fn(x)
        value.backward()
        grad = x.grad
    else:
        raise NotImplementedError(f"No gradient for backend {name!r}")
    assert grad is not None, "the value does not depend on the input"
    return to_numpy(value), to_numpy(grad)


def penalty_and_gradient(layer, h, before=None, **call_kwargs):
    """Sum of the layer's penalties on `h` and its gradient w.r.t. `h`.

    With `before` (a function of a tensor, e.g. `keras.ops.sigmoid`), the
    layer sees `before(h)` and the gradient is taken through it. The layer is
    called with `stateless_call`, as JAX's trainer calls a model: under JAX's
    tracing an update of the layer's state (the participation trace) must
    not be written into its variables. On every backend the layer's
    variables are left as they were.
    """
    if not layer.built:
        layer.build((None, h.shape[-1]))
    trainable = [v.value for v in layer.trainable_variables]
    non_trainable = [v.value for v in layer.non_trainable_variables]

    def total(x):
        if before is not None:
            x = before(x)
        _, _, penalties = layer.stateless_call(
            trainable, non_trainable, x, return_losses=True, **call_kwargs
        )
        assert penalties, "the layer adds no penalty"
        return sum(penalties[1:], penalties[0])

    return value_and_gradient(total, h)


def numeric_gradient(f, h, step=1e-6):
    """Central differences of the float64 function `f` at `h`, elementwise."""
    numeric = np.zeros(h.shape)
    h64 = h.astype(np.float64)
    for index in np.ndindex(h.shape):
        up, down = h64.copy(), h64.copy()
        up[index] += step
        down[index] -= step
        numeric[index] = (f(up) - f(down)) / (2 * step)
    return numeric


def assert_finite_penalty_and_gradient(layer, h, **call_kwargs):
    """The penalties on `h` and their gradient are finite, of `h`'s shape."""
    total, grad = penalty_and_gradient(layer, h, **call_kwargs)
    assert np.isfinite(total)
    assert grad.shape == h.shape
    assert np.all(np.isfinite(grad))


# === Mixed precision ===


def call_mixed_float16(layer, h, term):
    """Calls `layer` (built under mixed_float16) on `h`, checking dtypes.

    The layer computes in float16 and returns float16; its penalty `term` is
    float32. Returns that penalty and `h` rounded to float16 (as float64),
    the input the reference should see.
    """
    assert layer.compute_dtype == "float16"
    out = layer(h)
    assert backend_dtype(out) == "float16"
    value = layer.penalty_values[term]
    assert backend_dtype(value) == "float32"
    return to_float(value), h.astype(np.float16).astype(np.float64)


# === Argument and input checks ===


def raises_exactly(error, message):
    """`pytest.raises` for `error` with exactly `message`."""
    return pytest.raises(error, match=f"^{re.escape(message)}$")


def value_error(name, expected, received):
    return (
        ValueError,
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received}",
    )


def type_error(name, expected, received, type_name):
    return (
        TypeError,
        f"Invalid type for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received} of type {type_name}",
    )


WEIGHT = "a finite float >= 0"
UNIT_OPEN = "a float in (0, 1)"
KIND = "one of 'l1', 'l2'"
ACTIVITY_REDUCTION = "one of 'mean', 'sum'"
KL_REDUCTION = "one of 'sum', 'mean'"

# `ActivityRegularizer` and `ActivityPenalty` both raise these.
ACTIVITY_ARGUMENT_ERRORS = [
    ({"kind": "l3"}, *value_error("kind", KIND, "'l3'")),
    ({"kind": "L1"}, *value_error("kind", KIND, "'L1'")),
    ({"kind": "l0"}, *value_error("kind", KIND, "'l0'")),
    ({"kind": 1}, *type_error("kind", KIND, "1", "int")),
    ({"kind": None}, *type_error("kind", KIND, "None", "NoneType")),
    ({"weight": -1}, *value_error("weight", WEIGHT, "-1.0")),
    ({"weight": -0.01}, *value_error("weight", WEIGHT, "-0.01")),
    ({"weight": float("nan")}, *value_error("weight", WEIGHT, "nan")),
    ({"weight": float("inf")}, *value_error("weight", WEIGHT, "inf")),
    ({"weight": "0.1"}, *type_error("weight", WEIGHT, "'0.1'", "str")),
    ({"reduction": "max"}, *value_error("reduction", ACTIVITY_REDUCTION, "'max'")),
    ({"reduction": "Mean"}, *value_error("reduction", ACTIVITY_REDUCTION, "'Mean'")),
    (
        {"reduction": None},
        *type_error("reduction", ACTIVITY_REDUCTION, "None", "NoneType"),
    ),
]

# `KLSparsity` and `KLSparsityPenalty` both raise these.
KL_ARGUMENT_ERRORS = [
    ({"target": 0}, *value_error("target", UNIT_OPEN, "0.0")),
    ({"target": 1}, *value_error("target", UNIT_OPEN, "1.0")),
    ({"target": 0.0}, *value_error("target", UNIT_OPEN, "0.0")),
    ({"target": 1.0}, *value_error("target", UNIT_OPEN, "1.0")),
    ({"target": -0.5}, *value_error("target", UNIT_OPEN, "-0.5")),
    ({"target": float("nan")}, *value_error("target", UNIT_OPEN, "nan")),
    ({"target": "0.1"}, *type_error("target", UNIT_OPEN, "'0.1'", "str")),
    ({"weight": -1}, *value_error("weight", WEIGHT, "-1.0")),
    ({"weight": -0.2}, *value_error("weight", WEIGHT, "-0.2")),
    ({"weight": -0.5}, *value_error("weight", WEIGHT, "-0.5")),
    ({"weight": float("nan")}, *value_error("weight", WEIGHT, "nan")),
    ({"weight": float("inf")}, *value_error("weight", WEIGHT, "inf")),
    ({"weight": None}, *type_error("weight", WEIGHT, "None", "NoneType")),
    ({"reduction": "max"}, *value_error("reduction", KL_REDUCTION, "'max'")),
    ({"reduction": "SUM"}, *value_error("reduction", KL_REDUCTION, "'SUM'")),
    ({"reduction": None}, *type_error("reduction", KL_REDUCTION, "None", "NoneType")),
]


def assert_rejects_non_2d_input(layer, shape):
    """Calling `layer` on an input of `shape` raises the 2-D input error."""
    message = (
        f"Invalid input shape for layer `{layer.name}` ({type(layer).__name__}). "
        f"Expected a 2-D input (batch, units). Received: input_shape={shape}"
    )
    with raises_exactly(ValueError, message):
        layer(np.zeros(shape, np.float32))
