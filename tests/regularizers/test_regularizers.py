"""`ActivityPenalty` and `KLSparsityPenalty`, the Regularizer twins.

Parity with the reference, config and serialization round trips, argument
checks, and the batch-size scaling Keras 3.15 applies to
`activity_regularizer=` (which the layer twins do not).
"""

import re

import keras
import numpy as np
import pytest
from hypothesis import given, seed
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from keras_sparse_ae import ActivityRegularizer, KLSparsity, reference
from keras_sparse_ae.regularizers import ActivityPenalty, KLSparsityPenalty

# === Tolerances (see tests/layers/ for the derivations) ===

U = 2.0**-24  # float32 unit roundoff
MAX_BATCH, MAX_UNITS = 16, 12
N_MAX = MAX_BATCH * MAX_UNITS

# Sums/means of <= N_MAX float32 terms of one sign: (n - 1) U relatively,
# plus a few elementwise roundings.
RTOL = (N_MAX + 8) * U

# TensorFlow flushes float32 subnormals to 0 on CPU: an input, square,
# product or weight below the smallest normal, 2**-126, may become 0. At most
# N_MAX such values enter a term (then times its weight), and a flushed
# weight drops weight * penalty < 2**-126 * MAX_PENALTY:
# the penalties are at most 192 * 9 (L2 sum) < 2**11.
MAX_PENALTY = 2.0**11


def underflow_atol(weight):
    return 2.0**-126 * (weight * N_MAX + MAX_PENALTY)


# Through a float32 Dense layer: each pre-activation is off by <= d U sum|x w|
# (~1e-7 here), the sigmoid halves it at least; the penalties' relative
# sensitivity to h is O(1) away from rho == target, hence 1e-5.
DENSE_RTOL = 1e-5


def kl_atol(h, target, weight, reduction):
    """Bound on |float32 - float64| for the KL penalty (see test_kl_sparsity).

    rho_j is off by d_rho = (batch + 1) U rho_j + U (the mean, and the clip
    bound 1 - 1e-6 rounded to float32), which moves unit j's KL by
    t d_rho / rho + (1 - t) d_rho / (1 - rho); logs, products and the sum
    over units add (units + 4) U relatively to the two terms' magnitudes.
    """
    h = np.asarray(h, np.float64)
    batch, units = h.shape
    rho = np.clip(h.mean(axis=0), 1e-6, 1 - 1e-6)
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


def to_float(x):
    return float(keras.ops.convert_to_numpy(x))


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


@seed(11)
@given(
    h=activations(-3.0, 3.0),
    kind=st.sampled_from(["l1", "l2"]),
    weight=weights,
    reduction=st.sampled_from(["mean", "sum"]),
)
def test_activity_penalty_matches_reference(h, kind, weight, reduction):
    value = ActivityPenalty(kind=kind, weight=weight, reduction=reduction)(h)
    assert keras.ops.shape(value) == ()
    expected = reference.activity_penalty(h, kind, weight, reduction)
    np.testing.assert_allclose(
        to_float(value), expected, rtol=RTOL, atol=underflow_atol(weight)
    )


@seed(12)
@given(
    h=activations(0.0, 1.0),
    target=st.floats(0.01, 0.99, exclude_min=True, exclude_max=True),
    weight=weights,
    reduction=st.sampled_from(["sum", "mean"]),
)
def test_kl_penalty_matches_reference(h, target, weight, reduction):
    value = KLSparsityPenalty(target=target, weight=weight, reduction=reduction)(h)
    assert keras.ops.shape(value) == ()
    expected = reference.kl_sparsity_penalty(h, target, weight, reduction)
    np.testing.assert_allclose(
        to_float(value),
        expected,
        rtol=RTOL,
        atol=kl_atol(h, target, weight, reduction),
    )


@pytest.mark.parametrize(
    "regularizer, layer",
    [
        (ActivityPenalty("l1", 0.3, "sum"), ActivityRegularizer("l1", 0.3, "sum")),
        (ActivityPenalty("l2", 2.0, "mean"), ActivityRegularizer("l2", 2.0, "mean")),
        (KLSparsityPenalty(0.05, 0.2, "sum"), KLSparsity(0.05, 0.2, "sum")),
        (KLSparsityPenalty(0.3, 1.5, "mean"), KLSparsity(0.3, 1.5, "mean")),
    ],
)
def test_regularizer_equals_layer_twin(rng, regularizer, layer):
    h = rng.random((8, 5)).astype(np.float32)
    layer(h)
    assert to_float(regularizer(h)) == to_float(layer.losses[0])


