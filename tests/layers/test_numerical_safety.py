"""Every penalty and its gradient is finite at activity exactly 0 or 1.

Sigmoid units saturate: in float32 `sigmoid(100)` is exactly 1 and
`sigmoid(-1e4)` exactly 0, so every term must stay finite, value and
gradient, on activity that is exactly 0 or 1 (all zeros, all ones, units
always off or always on, mixtures), on saturated sigmoids, and on float16
activity (the terms compute in float32). Covers every term of
`keras_sparse_ae.losses`, the VAE's Gaussian KL, every penalty layer and
its regularizer twin, and one epoch of training with saturated sigmoids.

Runs on every backend: `penalty_checks.value_and_gradient` differentiates
with the backend's own autodiff (CI runs tests/layers under
KERAS_BACKEND=jax and torch too).
"""

import inspect
import math

import keras
import numpy as np
import pytest
from keras import ops
from penalty_checks import value_and_gradient

import keras_sparse_ae
from keras_sparse_ae import ActivityRegularizer, KLSparsity, ParticipationTrace, losses
from keras_sparse_ae.layers.activity_regularizer import KINDS
from keras_sparse_ae.layers.activity_regularizer import (
    REDUCTIONS as ACTIVITY_REDUCTIONS,
)
from keras_sparse_ae.layers.gaussian_sampling import GaussianSampling, gaussian_kl
from keras_sparse_ae.layers.kl_sparsity import REDUCTIONS as KL_REDUCTIONS
from keras_sparse_ae.regularizers import ActivityPenalty, KLSparsityPenalty

# === Finite values and gradients ===


def non_finite(fn, x):
    """A description of what is not finite in `fn(x)` and its gradient, or ''."""
    value, grad = value_and_gradient(fn, x)
    assert grad.shape == np.shape(x)
    problems = []
    if not np.all(np.isfinite(value)):
        problems.append(f"value={value}")
    if not np.all(np.isfinite(grad)):
        problems.append(f"gradient={grad.tolist()}")
    return ", ".join(problems)


def assert_all_finite(fn, inputs):
    """`fn` and its gradient are finite on every array of `inputs` (a dict)."""
    failures = {}
    for name, x in inputs.items():
        problem = non_finite(fn, x)
        if problem:
            failures[name] = problem
    assert not failures, f"non-finite on {failures}"


# === Inputs ===

DTYPES = ("float32", "float16")

# (batch=4, units=3) activity exactly 0 or 1: unit 0 always on, unit 1
# always off, unit 2 mixed, in "columns".
EXACT = {
    "zeros": np.zeros((4, 3)),
    "ones": np.ones((4, 3)),
    "checkerboard": np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0], [1, 0, 1]]),
    "columns": np.array([[1, 0, 1], [1, 0, 0], [1, 0, 1], [1, 0, 0]]),
}

# Pre-activations whose sigmoids saturate, in the same "columns" pattern.
SIGNS = np.array([[1, -1, 1], [1, -1, -1], [1, -1, 1], [1, -1, -1]])
PRE_ACTIVATIONS = {f"sigmoid(+-{z:g})": z * SIGNS for z in (100.0, 1e4)}


def saturated(z, dtype):
    """The backend's own `sigmoid(z)` in `dtype`, as a NumPy array."""
    return ops.convert_to_numpy(ops.sigmoid(ops.convert_to_tensor(z, dtype)))


def activities(dtype):
    """Exact 0/1 activity and saturated sigmoids, all in `dtype`."""
    inputs = {name: h.astype(dtype) for name, h in EXACT.items()}
    for name, z in PRE_ACTIVATIONS.items():
        inputs[name] = saturated(z, dtype)
    return inputs


def pre_activations(dtype):
    return {name: z.astype(dtype) for name, z in PRE_ACTIVATIONS.items()}


def test_inputs_are_exactly_zero_and_one():
    # The sigmoid cases are edge cases only if they saturate: sigmoid(1e4)
    # is exactly 0 or 1; float32's sigmoid(-100) = 3.7e-44 is a subnormal
    # (or 0 where subnormals are flushed).
    for dtype in DTYPES:
        inputs = activities(dtype)
        for name, h in EXACT.items():
            np.testing.assert_array_equal(inputs[name], h)
        np.testing.assert_array_equal(inputs["sigmoid(+-10000)"], SIGNS > 0)
        h = inputs["sigmoid(+-100)"]
        assert h.dtype == dtype
        np.testing.assert_array_equal(h[SIGNS > 0], 1.0)
        assert np.all(h[SIGNS < 0].astype("float64") < 1e-30)


# === Every term of keras_sparse_ae.losses ===

P = 0.25  # participation of the ParticipationTrace terms (sparsity 0.75)
TRACES = {"trace=0": 0.0, "trace=1": 1.0, "trace=p": P}


