"""`run_search`: tiny searches with every tuner, divergence, resume, report."""

import json
import os
import signal
import subprocess
import sys
import time
import warnings

import keras
import numpy as np
import pytest
from file_checks import snapshot
from tune_helpers import (
    DIVERGING_RATE,
    TINY_ARGS,
    is_png,
    tensorflow_backend,
    tiny_search,
)

from keras_sparse_ae.layers import ParticipationTrace
from keras_sparse_ae.tune import (
    SearchFailedError,
    load_space_file,
    load_trials,
    read_results_csv,
    resolve_space,
    run_search,
)
from keras_sparse_ae.tune.__main__ import main

#: The diverging learning rate overflows float32 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast")

# === A grid with one diverging configuration ===


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    """Grid over two learning rates, the second diverging (NaN at once)."""
    directory = tmp_path_factory.mktemp("grid")
    lines = []
    result = run_search(
        "deep_sae",
        **tiny_search(
            directory,
            tuner="grid",
            project_name="grid",
            overrides={
                "learning_rate": [0.01, DIVERGING_RATE],
                "alpha_s": 1.0,
                "alpha_p": 100.0,
                "alpha_b": 0.0,
                "sparsity": 0.75,
            },
            progress=lines.append,
        ),
    )
    return result, lines


def test_grid_runs_every_configuration_once(grid_run):
    result, _ = grid_run
    rates = sorted(r["hyperparameters"]["learning_rate"] for r in result.trials)
    assert rates == [0.01, DIVERGING_RATE]
    assert result.planned_trials == 2


def test_diverging_trial_is_failed_and_search_goes_on(grid_run):
    result, lines = grid_run
    by_rate = {r["hyperparameters"]["learning_rate"]: r for r in result.trials}
    good, bad = by_rate[0.01], by_rate[DIVERGING_RATE]
    assert good["status"] == "COMPLETED" and np.isfinite(good["score"])
    assert bad["status"] == "FAILED" and bad["score"] is None
    assert bad["reason"].startswith("Trial diverged: `loss` became nan")
    assert bad["epochs"] == 1  # stopped by TerminateOnNaN in epoch 1
    assert result.best["trial_id"] == good["trial_id"]
    # One progress line per trial, with the elapsed time and an ETA.
    assert len(lines) == 2
    assert lines[0].startswith("trial 1/2 [") and "ETA" in lines[0]
    assert any("FAILED (Trial diverged" in line for line in lines)


def test_report_files(grid_run):
    result, _ = grid_run
    folder = result.project_dir
    for name in ("objective_vs_hyperparameters.png", "best_reconstructions.png"):
        assert is_png(os.path.join(folder, name))
    rows = read_results_csv(os.path.join(folder, "results.csv"))
    assert [r["trial_id"] for r in rows] == ["0", "1"]
    header = list(rows[0])
    assert header[:4] == ["rank", "trial_id", "status", "val_reconstruction"]
    for column in ("seconds", "epochs", "learning_rate", "size_h2", "reason"):
        assert column in header
    by_status = {r["status"]: r for r in rows}
    assert by_status["COMPLETED"]["rank"] == "1"
    assert float(by_status["COMPLETED"]["seconds"]) > 0
    assert "diverged" in by_status["FAILED"]["reason"]
    report = open(os.path.join(folder, "report.md"), encoding="utf-8").read()
    assert "## Best hyperparameters" in report and "## Ranking" in report
    assert "## Failed trials" in report and "Trial diverged" in report
    assert "keras_sparse_ae.build('deep_sae', input_dim=64" in report
    # best_hyperparameters.json is a space file that reproduces the best trial.
    best = load_space_file(os.path.join(folder, "best_hyperparameters.json"))
    assert best["learning_rate"] == 0.01
    assert resolve_space("deep_sae", best)["size_h2"] == (4,)
    settings = json.load(open(os.path.join(folder, "search.json")))
    assert settings["objective"] == "val_reconstruction"


