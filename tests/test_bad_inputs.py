"""Bad inputs across the public API and both command lines.

Each case feeds one bad input and asserts the exception type (or, for a
command line, a non-zero exit code and a one-paragraph message) and the key
words of the message: the argument's name and what was wrong. Every case
fails before any work starts, so command-line cases also assert that no
output file was created or changed.
"""

import dataclasses
import gzip
import os
import struct
import sys
from collections.abc import Callable

import keras
import numpy as np
import pytest
from file_checks import snapshot

import keras_sparse_ae as ksae
from keras_sparse_ae import datasets
from keras_sparse_ae import train as train_module
from keras_sparse_ae.__main__ import main as train_main
from keras_sparse_ae.callbacks import TrainingDivergedError
from keras_sparse_ae.tune import run_search
from keras_sparse_ae.tune.__main__ import main as tune_main

WIDTH = 16


@pytest.fixture(scope="module")
def model():
    """A small deep SAE (bce, inputs in [0, 1]) built for WIDTH features."""
    return ksae.build_deep_sae(input_dim=WIDTH, hidden=(8, 4), seed=0)


@pytest.fixture
def x(rng):
    return rng.random((40, WIDTH)).astype("float32")


def _with(x, row, col, value):
    x = np.array(x, dtype="float64")
    x[row, col] = value
    return x


@dataclasses.dataclass
class Case:
    """One bad input: `call(ctx)` must raise `error` with all of `words`."""

    id: str
    call: Callable
    error: type
    words: tuple