def reconstruction_terms():
    """Each reconstruction loss on predictions `h`, and with `h` as targets."""
    terms = {}
    for name in losses.RECONSTRUCTIONS:
        loss = losses.reconstruction_loss(name)
        for other_name, other in EXACT.items():
            other = other.astype("float32")
            terms[f"{name}(x={other_name}, x_hat=h)"] = lambda h, loss=loss, x=other: (
                loss(x, h)
            )
            terms[f"{name}(x=h, x_hat={other_name})"] = (
                lambda h, loss=loss, x_hat=other: loss(h, x_hat)
            )
    return terms


def penalty_terms():
    terms = {}
    for kind in KINDS:
        for reduction in ACTIVITY_REDUCTIONS:
            terms[f"activity_penalty({kind}, {reduction})"] = (
                lambda h, kind=kind, reduction=reduction: losses.activity_penalty(
                    h, kind, reduction
                )
            )
    for target in (0.01, 0.5, 0.99):
        for reduction in KL_REDUCTIONS:
            terms[f"kl_sparsity_penalty({target}, {reduction})"] = (
                lambda h, target=target, reduction=reduction: (
                    losses.kl_sparsity_penalty(h, target, reduction)
                )
            )
    terms["layer_sparsity_penalty"] = lambda h: losses.layer_sparsity_penalty(h, P)
    # As ParticipationTrace computes it: from the shared per-unit means.
    terms["layer_sparsity_penalty(unit_means)"] = lambda h: (
        losses.layer_sparsity_penalty(h, P, losses.unit_means(h))
    )
    for trace_name, trace in TRACES.items():
        for k in (100.0, 1e4):
            terms[f"participation_penalty({trace_name}, k={k:g})"] = (
                lambda h, trace=trace, k=k: losses.participation_penalty(
                    h, np.full((3,), trace, "float32"), P, 0.99, k
                )
            )
            # Not a penalty but the trace the next batch sees: it must stay
            # finite too (summed: the gradient needs a scalar).
            terms[f"trace_update({trace_name})"] = lambda h, trace=trace: ops.sum(
                losses.trace_update(
                    ops.convert_to_tensor(np.full((3,), trace, "float32")), h, 0.99
                )
            )
    terms["binary_penalty"] = losses.binary_penalty
    return terms


TERMS = {**reconstruction_terms(), **penalty_terms()}

# The functions of losses.py tested here: by the parametrised tests above
# (through TERMS) or by the dedicated tests below.
COVERED = {
    "mse",
    "l2_per_input",
    "bce",
    "reconstruction_loss",
    "activity_penalty",
    "kl_divergence",
    "kl_sparsity_penalty",
    "sigmoid_shift",
    "layer_sparsity_penalty",
    "unit_means",
    "participation_target",
    "participation_penalty",
    "binary_penalty",
    "trace_update",
    "auxk_loss",
}


def test_every_loss_term_is_covered():
    public = {
        name
        for name, obj in vars(losses).items()
        if inspect.isfunction(obj)
        and obj.__module__ == losses.__name__
        and not name.startswith("_")
    }
    assert public == COVERED, "add a numerical-safety test for the new term"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("term", sorted(TERMS))
