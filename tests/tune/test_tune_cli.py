"""`python -m keras_sparse_ae.tune`: help, dry run and every bad input."""

import socket

import numpy as np
import pytest
from file_checks import snapshot
from tune_helpers import TINY_ARGS

from keras_sparse_ae.tune.__main__ import main


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in (
        "--model",
        "--tuner",
        "--max-trials",
        "--epochs",
        "--data",
        "--directory",
        "--project-name",
        "--seed",
        "--space",
        "--space-file",
        "--set",
        "--objective",
        "--overwrite",
        "--hyperband-factor",
        "--max-consecutive-errors",
        "--distributed",
        "--oracle",
        "--worker-id",
        "--oracle-timeout",
        "--dry-run",
        "--debug",
    ):
        assert flag in text, flag
    for word in ("seed000", "random, grid, hyperband, bayesian", "val_loss", "resume"):
        assert word in text, word


def test_dry_run_seed000(tmp_path, capsys):
    code = main(
        ["--space", "seed000", "--tuner", "grid", "--data", "digits", "--dry-run"]
        + ["--directory", str(tmp_path / "runs")]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "grid size: 12,960" in out and "planned trials: 12960" in out
    assert "sgd_halving" in out
    assert not (tmp_path / "runs").exists()


@pytest.fixture
def existing_project(tmp_path):
    """A project folder with results that bad input must leave untouched."""
    folder = tmp_path / "runs" / "deep_sae_random"
    folder.mkdir(parents=True)
    (folder / "results.csv").write_text("rank,trial_id\n1,0\n")
    (folder / "search.json").write_text("{}")
    return folder


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--model", "nope"], "Received: model='nope'"),
        (["--tuner", "annealing"], "Received: tuner='annealing'"),
        (["--set", "alpha_q=1"], "Received: hyperparameter='alpha_q'"),
        (["--set", "sparsity=1.5"], "hyperparameter `sparsity`"),
        (["--set", "optimizer=rmsprop"], "hyperparameter `optimizer`"),
        (["--max-trials", "0"], "Received: max_trials=0"),
        (["--epochs", "0"], "Received: epochs=0"),
        (["--objective", "loss"], "Received: objective='loss'"),
        (["--space", "seed000", "--model", "linear"], "lesson 000's grid"),
        (["--data", "missing.npy"], "No such file"),
        (["--project-name", "a/b"], "project_name"),
        (["--distributed", "worker", "--oracle", "nohost"], "HOST:PORT"),
    ],
)
def test_bad_input_exits_before_any_trial(existing_project, capsys, args, message):
    before = snapshot(existing_project.parent.parent)
    directory = str(existing_project.parent)
    code = main([*TINY_ARGS, "--directory", directory, *args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ") and message in err, err
    assert snapshot(existing_project.parent.parent) == before


def test_unreadable_data_file(existing_project, tmp_path, capsys):
    bad = tmp_path / "broken.npy"
    bad.write_bytes(b"not an array at all")
    before = snapshot(existing_project)
    args = ["--data", str(bad), "--directory", str(existing_project.parent)]
    assert main([*TINY_ARGS, *args]) == 2
    assert "broken.npy" in capsys.readouterr().err
    assert snapshot(existing_project) == before


def test_unreachable_oracle(existing_project, capsys):
    before = snapshot(existing_project)
    args = ["--distributed", "worker", "--oracle", f"127.0.0.1:{_free_port()}"]
    args += ["--oracle-timeout", "0.5", "--directory", str(existing_project.parent)]
    assert main([*TINY_ARGS, *args]) == 2
    err = capsys.readouterr().err
    assert "error: Could not reach the chief's oracle at 127.0.0.1:" in err
    assert snapshot(existing_project) == before


def test_chief_port_in_use(existing_project, capsys):
    before = snapshot(existing_project)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        args = ["--distributed", "chief", "--oracle", f"127.0.0.1:{port}"]
        args += ["--directory", str(existing_project.parent)]
        assert main([*TINY_ARGS, *args]) == 2
    assert "cannot serve the oracle" in capsys.readouterr().err
    assert snapshot(existing_project) == before


def test_foreign_project_is_refused(tmp_path, capsys):
    folder = tmp_path / "deep_sae_random"
    folder.mkdir()
    (folder / "oracle.json").write_text("{}")
    assert main([*TINY_ARGS, "--directory", str(tmp_path)]) == 2
    assert "not made by keras_sparse_ae.tune" in capsys.readouterr().err


def test_dry_run_with_a_small_file(tmp_path, capsys):
    path = tmp_path / "tiny.npy"
    np.save(path, np.random.default_rng(0).random((30, 5)).astype("float32"))
    args = ["--data", str(path), "--directory", str(tmp_path), "--dry-run"]
    args += ["--set", "size_h1=4", "--set", "size_h2=2"]
    assert main(args) == 0
    assert "planned trials: 10" in capsys.readouterr().out
