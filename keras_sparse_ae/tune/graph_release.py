"""Frees the TensorFlow graphs of finished trials.

Every traced Keras train step on the TensorFlow backend registers one
`tf.custom_gradient` (the optimizer sums gradients through
`ReplicaContext.all_reduce`, which is a custom gradient even under the
default strategy). TensorFlow keeps each registered gradient function in a
global registry forever, and up to TensorFlow 2.21 that function's closure
holds the traced step's tensors, so every trial's whole `FuncGraph` stays
alive after `keras.backend.clear_session()`
(tensorflow/tensorflow#97697; fixed upstream by tensorflow/tensorflow#109334;
the same purge was proposed for tf-keras' `clear_session` in
keras-team/tf-keras#898). Over 50 tiny trials that was 546 MB of resident
memory (`bench/tune_memory.py`).

`registered_custom_gradients` snapshots the registry before a trial;
`release_custom_gradients` drops the entries added since, once the trial's
model is gone. Other backends have no such registry: both are no-ops there.
"""

from keras import backend

_PREFIX = "CustomGradient-"


def _registry():
    """TensorFlow's gradient registry (a private dict), or `None`."""
    if backend.backend() != "tensorflow":
        return None
    try:
        from tensorflow.python.framework import ops
    except ImportError:  # pragma: no cover - TensorFlow without the module
        return None
    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    return registry if isinstance(registry, dict) else None


def registered_custom_gradients():
    """Names of the `tf.custom_gradient` functions registered so far.

    Returns:
        A `frozenset` of registry keys (empty on other backends).
    """
    registry = _registry()
    if registry is None:
        return frozenset()
    return frozenset(key for key in registry if key.startswith(_PREFIX))


def release_custom_gradients(keep):
    """Unregisters the custom gradients registered since the snapshot `keep`.

    Call it only once nothing will differentiate the graphs traced since
    `keep` again (after `keras.backend.clear_session()` at the end of a
    trial): a graph traced later registers its own gradients.

    Args:
        keep: what `registered_custom_gradients()` returned before.

    Returns:
        How many entries were removed.
    """
    registry = _registry()
    if registry is None:
        return 0
    stale = [key for key in registry if key.startswith(_PREFIX) and key not in keep]
    for key in stale:
        registry.pop(key, None)
    return len(stale)
