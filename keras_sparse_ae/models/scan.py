"""Many training steps per dispatch on JAX: a scanned `train_function`.

Keras 3.15's JAX trainer runs `steps_per_execution` steps as a Python loop
of jitted single steps: one dispatch, and one host-to-device copy, per step.
A small model on a GPU is then bound by dispatch, not arithmetic (the 784-
300-30-300-784 autoencoder needs about 3.5 ms of H100 arithmetic per epoch
of 60,000 samples against ~0.4 s/epoch for Keras-JAX; see `bench/gpu.py`).

`scanned_train_function(model)` runs the same steps in one jitted
`jax.lax.scan` over Keras' own `train_step`: the `steps_per_execution`
batches are stacked and sent in one call. The steps, their order and their
arithmetic are Keras' own, so results are those of one step per call (bit
for bit on the CPU; `tests/models/test_scanned_steps.py`). Consecutive
batches of equal shape are scanned together; a shorter last group and a
smaller last batch each compile once more.

`Autoencoder.make_train_function` installs it when `uses_scanned_steps`:
JAX backend, jit-compiled, `steps_per_execution > 1` and no
`keras.distribution` (Keras' sharded step is used there unchanged).
"""

import itertools

import keras
import numpy as np


def uses_scanned_steps(model):
    """Whether `model` trains with `scanned_train_function` (see module)."""
    if keras.backend.backend() != "jax":
        return False
    if model.run_eagerly or not model.jit_compile or model.steps_per_execution < 2:
        return False
    return keras.distribution.distribution() is None


def scanned_train_function(model):
    """A JAX `train_function` scanning `model.steps_per_execution` steps.

    Args:
        model: a compiled Keras model on the JAX backend.

    Returns:
        A function `(state, iterator) -> (logs, state)` with the signature of
        Keras' own: it takes up to `steps_per_execution` batches from the
        iterator and returns the logs of the last step.
    """
    import jax
    import jax.numpy as jnp

    def run_group(state, batches):
        stacked = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *batches)

        def body(carry, data):
            logs, carry = model.train_step(carry, data)
            return carry, logs

        state, logs = jax.lax.scan(body, state, stacked)
        return jax.tree_util.tree_map(lambda value: value[-1], logs), state

    run_group = jax.jit(run_group, donate_argnums=0)

    def shapes(data):
        return [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(data)]

    def train_function(state, iterator):
        batches = []
        for _ in range(model.steps_per_execution):
            try:
                batches.append(next(iterator))
            except StopIteration:
                break
        if not batches:
            raise StopIteration
        logs = None
        for _, group in itertools.groupby(batches, key=shapes):
            logs, state = run_group(state, list(group))
        return logs, state

    train_function.scanned_steps = model.steps_per_execution
    return train_function
