"""Report pieces on made-up trials: ranking, failures, CSV, plot."""

import pytest

from keras_sparse_ae.tune import read_results_csv
from keras_sparse_ae.tune.report import (
    TABLE_ROWS,
    failure_reason,
    format_report,
    plot_objective,
    ranked,
    summarize_failures,
    write_results_csv,
)

SETTINGS = {
    "project_name": "p",
    "model": "deep_sae",
    "tuner": "grid",
    "objective": "val_reconstruction",
    "epochs": 3,
    "seed": 0,
    "tuned": ["learning_rate", "optimizer"],
    "data": {"source": "digits", "train": 8, "heldout": 2, "features": 64},
}


def _record(i, score, **extra):
    record = {
        "trial_id": str(i),
        "status": "COMPLETED" if score is not None else "FAILED",
        "score": score,
        "metrics": {} if score is None else {"val_loss": score + 1.0},
        "best_step": 0,
        "hyperparameters": {
            "learning_rate": 10.0 ** -(i % 4),
            "optimizer": "adam" if i % 2 else "sgd",
            "size_h2": 30,
        },
        "reason": "" if score is not None else "Trial diverged: `loss` became nan",
        "seconds": 1.5,
        "epochs": 3,
        "tuner_id": "tuner0",
    }
    record.update(extra)
    return record


@pytest.fixture
def records():
    scores = [0.5, None, 0.2, 0.3, None]
    return [_record(i, s) for i, s in enumerate(scores)]


def test_ranked_and_failures(records):
    assert [r["trial_id"] for r in ranked(records)] == ["2", "3", "0"]
    assert summarize_failures(records) == "2 trials: Trial diverged: `loss` became nan"


def test_failure_reason_strips_module_paths():
    last = "ModuleNotFoundError: No module named 'tensorboard'"
    assert failure_reason(f"Traceback...\n  File x\n{last}\n") == last
    assert failure_reason(None) == "unknown error"


def test_results_csv(tmp_path, records):
    path = tmp_path / "results.csv"
    write_results_csv(path, records, "val_reconstruction")
    rows = read_results_csv(path)
    assert [r["rank"] for r in rows] == ["3", "", "1", "2", ""]
    assert rows[1]["status"] == "FAILED" and "diverged" in rows[1]["reason"]
    assert rows[2]["val_loss"] == "1.2" and rows[2]["optimizer"] == "sgd"
    assert list(rows[0])[-1] == "reason"


def test_report_text(records):
    text = format_report(records, SETTINGS, files=["results.csv", "a.png"])
    assert "Trial `2`: val_reconstruction = 0.2." in text
    assert "- trials: 5 (3 completed, 2 failed); 15 epochs" in text
    assert "| 1 | 2 | 0.2 |" in text
    assert "## Failed trials" in text and "![a.png](a.png)" in text
    assert (
        "keras_sparse_ae.build('deep_sae', input_dim=64, learning_rate=0.01, "
        "optimizer='sgd', hidden=(30,), seed=0)"
    ) in text


def test_report_caps_long_tables():
    many = [_record(i, 1.0 / (i + 1)) for i in range(TABLE_ROWS + 5)]
    text = format_report(many, SETTINGS)
    assert f"The best {TABLE_ROWS} of {TABLE_ROWS + 5}" in text
    assert text.count("\n| ") == TABLE_ROWS + 1  # header + rows


def test_all_failed_report(records):
    failed = [r for r in records if r["score"] is None]
    text = format_report(failed, SETTINGS)
    assert "## No trial completed" in text and "2 trials: Trial diverged" in text


def test_objective_plot_panels(records):
    names = ["learning_rate", "optimizer"]
    figure = plot_objective(records, "val_reconstruction", names)
    axes = [ax for ax in figure.axes if ax.get_xlabel()]
    assert [ax.get_xlabel() for ax in axes] == ["trial", "learning_rate", "optimizer"]
    assert axes[1].get_xscale() == "log"  # 1e-3 .. 1: more than a factor 20
    assert [t.get_text() for t in axes[2].get_xticklabels()] == ["adam", "sgd"]
    assert "2 failed" in figure._suptitle.get_text()
