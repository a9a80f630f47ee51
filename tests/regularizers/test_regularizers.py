"""`ActivityPenalty` and `KLSparsityPenalty`, the Regularizer twins.

Parity with the reference, config and serialization round trips, argument
checks, and the batch-size scaling Keras 3.15 applies to
`activity_regularizer=` (which the layer twins do not).
"""

import keras
import numpy as np
import pytest
from hypothesis import given, seed
from penalty_checks import (
    ACTIVITY_ARGUMENT_ERRORS,
    ACTIVITY_ARGUMENTS,
    ACTIVITY_MAX_PENALTY,
    DENSE_RTOL,
    KL_ARGUMENT_ERRORS,
    KL_ARGUMENTS,
    RTOL,
    activations,
    kl_atol,
    raises_exactly,
    to_float,
    underflow_atol,
)

from keras_sparse_ae import ActivityRegularizer, KLSparsity, reference
from keras_sparse_ae.regularizers import ActivityPenalty, KLSparsityPenalty

# Tolerances: the float32 bounds of tests/penalty_checks.py.

# === Parity with the reference ===


def assert_scalar_matches(value, expected, atol):
    assert keras.ops.shape(value) == ()
    np.testing.assert_allclose(to_float(value), expected, rtol=RTOL, atol=atol)


@seed(11)
@given(h=activations(-3.0, 3.0), **ACTIVITY_ARGUMENTS)
def test_activity_penalty_matches_reference(h, kind, weight, reduction):
    assert_scalar_matches(
        ActivityPenalty(kind=kind, weight=weight, reduction=reduction)(h),
        reference.activity_penalty(h, kind, weight, reduction),
        atol=underflow_atol(weight, ACTIVITY_MAX_PENALTY),
    )


@seed(12)
@given(h=activations(0.0, 1.0), **KL_ARGUMENTS)
def test_kl_penalty_matches_reference(h, target, weight, reduction):
    assert_scalar_matches(
        KLSparsityPenalty(target=target, weight=weight, reduction=reduction)(h),
        reference.kl_sparsity_penalty(h, target, weight, reduction),
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
#
# The same arguments, checked with the same messages as the layer twins'.

ARGUMENT_ERRORS = [(ActivityPenalty, *row) for row in ACTIVITY_ARGUMENT_ERRORS] + [
    (KLSparsityPenalty, *row) for row in KL_ARGUMENT_ERRORS
]


@pytest.mark.parametrize("cls, kwargs, error, message", ARGUMENT_ERRORS)
def test_argument_errors(cls, kwargs, error, message):
    with raises_exactly(error, message):
        cls(**kwargs)
