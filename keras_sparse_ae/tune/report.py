"""The report of a search: results table, ranked Markdown, plots, best model.

Everything is read back from the project folder KerasTuner writes
(`trial_*/trial.json`) plus the `run.json` our tuners add to each trial
folder (seconds, epochs, tuner id), so a report can be rebuilt from a
finished or interrupted search. Every file is written atomically
(`keras_sparse_ae.io`).
"""

import csv
import glob
import json
import math
import os

import numpy as np
from keras_tuner.engine.trial import Trial
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from keras_sparse_ae import io, plotting

RESULTS_FILE = "results.csv"
REPORT_FILE = "report.md"
OBJECTIVE_PLOT = "objective_vs_hyperparameters.png"
RECONSTRUCTIONS_PLOT = "best_reconstructions.png"
BEST_MODEL = "best.keras"
BEST_HYPERPARAMETERS = "best_hyperparameters.json"
RUN_FILE = "run.json"

#: Rows of the ranking and failure tables in `report.md` (all trials are
#: in `results.csv`).
TABLE_ROWS = 50

#: Metrics reported beside the objective when the trials have them.
METRICS = ("val_reconstruction", "val_loss", "reconstruction", "loss")


# === Reading trials ===


def failure_reason(message):
    """The last line of a failed trial's traceback, without module paths.

    Example:

    >>> failure_reason("Traceback ...\\nkeras_tuner.src.errors.FailedTrialError: "
    ...                "Trial diverged: `loss` became nan in epoch 1.\\n")
    'Trial diverged: `loss` became nan in epoch 1.'
    """
    lines = [line.strip() for line in str(message or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "unknown error"
    last = lines[-1]
    name, sep, text = last.partition(": ")
    if sep and "." in name and " " not in name:
        name = name.rsplit(".", 1)[1]
    if name == "FailedTrialError":
        return text
    return f"{name}{sep}{text}"


def _sort_key(trial_id):
    return (0, int(trial_id), "") if str(trial_id).isdigit() else (1, 0, str(trial_id))


def load_trials(project_dir):
    """Every trial of a project, as dicts sorted by trial id.

    Each dict has `trial_id`, `status` (`"COMPLETED"`, `"FAILED"`, or
    `"RUNNING"`/`"INVALID"` for a trial cut off or waiting for a retry),
    `score` (the objective at the best epoch, `None` unless completed),
    `metrics` (`{name: value}` at the best epoch), `best_step`,
    `hyperparameters` (`{name: value}`), `reason` (why it failed),
    `seconds`, `epochs` (epochs trained by this trial) and `tuner_id`.
    """
    records = []
    pattern = os.path.join(glob.escape(os.fspath(project_dir)), "trial_*", "trial.json")
    for path in glob.glob(pattern):
        trial = Trial.load(path)
        metrics = {}
        for name in trial.metrics.metrics:
            value = trial.metrics.get_last_value(name)
            if value is not None:
                metrics[name] = float(value)
        run = {}
        run_path = os.path.join(os.path.dirname(path), RUN_FILE)
        if os.path.isfile(run_path):
            with open(run_path, encoding="utf-8") as f:
                run = json.load(f)
        status = trial.status
        records.append(
            {
                "trial_id": trial.trial_id,
                "status": status,
                "score": (
                    float(trial.score)
                    if status == "COMPLETED" and trial.score is not None
                    else None
                ),
                "metrics": metrics,
                "best_step": trial.best_step,
                "hyperparameters": dict(trial.hyperparameters.values),
                "reason": failure_reason(trial.message) if status == "FAILED" else "",
                "seconds": run.get("seconds"),
                "epochs": run.get("epochs"),
                "tuner_id": run.get("tuner_id", ""),
            }
        )
    return sorted(records, key=lambda r: _sort_key(r["trial_id"]))


def ranked(records):
    """The completed trials with a score, best (lowest) first."""
    done = [r for r in records if r["score"] is not None]
    return sorted(done, key=lambda r: (r["score"], _sort_key(r["trial_id"])))


def hyperparameter_names(records):
    """Hyperparameter names in first-seen order, KerasTuner's `tuner/` last."""
    names = []
    for record in records:
        for name in record["hyperparameters"]:
            if name not in names:
                names.append(name)
    own = [n for n in names if not n.startswith("tuner/")]
    return own + [n for n in names if n.startswith("tuner/")]


def summarize_failures(records):
    """`"3 trials: <reason>; 1 trial: <reason>"`, most frequent reason first."""
    counts = {}
    for record in records:
        if record["status"] != "COMPLETED" or record["score"] is None:
            reason = record["reason"] or f"status {record['status']}"
            counts[reason] = counts.get(reason, 0) + 1
    parts = sorted(counts.items(), key=lambda item: -item[1])
    return "; ".join(
        f"{n} trial{'s' if n > 1 else ''}: {reason}" for reason, n in parts
    )


# === Files ===


def _format(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def write_results_csv(path, records, objective):
    """Writes one row per trial: rank, id, status, objective, metrics,
    seconds, epochs, tuner id, every hyperparameter and the failure reason."""
    ranks = {r["trial_id"]: i + 1 for i, r in enumerate(ranked(records))}
    names = hyperparameter_names(records)
    metrics = [m for m in METRICS if m != objective]
    metrics = [m for m in metrics if any(m in r["metrics"] for r in records)]
    header = ["rank", "trial_id", "status", objective, *metrics]
    header += ["seconds", "epochs", "tuner_id", *names, "reason"]
    with io.atomic_path(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            for r in records:
                row = [ranks.get(r["trial_id"], ""), r["trial_id"], r["status"]]
                row.append(_format(r["score"]))
                row += [_format(r["metrics"].get(m)) for m in metrics]
                row += [_format(r["seconds"]), _format(r["epochs"]), r["tuner_id"]]
                row += [_format(r["hyperparameters"].get(n)) for n in names]
                row.append(r["reason"])
                writer.writerow(row)


def read_results_csv(path):
    """Reads `results.csv` back as a list of dicts of strings."""
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _new_figure(width, height):
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _scatter(ax, xs, scores, best):
    ax.plot(xs, scores, "o", color="tab:blue", alpha=0.7)
    if best is not None:
        ax.plot(xs[best], scores[best], "*", color="tab:red", markersize=12)


def plot_objective(records, objective, names):
    """Objective of every completed trial against the trial number and
    against each hyperparameter in `names` (one panel each).

    Numeric hyperparameters spanning more than a factor 20 get a log axis;
    strings get a categorical axis; the best trial is a red star. Failed
    trials are left out (their count is in the title).
    """
    done = [r for r in records if r["score"] is not None]
    panels = ["trial", *names]
    cols = min(3, len(panels))
    rows = math.ceil(len(panels) / cols)
    figure = _new_figure(3.6 * cols, 2.8 * rows + 0.4)
    axes = figure.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[len(panels) :]:
        ax.axis("off")
    scores = np.array([r["score"] for r in done], dtype=float)
    best = int(np.argmin(scores)) if len(scores) else None
    for ax, name in zip(axes, panels):
        ax.set_ylabel(objective)
        ax.set_xlabel(name)
        if name == "trial":
            xs = np.array([_sort_key(r["trial_id"])[1] for r in done], dtype=float)
            _scatter(ax, xs, scores, best)
            continue
        values = [r["hyperparameters"].get(name) for r in done]
        if values and all(isinstance(v, str) for v in values):
            categories = sorted(set(values))
            xs = np.array([categories.index(v) for v in values], dtype=float)
            ax.set_xticks(range(len(categories)), categories)
        else:
            xs = np.array([np.nan if v is None else float(v) for v in values])
            positive = xs[np.isfinite(xs) & (xs > 0)]
            if len(positive) == len(xs) and len(xs) and xs.max() > 20 * xs.min():
                ax.set_xscale("log")
        _scatter(ax, xs, scores, best)
    failed = len(records) - len(done)
    figure.suptitle(
        f"{objective} of {len(done)} completed trials"
        + (f" ({failed} failed, not shown)" if failed else "")
    )
    return figure


def _tuned_names(records, settings):
    """The tuned hyperparameters that the trials have values for."""
    return [
        n for n in settings["tuned"] if any(n in r["hyperparameters"] for r in records)
    ]


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [str(c).replace("|", "\\|") for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def best_hyperparameters(record):
    """The best trial's own hyperparameters (KerasTuner's `tuner/` left out)."""
    return {
        k: v for k, v in record["hyperparameters"].items() if not k.startswith("tuner/")
    }


def build_call(model, input_dim, values, seed):
    """The `keras_sparse_ae.build(...)` call that rebuilds a configuration."""
    from keras_sparse_ae.tune.spaces import builder_arguments

    kwargs = builder_arguments(values)
    args = [repr(model), f"input_dim={input_dim}"]
    args += [f"{k}={v!r}" for k, v in kwargs.items()]
    if seed is not None:
        args.append(f"seed={seed}")
    return f"keras_sparse_ae.build({', '.join(args)})"


def format_report(records, settings, *, files=(), notes=()):
    """The Markdown text of `report.md`."""
    objective = settings["objective"]
    best = ranked(records)
    failed = [r for r in records if r["status"] == "FAILED"]
    other = [r for r in records if r["status"] not in ("COMPLETED", "FAILED")]
    seconds = sum(r["seconds"] or 0.0 for r in records)
    epochs = sum(r["epochs"] or 0 for r in records)
    lines = [
        f"# Search `{settings['project_name']}`",
        "",
        f"- model: `{settings['model']}`, tuner: `{settings['tuner']}`, "
        f"objective: `{objective}` (min)",
        f"- data: `{settings['data']['source']}` "
        f"({settings['data']['train']} training, "
        f"{settings['data']['heldout']} held-out samples of "
        f"{settings['data']['features']} features), seed {settings['seed']}",
        f"- epochs per trial: {settings['epochs']}"
        + (" (Hyperband's maximum)" if settings["tuner"] == "hyperband" else ""),
        f"- trials: {len(records)} ({len(best)} completed, {len(failed)} failed"
        + (f", {len(other)} unfinished" if other else "")
        + f"); {epochs} epochs and {seconds:.1f} s of training in all",
        "",
    ]
    lines += [f"> {note}" for note in notes]
    if notes:
        lines.append("")
    names = _tuned_names(records, settings)
    if best:
        top = best[0]
        values = best_hyperparameters(top)
        lines += [
            "## Best hyperparameters",
            "",
            f"Trial `{top['trial_id']}`: {objective} = {top['score']:.6g}.",
            "",
        ]
        lines += [f"- `{k}` = `{v!r}`" for k, v in values.items()]
        lines += [
            "",
            "Rebuild it with",
            "",
            "```python",
            build_call(
                settings["model"],
                settings["data"]["features"],
                values,
                settings["seed"],
            ),
            "```",
            "",
            f"and train it in batches of {values.get('batch_size', 32)}.",
            "",
            "## Ranking",
            "",
        ]
        header = ["rank", "trial", objective, "seconds", "epochs", *names]
        rows = [
            [
                i + 1,
                r["trial_id"],
                f"{r['score']:.6g}",
                _format(r["seconds"]),
                _format(r["epochs"]),
                *[_format(r["hyperparameters"].get(n)) for n in names],
            ]
            for i, r in enumerate(best[:TABLE_ROWS])
        ]
        lines += [_markdown_table(header, rows), ""]
        if len(best) > TABLE_ROWS:
            more = f"The best {TABLE_ROWS} of {len(best)}; all in `results.csv`."
            lines += [more, ""]
    else:
        lines += [
            "## No trial completed",
            "",
            f"Every trial failed: {summarize_failures(records)}.",
            "",
        ]
    if failed:
        lines += ["## Failed trials", "", summarize_failures(failed) + ".", ""]
        header = ["trial", "reason", "seconds", *names]
        rows = [
            [
                r["trial_id"],
                r["reason"],
                _format(r["seconds"]),
                *[_format(r["hyperparameters"].get(n)) for n in names],
            ]
            for r in failed[:TABLE_ROWS]
        ]
        lines += [_markdown_table(header, rows), ""]
        if len(failed) > TABLE_ROWS:
            lines += [f"The first {TABLE_ROWS}; all in `results.csv`.", ""]
    if other:
        lines += [
            "## Unfinished trials",
            "",
            "Cut off (or waiting for a retry); rerun the same command to "
            "finish them: " + ", ".join(f"`{r['trial_id']}`" for r in other),
            "",
        ]
    pictures = [f for f in files if f.endswith(".png")]
    if pictures:
        lines += ["## Plots", ""]
        lines += [f"![{f}]({f})" for f in pictures]
        lines.append("")
    listed = [f for f in files if not f.endswith(".png")]
    if listed:
        lines += ["Files: " + ", ".join(f"`{f}`" for f in listed), ""]
    return "\n".join(lines)


def write_report(project_dir, settings, *, best_model=None, x_heldout=None, notes=()):
    """Writes the report files of a search to `project_dir`.

    Writes `results.csv` (every trial), `objective_vs_hyperparameters.png`,
    and when a trial completed `best_hyperparameters.json` (a valid space
    file), then with `best_model` `best.keras` and, with `x_heldout`,
    `best_reconstructions.png`; `report.md` last. All atomically.

    Args:
        project_dir: the KerasTuner project folder.
        settings: the search settings (`search.json`'s content).
        best_model: the best trial's model, or `None`.
        x_heldout: held-out samples for the reconstructions figure.
        notes: lines quoted at the top of the report.

    Returns:
        `(records, files)`: the trials as `load_trials` reads them and the
        names of the files written.
    """
    records = load_trials(project_dir)
    objective = settings["objective"]
    files = [RESULTS_FILE]
    write_results_csv(os.path.join(project_dir, RESULTS_FILE), records, objective)
    names = _tuned_names(records, settings)
    if settings["tuner"] == "hyperband":
        names.append("tuner/epochs")
    figure = plot_objective(records, objective, names)
    io.save_figure(figure, os.path.join(project_dir, OBJECTIVE_PLOT))
    files.append(OBJECTIVE_PLOT)
    best = ranked(records)
    if best:
        io.write_json(
            os.path.join(project_dir, BEST_HYPERPARAMETERS),
            best_hyperparameters(best[0]),
        )
        files.append(BEST_HYPERPARAMETERS)
    if best_model is not None:
        optimizer = getattr(best_model, "optimizer", None)
        if optimizer is not None and not optimizer.built:
            # A model rebuilt from a checkpoint has an unbuilt optimizer;
            # built, `load_model` finds the variables it expects (no warning).
            optimizer.build(best_model.trainable_variables)
        io.save_model(best_model, os.path.join(project_dir, BEST_MODEL))
        files.append(BEST_MODEL)
        if x_heldout is not None:
            sample = np.asarray(x_heldout[:10])
            figure = plotting.plot_reconstructions(
                sample, best_model.predict(sample, verbose=0)
            )
            io.save_figure(figure, os.path.join(project_dir, RECONSTRUCTIONS_PLOT))
            files.append(RECONSTRUCTIONS_PLOT)
    text = format_report(records, settings, files=files, notes=notes)
    with io.atomic_path(os.path.join(project_dir, REPORT_FILE), suffix=".md") as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    files.append(REPORT_FILE)
    return records, files