def _files(tmp_path, x):
    """Writes the bad files the cases read; returns their paths by name."""
    paths = {}

    def path(name):
        paths[name] = tmp_path / name
        return paths[name]

    path("corrupt.npy").write_bytes(b"\x93NUMPY\x01\x00garbage" + os.urandom(64))
    np.save(path("strings.npy"), np.array([["a", "b"], ["c", "d"]]))
    path("words.csv").write_text("0.1,0.2,0.3\n0.4,abc,0.5\n")
    path("ragged.csv").write_text("0.1,0.2,0.3\n0.4,0.5\n")
    path("empty.csv").write_text("")
    # IDX: magic 0x00000803 (uint8, 3 dims); a wrong magic number here.
    header = struct.pack(">IIII", 0x08030000, 2, 4, 4)
    path("bad-magic-idx-ubyte").write_bytes(header + bytes(32))
    header = struct.pack(">IIII", 0x00000803, 10, 28, 28)
    path("truncated-idx-ubyte").write_bytes(header + bytes(100))
    with gzip.open(path("not-gzip-idx-ubyte.gz"), "wb") as f:
        f.write(b"")
    path("not-gzip-idx-ubyte.gz").write_bytes(b"plain bytes, not gzip")
    np.savez(path("two.npz"), a=x, b=x)
    path("folder.npy").mkdir()
    model = ksae.build_plain(input_dim=WIDTH, hidden=(4,), seed=0)
    model.save(path("good.keras"))
    data = path("good.keras").read_bytes()
    path("truncated.keras").write_bytes(data[: len(data) // 2])
    path("not-a-model.keras").write_text("hello")
    path("wide.npy")
    np.save(paths["wide.npy"], np.random.default_rng(0).random((30, WIDTH + 3)))
    return paths


# --- the library: data given to a model --------------------------------------

DATA_CASES = [
    Case(
        "nan-in-x",
        lambda m, x, f: m.fit(_with(x, 3, 5, np.nan), verbose=0),
        ValueError,
        ("`x`", "NaN", "row 3, column 5"),
    ),
    Case(
        "inf-in-x",
        lambda m, x, f: m.fit(_with(x, 0, 1, np.inf), verbose=0),
        ValueError,
        ("`x`", "inf"),
    ),
    Case(
        "x-1d",
        lambda m, x, f: m.fit(x[0], verbose=0),
        ValueError,
        ("`x`", "2-D", "reshape"),
    ),
    Case(
        "x-wrong-width",
        lambda m, x, f: m.fit(x[:, :10], verbose=0),
        ValueError,
        ("`x`", f"{WIDTH} features", "10 features"),
    ),
    Case(
        "x-empty",
        lambda m, x, f: m.fit(x[:0], verbose=0),
        ValueError,
        ("`x`", "empty", "(0, 16)"),
    ),
    Case(
        "x-strings",
        lambda m, x, f: m.fit(x.astype(str), verbose=0),
        TypeError,
        ("`x`", "numeric", "Strings"),
    ),
    Case(
        "x-objects",
        lambda m, x, f: m.fit(np.array([[0.1, None]] * 4, dtype=object), verbose=0),
        TypeError,
        ("`x`", "numeric", "Object"),
    ),
    Case(
        "x-booleans",
        lambda m, x, f: m.fit(x > 0.5, verbose=0),
        TypeError,
        ("`x`", "numeric", "astype"),
    ),
    Case(
        "x-ragged-list",
        lambda m, x, f: m.fit([[0.1, 0.2], [0.3]], verbose=0),
        ValueError,
        ("`x`", "not rectangular"),
    ),
    Case(
        "x-float-pixels-0-255-for-bce",
        lambda m, x, f: m.fit(x * 255.0, verbose=0),
        ValueError,
        ("`x`", "[0, 1]", "divide by 255"),
    ),
    Case(
        "uint8-where-floats-required",
        lambda m, x, f: datasets.check_data(
            (x * 255).astype("uint8"), allow_uint8=False
        ),
        ValueError,
        ("`X`", "8-bit", "divide it by 255"),
    ),
    Case(
        "nan-in-validation-data",
        lambda m, x, f: m.fit(
            x, validation_data=_with(x, 2, 2, np.nan), epochs=1, verbose=0
        ),
        ValueError,
        ("`validation_data`", "NaN"),
    ),
    Case(
        "validation-data-wrong-width",
        lambda m, x, f: m.fit(x, validation_data=x[:, :3], epochs=1, verbose=0),
        ValueError,
        ("`validation_data`", "3 features"),
    ),
    Case(
        "sample-weight",
        lambda m, x, f: m.fit(x, sample_weight=np.ones(len(x)), verbose=0),
        ValueError,
        ("`sample_weight`", "do not support sample weights"),
    ),
    Case(
        "predict-wrong-width",
        lambda m, x, f: m.predict(x[:, :4], verbose=0),
        ValueError,
        ("`x`", "4 features"),
    ),
    Case(
        "evaluate-nan",
        lambda m, x, f: m.evaluate(_with(x, 0, 0, np.nan), verbose=0),
        ValueError,
        ("`x`", "NaN"),
    ),
    Case(
        "x-string-scalar",
        lambda m, x, f: m.fit("data.npy", verbose=0),
        TypeError,
        ("`x`", "numeric", "'data.npy'"),
    ),
]

# --- the library: hyperparameters ---------------------------------------------

ARGUMENT_CASES = [
    Case(
        "sparsity-above-1",
        lambda m, x, f: ksae.build_deep_sae(input_dim=WIDTH, sparsity=1.5),
        ValueError,
        ("`sparsity`", "(0, 1)", "1.5"),
    ),
    Case(
        "sparsity-string",
        lambda m, x, f: ksae.build_deep_sae(input_dim=WIDTH, sparsity="0.5"),
        TypeError,
        ("`sparsity`", "float", "str"),
    ),
    Case(
        "gamma-1",
        lambda m, x, f: ksae.ParticipationTrace(gamma=1.0),
        ValueError,
        ("`gamma`", "1.0"),
    ),
    Case(
        "weight-negative",
        lambda m, x, f: ksae.build_deep_sae(input_dim=WIDTH, alpha_p=-1.0),
        ValueError,
        ("`alpha_p`", ">= 0", "-1.0"),
    ),
    Case(
        "weight-nan",
        lambda m, x, f: ksae.KLSparsity(weight=float("nan")),
        ValueError,
        ("`weight`", "nan"),
    ),
    Case(
        "kl-target-0",
        lambda m, x, f: ksae.KLSparsity(target=0.0),
        ValueError,
        ("`target`", "(0, 1)"),
    ),
    Case(
        "activity-kind-unknown",
        lambda m, x, f: ksae.ActivityRegularizer(kind="l3"),
        ValueError,
        ("`kind`", "'l1'", "'l3'"),
    ),
    Case(
        "hidden-zero",
        lambda m, x, f: ksae.build_deep_sae(input_dim=WIDTH, hidden=(8, 0)),
        ValueError,
        ("`hidden`", "integers >= 1"),
    ),
    Case(
        "hidden-negative",
        lambda m, x, f: ksae.build_stacked(input_dim=WIDTH, hidden=(-5,)),
        ValueError,
        ("`hidden`", "-5"),
    ),
    Case(
        "hidden-float",
        lambda m, x, f: ksae.build_deep_sae(input_dim=WIDTH, hidden=(8.5, 4)),
        TypeError,
        ("`hidden`", "integers"),
    ),
    Case(
        "hidden-empty",
        lambda m, x, f: ksae.build_plain(input_dim=WIDTH, hidden=()),
        ValueError,
        ("`hidden`", "non-empty"),
    ),
    Case(
        "input-dim-zero",
        lambda m, x, f: ksae.build_vae(input_dim=0),
        ValueError,
        ("`input_dim`", ">= 1"),
    ),
    Case(
        "unknown-model",
        lambda m, x, f: ksae.build("resnet", input_dim=WIDTH),
        ValueError,
        ("`model`", "deep_sae", "'resnet'"),
    ),
    Case(
        "unknown-loss",
        lambda m, x, f: ksae.build_deep_sae(input_dim=WIDTH, reconstruction="hinge"),
        ValueError,
        ("`reconstruction`", "'bce'", "'hinge'"),
    ),
    Case(
        "unknown-optimizer",
        lambda m, x, f: ksae.build_plain(input_dim=WIDTH, optimizer="lbfgs"),
        ValueError,
        ("`optimizer`", "'adam'", "'lbfgs'"),
    ),
    Case(
        "learning-rate-negative",
        lambda m, x, f: ksae.build_plain(input_dim=WIDTH, learning_rate=-0.1),
        ValueError,
        ("`learning_rate`", "-0.1"),
    ),
    Case(
        "unknown-noise",
        lambda m, x, f: ksae.build_denoising(input_dim=WIDTH, noise="salt"),
        ValueError,
        ("`noise`", "'gaussian'", "'salt'"),
    ),
    Case(
        "unknown-tuner",
        lambda m, x, f: run_search(tuner="genetic", directory=f["dir"]),
        ValueError,
        ("`tuner`", "'random'", "'genetic'"),
    ),
    Case(
        "unknown-space",
        lambda m, x, f: run_search(space="huge", directory=f["dir"]),
        ValueError,
        ("`space`", "'default'", "'huge'"),
    ),
    Case(
        "holdout-out-of-range",
        lambda m, x, f: train_module.split_holdout(x, holdout=1.5),
        ValueError,
        ("`holdout`", "(0, 1)", "1.5"),
    ),
    Case(
        "epochs-zero",
        lambda m, x, f: train_module.train_job("digits", epochs=0, out=f["dir"]),
        ValueError,
        ("`epochs`", ">= 1"),
    ),
]

# --- the library: files ---------------------------------------------------------

FILE_CASES = [
    Case(
        "missing-file",
        lambda m, x, f: datasets.load_array(f["dir"] / "nope.npy"),
        FileNotFoundError,
        ("nope.npy",),
    ),
    Case(
        "folder-instead-of-file",
        lambda m, x, f: datasets.load_array(f["folder.npy"]),
        IsADirectoryError,
        ("folder.npy", "not a file"),
    ),
    Case(
        "corrupt-npy",
        lambda m, x, f: datasets.load_array(f["corrupt.npy"]),
        ValueError,
        ("corrupt.npy",),
    ),
    Case(
        "npy-of-strings",
        lambda m, x, f: datasets.load_array(f["strings.npy"]),
        TypeError,
        ("numeric",),
    ),
    Case(
        "csv-with-words",
        lambda m, x, f: datasets.load_array(f["words.csv"]),
        ValueError,
        ("words.csv", "abc"),
    ),
    Case(
        "csv-ragged",
        lambda m, x, f: datasets.load_array(f["ragged.csv"]),
        ValueError,
        ("ragged.csv",),
    ),
    Case(
        "csv-empty",
        lambda m, x, f: datasets.load_array(f["empty.csv"]),
        ValueError,
        ("empty.csv", "empty"),
    ),
    Case(
        "npz-ambiguous",
        lambda m, x, f: datasets.load_array(f["two.npz"]),
        ValueError,
        ("`key`", "2 arrays: a, b"),
    ),
    Case(
        "file-wrong-width",
        lambda m, x, f: datasets.load_array(f["wide.npy"], input_dim=WIDTH),
        ValueError,
        (f"{WIDTH} features", f"{WIDTH + 3} features"),
    ),
    Case(
        "idx-wrong-magic",
        lambda m, x, f: datasets.load_idx(f["bad-magic-idx-ubyte"]),
        ValueError,
        ("not an IDX file", "magic number 0x08030000"),
    ),
    Case(
        "idx-truncated",
        lambda m, x, f: datasets.load_idx(f["truncated-idx-ubyte"]),
        ValueError,
        ("truncated-idx-ubyte", "7840"),
    ),
    Case(
        "idx-gz-not-gzip",
        lambda m, x, f: datasets.load_idx(f["not-gzip-idx-ubyte.gz"]),
        ValueError,
        ("not-gzip-idx-ubyte.gz", "gzip"),
    ),
    Case(
        "mnist-local-copy-missing",
        lambda m, x, f: datasets.load_mnist(path=str(f["dir"] / "absent.npz")),
        FileNotFoundError,
        ("absent.npz", "MNIST"),
    ),
    Case(
        "mnist-damaged-download",
        lambda m, x, f: datasets.load_mnist(path=str(f["corrupt.npy"])),
        ValueError,
        ("corrupt.npy", "damaged download"),
    ),
    Case(
        "truncated-keras",
        lambda m, x, f: train_module.evaluate_job(str(f["truncated.keras"]), "digits"),
        ValueError,
        ("truncated.keras", "Could not load"),
    ),
]

CASES = DATA_CASES + ARGUMENT_CASES + FILE_CASES


@pytest.fixture
def files(tmp_path, x):
    paths = _files(tmp_path, x)
    paths["dir"] = tmp_path / "out"
    return paths


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_library_rejects(case, model, x, files):
    weights = [keras.ops.convert_to_numpy(w) for w in model.weights]
    with pytest.raises(case.error) as info:
        case.call(model, x, files)
    message = str(info.value)
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"
    # Nothing happened before the error: no training, no output folder.
    for before, after in zip(weights, model.weights):
        np.testing.assert_array_equal(before, keras.ops.convert_to_numpy(after))
    assert not files["dir"].exists()


def test_there_are_at_least_30_distinct_bad_inputs():
    ids = [c.id for c in CASES] + [c[0] for c in CLI_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 30


# --- divergence -------------------------------------------------------------------


def test_divergence_stops_with_the_learning_rate_and_keeps_finite_weights(x, tmp_path):
    model = ksae.build_linear(
        input_dim=WIDTH, code_size=4, optimizer="sgd", learning_rate=50.0, seed=0
    )
    with pytest.raises(TrainingDivergedError) as info:
        model.fit(x, epochs=5, batch_size=8, verbose=0)
    message = str(info.value)
    assert "diverged" in message and "learning_rate=50" in message
    assert info.value.name == "loss" and not np.isfinite(info.value.value)
    for weight in model.weights:
        assert np.isfinite(keras.ops.convert_to_numpy(weight)).all(), weight.path
    # What a diverged run leaves can be saved: the last finite state.
    model.save(tmp_path / "restored.keras")
    loaded = keras.models.load_model(tmp_path / "restored.keras")
    assert np.isfinite(loaded.predict(x, verbose=0)).all()


def test_a_model_with_nan_weights_is_not_saved(x, tmp_path):
    model = ksae.build_plain(input_dim=WIDTH, hidden=(4,), seed=0)
    kernel = model.encoder.layers[0].kernel
    kernel.assign(np.full(kernel.shape, np.nan, dtype="float32"))
    with pytest.raises(ValueError, match="non-finite"):
        model.save(tmp_path / "nan.keras")
    assert os.listdir(tmp_path) == []


# --- the two command lines ------------------------------------------------------


def _train(f, *args):
    return ["train", "--data", str(f["data.npy"]), "--out", str(f["dir"]), *args]


def _tune(f, *args):
    return [
        "--data",
        str(f["data.npy"]),
        "--directory",
        str(f["dir"]),
        "--epochs",
        "1",
        "--max-trials",
        "1",
        *args,
    ]


# (id, which CLI, argv(files), key words of the message)
CLI_CASES = [
    (
        "cli-train-missing-data",
        train_main,
        lambda f: (
            _train(f)[:2]
            + [str(f["dir"].parent / "missing.npy"), "--out", str(f["dir"])]
        ),
        ("missing.npy",),
    ),
    (
        "cli-train-nan-data",
        train_main,
        lambda f: _train(f)[:2] + [str(f["nan.npy"]), "--out", str(f["dir"])],
        ("NaN", "row 1, column 2"),
    ),
    (
        "cli-train-unknown-model",
        train_main,
        lambda f: _train(f, "--model", "resnet"),
        ("`model`", "'resnet'"),
    ),
    (
        "cli-train-epochs-zero",
        train_main,
        lambda f: _train(f, "--epochs", "0"),
        ("`epochs`", ">= 1"),
    ),
    (
        "cli-train-batch-size-negative",
        train_main,
        lambda f: _train(f, "--batch-size", "-4"),
        ("`batch_size`", "-4"),
    ),
    (
        "cli-train-holdout-1",
        train_main,
        lambda f: _train(f, "--holdout", "1.0"),
        ("`holdout`", "(0, 1)"),
    ),
    (
        "cli-train-seed-negative",
        train_main,
        lambda f: _train(f, "--seed", "-1"),
        ("`seed`", ">= 0"),
    ),
    (
        "cli-train-idx-bad-magic",
        train_main,
        lambda f: (
            _train(f)[:2] + [str(f["bad-magic-idx-ubyte"]), "--out", str(f["dir"])]
        ),
        ("magic",),
    ),
    (
        "cli-evaluate-truncated-model",
        train_main,
        lambda f: ["evaluate", str(f["truncated.keras"]), "--data", str(f["data.npy"])],
        ("truncated.keras", "Could not load"),
    ),
    (
        "cli-evaluate-not-a-model",
        train_main,
        lambda f: [
            "evaluate",
            str(f["not-a-model.keras"]),
            "--data",
            str(f["data.npy"]),
        ],
        ("not-a-model.keras",),
    ),
    (
        "cli-evaluate-wrong-width",
        train_main,
        lambda f: ["evaluate", str(f["good.keras"]), "--data", str(f["wide.npy"])],
        (f"{WIDTH} features", f"{WIDTH + 3} features"),
    ),
    (
        "cli-tune-unknown-tuner",
        tune_main,
        lambda f: _tune(f, "--tuner", "genetic"),
        ("`tuner`", "'genetic'"),
    ),
    (
        "cli-tune-unknown-model",
        tune_main,
        lambda f: _tune(f, "--model", "resnet"),
        ("`model`", "'resnet'"),
    ),
    (
        "cli-tune-bad-set",
        tune_main,
        lambda f: _tune(f, "--set", "alpha_p"),
        ("--set", "alpha_p"),
    ),
    (
        "cli-tune-unknown-hyperparameter",
        tune_main,
        lambda f: _tune(f, "--set", "colour=red"),
        ("colour",),
    ),
    (
        "cli-tune-missing-space-file",
        tune_main,
        lambda f: _tune(f, "--space-file", str(f["dir"].parent / "nope.json")),
        ("nope.json",),
    ),
    (
        "cli-tune-corrupt-space-file",
        tune_main,
        lambda f: _tune(f, "--space-file", str(f["broken.json"])),
        ("broken.json",),
    ),
    (
        "cli-tune-max-trials-zero",
        tune_main,
        lambda f: _tune(f, "--max-trials", "0"),
        ("`max_trials`", ">= 1"),
    ),
]


@pytest.fixture
def cli_files(files, x):
    np.save(files["dir"].parent / "data.npy", x)
    files["data.npy"] = files["dir"].parent / "data.npy"
    np.save(files["dir"].parent / "nan.npy", _with(x, 1, 2, np.nan))
    files["nan.npy"] = files["dir"].parent / "nan.npy"
    files["broken.json"] = files["dir"].parent / "broken.json"
    files["broken.json"].write_text('{"alpha_p": [1, 2')
    return files


@pytest.mark.parametrize(
    ("cli", "argv", "words"),
    [c[1:] for c in CLI_CASES],
    ids=[c[0] for c in CLI_CASES],
)
@pytest.mark.parametrize("existing_output", [False, True], ids=["fresh", "existing"])
def test_cli_rejects(cli, argv, words, existing_output, cli_files, capsys):
    out = cli_files["dir"]
    if existing_output:
        out.mkdir()
        (out / "model.keras").write_bytes(b"an earlier run's model")
        (out / "metrics.json").write_text('{"earlier": true}')
    before = snapshot(out.parent)

    code = cli(argv(cli_files))

    captured = capsys.readouterr()
    assert code != 0
    message = captured.err.strip()
    assert message.startswith("error: "), message
    assert "\n" not in message and "Traceback" not in message
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    assert snapshot(out.parent) == before
    assert out.exists() == existing_output


@pytest.mark.parametrize(
    ("cli", "argv"),
    [
        (train_main, lambda f: _train(f, "--epochs", "0")),
        (tune_main, lambda f: _tune(f, "--tuner", "genetic")),
    ],
    ids=["train", "tune"],
)
def test_cli_debug_shows_the_traceback(cli, argv, cli_files):
    with pytest.raises(ValueError):
        cli(
            [*argv(cli_files), "--debug"]
            if cli is tune_main
            else ["--debug", *argv(cli_files)]
        )


def test_cli_module_exit_code_and_one_paragraph(cli_files, tmp_path):
    """The real process: exit code 2 and one line on stderr, no traceback."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "keras_sparse_ae", *_train(cli_files, "--epochs", "0")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
        timeout=300,
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "`epochs`" in lines[0]
    assert "Traceback" not in result.stderr
