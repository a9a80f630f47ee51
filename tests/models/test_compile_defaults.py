"""The builders' compile defaults: XLA and steps per execution.

The rest of the suite runs with `KERAS_SPARSE_AE_JIT_COMPILE=false` on
TensorFlow (see conftest.py); these tests check the default itself and that
XLA changes no result beyond float32 rounding.
"""

import keras
import numpy as np
import pytest

import keras_sparse_ae
from keras_sparse_ae import config
from keras_sparse_ae.models.stack import STEPS_PER_EXECUTION, steps_per_execution

tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="XLA on the CPU is our choice on TensorFlow; JAX always jit-compiles, "
    "PyTorch never does",
)


@pytest.fixture
def default_jit(monkeypatch):
    """The library's own default: no override, no environment variable."""
    monkeypatch.delenv(config.JIT_COMPILE_ENV, raising=False)
    config.set_jit_compile(None)
    yield
    config.set_jit_compile(None)


@tensorflow_only
def test_xla_is_on_by_default_on_tensorflow(default_jit):
    assert config.jit_compile() is True
    model = keras_sparse_ae.build_deep_sae(64, hidden=(16, 4), seed=0)
    assert model.jit_compile is True
    assert model.steps_per_execution == STEPS_PER_EXECUTION


@tensorflow_only
def test_xla_and_multi_step_are_off_inside_a_strategy(default_jit):
    import tensorflow as tf

    with tf.distribute.MirroredStrategy(["/cpu:0"]).scope():
        assert config.jit_compile() is False
        assert steps_per_execution() == 1
        model = keras_sparse_ae.build_deep_sae(64, hidden=(16, 4), seed=0)
    assert model.jit_compile is False
    assert model.steps_per_execution == 1


def test_switches(default_jit, monkeypatch):
    config.set_jit_compile(False)
    assert config.jit_compile() is False
    assert keras_sparse_ae.build_deep_sae(64, hidden=(16, 4)).jit_compile is False
    config.set_jit_compile(None)
    monkeypatch.setenv(config.JIT_COMPILE_ENV, "FALSE")
    assert config.jit_compile() is False
    config.set_jit_compile(True)  # wins over the variable
    assert config.jit_compile() is True


def test_bad_settings(default_jit, monkeypatch):
    with pytest.raises(ValueError, match="argument `jit_compile`.*Received"):
        config.set_jit_compile("yes")
    monkeypatch.setenv(config.JIT_COMPILE_ENV, "sometimes")
    with pytest.raises(ValueError, match="KERAS_SPARSE_AE_JIT_COMPILE.*sometimes"):
        config.jit_compile()


def _train(name, jit, x, **kwargs):
    config.set_jit_compile(jit)
    keras.utils.set_random_seed(7)
    model = keras_sparse_ae.build(name, input_dim=x.shape[1], seed=7, **kwargs)
    assert model.jit_compile is jit
    history = model.fit(x, batch_size=32, epochs=3, shuffle=False, verbose=0)
    return history.history, {v.path: np.asarray(v) for v in model.variables}


#: Models whose steps hold every deterministic kind of op we use: the three
#: penalties and traces, KL sparsity, L1 activity, tied weights, TopK and
#: BatchTopK (a sort with a run-time index) with dead-unit counts and AuxK.
XLA_MODELS = {
    "topk_sae": dict(code_size=16, k=4, dead_after=2),
    "batch_topk_sae": dict(code_size=16, k=4, dead_after=2),
    "deep_sae": dict(hidden=(32, 8), alpha_b=0.5),
    "kl_sae_deep": dict(hidden=(32, 8)),
    "l1_sae": dict(code_size=8),
    "tied": dict(hidden=(32, 8)),
}


@tensorflow_only
@pytest.mark.parametrize("name", ["denoising", "vae"])
def test_no_xla_for_models_drawing_random_numbers(default_jit, name):
    """Under XLA TensorFlow's stateless random ops give another stream: a
    seeded denoising or VAE run would change with the setting."""
    model = keras_sparse_ae.build(name, input_dim=64, seed=0)
    assert config.draws_random_numbers(model)
    assert model.jit_compile is False
    assert not config.draws_random_numbers(keras_sparse_ae.build_deep_sae(64))


@tensorflow_only
@pytest.mark.parametrize("name", sorted(XLA_MODELS))
def test_xla_computes_the_same_numbers(default_jit, name):
    """Three epochs with and without XLA: the same history, weights, traces
    and seed states up to float32 rounding (XLA fuses element-wise ops)."""
    x = np.random.default_rng(0).random((256, 64)).astype("float32")
    plain_history, plain_vars = _train(name, False, x, **XLA_MODELS[name])
    xla_history, xla_vars = _train(name, True, x, **XLA_MODELS[name])
    assert sorted(xla_history) == sorted(plain_history)
    for key in plain_history:
        np.testing.assert_allclose(
            xla_history[key], plain_history[key], rtol=1e-4, atol=1e-6, err_msg=key
        )
    assert sorted(xla_vars) == sorted(plain_vars)
    for path, value in plain_vars.items():
        np.testing.assert_allclose(
            xla_vars[path], value, rtol=1e-4, atol=1e-5, err_msg=path
        )


@tensorflow_only
def test_tuner_trials_compile_without_xla_unless_asked(default_jit):
    """XLA made tiny trials slower and kept their compiled code (33 MB a
    trial, bench/tune_memory.py): trials turn it off unless asked for."""
    import keras_tuner

    from keras_sparse_ae.tune.hypermodels import AutoencoderHyperModel

    hypermodel = AutoencoderHyperModel("deep_sae", input_dim=64)
    model = hypermodel.build(keras_tuner.HyperParameters())
    assert model.jit_compile is False
    assert model.steps_per_execution == STEPS_PER_EXECUTION
    config.set_jit_compile(True)
    assert hypermodel.build(keras_tuner.HyperParameters()).jit_compile is True
