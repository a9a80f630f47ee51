"""The same seed gives bit-identical weights after training on CPU.

A seed fixes everything random in a run: the initialisers (the builders'
`seed`), the noise of the variational autoencoder's code (its sampling
layer's seed) and the shuffling of `fit` (`keras.utils.set_random_seed`).
Two runs with one seed, in fresh processes or one after the other in this
one, must end with the same weights, traces, seed states and optimizer
state to the last bit; a different seed must not. Checked on every backend
on CPU; on GPU see the README (nondeterministic reductions).

Also a script: `python test_determinism.py SEED OUT.npz` trains the models
and saves their weights (the fresh-process runs call it).
"""

import os
import subprocess
import sys

import keras
import numpy as np

import keras_sparse_ae

SEED = 7

# Small models with every source of randomness: initialisers, shuffling and
# the participation traces (deep_sae), the noise of the sampled code (vae,
# whose `GaussianSampling` owns its seed generator). Each fit costs ~3 s of
# tracing on TensorFlow, so two models only.
MODELS = {
    "deep_sae": dict(hidden=(8, 4)),
    "vae": dict(hidden=(8,), code_size=2),
}


def train(seed):
    """Trains every model of MODELS with `seed`; returns their final state.

    Returns:
        A dict `"model/variable path" -> NumPy array` with every model
        variable (weights, participation traces, seed states) and every
        optimizer variable.
    """
    keras.utils.set_random_seed(seed)
    # The data does not depend on the seed: only the run's randomness does.
    x = np.random.default_rng(0).random((64, 16)).astype("float32")
    state = {}
    for name, kwargs in MODELS.items():
        model = keras_sparse_ae.build(name, input_dim=16, seed=seed, **kwargs)
        model.fit(x, epochs=2, batch_size=16, shuffle=True, verbose=0)
        variables = list(model.variables) + list(model.optimizer.variables)
        for index, variable in enumerate(variables):
            key = f"{name}/{index:03d}/{variable.path}"
            state[key] = keras.ops.convert_to_numpy(variable)
    return state


def assert_identical(first, second):
    assert sorted(first) == sorted(second)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


def n_different(first, second):
    """How many arrays (of the same keys) differ anywhere."""
    return sum(not np.array_equal(first[key], second[key]) for key in first)


# === Fresh processes ===


def run_fresh(seeds, tmp_path):
    """Trains once per seed, each in a new Python process; loads the states.

    The processes run at the same time (the tests are CPU-bound and the
    import of a backend is most of their time).
    """
    # KERAS_BACKEND is inherited; PYTHONPATH makes the children import this
    # checkout's package, not another installed copy.
    root = os.path.dirname(os.path.dirname(keras_sparse_ae.__file__))
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="3",
        PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    )
    outputs = [tmp_path / f"run{index}.npz" for index in range(len(seeds))]
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, str(seed), str(out)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for seed, out in zip(seeds, outputs)
    ]
    try:
        for process in processes:
            log, _ = process.communicate(timeout=300)
            assert process.returncode == 0, log
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    states = []
    for out in outputs:
        with np.load(out) as data:
            states.append({key: data[key] for key in data.files})
    return states


def test_same_seed_bit_identical_in_fresh_processes(tmp_path):
    # That another seed gives other weights is checked in one process below.
    first, second = run_fresh([SEED, SEED], tmp_path)
    assert len(first) > 0
    assert_identical(first, second)


# === One process ===


def test_same_seed_bit_identical_in_one_process():
    keras.backend.clear_session()
    first = train(SEED)
    keras.backend.clear_session()
    second = train(SEED)
    assert_identical(first, second)

    keras.backend.clear_session()
    other = train(SEED + 1)
    assert sorted(other) == sorted(first)
    # Every model's trained kernels move with the seed (initialisers, noise
    # and shuffling), not only one of them.
    for name in MODELS:
        kernels = [key for key in first if key.startswith(name) and "kernel" in key]
        assert kernels, name
        assert n_different({k: first[k] for k in kernels}, other) == len(kernels)


if __name__ == "__main__":
    seed, out = int(sys.argv[1]), sys.argv[2]
    np.savez(out, **train(seed))
