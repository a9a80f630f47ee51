"""Helpers shared by the timing and memory benchmarks in `bench/`.

Not part of the library: the machine description, an epoch timer, the
interleaved measuring loop, Markdown tables and the JSON output that
`overhead.py`, `gpu.py` and `tune_memory.py` share. Importing it imports
Keras, so set `KERAS_BACKEND` first.
"""

import os
import platform
import statistics
import sys
import tempfile
import time

import keras
import numpy as np

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


# === The machine ===


def load_average():
    """The 1, 5 and 15 minute load averages from /proc/loadavg (or `None`)."""
    try:
        with open("/proc/loadavg", encoding="ascii") as f:
            return [float(v) for v in f.read().split()[:3]]
    except (OSError, ValueError):
        return None


def machine_info():
    """CPU count, processor, backend and versions, as a dict."""
    info = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "cpus": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0))
        if hasattr(os, "sched_getaffinity")
        else None,
        "processor": platform.processor() or platform.machine(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "keras": keras.__version__,
        "backend": keras.backend.backend(),
        "load_average_start": load_average(),
    }
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    elif backend == "jax":
        import jax

        info["jax"] = jax.__version__
        info["devices"] = [str(d) for d in jax.devices()]
    elif backend == "torch":
        import torch

        info["torch"] = torch.__version__
    return info


def describe(info):
    """One Markdown paragraph describing `machine_info()`'s dict."""
    versions = ", ".join(
        f"{name} {info[name]}"
        for name in ("keras", "tensorflow", "jax", "torch")
        if name in info
    )
    devices = f"; devices {', '.join(info['devices'])}" if info.get("devices") else ""
    return (
        f"{info['date']}; {info['cpus']} CPUs ({info['processor']}, "
        f"{info['platform']}); Python {info['python']}; backend "
        f"{info['backend']}; {versions}{devices}; load average at start "
        f"{_load(info.get('load_average_start'))}"
    )


def _load(values):
    return " ".join(f"{v:.2f}" for v in values) if values else "n/a"


def load_text():
    return _load(load_average())


# === Timing ===


class EpochTimer(keras.callbacks.Callback):
    """Records the wall and CPU time of every epoch of `fit`.

    `times` holds wall seconds, `cpu_times` the process's CPU seconds (all
    threads; `time.process_time`), which other jobs on a shared machine
    disturb far less. An epoch runs from one `on_epoch_begin` to the next
    (the last one to `on_train_end`), so the work other callbacks do at
    the end of an epoch (the `DivergenceGuard` snapshot of our models,
    `History`) is counted: it is part of what a user waits for. Put the
    timer first in `callbacks`.
    """

    def __init__(self):
        super().__init__()
        self.times, self.cpu_times = [], []
        self._start = None

    def on_train_begin(self, logs=None):
        self.times, self.cpu_times = [], []
        self._start = None

    def _close(self):
        now = (time.perf_counter(), time.process_time())
        if self._start is not None:
            self.times.append(now[0] - self._start[0])
            self.cpu_times.append(now[1] - self._start[1])
        return now

    def on_epoch_begin(self, epoch, logs=None):
        self._start = self._close()

    def on_train_end(self, logs=None):
        self._close()
        self._start = None

    def result(self, drop=1):
        """`{"wall": [...], "cpu": [...]}` without the first `drop` epochs."""
        return {"wall": self.times[drop:], "cpu": self.cpu_times[drop:]}


KINDS = ("wall", "cpu")


