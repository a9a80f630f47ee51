"""Data-parallel training on 2 devices matches a single-device run.

`tf.distribute.MirroredStrategy` (TensorFlow) and
`keras.distribution.DataParallel` (JAX) each train on two virtual CPU
devices, every global batch split in halves; a single-device run of the same
model on the same batches must give the same `History` (the loss, the
reconstruction and every penalty term), the same participation traces and
the same weights. This holds only if the reconstruction is scaled like the
penalties for Keras' cross-replica gradient sum, if the batch statistics
inside the penalties and the trace update (per-unit batch means, the layer's
mean activity) are means over the global batch, not over one replica's half,
and if each MirroredStrategy replica adds up its own penalties only (see
`PenaltyLayer.replica_losses`). Each of the three, undone alone, fails this
test.

Virtual devices must be configured before the backend starts, so every run
is a fresh Python process: `python test_data_parallel.py CONFIG OUT.npz`
trains the models under CONFIG (see `CONFIGS`) and saves their history and
variables.
"""

import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

# Found without importing it: the backend must not start before `configure`.
PACKAGE_ROOT = os.path.dirname(
    os.path.dirname(importlib.util.find_spec("keras_sparse_ae").origin)
)

#: CONFIG -> (backend, number of devices). "1" runs are the references.
CONFIGS = {
    "tf1": ("tensorflow", 1),
    "tf2": ("tensorflow", 2),
    "jax1": ("jax", 1),
    "jax2": ("jax", 2),
}

#: Small models with every penalty that depends on a batch statistic: the
#: deep SAE's three ParticipationTrace terms (the layer sparsity uses the
#: batch's mean activity; the trace update, the per-unit batch mean) and the
#: KL SAE's KL(target || per-unit batch mean). The KL SAE's kernels also
#: carry an L2 weight penalty, reported as `weight_penalty`: the losses a
#: replica does not get from a sparsity layer.
MODELS = {
    "deep_sae": dict(hidden=(8, 4), alpha_s=1.0, alpha_p=100.0, alpha_b=0.5, gamma=0.9),
    "kl_sae": dict(hidden=(8, 4), target=0.1, weight=0.5, l2=0.01),
}

#: The models each backend trains. On JAX every op of the step is compiled
#: for the global batch alike, so one model suffices there (and saves a
#: compilation in each JAX process).
BACKEND_MODELS = {"tensorflow": ("deep_sae", "kl_sae"), "jax": ("deep_sae",)}

N, D, BATCH, EPOCHS, SEED = 128, 16, 32, 3, 3

# Same batches, same operations: only the order of float32 reductions
# differs (one sum over 32 rows against two sums over 16 rows added up, two
# per-replica gradients added up). Measured over 12 SGD steps: at most
# 1.2e-7 absolute on values of order 0.01 to 1 (a few ulps). A wrong loss
# scale or a statistic of half the batch moves them by 1e-5 to 1 (the
# smallest: the first trace, 1.3e-5, with per-replica batch means).
RTOL, ATOL = 1e-5, 1e-6


# === The runs (child processes) ===


def configure(config):
    """Sets up the devices of `config`; returns a factory of model scopes."""
    backend, devices = CONFIGS[config]
    if backend == "tensorflow":
        import tensorflow as tf

        if devices == 1:
            return tf.distribute.get_strategy().scope
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * devices
        )
        names = [f"/cpu:{i}" for i in range(devices)]
        return tf.distribute.MirroredStrategy(names).scope
    import contextlib

    import keras

    if devices > 1:
        cpus = keras.distribution.list_devices("cpu")
        assert len(cpus) == devices, cpus
        keras.distribution.set_distribution(
            keras.distribution.DataParallel(devices=cpus)
        )
    return contextlib.nullcontext


def train(config):
    """Trains the models of `config`'s backend; returns their results.

    Returns:
        A dict with `"model/history/<name>"` (one value per epoch),
        `"model/variable/<path>"` for every model variable (weights and
        traces) and `"model/replicas"` (the devices each step ran on).
    """
    scope = configure(config)
    import keras

    import keras_sparse_ae

    assert keras.backend.backend() == CONFIGS[config][0]
    x = np.random.default_rng(0).random((N, D)).astype("float32")
    results = {}
    for name in BACKEND_MODELS[CONFIGS[config][0]]:
        kwargs = MODELS[name]
        keras.utils.set_random_seed(SEED)
        with scope():
            model = keras_sparse_ae.build(
                name,
                input_dim=D,
                optimizer="sgd",
                learning_rate=0.5,
                seed=SEED,
                **kwargs,
            )
            if keras.backend.backend() == "tensorflow" and CONFIGS[config][1] > 1:
                # Keras 3.15.1's multi-step loop fails under MirroredStrategy
                # ("You must feed a value for placeholder tensor
                # 'while/cond/Placeholder'"), plain Keras models included:
                # the builders compile with one step per call there.
                assert model.steps_per_execution == 1
                assert model.jit_compile is False
        history = model.fit(
            x, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0
        )
        for key, values in history.history.items():
            results[f"{name}/history/{key}"] = np.asarray(values)
        results[f"{name}/replicas"] = np.asarray(replicas(model))
        for variable in model.variables:
            results[f"{name}/variable/{variable.path}"] = np.asarray(
                keras.ops.convert_to_numpy(variable)
            )
    return results