def test_term_finite_on_exact_and_saturated_activity(term, dtype):
    fn = TERMS[term]
    value = fn(ops.convert_to_tensor(activities(dtype)["zeros"]))
    # float16 activity: the term is computed, and returned, in float32.
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    assert_all_finite(fn, activities(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("term", sorted(TERMS))
def test_term_finite_through_saturated_sigmoid(term, dtype):
    # The gradient w.r.t. the pre-activation: the term's gradient times
    # sigmoid' = 0 must not become 0 * inf = nan.
    fn = TERMS[term]
    assert_all_finite(lambda z: fn(ops.sigmoid(z)), pre_activations(dtype))


@pytest.mark.parametrize("target", [0.01, 0.5, 0.99])
def test_kl_divergence_finite_at_the_clip_bounds(target):
    # kl_divergence itself is unclipped (KL(t || 0) is infinite);
    # kl_sparsity_penalty clips rho_hat to these bounds first.
    low, high = losses.KL_EPSILON, 1.0 - losses.KL_EPSILON
    rho = {
        "low": np.full((3,), low, "float32"),
        "high": np.full((3,), high, "float32"),
        "both": np.array([low, high, 0.5], "float32"),
    }
    assert_all_finite(lambda r: ops.sum(losses.kl_divergence(target, r)), rho)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dead", [[0, 0, 0], [1, 0, 1], [1, 1, 1]])
def test_auxk_loss_finite_on_exact_and_saturated_pre_activations(dtype, dead):
    # AuxK masks the live units with -inf before its top-k: neither the
    # value nor the gradient may pick it up, whatever is dead.
    kernel = np.ones((3, 2), "float32")
    x = np.ones((4, 2), "float32")
    dead = np.array(dead, bool)

    def fn(pre):
        x_hat = ops.matmul(ops.relu(ops.cast(pre, "float32")), kernel)
        return losses.auxk_loss(x, x_hat, pre, dead, kernel, 2)

    inputs = {**activities(dtype), **pre_activations(dtype)}
    assert_all_finite(fn, inputs)


@pytest.mark.parametrize("k", [1.0, 100.0, 1e4])
def test_participation_target_finite_for_trace_0_and_1(k):
    for p in (1e-6, P, 1.0 - 1e-6):
        assert math.isfinite(losses.sigmoid_shift(p, k))
    traces = {name: np.full((3,), t, "float32") for name, t in TRACES.items()}
    traces["mixed"] = np.array([0.0, 1.0, P], "float32")
    assert_all_finite(lambda t: ops.sum(losses.participation_target(t, P, k)), traces)
    # A trace far above p targets 0, far below targets 1, at p exactly p.
    target = ops.convert_to_numpy(
        losses.participation_target(ops.convert_to_tensor(traces["mixed"]), P, 100.0)
    )
    np.testing.assert_allclose(target, [1.0, 0.0, P], atol=1e-6)


# === The VAE's Gaussian KL ===

# (2, batch=2, units=3): z_mean and z_log_var, stacked so that one gradient
# covers both. The extremes keep the true KL within float32's range: it
# overflows only when exp(z_log_var) or z_mean**2 does (the true value
# then exceeds float32's largest number, 3.4e38).
GAUSSIAN_EXTREMES = {
    "zeros": np.zeros((2, 2, 3)),
    "log_var=-1e4": np.stack([np.zeros((2, 3)), np.full((2, 3), -1e4)]),
    "log_var=-88": np.stack([np.zeros((2, 3)), np.full((2, 3), -88.0)]),
    "log_var=80": np.stack([np.zeros((2, 3)), np.full((2, 3), 80.0)]),
    "mean=+-1e15": np.stack([1e15 * SIGNS[:2], np.zeros((2, 3))]),
    "mixed": np.stack(
        [[[0.0, 1e15, -1e3], [-1e15, 0.0, 1.0]], [[-1e4, 80.0, 0.0], [80.0, -1e4, 5.0]]]
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_kl_finite_at_extremes(dtype):
    inputs = {name: x.astype("float32") for name, x in GAUSSIAN_EXTREMES.items()}
    if dtype == "float16":
        # float16's range is +-65504, for the inputs and for the gradient
        # w.r.t. them: d KL / d log_var = 0.5 * (exp(log_var) - 1) needs
        # log_var <= 11 (the value itself is float32).
        inputs = {
            name: np.stack(
                [np.clip(x[0], -6e4, 6e4), np.clip(x[1], -6e4, 11.0)]
            ).astype(dtype)
            for name, x in inputs.items()
        }
    assert_all_finite(lambda x: gaussian_kl(x[0], x[1]), inputs)


@pytest.mark.parametrize("training", [False, True])
def test_gaussian_sampling_finite_at_extremes(training):
    layer = GaussianSampling(weight=1.0, seed=0)

    def fn(x):
        z = layer([x[0], x[1]], training=training)
        return layer.penalty_values["kl"] + ops.sum(z)

    inputs = {name: x.astype("float32") for name, x in GAUSSIAN_EXTREMES.items()}
    assert_all_finite(fn, inputs)


# === Every penalty layer and regularizer ===


def penalty_layers():
    layers = {}
    for kind in KINDS:
        for reduction in ACTIVITY_REDUCTIONS:
            args = dict(kind=kind, weight=1.0, reduction=reduction)
            layers[f"ActivityRegularizer({kind}, {reduction})"] = lambda args=args: (
                ActivityRegularizer(**args)
            )
    for target in (0.01, 0.5, 0.99):
        for reduction in KL_REDUCTIONS:
            args = dict(target=target, weight=1.0, reduction=reduction)
            layers[f"KLSparsity({target}, {reduction})"] = lambda args=args: KLSparsity(
                **args
            )
    for k in (100.0, 1e4):
        args = dict(sparsity=1.0 - P, alpha_s=1.0, alpha_p=100.0, alpha_b=1.0, k=k)
        layers[f"ParticipationTrace(k={k:g})"] = lambda args=args: ParticipationTrace(
            **args
        )
    return layers


LAYERS = penalty_layers()


def layer_penalty(layer):
    def fn(h):
        layer(h)
        assert sorted(layer.penalty_values) == sorted(layer.penalty_terms)
        return sum(layer.penalty_values.values())

    return fn


def check_layer(make_layer, inputs, trace=None):
    layer = make_layer()
    layer.build((4, 3))
    if trace is not None:
        layer.trace.assign(np.full((3,), trace, "float32"))
    assert_all_finite(layer_penalty(layer), inputs)
    return layer


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_finite_on_exact_and_saturated_activity(name, dtype):
    traces = TRACES.values() if name.startswith("Participation") else [None]
    for trace in traces:
        check_layer(LAYERS[name], activities(dtype), trace)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_finite_through_saturated_sigmoid(name):
    traces = TRACES.values() if name.startswith("Participation") else [None]
    for trace in traces:
        layer = LAYERS[name]()
        layer.build((4, 3))
        if trace is not None:
            layer.trace.assign(np.full((3,), trace, "float32"))
        penalty = layer_penalty(layer)
        assert_all_finite(
            lambda z, penalty=penalty: penalty(ops.sigmoid(z)),
            pre_activations("float32"),
        )


@pytest.mark.usefixtures("mixed_float16")
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_finite_under_mixed_float16(name):
    # The layer computes in float16, its penalties in float32.
    traces = TRACES.values() if name.startswith("Participation") else [None]
    for trace in traces:
        layer = check_layer(LAYERS[name], activities("float32"), trace)
        assert layer.compute_dtype == "float16"
        for value in layer.penalty_values.values():
            assert keras.backend.standardize_dtype(value.dtype) == "float32"


@pytest.mark.parametrize("trace", sorted(TRACES))
def test_participation_trace_training_step_stays_finite(trace):
    # The trace update runs only while training; with the trace at 0 or 1
    # and exact 0/1 activity the next trace stays in [0, 1].
    for name, h in activities("float32").items():
        layer = ParticipationTrace(sparsity=1.0 - P, alpha_b=1.0, k=100.0)
        layer.build((4, 3))
        layer.trace.assign(np.full((3,), TRACES[trace], "float32"))
        layer(h, training=True)
        for term, value in layer.penalty_values.items():
            assert np.isfinite(ops.convert_to_numpy(value)), (name, term)
        new_trace = ops.convert_to_numpy(layer.trace)
        assert np.all((new_trace >= 0.0) & (new_trace <= 1.0)), (name, new_trace)


REGULARIZERS = {
    **{
        f"ActivityPenalty({kind}, {reduction})": ActivityPenalty(kind, 1.0, reduction)
        for kind in KINDS
        for reduction in ACTIVITY_REDUCTIONS
    },
    **{
        f"KLSparsityPenalty({target}, {reduction})": KLSparsityPenalty(
            target, 1.0, reduction
        )
        for target in (0.01, 0.5, 0.99)
        for reduction in KL_REDUCTIONS
    },
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(REGULARIZERS))
def test_regularizer_finite_on_exact_and_saturated_activity(name, dtype):
    regularizer = REGULARIZERS[name]
    assert_all_finite(regularizer, activities(dtype))
    assert_all_finite(lambda z: regularizer(ops.sigmoid(z)), pre_activations(dtype))


# === End to end: training with saturated sigmoids ===


def first_dense(model):
    return next(
        layer for layer in model.encoder.layers if isinstance(layer, keras.layers.Dense)
    )


@pytest.mark.parametrize(
    "builder, kwargs",
    [
        ("deep_sae", dict(hidden=(8, 4), alpha_b=1.0, reconstruction="bce")),
        ("kl_sae", dict(hidden=(8,), reconstruction="l2")),
    ],
)
def test_training_with_saturated_sigmoids_keeps_weights_finite(rng, builder, kwargs):
    model = keras_sparse_ae.build(builder, input_dim=16, seed=0, **kwargs)
    dense = first_dense(model)
    kernel, bias = dense.get_weights()
    # |W| in [1e4, 2e4] with random signs: every pre-activation of a
    # non-empty input is far beyond sigmoid's saturation.
    huge = rng.uniform(1e4, 2e4, kernel.shape) * rng.choice([-1.0, 1.0], kernel.shape)
    dense.set_weights([huge.astype("float32"), bias])
    x = (rng.random((64, 16)) < 0.5).astype("float32")
    x[x.sum(axis=1) == 0, 0] = 1.0
    h1 = ops.convert_to_numpy(dense(x))
    saturated_share = np.mean((h1 == 0.0) | (h1 == 1.0))
    assert saturated_share > 0.95, saturated_share

    output_layer = model.decoder.get_layer("reconstruction")
    before = output_layer.get_weights()

    history = model.fit(x, epochs=1, batch_size=16, verbose=0)

    for key, values in history.history.items():
        assert np.all(np.isfinite(values)), (key, values)
    for weight in model.weights:
        assert np.all(np.isfinite(ops.convert_to_numpy(weight))), weight.path
    # The steps really ran (and were kept): the output layer moved.
    assert int(ops.convert_to_numpy(model.optimizer.iterations)) == 4
    for old, new in zip(before, output_layer.get_weights()):
        assert not np.array_equal(old, new)
