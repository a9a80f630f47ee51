"""`run_search`: a KerasTuner search that resumes, survives divergence,
runs distributed and reports.

The search itself is KerasTuner's (`RandomSearch`, `GridSearch`,
`Hyperband`, `BayesianOptimization`); this module checks every input before
a trial runs, adds per-trial bookkeeping to those tuners (seconds, epochs,
a progress line with an ETA, a stop after repeated errors) and writes the
report. `python -m keras_sparse_ae.tune` is a thin wrapper around
`run_search`.
"""

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import socket
import time
import warnings

import keras
import keras_tuner
import numpy as np

from keras_sparse_ae import _validation, io
from keras_sparse_ae.models.registry import check_model_name
from keras_sparse_ae.train import DEFAULT_HOLDOUT, load_data, split_holdout
from keras_sparse_ae.tune import graph_release, report, spaces
from keras_sparse_ae.tune.hypermodels import AutoencoderHyperModel

TUNERS = ("random", "grid", "hyperband", "bayesian")
OBJECTIVES = ("val_reconstruction", "val_loss")
ROLES = ("chief", "worker")

DEFAULT_EPOCHS = 10
DEFAULT_MAX_TRIALS = 10
DEFAULT_DIRECTORY = "tuner_runs"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_ORACLE_TIMEOUT = 120.0
DEFAULT_MAX_CONSECUTIVE_ERRORS = 3
DEFAULT_HYPERBAND_FACTOR = 3

SETTINGS_FILE = "search.json"
RUN_FILE = report.RUN_FILE

#: Settings that must match when a search resumes (`max_trials` may grow).
_RESUME_KEYS = (
    "model",
    "tuner",
    "objective",
    "epochs",
    "seed",
    "holdout",
    "hyperband_factor",
    "space",
    "data_fingerprint",
)
#: Keras' warning when a checkpoint's optimizer variables meet a rebuilt
#: model's unbuilt optimizer (Hyperband's promotions, `get_best_models`):
#: harmless, the weights load.
_OPTIMIZER_WARNING = "Skipping variable loading for optimizer"
_ENV = ("KERASTUNER_TUNER_ID", "KERASTUNER_ORACLE_IP", "KERASTUNER_ORACLE_PORT")


class SearchFailedError(RuntimeError):
    """The search ran, but no trial produced a score (or it was stopped)."""


@dataclasses.dataclass
class SearchResult:
    """What `run_search` did.

    Attributes:
        project_dir: the project folder (`directory/project_name`).
        role: `"local"`, `"chief"` or `"worker"`.
        trials: trial dicts (see `report.load_trials`); on a worker, the
            `run.json` dicts (with `score`) of the trials it ran in this
            call.
        best: the best completed trial's dict, or `None`.
        files: names of the report files written (none on a worker).
        planned_trials: trials the search plans in all (`None` if unknown).
        space: the checked search space.
        seconds: wall time of the call.
    """

    project_dir: str
    role: str
    trials: list
    best: dict | None
    files: list
    planned_trials: int | None
    space: dict
    seconds: float


# === Tuners ===