def replicas(model):
    """Number of devices each training step of `model` ran on."""
    import keras

    if keras.backend.backend() == "tensorflow":
        return model.distribute_strategy.num_replicas_in_sync
    distribution = keras.distribution.distribution()
    return 1 if distribution is None else distribution.device_mesh.devices.size


# === The tests ===


def run_configs(configs, tmp_path):
    """Runs every config in its own process, at the same time; loads results."""
    outputs = {config: tmp_path / f"{config}.npz" for config in configs}
    processes = {}
    for config in configs:
        env = dict(
            os.environ,
            KERAS_BACKEND=CONFIGS[config][0],
            TF_CPP_MIN_LOG_LEVEL="3",
            # The package this process tests, not another installed copy.
            PYTHONPATH=os.pathsep.join(
                filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])
            ),
        )
        if CONFIGS[config][0] != "tensorflow":
            # The TensorFlow run's "no XLA" (conftest) is not for JAX.
            env.pop("KERAS_SPARSE_AE_JIT_COMPILE", None)
        if config == "jax2":
            env["XLA_FLAGS"] = (
                env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
            )
        processes[config] = subprocess.Popen(
            [sys.executable, __file__, config, str(outputs[config])],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        for config, process in processes.items():
            log, _ = process.communicate(timeout=300)
            assert process.returncode == 0, f"{config}:\n{log}"
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
    results = {}
    for config, out in outputs.items():
        with np.load(out) as data:
            results[config] = {key: data[key] for key in data.files}
    return results


def assert_same_run(distributed, single, names):
    assert sorted(distributed) == sorted(single)
    for name in names:
        keys = [key for key in single if key.startswith(f"{name}/")]
        assert f"{name}/history/loss" in keys
        assert f"{name}/history/reconstruction" in keys
    for key in single:
        if key.endswith("/replicas"):
            continue
        np.testing.assert_allclose(
            distributed[key], single[key], rtol=RTOL, atol=ATOL, err_msg=key
        )


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    import keras

    if keras.backend.backend() != "tensorflow":
        # The runs choose their own backends: the default (TensorFlow)
        # session runs them all, the backend matrix need not repeat them.
        pytest.skip("runs once, in the TensorFlow session")
    configs = ["tf1", "tf2"]
    if importlib.util.find_spec("jax") is not None:
        configs += ["jax1", "jax2"]
    return run_configs(configs, tmp_path_factory.mktemp("data_parallel"))


@pytest.mark.parametrize("backend", ["tf", "jax"])
def test_two_devices_match_one(results, backend):
    if f"{backend}1" not in results:
        pytest.skip("jax is not installed")
    single, distributed = results[f"{backend}1"], results[f"{backend}2"]
    names = BACKEND_MODELS[CONFIGS[f"{backend}1"][0]]
    for name in names:
        assert single[f"{name}/replicas"] == 1
        assert distributed[f"{name}/replicas"] == 2
        # The runs train: a comparison of untouched models would prove nothing.
        loss = single[f"{name}/history/loss"]
        assert loss[-1] < loss[0], name
    traces = [key for key in single if key.endswith("/trace")]
    assert len(traces) == 3
    assert_same_run(distributed, single, names)
    for run in (single, distributed):
        if "kl_sae" in names:
            assert "kl_sae/history/weight_penalty" in run
        for name in names:
            # The reported terms add up to the loss on every device count.
            prefix = f"{name}/history/"
            terms = [k for k in run if k.startswith(prefix) and k != prefix + "loss"]
            np.testing.assert_allclose(
                np.sum([run[k] for k in terms], axis=0, dtype="float64"),
                run[prefix + "loss"],
                rtol=1e-5,
                err_msg=name,
            )


def test_batch_mean_without_replicas_is_ops_mean(rng):
    """Off `tf.distribute`, single-device numbers are exactly those of before."""
    import keras

    from keras_sparse_ae import distribute

    x = rng.random((7, 5)).astype("float32")
    for axis in (0, None):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(distribute.batch_mean(x, axis=axis)),
            keras.ops.convert_to_numpy(keras.ops.mean(x, axis=axis)),
        )
    assert distribute.replicas_in_sync() == 1
    assert distribute.replica_id() == 0


if __name__ == "__main__":
    np.savez(sys.argv[2], **train(sys.argv[1]))
