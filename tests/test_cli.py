"""`python -m keras_sparse_ae train|evaluate`: end to end and bad arguments."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_sparse_ae.__main__ import main


@pytest.fixture
def tiny_data(tmp_path, rng):
    """60 random 'images' of 16 pixels in [0, 1], saved as .npy."""
    path = tmp_path / "tiny.npy"
    np.save(path, rng.random((60, 16)).astype("float32"))
    return path


def _run_module(*args, cwd):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "keras_sparse_ae", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )


def test_train_then_evaluate_end_to_end(tmp_path, tiny_data):
    out = tmp_path / "run"
    result = _run_module(
        "train",
        "--data",
        str(tiny_data),
        "--epochs",
        "2",
        "--out",
        str(out),
        "--seed",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "held-out MSE per pixel" in result.stdout
    written = sorted(os.listdir(out))
    assert written == [
        "activations.png",
        "filters.png",
        "metrics.json",
        "model.keras",
        "reconstructions.png",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["samples"] == {"train": 48, "heldout": 12}
    assert metrics["epochs"] == 2 and metrics["seed"] == 3
    assert 0 < metrics["heldout_mse"] < 1 and 0 <= metrics["pca_mse"] < 1
    assert list(metrics["sparsity_report"]["layers"]) == ["h1", "h2", "h3"]
    for name in ("loss", "reconstruction", "h2_participation", "val_loss"):
        assert np.isfinite(metrics["final_epoch"][name])

    result = _run_module(
        "evaluate",
        str(out / "model.keras"),
        "--data",
        str(tiny_data),
        "--seed",
        "3",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert f"{metrics['heldout_mse']:.5f}" in result.stdout
    assert f"{metrics['pca_mse']:.5f}" in result.stdout


def _assert_refused(capsys, argv, *words, out=None):
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0
    message = captured.err.strip()
    assert message.startswith("error: ")
    assert "Traceback" not in message and "\n" not in message
    for word in words:
        assert word in message
    if out is not None:
        assert not os.path.exists(out)
    return message


def test_missing_file(capsys, tmp_path):
    out = tmp_path / "run"
    _assert_refused(
        capsys,
        ["train", "--data", str(tmp_path / "nope.npy"), "--out", str(out)],
        "nope.npy",
        out=out,
    )


def test_nan_data(capsys, tmp_path):
    path = tmp_path / "nan.npy"
    x = np.random.default_rng(0).random((20, 16))
    x[3, 5] = np.nan
    np.save(path, x)
    out = tmp_path / "run"
    _assert_refused(
        capsys, ["train", "--data", str(path), "--out", str(out)], "NaN", out=out
    )


def test_unknown_model(capsys, tmp_path, tiny_data):
    out = tmp_path / "run"
    _assert_refused(
        capsys,
        ["train", "--data", str(tiny_data), "--model", "resnet", "--out", str(out)],
        "argument `model`",
        "deep_sae",
        "resnet",
        out=out,
    )


def test_bad_epochs_and_holdout(capsys, tmp_path, tiny_data):
    out = tmp_path / "run"
    _assert_refused(
        capsys,
        ["train", "--data", str(tiny_data), "--epochs", "0", "--out", str(out)],
        "argument `epochs`",
        out=out,
    )
    _assert_refused(
        capsys,
        ["train", "--data", str(tiny_data), "--holdout", "1.5", "--out", str(out)],
        "argument `holdout`",
        out=out,
    )


def test_wrong_width_and_bad_model_file(capsys, tmp_path, tiny_data):
    from keras_sparse_ae import build_deep_sae

    model_path = tmp_path / "m.keras"
    build_deep_sae(input_dim=16, hidden=(8, 4), seed=0).save(model_path)
    _assert_refused(
        capsys, ["evaluate", str(model_path), "--data", "digits"], "16 features", "64"
    )
    broken = tmp_path / "broken.keras"
    broken.write_bytes(model_path.read_bytes()[:100])
    _assert_refused(
        capsys, ["evaluate", str(broken), "--data", str(tiny_data)], "broken.keras"
    )
    _assert_refused(
        capsys,
        ["evaluate", str(tmp_path / "none.keras"), "--data", str(tiny_data)],
        "none.keras",
    )


def test_existing_outputs_survive_a_failed_run(capsys, tmp_path, tiny_data):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"old": true}')
    _assert_refused(
        capsys,
        ["train", "--data", str(tiny_data), "--model", "nope", "--out", str(out)],
        "nope",
    )
    assert json.loads((out / "metrics.json").read_text()) == {"old": True}
    assert os.listdir(out) == ["metrics.json"]