def test_best_model_reloads_with_its_trace(grid_run, heldout_digits):
    result, _ = grid_run
    with warnings.catch_warnings():
        # e.g. "Skipping variable loading for optimizer": a mismatched file.
        warnings.simplefilter("error", UserWarning)
        model = keras.models.load_model(os.path.join(result.project_dir, "best.keras"))
    traces = [
        keras.ops.convert_to_numpy(layer.trace)
        for layer in model.penalty_layers
        if isinstance(layer, ParticipationTrace)
    ]
    assert len(traces) == 3
    # Initialised to 1 - sparsity = 0.25; training moved it.
    assert all(np.abs(t - 0.25).max() > 1e-3 for t in traces)
    metrics = model.evaluate(heldout_digits, return_dict=True, verbose=0)
    assert metrics["reconstruction"] == pytest.approx(result.best["score"], rel=1e-4)


# === Other tuners ===


def test_hyperband_promotes_from_checkpoint(tmp_path):
    result = run_search(
        "deep_sae",
        **tiny_search(
            tmp_path,
            tuner="hyperband",
            epochs=2,
            hyperband_factor=2,
            max_trials=3,
            overrides={"learning_rate": [0.01, 0.003]},
        ),
    )
    assert len(result.trials) == 3
    assert all(r["status"] == "COMPLETED" for r in result.trials)
    first, second, promoted = result.trials
    assert first["hyperparameters"]["tuner/epochs"] == 1
    assert promoted["hyperparameters"]["tuner/epochs"] == 2
    assert promoted["hyperparameters"]["tuner/initial_epoch"] == 1
    assert promoted["hyperparameters"]["tuner/trial_id"] in ("0", "1")
    # The promoted trial continued from its parent's checkpoint: one epoch.
    assert [r["epochs"] for r in result.trials] == [1, 1, 1]


def test_bayesian(tmp_path):
    result = run_search(
        "deep_sae",
        **tiny_search(
            tmp_path,
            tuner="bayesian",
            max_trials=2,
            objective="val_loss",
            overrides={"learning_rate": [0.01, 0.003]},
        ),
    )
    assert [r["status"] for r in result.trials] == ["COMPLETED", "COMPLETED"]
    assert result.best["score"] == pytest.approx(
        min(r["metrics"]["val_loss"] for r in result.trials)
    )


# === Resume ===


def test_resume_after_sigkill_mid_trial(tmp_path):
    """Kill -9 during trial 1, resume with one trial more, then settings."""
    args = [*TINY_ARGS, "--directory", str(tmp_path), "--project-name", "p"]
    args += ["--max-trials", "2", "--quiet"]
    folder = tmp_path / "p"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "keras_sparse_ae.tune", *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
    try:
        deadline = time.monotonic() + 240
        # Trial 1 exists once trial 0 ended; kill while it trains.
        while not (folder / "trial_1" / "trial.json").exists():
            assert process.poll() is None, log.read_text()[-2000:]
            assert time.monotonic() < deadline, "trial 1 never started"
            time.sleep(0.1)
        time.sleep(0.5)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    states = {r["trial_id"]: r["status"] for r in load_trials(folder)}
    assert states["0"] == "COMPLETED"
    first = snapshot(folder / "trial_0")

    # The same settings, one more trial: the cut-off trial 1 runs again,
    # trial 2 is new, trial 0 is left as it was.
    lines = []
    settings = tiny_search(
        tmp_path, project_name="p", max_trials=3, progress=lines.append
    )
    result = run_search("deep_sae", **settings)
    assert lines[0] == f"resuming {folder}: 1 trials already done"
    assert lines[1].startswith("trial 2/3 [1]")
    assert [(r["trial_id"], r["status"]) for r in result.trials] == [
        ("0", "COMPLETED"),
        ("1", "COMPLETED"),
        ("2", "COMPLETED"),
    ]
    assert snapshot(folder / "trial_0") == first
    values = [json.dumps(r["hyperparameters"], sort_keys=True) for r in result.trials]
    assert len(set(values)) == 3

    # Other settings: refused before anything is touched.
    before = snapshot(folder)
    with pytest.raises(ValueError, match="other settings.*epochs: 1 then, 2 now"):
        run_search("deep_sae", **{**settings, "epochs": 2})
    assert snapshot(folder) == before

    # overwrite=True starts afresh, whatever the old settings (here one
    # diverging trial, the quickest to run).
    settings["overrides"]["learning_rate"] = DIVERGING_RATE
    with pytest.raises(SearchFailedError, match="All 1 trials failed"):
        run_search("deep_sae", **{**settings, "max_trials": 1, "overwrite": True})
    trials = load_trials(folder)
    assert [(r["trial_id"], r["status"]) for r in trials] == [("0", "FAILED")]
    assert not (folder / "best.keras").exists()


