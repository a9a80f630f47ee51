"""Safe persistence: bit-exact `.keras` round trips, no lambdas, atomic saves.

Every model of the library (the zoo, `train_layerwise`'s stacked model and
`build_classifier`'s classifier) must

- reload with `keras.models.load_model(path, safe_mode=True)` with every
  variable equal bit for bit: weights, non-trainable state (the
  `ParticipationTrace` trace), the state of every noise `SeedGenerator` and
  the optimizer's variables, so that training goes on exactly as it would
  have without the save;
- save no Python lambda (what `safe_mode=True` refuses to load);
- leave an existing file untouched when a save over it fails midway, and
  refuse to save non-finite weights.
"""

import json
import os
import zipfile

import keras
import numpy as np
import pytest

import keras_sparse_ae as ksae
from keras_sparse_ae import io as ksae_io
from keras_sparse_ae.layers.participation_trace import ParticipationTrace

INPUT_DIM = 12
N_SAMPLES, BATCH_SIZE = 32, 16  # two steps an epoch
N_CLASSES = 3
RESUME_SEED = 99

#: Small versions of every registered model (test_zoo's, plus tied and vae).
SMALL = {
    "deep_sae": dict(hidden=(8, 3)),
    "denoising": dict(hidden=(8, 3)),
    "kl_sae": dict(hidden=(6,), target=0.2, weight=0.3, l2=1e-3),
    "kl_sae_deep": dict(hidden=(8, 3)),
    "l1_sae": dict(code_size=5, beta=0.1),
    "l2_sae": dict(units=5, activity_weight=0.01, kernel_weight=1e-3),
    "linear": dict(code_size=3),
    "plain": dict(hidden=(8, 3)),
    "stacked": dict(hidden=(8, 3), l2=1e-3),
    "tied": dict(hidden=(8, 3)),
    "vae": dict(hidden=(8,), code_size=2),
    "topk_sae": dict(code_size=6, k=2, dead_after=1),
    "batch_topk_sae": dict(code_size=6, k=2, dead_after=1),
}

#: The registered models, then the two models built by functions.
ALL_MODELS = [*ksae.list_models(), "layerwise", "classifier"]

SAVERS = {
    "model.save": lambda model, path: model.save(path),
    "io.save_model": ksae_io.save_model,
}


def data():
    rng = np.random.default_rng(0)
    x = rng.random((N_SAMPLES, INPUT_DIM)).astype("float32")
    y = rng.integers(0, N_CLASSES, N_SAMPLES)
    return x, y


def make_model(name, x, y):
    """A compiled model (default optimizer, Adam) and its `fit` targets."""
    if name == "layerwise":
        model, _ = ksae.train_layerwise(
            x, hidden=(6, 3), epochs=1, batch_size=BATCH_SIZE, seed=0
        )
        return model, None
    if name == "classifier":
        # A ParticipationTrace inside the copied encoder: its trace is saved too.
        autoencoder = ksae.build(
            "deep_sae", input_dim=INPUT_DIM, seed=0, **SMALL["deep_sae"]
        )
        return ksae.build_classifier(autoencoder, N_CLASSES, seed=0), y
    return ksae.build(name, input_dim=INPUT_DIM, seed=0, **SMALL[name]), None


def fit(model, x, y, epochs):
    # Eagerly on TensorFlow: tracing a train function for every original and
    # every reloaded model doubles the file's time, and the state saved is the
    # same. (JAX's op-by-op eager mode is slower than its jit: left as is.)
    model.run_eagerly = keras.backend.backend() == "tensorflow"
    return model.fit(
        x, y, batch_size=BATCH_SIZE, epochs=epochs, shuffle=False, verbose=0
    )


def to_numpy(variable):
    return keras.ops.convert_to_numpy(variable)


def named_state(layer, prefix=None):
    """Every variable of `layer` as `{"model/encoder/h1/trace": array}`.

    Keys follow the layer structure, not `variable.path`: paths depend on the
    name scopes a model was built in (`encoder/h1/kernel` when built by a
    builder, `h1/kernel` when rebuilt by `load_model`) and seed generators
    are numbered globally. `layer.variables` includes `SeedGenerator` states.
    """
    prefix = layer.name if prefix is None else prefix
    state, inner = {}, set()
    for child in layer._flatten_layers(include_self=False, recursive=False):
        for key, value in named_state(child, f"{prefix}/{child.name}").items():
            assert key not in state, key
            state[key] = value
        inner.update(id(v) for v in child.variables)
    for variable in layer.variables:
        if id(variable) not in inner:
            key = f"{prefix}/{variable.name}"
            assert key not in state, key
            state[key] = to_numpy(variable)
    return state


def assert_same_state(loaded, model):
    expected, got = named_state(model), named_state(loaded)
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        np.testing.assert_array_equal(got[key], value, err_msg=key)
    # The optimizer's variables (iterations, learning rate, one momentum and
    # one velocity per trainable variable) are in the order of the model's
    # trainable variables; their names come from the variables' paths, so
    # they are compared by position.
    expected = model.optimizer.variables
    got = loaded.optimizer.variables
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert a.shape == b.shape, (a.path, b.path)
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b), err_msg=b.path)


