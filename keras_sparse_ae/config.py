"""Library-wide settings: whether our builders compile with XLA.

Our builders compile with `jit_compile=keras_sparse_ae.config.jit_compile()`.
Its default, `"auto"`, is Keras' own `"auto"` with one difference: Keras
turns XLA off on TensorFlow machines without a GPU, and we keep it on there,
because it pays on the CPU too (measured on 2 cores, `bench/overhead.py`: the
deep SAE's epoch takes about half the time; the default `train` command on
the embedded digits ran in 34.4 s instead of 39.5 s, compile time included).
XLA stays off where Keras turns it off (under a `tf.distribute` strategy,
with TensorFlow's op determinism enabled, on PyTorch) and, on TensorFlow,
for models that draw random numbers while training (the denoising model's
noise, the VAE's sampling): TensorFlow's stateless random ops give another
stream of numbers under XLA, so a seeded run would not repeat the same run
without XLA.

Every other model computes the same numbers either way, up to float32
rounding (XLA fuses element-wise operations, which changes the order of some
sums); `tests/models/test_compile_defaults.py` checks this.

Tuning is the exception: on TensorFlow the tuner's trials compile without
XLA unless it was turned on explicitly (`tuning_jit_compile`). Over 25 tiny
trials (`bench/tune_memory.py`) XLA made each trial slower (7-15 s instead
of 3-6 s) and TensorFlow kept every trial's compiled code: resident
memory grew by 33 MB per trial.

Turn it off (for example for many short fits, where XLA's compile time of a
few seconds per model is not won back) with `set_jit_compile(False)` or the
environment variable `KERAS_SPARSE_AE_JIT_COMPILE=false` (`true`, `false`
or `auto`); `set_jit_compile` wins over the variable. A model already
compiled keeps its setting; `model.compile(..., jit_compile=...)` changes
one model.
"""

import os

import keras

from keras_sparse_ae import _validation, distribute

#: Environment variable read by `jit_compile` when `set_jit_compile` was not
#: called (values: `auto`, `true`, `false`, case-insensitive).
JIT_COMPILE_ENV = "KERAS_SPARSE_AE_JIT_COMPILE"

_CHOICES = {"auto": "auto", "true": True, "false": False, "1": True, "0": False}
_jit_setting = None


def set_jit_compile(value):
    """Sets what `jit_compile()` returns: `True`, `False`, `"auto"` or `None`.

    `None` goes back to the environment variable (or `"auto"`).
    """
    global _jit_setting
    if not (value is None or isinstance(value, bool) or value == "auto"):
        raise _validation.invalid_value(
            "jit_compile", "True, False, 'auto' or None", value
        )
    _jit_setting = value


def _setting():
    if _jit_setting is not None:
        return _jit_setting
    text = os.environ.get(JIT_COMPILE_ENV, "auto").strip().lower()
    if text not in _CHOICES:
        raise ValueError(
            f"Invalid value for environment variable `{JIT_COMPILE_ENV}`. "
            f"Expected one of auto, true, false. Received: {text!r}"
        )
    return _CHOICES[text]


def draws_random_numbers(model):
    """Whether a layer of `model` holds a `keras.random.SeedGenerator`."""
    for layer in model._flatten_layers(include_self=True):
        for value in vars(layer).values():
            if isinstance(value, keras.random.SeedGenerator):
                return True
    return False


def jit_compile(model=None):
    """The `jit_compile` argument our builders pass to `compile`.

    Args:
        model: the model about to be compiled, or `None`. On TensorFlow,
            `"auto"` gives `False` for a model that draws random numbers.

    Returns:
        `True` or `False` on TensorFlow (where `"auto"` resolves as described
        in the module docstring), else the setting itself (Keras resolves
        `"auto"`: XLA on JAX, eager on PyTorch).
    """
    setting = _setting()
    if setting != "auto" or keras.backend.backend() != "tensorflow":
        return setting
    if distribute.in_strategy_scope():
        return False
    from tensorflow.python.framework.config import is_op_determinism_enabled

    if is_op_determinism_enabled():  # as Keras' own "auto" does
        return False
    return model is None or not draws_random_numbers(model)


def tuning_jit_compile(model=None):
    """The `jit_compile` of a tuner trial's model: `jit_compile(model)`, but
    `False` on TensorFlow unless XLA was turned on explicitly (`True`)."""
    if keras.backend.backend() == "tensorflow" and _setting() == "auto":
        return False
    return jit_compile(model)
