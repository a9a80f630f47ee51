"""Shared test settings: fixed seeds, hypothesis profile."""

import os

import keras
import numpy as np
import pytest
from hypothesis import settings

# The first call of a Keras op compiles kernels; time limits per example
# would make the suite flaky on a busy 2-core machine.
settings.register_profile("default", deadline=None, max_examples=40)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

# Our builders compile with XLA on TensorFlow by default. It pays over a
# real training run but costs a few seconds of compiling per model, which
# hundreds of tiny fits would pay again and again: the TensorFlow run turns
# it off (child processes inherit the variable; on JAX, Keras' "auto" jit
# stays). tests/models/test_compile_defaults.py checks the default and that
# XLA computes the same numbers.
if keras.backend.backend() == "tensorflow":
    os.environ.setdefault("KERAS_SPARSE_AE_JIT_COMPILE", "false")


@pytest.fixture(autouse=True)
def _seed_and_clear():
    keras.utils.set_random_seed(1234)
    yield
    # Without its gc.collect() (about 0.5 s a test on 2 cores): the Keras
    # state (name counters, graph) is still reset after every test.
    keras.backend.clear_session(free_memory=False)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def mixed_float16():
    """Runs a test under the `mixed_float16` dtype policy, then restores it."""
    previous = keras.mixed_precision.dtype_policy()
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    assert keras.mixed_precision.dtype_policy().name == previous.name