# === Round trip ===


def predictions(model, x):
    # A direct call, not `predict`: the same inference pass without tracing
    # one more function per model (the file has to stay fast on 2 cores).
    return to_numpy(model(x, training=False))


def traces(model):
    return [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, ParticipationTrace)
    ]


@pytest.mark.parametrize("name", ALL_MODELS)
def test_round_trip_is_bit_exact_and_training_resumes_identically(name, tmp_path):
    x, labels = data()
    model, y = make_model(name, x, labels)
    fit(model, x, y, epochs=2)
    steps = 2 * N_SAMPLES // BATCH_SIZE
    assert int(to_numpy(model.optimizer.iterations)) == steps
    for layer in traces(model):  # the traces moved away from p = 1 - sparsity
        assert not np.allclose(to_numpy(layer.trace), layer.participation)
    path = tmp_path / f"{name}.keras"
    model.save(path)

    loaded = keras.models.load_model(path, safe_mode=True)

    assert type(loaded) is type(model)
    assert len(traces(loaded)) == len(traces(model))
    assert_same_state(loaded, model)
    assert int(to_numpy(loaded.optimizer.iterations)) == steps
    np.testing.assert_array_equal(predictions(loaded, x), predictions(model, x))

    # One more epoch each, from the same global seed: equal only if the
    # optimizer state and every noise generator's state came back.
    before = named_state(model)
    keras.utils.set_random_seed(RESUME_SEED)
    fit(model, x, y, epochs=1)
    keras.utils.set_random_seed(RESUME_SEED)
    fit(loaded, x, y, epochs=1)
    after = named_state(model)
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    assert_same_state(loaded, model)
    np.testing.assert_array_equal(predictions(loaded, x), predictions(model, x))


def test_every_registered_model_is_covered():
    assert sorted(SMALL) == ksae.list_models()


# === No lambdas ===


def lambdas_in_archive(path):
    """Lambda class names and serialized lambdas in a `.keras` file's config."""
    with zipfile.ZipFile(path) as archive:
        text = archive.read("config.json").decode("utf-8")
    found = [marker for marker in ("__lambda__", "<lambda>") if marker in text]

    def visit(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if (
                    key in ("class_name", "registered_name")
                    and "lambda" in str(value).lower()
                ):
                    found.append(value)
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(json.loads(text))
    return found, text


@pytest.mark.parametrize("name", ALL_MODELS)
def test_saved_config_has_no_lambdas(name, tmp_path):
    x, y = data()
    model, _ = make_model(name, x, y)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    found, text = lambdas_in_archive(path)
    assert found == []
    # The check read the model's real config: our own classes are in it.
    assert '"registered_name": "keras_sparse_ae>' in text


def test_lambda_check_finds_a_lambda_layer(tmp_path):
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Lambda(lambda t: 2.0 * t)]
    )
    path = tmp_path / "lambda.keras"
    model.save(path)
    found, _ = lambdas_in_archive(path)
    assert "Lambda" in found and "__lambda__" in found
    with pytest.raises(ValueError, match="safe_mode"):
        keras.models.load_model(path, safe_mode=True)


# === Atomic overwrite ===


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
@pytest.mark.parametrize("saver", sorted(SAVERS))
def test_failed_save_leaves_the_old_file_intact(saver, error, tmp_path, monkeypatch):
    x, y = data()
    model, _ = make_model("deep_sae", x, y)
    path = tmp_path / "model.keras"
    model.save(path)
    old = path.read_bytes()
    kernel = model.encoder.get_layer("h1_dense").kernel
    kernel.assign(to_numpy(kernel) + 1.0)  # a completed save would differ

    calls = []

    def interrupted(self, store):
        calls.append(self.name)
        raise error("interrupted while writing the archive")

    # Raised while the layers' states are written, after config.json.
    monkeypatch.setattr(ParticipationTrace, "save_own_variables", interrupted)
    with pytest.raises(error, match="interrupted while writing"):
        SAVERS[saver](model, path)

    assert len(calls) == 1  # it failed on the first trace it wrote
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.keras"]  # no temporary file left


# === Non-finite weights ===


@pytest.mark.parametrize("where", ["kernel", "trace"])
@pytest.mark.parametrize("saver", sorted(SAVERS))
def test_nan_weights_are_not_saved(saver, where, tmp_path):
    x, y = data()
    model, _ = make_model("deep_sae", x, y)
    layer = model.encoder.get_layer("h1_dense" if where == "kernel" else "h1")
    variable = layer.kernel if where == "kernel" else layer.trace
    value = to_numpy(variable).copy()
    value.flat[1] = np.nan
    variable.assign(value)
    path = tmp_path / "model.keras"
    with pytest.raises(ValueError, match="non-finite|NaN"):
        SAVERS[saver](model, path)
    assert os.listdir(tmp_path) == []