def test_saturated_inputs_finite():
    h = np.array([[0.0, 1.0], [0.0, 1.0]], np.float32)
    assert np.isfinite(to_float(KLSparsityPenalty(0.1, 1.0)(h)))
    assert to_float(ActivityPenalty("l1", 1.0)(h)) == 0.5


# === Config and serialization ===

REGULARIZERS = [
    (ActivityPenalty, {"kind": "l1", "weight": 0.05, "reduction": "mean"}),
    (ActivityPenalty, {"kind": "l2", "weight": 0.0, "reduction": "sum"}),
    (KLSparsityPenalty, {"target": 0.02, "weight": 7.5e-5, "reduction": "sum"}),
    (KLSparsityPenalty, {"target": 0.5, "weight": 3.0, "reduction": "mean"}),
]


@pytest.mark.parametrize("cls, config", REGULARIZERS)
def test_get_config_from_config(rng, cls, config):
    regularizer = cls(**config)
    assert regularizer.get_config() == config
    clone = cls.from_config(regularizer.get_config())
    assert type(clone) is cls
    assert clone.get_config() == config
    h = rng.random((4, 3)).astype(np.float32)
    assert to_float(clone(h)) == to_float(regularizer(h))


@pytest.mark.parametrize("cls, config", REGULARIZERS)
def test_serialize_deserialize(cls, config):
    serialized = keras.saving.serialize_keras_object(cls(**config))
    assert serialized["class_name"] == cls.__name__
    assert serialized["registered_name"] == f"keras_sparse_ae>{cls.__name__}"
    assert serialized["config"] == config
    restored = keras.saving.deserialize_keras_object(serialized)
    assert type(restored) is cls
    assert restored.get_config() == config
    assert type(keras.regularizers.get(serialized)) is cls


@pytest.mark.parametrize("cls, config", REGULARIZERS)
def test_dense_config_round_trip(cls, config):
    dense = keras.layers.Dense(3, activity_regularizer=cls(**config))
    clone = keras.layers.Dense.from_config(dense.get_config())
    assert type(clone.activity_regularizer) is cls
    assert clone.activity_regularizer.get_config() == config