def _clock(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class _TrackedTuner:
    """Bookkeeping mixed into KerasTuner's tuners.

    Per trial: writes `trial_<id>/run.json` (tuner id, seconds, epochs
    trained, status), prints a progress line with the elapsed time and an
    ETA, clears the Keras session, and stops the search with
    `SearchFailedError` after `max_consecutive_errors` trials in a row
    failed with an error other than a divergence (a broken setup, e.g. a
    missing `tensorboard`). The stop happens after KerasTuner has saved the
    trial, so a rerun resumes cleanly.
    """

    def __init__(
        self,
        *args,
        progress=None,
        planned_trials=None,
        max_consecutive_errors=DEFAULT_MAX_CONSECUTIVE_ERRORS,
        **kwargs,
    ):
        self._progress = progress
        self._planned_trials = planned_trials
        self._max_consecutive_errors = max_consecutive_errors
        self._consecutive_errors = 0
        self._search_start = time.perf_counter()
        self._trial_start = None
        self._gradients_before = graph_release.registered_custom_gradients()
        #: The `run.json` dicts of the trials this tuner ran in this process.
        self.session_records = []
        super().__init__(*args, **kwargs)

    def on_search_begin(self):
        super().on_search_begin()
        self._search_start = time.perf_counter()

    def on_trial_begin(self, trial):
        super().on_trial_begin(trial)
        self._trial_start = time.perf_counter()
        self._gradients_before = graph_release.registered_custom_gradients()
        self.hypermodel.epochs_run = 0

    def on_trial_end(self, trial):
        seconds = time.perf_counter() - (self._trial_start or time.perf_counter())
        # KerasTuner marks a `FailedTrialError` (our divergence) FAILED and
        # any other exception INVALID (FAILED once the oracle gives up).
        errored = trial.status == keras_tuner.engine.trial.TrialStatus.INVALID
        completed = trial.status == keras_tuner.engine.trial.TrialStatus.COMPLETED
        record = {
            "trial_id": trial.trial_id,
            "tuner_id": self.tuner_id,
            "status": "COMPLETED" if completed else "FAILED",
            "error": errored,
            "reason": "" if completed else report.failure_reason(trial.message),
            "seconds": round(seconds, 3),
            "epochs": int(self.hypermodel.epochs_run),
            "hyperparameters": dict(trial.hyperparameters.values),
        }
        trial_dir = self.get_trial_dir(trial.trial_id)
        io.write_json(os.path.join(trial_dir, RUN_FILE), record)
        super().on_trial_end(trial)
        # KerasTuner also clears before each build; this frees the finished
        # trial's graph before the next one is requested (on TensorFlow only
        # once its custom gradients are unregistered, see `graph_release`).
        keras.backend.clear_session(free_memory=False)
        graph_release.release_custom_gradients(self._gradients_before)
        record["score"] = (
            self.oracle.get_trial(trial.trial_id).score if completed else None
        )
        self.session_records.append(record)
        self._print_progress(trial, record)
        self._consecutive_errors = self._consecutive_errors + 1 if errored else 0
        limit = self._max_consecutive_errors
        if limit and self._consecutive_errors >= limit:
            raise SearchFailedError(
                f"Stopped the search after {self._consecutive_errors} trials in a "
                f"row failed with an error (not a divergence); the last: "
                f"{record['reason']}. Fix the cause and rerun the same command "
                "to resume."
            )

    def _print_progress(self, trial, record):
        if self._progress is None:
            return
        objective = self.oracle.objective.name
        elapsed = time.perf_counter() - self._search_start
        if self._is_worker():
            head = f"[{self.tuner_id}] trial {trial.trial_id}"
            total = None
        else:
            done = sum(
                t.status in ("COMPLETED", "FAILED") for t in self.oracle.trials.values()
            )
            total = self._planned_trials
            head = f"trial {done}/{total if total else '?'} [{trial.trial_id}]"
        if record["status"] == "COMPLETED":
            text = f"{head} {objective}={record['score']:.5g}"
        else:
            text = f"{head} FAILED ({record['reason']})"
        best = [t for t in self.oracle.get_best_trials(1) if t.score is not None]
        if best:
            text += f"; best {best[0].score:.5g} [{best[0].trial_id}]"
        text += f"; {record['seconds']:.1f} s; elapsed {_clock(elapsed)}"
        if total:
            mean = elapsed / len(self.session_records)
            text += f", ETA {_clock(mean * max(total - done, 0))}"
        self._progress(text)


_BASES = {
    "random": keras_tuner.RandomSearch,
    "grid": keras_tuner.GridSearch,
    "hyperband": keras_tuner.Hyperband,
    "bayesian": keras_tuner.BayesianOptimization,
}
_TUNER_CLASSES = {
    kind: type(f"Tracked{base.__name__}", (_TrackedTuner, base), {})
    for kind, base in _BASES.items()
}


def hyperband_budget(max_epochs, factor=DEFAULT_HYPERBAND_FACTOR, iterations=1):
    """Trials and epochs of a full Hyperband run (KerasTuner's schedule).

    A trial promoted to a later round continues from its predecessor's
    checkpoint, so it trains only the extra epochs.

    Returns:
        `(trials, epochs)`.

    Example:

    >>> hyperband_budget(9, 3)
    (23, 75)
    """
    oracle = keras_tuner.oracles.HyperbandOracle(
        keras_tuner.Objective("val_loss", "min"), max_epochs=max_epochs, factor=factor
    )
    trials = epochs = 0
    for bracket in range(oracle._get_num_brackets() - 1, -1, -1):
        previous = 0
        for round_num in range(bracket + 1):
            size = oracle._get_size(bracket, round_num)
            until = oracle._get_epochs(bracket, round_num)
            trials += size
            epochs += size * (until - previous)
            previous = until
    return trials * iterations, epochs * iterations


def planned_trials(tuner, space, max_trials, epochs, hyperband_factor):
    """How many trials the search will run (`None` if unbounded)."""
    if tuner == "grid":
        size = spaces.grid_size(space)
        return int(min(size, max_trials or size))
    if tuner == "hyperband":
        trials, _ = hyperband_budget(epochs, hyperband_factor)
        return min(trials, max_trials or trials)
    return max_trials


def make_tuner(
    tuner,
    hypermodel,
    *,
    objective="val_reconstruction",
    max_trials=None,
    epochs=DEFAULT_EPOCHS,
    seed=0,
    directory=DEFAULT_DIRECTORY,
    project_name="search",
    hyperband_factor=DEFAULT_HYPERBAND_FACTOR,
    **tracking,
):
    """Creates the KerasTuner tuner `tuner` with our per-trial bookkeeping.

    The objective is `keras_tuner.Objective(objective, "min")`. KerasTuner's
    own stop after 3 failed trials in a row is disabled (it raises before
    saving the trial, leaving a project that cannot resume); divergences
    never stop the search, and `max_consecutive_errors` (in `tracking`)
    stops it after repeated errors instead. An existing project is resumed.

    Args:
        tuner: one of `TUNERS`.
        hypermodel: a `keras_tuner.HyperModel`.
        objective: `"val_reconstruction"` or `"val_loss"`.
        max_trials: trial budget (`None`: the full grid, or Hyperband's own
            schedule); Hyperband stops early when it is reached.
        epochs: Hyperband's `max_epochs` (others take epochs from `search`).
        seed: int >= 0, seeds the oracle.
        directory, project_name: where KerasTuner keeps the project.
        hyperband_factor: Hyperband's reduction factor.
        **tracking: `progress` (a callable taking a line of text),
            `planned_trials`, `max_consecutive_errors`.
    """
    common = dict(
        hypermodel=hypermodel,
        objective=keras_tuner.Objective(objective, "min"),
        # KerasTuner takes seed 0 for "no seed".
        seed=seed + 1,
        directory=directory,
        project_name=project_name,
        overwrite=False,
        max_retries_per_trial=0,
        max_consecutive_failed_trials=None,
        **tracking,
    )
    cls = _TUNER_CLASSES[tuner]
    if tuner == "hyperband":
        instance = cls(max_epochs=epochs, factor=hyperband_factor, **common)
        if max_trials and not instance._is_worker():
            instance.oracle.max_trials = max_trials
        return instance
    return cls(max_trials=max_trials, **common)


# === Checks ===


def parse_address(text, name="oracle"):
    """`"HOST:PORT"` or `"PORT"` -> `(host, port)`; the host defaults to
    127.0.0.1 (loopback), an IPv6 host is written `[::1]:8000`.

    Example:

    >>> parse_address("8000"), parse_address("0.0.0.0:9001")
    (('127.0.0.1', 8000), ('0.0.0.0', 9001))
    """
    expected = "HOST:PORT or PORT, with PORT an integer in [1, 65535]"
    if not isinstance(text, str):
        raise _validation.invalid_type(name, expected, text)
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host = DEFAULT_HOST
    host = host.strip("[]") or DEFAULT_HOST
    try:
        number = int(port)
    except ValueError:
        raise _validation.invalid_value(name, expected, text) from None
    if not 1 <= number <= 65535:
        raise _validation.invalid_value(name, expected, text)
    return host, number


def _check_name(project_name):
    expected = "a non-empty folder name (no path separators, not '.' or '..')"
    if not isinstance(project_name, str):
        raise _validation.invalid_type("project_name", expected, project_name)
    bad = project_name in ("", ".", "..") or any(
        sep and sep in project_name for sep in (os.sep, os.altsep)
    )
    if bad:
        raise _validation.invalid_value("project_name", expected, project_name)
    return project_name


def _resolve_role(distributed, oracle, worker_id):
    """`(role, host, port, tuner_id)`; role `"local"` when not distributed.

    Without `distributed`, KerasTuner's own environment variables are
    honoured (`KERASTUNER_TUNER_ID` containing "chief" is the chief).
    """
    if distributed is None and "KERASTUNER_ORACLE_IP" in os.environ:
        tuner_id = os.environ.get("KERASTUNER_TUNER_ID", "")
        distributed = "chief" if "chief" in tuner_id else "worker"
        worker_id = worker_id or tuner_id or None
        if oracle is None:
            port = os.environ.get("KERASTUNER_ORACLE_PORT", str(DEFAULT_PORT))
            oracle = f"{os.environ['KERASTUNER_ORACLE_IP']}:{port}"
    if distributed is None:
        if oracle is not None:
            raise ValueError(
                "Invalid value for argument `oracle`. Expected None unless "
                f"distributed is 'chief' or 'worker'. Received: oracle={oracle!r}"
            )
        if worker_id is not None:
            raise ValueError(
                "Invalid value for argument `worker_id`. Expected None unless "
                f"distributed='worker'. Received: worker_id={worker_id!r}"
            )
        return "local", None, None, None
    _validation.check_choice("distributed", distributed, ROLES)
    host, port = parse_address(oracle or f"{DEFAULT_HOST}:{DEFAULT_PORT}")
    if distributed == "chief":
        return "chief", host, port, "chief"
    if worker_id is None:
        worker_id = f"tuner{os.getpid()}"
    if not isinstance(worker_id, str) or not worker_id or "chief" in worker_id:
        raise ValueError(
            "Invalid value for argument `worker_id`. Expected a non-empty "
            "string without 'chief' (KerasTuner takes any id containing "
            f"'chief' for the chief). Received: worker_id={worker_id!r}"
        )
    return "worker", host, port, worker_id


def _check_port_free(host, port):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            pass
    except OSError as error:
        raise OSError(
            f"The chief cannot serve the oracle on {host}:{port}: {error}. "
            "Pick another port with --oracle HOST:PORT."
        ) from None


def _wait_for_oracle(host, port, timeout):
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise ConnectionError(
            f"Could not reach the chief's oracle at {host}:{port} within "
            f"{timeout:g} s. Start the chief first (--distributed chief "
            "--oracle HOST:PORT, same --directory and --project-name), or "
            "check the address and --oracle-timeout."
        ) from None
    finally:
        channel.close()


@contextlib.contextmanager
def _kerastuner_env(role, host, port, tuner_id):
    """Sets KerasTuner's distribution variables for `role`, restores after."""
    saved = {name: os.environ.get(name) for name in _ENV}
    try:
        for name in _ENV:
            os.environ.pop(name, None)
        if role in ROLES:
            os.environ["KERASTUNER_TUNER_ID"] = tuner_id
            os.environ["KERASTUNER_ORACLE_IP"] = host
            os.environ["KERASTUNER_ORACLE_PORT"] = str(port)
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _fingerprint(x):
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest()
    return f"{x.shape[0]}x{x.shape[1]} {x.dtype} sha256:{digest[:16]}"


def _read_settings(project_dir):
    path = os.path.join(project_dir, SETTINGS_FILE)
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _check_resume(project_dir, settings, role):
    """Errors if `project_dir` holds a different search; returns whether it
    holds this one (a resume)."""
    previous = _read_settings(project_dir)
    if previous is None:
        kerastuner_files = os.path.isdir(project_dir) and any(
            name == "oracle.json" or name.startswith("trial_")
            for name in os.listdir(project_dir)
        )
        if kerastuner_files:
            raise ValueError(
                f"The project folder {project_dir!r} holds a KerasTuner "
                f"project without {SETTINGS_FILE}; it was not made by "
                "keras_sparse_ae.tune. Use another --project-name or --overwrite."
            )
        if role == "worker":
            raise ValueError(
                f"The chief's project {project_dir!r} has no {SETTINGS_FILE}. "
                "A worker needs the chief's --directory (shared) and "
                "--project-name."
            )
        return False
    changed = [k for k in _RESUME_KEYS if previous.get(k) != settings.get(k)]
    if changed:
        details = "; ".join(
            f"{k}: {previous.get(k)!r} then, {settings.get(k)!r} now" for k in changed
        )
        who = "The chief's search" if role == "worker" else "The existing search"
        raise ValueError(
            f"{who} in {project_dir!r} was made with other settings ({details}). "
            "Rerun with the same settings to resume, or use another "
            "--project-name, or --overwrite to start afresh."
        )
    return True


def _check_arguments(model, tuner, max_trials, epochs, seed, objective, factor, limit):
    check_model_name(model)
    _validation.check_choice("tuner", tuner, TUNERS)
    if max_trials is not None:
        _validation.check_int("max_trials", max_trials)
    _validation.check_int("epochs", epochs)
    _validation.check_int("seed", seed, low=0)
    _validation.check_choice("objective", objective, OBJECTIVES)
    _validation.check_int("hyperband_factor", factor, low=2)
    if limit is not None:
        _validation.check_int("max_consecutive_errors", limit, low=0)


def _preflight(hypermodel):
    """Builds the space's first configuration, so a builder error surfaces
    before any trial or file is written."""
    try:
        hypermodel.build(keras_tuner.HyperParameters())
    except (TypeError, ValueError) as error:
        raise type(error)(
            f"The first configuration of the search space of "
            f"{hypermodel.model_name!r} cannot be built: {error}"
        ) from None
    finally:
        keras.backend.clear_session(free_memory=False)


# === The search ===


def run_search(
    model="deep_sae",
    *,
    tuner="random",
    max_trials=None,
    epochs=DEFAULT_EPOCHS,
    data="mnist5k",
    directory=DEFAULT_DIRECTORY,
    project_name=None,
    seed=0,
    space="default",
    space_file=None,
    overrides=None,
    objective="val_reconstruction",
    holdout=DEFAULT_HOLDOUT,
    overwrite=False,
    hyperband_factor=DEFAULT_HYPERBAND_FACTOR,
    max_consecutive_errors=DEFAULT_MAX_CONSECUTIVE_ERRORS,
    distributed=None,
    oracle=None,
    worker_id=None,
    oracle_timeout=DEFAULT_ORACLE_TIMEOUT,
    progress=print,
    dry_run=False,
):
    """Runs (or resumes) a KerasTuner search over a zoo model's hyperparameters.

    Minimises the held-out `objective` (`"val_reconstruction"` or
    `"val_loss"`, the total with penalties) of `model` trained on `data`
    minus a seeded held-out share. Every argument, the space, the data, the
    first configuration's build and (distributed) the oracle address are
    checked before any trial runs or any file is touched; a bad one raises
    `ValueError`, `TypeError` or `OSError` and existing results stay as they
    were.

    A trial that diverges is stopped (`TerminateOnNaN`), recorded as failed
    and the search goes on. Rerunning the same call resumes the project:
    completed trials are kept, a trial cut off mid-way (even by SIGKILL) is
    run again; `overwrite=True` starts afresh. With `distributed="chief"`
    this process serves KerasTuner's oracle on `oracle` (default
    127.0.0.1:8000) and blocks until the workers
    (`distributed="worker"`, same `directory` and `project_name`) have run
    every trial, then reports.

    The chief, or a single process, writes to `directory/project_name`:
    `results.csv`, `report.md`, `objective_vs_hyperparameters.png`,
    `best_hyperparameters.json`, `best.keras` and `best_reconstructions.png`
    (see `report.write_report`), plus KerasTuner's own files and
    `search.json` (the settings a resume must match).

    Args:
        model: a model name from `keras_sparse_ae.models.list_models()`.
        tuner: `"random"`, `"grid"`, `"hyperband"` or `"bayesian"`.
        max_trials: int >= 1; defaults to 10 for random and Bayesian search,
            the whole grid for grid search and Hyperband's own schedule.
        epochs: int >= 1, epochs per trial (Hyperband: the most a trial gets).
        data: `"mnist5k"`, `"digits"` or an array file (see
            `keras_sparse_ae.train.load_data`).
        directory: folder of the projects.
        project_name: the project's folder name; default `"<model>_<tuner>"`.
        seed: int >= 0; seeds the split, every trial's weights and
            shuffling, and the tuner.
        space: `"default"`, `"seed000"` (lesson 000's grid, `deep_sae`) or a
            mapping (see `spaces.resolve_space`).
        space_file: optional JSON space file applied over `space`.
        overrides: optional `{name: value or values}` applied last (the
            CLI's `--set`).
        objective: `"val_reconstruction"` or `"val_loss"`.
        holdout: share of the data held out for the objective, in (0, 1).
        overwrite: delete the project first (never done by a worker).
        hyperband_factor: int >= 2, Hyperband's reduction factor.
        max_consecutive_errors: stop after this many trials in a row fail
            with an error other than a divergence (0 or `None`: never).
        distributed: `None`, `"chief"` or `"worker"`.
        oracle: `"HOST:PORT"` of the chief's oracle (chief: where to bind).
        worker_id: a worker's KerasTuner id (default `tuner<pid>`).
        oracle_timeout: seconds a worker waits for the chief's oracle.
        progress: callable receiving one line per trial (`None`: silent).
        dry_run: check everything, write nothing, run no trial.

    Returns:
        A `SearchResult`.

    Raises:
        ValueError, TypeError, OSError: bad input, before any trial.
        SearchFailedError: no trial produced a score (the report is still
            written and says why), or repeated errors stopped the search.
    """
    start = time.perf_counter()
    if project_name is None and isinstance(model, str) and isinstance(tuner, str):
        project_name = f"{model}_{tuner}"
    _check_arguments(
        model,
        tuner,
        max_trials,
        epochs,
        seed,
        objective,
        hyperband_factor,
        max_consecutive_errors,
    )
    _check_name(project_name)
    if not isinstance(directory, (str, os.PathLike)):
        raise _validation.invalid_type("directory", "a folder path", directory)
    oracle_timeout = _validation.check_float(
        "oracle_timeout", oracle_timeout, 0.0, low_open=True
    )
    role, host, port, tuner_id = _resolve_role(distributed, oracle, worker_id)
    space = spaces.resolve_space(model, space, space_file, overrides)
    if tuner == "grid" and not spaces.is_gridable(space):
        raise ValueError(
            "Invalid value for argument `space`. Expected only lists of values "
            "or ranges with a step for tuner='grid'. Received: a range "
            "without a step"
        )
    if tuner in ("random", "bayesian") and max_trials is None:
        max_trials = DEFAULT_MAX_TRIALS

    x, _ = load_data(data)
    x_train, x_val = split_holdout(x, holdout, seed)
    hypermodel = AutoencoderHyperModel(model, x.shape[1], space, seed=seed)
    _preflight(hypermodel)
    planned = planned_trials(tuner, space, max_trials, epochs, hyperband_factor)
    project_dir = os.path.join(os.fspath(directory), project_name)
    settings = {
        "project_name": project_name,
        "model": model,
        "tuner": tuner,
        "objective": objective,
        "epochs": epochs,
        "max_trials": max_trials,
        "seed": seed,
        "holdout": holdout,
        "hyperband_factor": hyperband_factor if tuner == "hyperband" else None,
        "space": spaces.space_to_json(space),
        "tuned": spaces.tuned_names(space),
        "data": {
            "source": os.fspath(data),
            "train": int(len(x_train)),
            "heldout": int(len(x_val)),
            "features": int(x.shape[1]),
        },
        "data_fingerprint": _fingerprint(x),
        "keras_backend": keras.backend.backend(),
    }
    if dry_run:
        return SearchResult(
            project_dir, role, [], None, [], planned, space, time.perf_counter() - start
        )

    if role == "chief":
        _check_port_free(host, port)
    if role == "worker":
        _wait_for_oracle(host, port, oracle_timeout)
        _check_resume(project_dir, settings, role)
    else:
        if not overwrite:
            _check_resume(project_dir, settings, role)
        elif os.path.isdir(project_dir):
            shutil.rmtree(project_dir)
        io.write_json(os.path.join(project_dir, SETTINGS_FILE), settings)

    with _kerastuner_env(role, host, port, tuner_id):
        instance = make_tuner(
            tuner,
            hypermodel,
            objective=objective,
            # The planned count for grid and Hyperband, their natural end,
            # also pads KerasTuner's trial ids to its width.
            max_trials=planned,
            epochs=epochs,
            seed=seed,
            directory=os.fspath(directory),
            project_name=project_name,
            hyperband_factor=hyperband_factor,
            progress=progress,
            planned_trials=planned,
            max_consecutive_errors=max_consecutive_errors,
        )
        if progress is not None and role != "worker":
            resumed = sum(
                t.status in ("COMPLETED", "FAILED")
                for t in instance.oracle.trials.values()
            )
            if resumed:
                progress(f"resuming {project_dir}: {resumed} trials already done")
        if progress is not None and role == "chief":
            progress(f"chief: serving the oracle on {host}:{port}")
        stopped = None
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", _OPTIMIZER_WARNING)
                instance.search(
                    x_train, validation_data=x_val, epochs=epochs, verbose=0
                )
        except SearchFailedError as error:
            stopped = error
        if role == "worker":
            if stopped is not None:
                raise stopped
            records = list(instance.session_records)
            return SearchResult(
                project_dir,
                role,
                records,
                None,
                [],
                planned,
                space,
                time.perf_counter() - start,
            )
        records = report.load_trials(project_dir)
        best = report.ranked(records)
        notes = []
        best_model = None
        if best:
            try:
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", _OPTIMIZER_WARNING)
                    best_model = instance.get_best_models(1)[0]
            except Exception as error:  # the report matters more than the model
                notes.append(f"The best model could not be reloaded: {error}")
        if stopped is not None:
            notes.append(str(stopped))
        records, files = report.write_report(
            project_dir, settings, best_model=best_model, x_heldout=x_val, notes=notes
        )
    if stopped is not None:
        raise stopped
    if not best:
        raise SearchFailedError(
            f"All {len(records)} trials failed, none produced a score: "
            f"{report.summarize_failures(records)}."
            + _hint(records)
            + f" See {os.path.join(project_dir, report.REPORT_FILE)}."
        )
    return SearchResult(
        project_dir,
        role,
        records,
        best[0],
        files,
        planned,
        space,
        time.perf_counter() - start,
    )


def _hint(records):
    reasons = " ".join(r["reason"] for r in records)
    if "tensorboard" in reasons:
        return (
            " KerasTuner imports tensorboard for every trial on the TensorFlow "
            "backend and TensorFlow 2.21 no longer installs it: pip install "
            "tensorboard."
        )
    if "diverged" in reasons:
        return " Lower the learning rates or penalty weights of the space."
    return ""