def paired(references, run_one, repeats, log=print):
    """Times every candidate next to its reference, alternating, per repetition.

    Each repetition visits the candidates in an order that rotates from one
    repetition to the next; each candidate that has a reference other than
    itself is run right next to that reference (reference first in even
    visits, second in odd ones), so the two share the machine's state of
    the moment: on a shared, noisy machine the ratio of such a pair is far
    steadier than a ratio of times taken minutes apart. A reference is
    therefore run once per candidate it serves.

    Args:
        references: `{name: reference name}` (a reference maps to itself).
        run_one: callable `(name) -> {"wall": [...], "cpu": [...]}`, the
            seconds of the epochs of one fit call (warm-up epoch dropped).
        repeats: number of repetitions.
        log: callable receiving a progress line, or `None`.

    Returns:
        `(samples, ratios, partners)`: `samples[name]` is a list (one per
        fit call) of such dicts; `ratios[name]` a dict of lists of paired
        ratios `median(candidate call) / median(reference call)`, per kind;
        `partners[name]` the reference's calls that were paired with
        `name`'s, in the same form as `samples`.
    """
    names = list(references)
    subjects = [n for n in names if references[n] != n]
    alone = [n for n in names if references[n] == n and n not in references.values()]
    samples = {name: [] for name in names}
    ratios = {name: {kind: [] for kind in KINDS} for name in names}
    partners = {name: [] for name in names}
    last = {}

    def run(name):
        times = run_one(name)
        samples[name].append(times)
        last[name] = times
        if log:
            log(
                f"  {name}: "
                + " ".join(f"{t:.3f}" for t in times["wall"])
                + " s wall, "
                + " ".join(f"{t:.3f}" for t in times["cpu"])
                + f" s CPU (load {load_text()})"
            )
        return {kind: statistics.median(times[kind]) for kind in KINDS}

    visit = 0
    for rep in range(repeats):
        if log:
            log(f" repetition {rep + 1}/{repeats}")
        order = subjects + alone
        shift = rep % max(len(order), 1)
        for name in order[shift:] + order[:shift]:
            if name in alone:
                run(name)
                continue
            ref = references[name]
            if visit % 2 == 0:
                t_ref, t_sub = run(ref), run(name)
            else:
                t_sub, t_ref = run(name), run(ref)
            visit += 1
            partners[name].append(last[ref])
            for kind in KINDS:
                ratios[name][kind].append(t_sub[kind] / t_ref[kind])
    return samples, ratios, partners


def summarize(per_call, ratios=None, partner_calls=None):
    """Medians of all samples and of the paired ratios, wall and CPU.

    `per_call` is a list (one per fit call) of `{"wall": [...], "cpu":
    [...]}`; `ratios` the paired ratios from `paired` (empty or `None` for
    a reference, whose ratio is 1). The range of the paired ratios shows
    the noise. With `partner_calls` (the reference's calls paired with
    these, from `paired`), the ratio of the fastest epochs of the two is
    added too (`min_ratio`): contention only ever adds time, so the fastest
    epoch is the least disturbed one.
    """
    row = {}
    for kind in KINDS:
        flat = [t for call in per_call for t in call[kind]]
        prefix = "" if kind == "wall" else "cpu_"
        row[f"{prefix}median_s"] = statistics.median(flat)
        row[f"{prefix}min_s"] = min(flat)
        row[f"{prefix}max_s"] = max(flat)
        values = (ratios or {}).get(kind)
        if values:
            row[f"{prefix}ratio"] = statistics.median(values)
            row[f"{prefix}ratio_range"] = [min(values), max(values)]
            row[f"{prefix}paired_ratios"] = list(values)
        else:
            row[f"{prefix}ratio"] = 1.0
            row[f"{prefix}ratio_range"] = [1.0, 1.0]
    row["samples"] = sum(len(call["wall"]) for call in per_call)
    if partner_calls:
        fastest = min(t for call in partner_calls for t in call["wall"])
        row["min_ratio"] = row["min_s"] / fastest
    else:
        row["min_ratio"] = 1.0
    return row


def verdict(value, target):
    """`"PASS"` when `value <= target`, else `"MISS"` (`"n/a"` for None)."""
    if value is None:
        return "n/a"
    return "PASS" if value <= target else "MISS"


# === Output ===


def table(headers, rows):
    """A Markdown table as a string."""
    lines = [
        "| " + " | ".join(headers) + " |",
        "|" + "|".join("---" for _ in headers) + "|",
    ]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def write_result(name, data, path=None, quick=False):
    """Writes `data` as JSON, atomically, and returns the path.

    To `path` if given, else `bench/results/<name>.json`; a `--quick` smoke
    run writes `<name>_quick.json` in the temporary folder instead, so it
    never replaces a real measurement.
    """
    from keras_sparse_ae import io

    if path is None:
        folder = tempfile.gettempdir() if quick else RESULTS
        path = os.path.join(folder, f"{name}_quick.json" if quick else f"{name}.json")
    io.write_json(path, _jsonable(data))
    return path


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def command_line():
    return " ".join([os.path.relpath(sys.argv[0])] + sys.argv[1:])