def test_saved_model_keeps_regularizer(tmp_path, rng):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(
                4,
                activation="sigmoid",
                activity_regularizer=KLSparsityPenalty(0.1, 0.5, "mean"),
            ),
        ]
    )
    x = rng.random((8, 6)).astype(np.float32)
    model(x)
    before = to_float(sum(model.losses))
    path = str(tmp_path / "regularized.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    regularizer = loaded.layers[0].activity_regularizer
    assert type(regularizer) is KLSparsityPenalty
    assert regularizer.get_config() == {
        "target": 0.1,
        "weight": 0.5,
        "reduction": "mean",
    }
    loaded(x)
    assert to_float(sum(loaded.losses)) == before


# === Batch-size scaling (Keras 3.15) ===

INPUT_DIM, UNITS = 6, 5

PENALTIES = [
    (
        lambda: ActivityPenalty("l1", 0.05, "mean"),
        lambda: ActivityRegularizer("l1", 0.05, "mean"),
        lambda h: reference.activity_penalty(h, "l1", 0.05, "mean"),
    ),
    (
        lambda: ActivityPenalty("l2", 0.5, "sum"),
        lambda: ActivityRegularizer("l2", 0.5, "sum"),
        lambda h: reference.activity_penalty(h, "l2", 0.5, "sum"),
    ),
    (
        lambda: KLSparsityPenalty(0.1, 0.2, "sum"),
        lambda: KLSparsity(0.1, 0.2, "sum"),
        lambda h: reference.kl_sparsity_penalty(h, 0.1, 0.2, "sum"),
    ),
]
PENALTY_IDS = ["l1_mean", "l2_sum", "kl_sum"]


def fixed_dense_weights():
    rng = np.random.default_rng(42)
    kernel = rng.normal(0.0, 0.5, (INPUT_DIM, UNITS)).astype(np.float32)
    bias = rng.normal(0.0, 0.1, UNITS).astype(np.float32)
    return kernel, bias


def batch(size):
    return np.random.default_rng(size).random((size, INPUT_DIM)).astype(np.float32)


@pytest.mark.parametrize("batch_size", [1, 8, 32])
@pytest.mark.parametrize("make_regularizer, _, penalty", PENALTIES, ids=PENALTY_IDS)
def test_activity_regularizer_is_divided_by_batch_size(
    make_regularizer, _, penalty, batch_size
):
    kernel, bias = fixed_dense_weights()
    model = keras.Sequential(
        [
            keras.Input((INPUT_DIM,)),
            keras.layers.Dense(
                UNITS, activation="sigmoid", activity_regularizer=make_regularizer()
            ),
        ]
    )
    model.layers[0].set_weights([kernel, bias])
    x = batch(batch_size)
    model(x)
    assert len(model.losses) == 1
    h = reference.dense(x, kernel, bias, "sigmoid")
    np.testing.assert_allclose(
        to_float(sum(model.losses)), penalty(h) / batch_size, rtol=DENSE_RTOL
    )


@pytest.mark.parametrize("batch_size", [1, 8, 32])
@pytest.mark.parametrize("_, make_layer, penalty", PENALTIES, ids=PENALTY_IDS)
def test_layer_twin_is_not_divided(_, make_layer, penalty, batch_size):
    kernel, bias = fixed_dense_weights()
    model = keras.Sequential(
        [
            keras.Input((INPUT_DIM,)),
            keras.layers.Dense(UNITS, activation="sigmoid"),
            make_layer(),
        ]
    )
    model.layers[0].set_weights([kernel, bias])
    x = batch(batch_size)
    model(x)
    assert len(model.losses) == 1
    h = reference.dense(x, kernel, bias, "sigmoid")
    np.testing.assert_allclose(to_float(sum(model.losses)), penalty(h), rtol=DENSE_RTOL)


# === Argument checks ===


def value_error(name, expected, received):
    return (
        ValueError,
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received}",
    )


WEIGHT = "a finite float >= 0"

ARGUMENT_ERRORS = [
    (
        ActivityPenalty,
        {"kind": "l0"},
        *value_error("kind", "one of 'l1', 'l2'", "'l0'"),
    ),
    (ActivityPenalty, {"weight": -1}, *value_error("weight", WEIGHT, "-1.0")),
    (ActivityPenalty, {"weight": float("nan")}, *value_error("weight", WEIGHT, "nan")),
    (ActivityPenalty, {"weight": float("inf")}, *value_error("weight", WEIGHT, "inf")),
    (
        ActivityPenalty,
        {"reduction": "max"},
        *value_error("reduction", "one of 'mean', 'sum'", "'max'"),
    ),
    (
        ActivityPenalty,
        {"kind": None},
        TypeError,
        "Invalid type for argument `kind`. Expected one of 'l1', 'l2'. "
        "Received: kind=None of type NoneType",
    ),
    (
        KLSparsityPenalty,
        {"target": 0},
        *value_error("target", "a float in (0, 1)", "0.0"),
    ),
    (
        KLSparsityPenalty,
        {"target": 1},
        *value_error("target", "a float in (0, 1)", "1.0"),
    ),
    (
        KLSparsityPenalty,
        {"target": float("nan")},
        *value_error("target", "a float in (0, 1)", "nan"),
    ),
    (
        KLSparsityPenalty,
        {"target": "0.1"},
        TypeError,
        "Invalid type for argument `target`. Expected a float in (0, 1). "
        "Received: target='0.1' of type str",
    ),
    (KLSparsityPenalty, {"weight": -0.5}, *value_error("weight", WEIGHT, "-0.5")),
    (
        KLSparsityPenalty,
        {"weight": float("nan")},
        *value_error("weight", WEIGHT, "nan"),
    ),
    (
        KLSparsityPenalty,
        {"weight": float("inf")},
        *value_error("weight", WEIGHT, "inf"),
    ),
    (
        KLSparsityPenalty,
        {"reduction": "max"},
        *value_error("reduction", "one of 'sum', 'mean'", "'max'"),
    ),
]


@pytest.mark.parametrize("cls, kwargs, error, message", ARGUMENT_ERRORS)
def test_argument_errors(cls, kwargs, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        cls(**kwargs)