# === All trials failing ===


def test_all_trials_diverging_exits_non_zero(tmp_path, capsys):
    code = main(
        [
            *TINY_ARGS,
            "--set",
            f"learning_rate={DIVERGING_RATE}",
            "--max-trials",
            "1",
            "--directory",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "error: All 1 trials failed, none produced a score" in err
    assert "Trial diverged" in err and "Lower the learning rates" in err
    report = (tmp_path / "deep_sae_random" / "report.md").read_text()
    assert "## No trial completed" in report
    assert not (tmp_path / "deep_sae_random" / "best.keras").exists()


def _hide_tensorboard(monkeypatch):
    for name in (
        "tensorboard",
        "tensorboard.plugins",
        "tensorboard.plugins.hparams",
        "tensorboard.plugins.hparams.api",
    ):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.skipif(
    not tensorflow_backend(), reason="KerasTuner imports tensorboard on TF only"
)
def test_missing_tensorboard_fails_loudly(tmp_path, monkeypatch, capsys):
    _hide_tensorboard(monkeypatch)
    code = main(
        [*TINY_ARGS, "--max-trials", "2", "--directory", str(tmp_path), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "All 2 trials failed" in err
    assert "No module named 'tensorboard" in err or "import of tensorboard" in err
    assert "pip install tensorboard" in err


@pytest.mark.skipif(
    not tensorflow_backend(), reason="KerasTuner imports tensorboard on TF only"
)
def test_repeated_errors_stop_the_search_resumably(tmp_path, monkeypatch):
    _hide_tensorboard(monkeypatch)
    settings = tiny_search(tmp_path, project_name="p", max_trials=5)
    with pytest.raises(SearchFailedError, match="after 2 trials in a row"):
        run_search("deep_sae", **settings, max_consecutive_errors=2)
    assert [r["status"] for r in load_trials(tmp_path / "p")] == ["FAILED"] * 2
    # The project is consistent: a rerun goes on with trial 2.
    with pytest.raises(SearchFailedError, match="after 1 trials in a row"):
        run_search("deep_sae", **settings, max_consecutive_errors=1)
    assert [r["trial_id"] for r in load_trials(tmp_path / "p")] == ["0", "1", "2"]


# === Memory: finished trials release their graphs ===


def _registry_growth_per_trial(tmp_path, release):
    """Custom gradients left registered after each of 3 tiny trials."""
    import keras_sparse_ae.tune.search as search_module
    from keras_sparse_ae.tune import graph_release

    before = graph_release.registered_custom_gradients()
    growth = []

    def progress(_line):
        growth.append(len(graph_release.registered_custom_gradients() - before))

    with pytest.MonkeyPatch.context() as patch:
        if not release:
            patch.setattr(
                search_module.graph_release,
                "release_custom_gradients",
                lambda keep: 0,
            )
        settings = tiny_search(
            tmp_path, project_name="p", max_trials=3, progress=progress
        )
        run_search("deep_sae", **settings)
    graph_release.release_custom_gradients(before)
    return growth[:3]


@pytest.mark.skipif(not tensorflow_backend(), reason="a TensorFlow registry")
def test_trials_do_not_accumulate_custom_gradients(tmp_path):
    """TensorFlow keeps every traced step's graph alive through its custom
    gradient registry (tensorflow/tensorflow#97697): 11 MB per tiny trial.
    Without the release (the control), the registry grows every trial."""
    assert _registry_growth_per_trial(tmp_path / "fixed", release=True) == [0, 0, 0]
    growth = _registry_growth_per_trial(tmp_path / "control", release=False)
    assert growth[0] > 0 and growth[2] > growth[0]
