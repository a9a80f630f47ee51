"""Resident memory growth over many tiny trials of `run_search`.

One `keras_sparse_ae.tune.run_search` call runs `--trials` random-search
trials of a tiny model (`deep_sae` 64-16-4-16-64 by default: `size_h1=16`,
`size_h2=4`, the learning rate drawn from a log range so that every trial
is a new configuration, the rest of the model's default space as it is) on
small data (sklearn's 8x8 digits, 1,797 x 64, 20 % held out), `--epochs`
epoch(s) per trial. After every trial (from the search's progress line,
which comes after the trial was saved and the Keras session cleared) it
reads the process's resident set size (`VmRSS` in /proc/self/status;
`resource.getrusage` where there is no /proc).

Reports the RSS before the search, after trial 1 (the warm-up: imports,
first tracing), after the last trial, the growth between those two
(target: <= 100 MB over 50 trials), a least-squares slope in MB per trial
over trials 2..N (a leak shows as a steady slope; a one-off step does
not), the peak (`VmHWM`) and the RSS after `run_search` returned (it also
reloads the best model and writes the report).

    python bench/tune_memory.py            # 50 trials (~3-5 min on 2 cores)
    python bench/tune_memory.py --quick    # 5 trials, smoke run
    python bench/tune_memory.py --gc       # diagnostic, see below
    python bench/tune_memory.py --malloc-trim
    python bench/tune_memory.py --keep-graphs   # the leak the tuner fixes

Diagnostics: `--gc` runs `gc.collect()` after every trial and counts live
Keras models and TensorFlow functions (growth that disappears is garbage
waiting for Python's cycle collector; KerasTuner collects before every
build anyway); `--malloc-trim` calls glibc's `malloc_trim(0)` after every
trial (growth that disappears is free memory the allocator kept, not a
leak); `--keep-graphs` turns off the tuner's release of each trial's
TensorFlow custom gradients (`keras_sparse_ae.tune.graph_release`): every
traced train step then stays alive, tensorflow/tensorflow#97697.

Prints Markdown tables and writes `bench/results/tune_memory.json`
(`tune_memory_gc.json`, `tune_memory_trim.json`,
`tune_memory_keep_graphs.json` with the diagnostics).
"""

import argparse
import gc
import os
import resource
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import _common  # noqa: E402
import numpy as np  # noqa: E402

from keras_sparse_ae.tune import (  # noqa: E402
    Range,
    get_space,
    graph_release,
    run_search,  # noqa: E402
)

TARGET_MB = 100.0


def memory_mb():
    """`(rss, peak)` of this process in MB (peak: `VmHWM` or ru_maxrss)."""
    fields = {}
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmRSS", "VmHWM"):
                    fields[key] = int(value.split()[0]) / 1024  # kB -> MB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 1024
    return fields.get("VmRSS", peak_mb), fields.get("VmHWM", peak_mb)


#: Type names counted by `live_objects`: Keras models, and TensorFlow's
#: traced functions and graphs (what a trial leaves behind if anything
#: still references it).
COUNTED = ("Function", "ConcreteFunction", "FuncGraph", "Optimizer")


def live_objects():
    """Counts of live Keras models and of a few TensorFlow objects."""
    import keras

    counts = {"keras.Model": 0, **{name: 0 for name in COUNTED}}
    for obj in gc.get_objects():
        if isinstance(obj, keras.Model):
            counts["keras.Model"] += 1
        elif isinstance(obj, keras.optimizers.Optimizer):
            counts["Optimizer"] += 1
        elif type(obj).__name__ in COUNTED:
            counts[type(obj).__name__] += 1
    return counts


def malloc_trim():
    """Asks glibc to return free heap memory to the system (if glibc)."""
    import ctypes
    import ctypes.util

    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def tiny_space(model, hidden):
    """The model's default space with tiny layers and a continuous rate."""
    overrides = {"learning_rate": Range(1e-4, 1e-2, sampling="log")}
    if "size_h1" in get_space(model):
        overrides.update({f"size_h{i + 1}": (h,) for i, h in enumerate(hidden)})
    return overrides


def diagnostics_text(args):
    parts = [
        (args.keep_graphs, "custom gradients NOT released (the leak)"),
        (args.gc, "gc.collect()"),
        (args.malloc_trim, "malloc_trim(0)"),
    ]
    done = [text for on, text in parts if on]
    return f"; after every trial: {', '.join(done)}" if done else ""


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--model", default="deep_sae")
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 4])
    parser.add_argument("--data", default="digits", help="digits, mnist5k or a file")
    parser.add_argument("--epochs", type=int, default=1, help="epochs per trial")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="project folder (default: a temporary one)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 trials")
    parser.add_argument("--json", help="output path")
    parser.add_argument("--quiet", action="store_true", help="no per-trial lines")
    parser.add_argument(
        "--gc",
        action="store_true",
        help="diagnostic: gc.collect() after every trial, before reading RSS, "
        "and count live models and TensorFlow functions",
    )
    parser.add_argument(
        "--keep-graphs",
        action="store_true",
        help="diagnostic (TensorFlow): turn off the tuner's release of the "
        "custom gradients each trial registers "
        "(keras_sparse_ae.tune.graph_release), which keep every traced "
        "train step alive: shows the leak it fixes",
    )
    parser.add_argument(
        "--malloc-trim",
        action="store_true",
        help="diagnostic: glibc malloc_trim(0) after every trial, before "
        "reading RSS (memory the allocator keeps but does not use is "
        "given back)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.trials = 5
    if args.trials < 2:
        parser.error("--trials must be >= 2")

    info = _common.machine_info()
    if info["backend"] == "tensorflow":
        import tensorflow as tf

        # A new model per trial: TensorFlow's retracing notice is noise here.
        tf.get_logger().setLevel("ERROR")
    print("# Resident memory over tiny tuner trials\n")
    print(_common.describe(info) + "\n")
    print(
        f"{args.trials} random-search trials of {args.model} "
        f"(hidden {tuple(args.hidden)}) on {args.data}, {args.epochs} epoch(s) "
        f"each{diagnostics_text(args)}; command: `{_common.command_line()}`\n",
        flush=True,
    )

    records = []
    start = time.perf_counter()

    def progress(line):
        if not line.startswith("trial "):
            return
        if args.gc:
            gc.collect()
        if args.malloc_trim:
            malloc_trim()
        rss, peak = memory_mb()
        records.append(
            {
                "trial": len(records) + 1,
                "rss_mb": rss,
                "peak_mb": peak,
                "seconds": time.perf_counter() - start,
            }
        )
        if args.gc:
            records[-1]["live"] = live_objects()
        if not args.quiet:
            live = records[-1].get("live")
            extra = f" | live {live}" if live else ""
            print(f"  {line} | RSS {rss:.1f} MB{extra}", flush=True)

    if args.keep_graphs:
        graph_release.release_custom_gradients = lambda keep: 0
    registry_before = graph_release.registered_custom_gradients()
    before, _ = memory_mb()
    with tempfile.TemporaryDirectory() as tmp:
        result = run_search(
            args.model,
            tuner="random",
            max_trials=args.trials,
            epochs=args.epochs,
            data=args.data,
            directory=args.out or tmp,
            project_name="tune_memory",
            seed=args.seed,
            overrides=tiny_space(args.model, args.hidden),
            overwrite=True,
            progress=progress,
        )
        after_search, peak = memory_mb()
    seconds = time.perf_counter() - start
    gc.collect()
    live_end = live_objects()

    completed = sum(r["status"] == "COMPLETED" for r in result.trials)
    first, last = records[0], records[-1]
    growth = last["rss_mb"] - first["rss_mb"]
    later = records[1:]
    slope = (
        float(
            np.polyfit([r["trial"] for r in later], [r["rss_mb"] for r in later], 1)[0]
        )
        if len(later) >= 2
        else float("nan")
    )
    checkpoints = sorted(
        {1, 2, 5, 10, 20, 30, 40, len(records)} & set(range(1, len(records) + 1))
    )
    print(
        _common.table(
            ["after trial", "RSS (MB)", "growth since trial 1 (MB)", "elapsed (s)"],
            [
                [
                    n,
                    f"{records[n - 1]['rss_mb']:.1f}",
                    f"{records[n - 1]['rss_mb'] - first['rss_mb']:+.1f}",
                    f"{records[n - 1]['seconds']:.0f}",
                ]
                for n in checkpoints
            ],
        )
    )
    print()
    print(
        _common.table(
            ["measure", "value", "target"],
            [
                ["RSS before the search (MB)", f"{before:.1f}", ""],
                ["RSS after trial 1, warm-up (MB)", f"{first['rss_mb']:.1f}", ""],
                [f"RSS after trial {last['trial']} (MB)", f"{last['rss_mb']:.1f}", ""],
                [
                    f"growth, trial 1 -> {last['trial']} (MB)",
                    f"{growth:+.1f}",
                    f"<= {TARGET_MB:.0f} MB: {_common.verdict(growth, TARGET_MB)}"
                    + ("" if len(records) == 50 else " (target is for 50 trials)"),
                ],
                ["slope over trials 2..N (MB/trial)", f"{slope:+.2f}", ""],
                ["peak RSS, VmHWM (MB)", f"{peak:.1f}", ""],
                ["RSS after run_search returned (MB)", f"{after_search:.1f}", ""],
                ["completed / trials", f"{completed} / {len(result.trials)}", ""],
                [
                    "CustomGradient entries left in TensorFlow's gradient registry",
                    len(graph_release.registered_custom_gradients() - registry_before),
                    "",
                ],
                [
                    "live objects after the search (gc.collect() first)",
                    ", ".join(f"{k} {v}" for k, v in live_end.items()),
                    "",
                ],
                ["wall time (s)", f"{seconds:.0f}", ""],
            ],
        )
    )
    print(f"\nload average at end: {_common.load_text()}")

    path = _common.write_result(
        "tune_memory"
        + ("_gc" if args.gc else "")
        + ("_trim" if args.malloc_trim else "")
        + ("_keep_graphs" if args.keep_graphs else ""),
        {
            "benchmark": "tune_memory",
            "command": _common.command_line(),
            "machine": info,
            "load_average_end": _common.load_average(),
            "model": args.model,
            "hidden": args.hidden,
            "data": args.data,
            "epochs": args.epochs,
            "gc_after_every_trial": args.gc,
            "malloc_trim_after_every_trial": args.malloc_trim,
            "custom_gradients_released": not args.keep_graphs,
            "custom_gradients_left": len(
                graph_release.registered_custom_gradients() - registry_before
            ),
            "trials": len(records),
            "completed": completed,
            "target_mb": TARGET_MB,
            "rss_before_mb": before,
            "rss_after_first_mb": first["rss_mb"],
            "rss_after_last_mb": last["rss_mb"],
            "growth_mb": growth,
            "verdict": _common.verdict(growth, TARGET_MB),
            "slope_mb_per_trial": slope,
            "peak_mb": peak,
            "rss_after_search_mb": after_search,
            "live_objects_after_search": live_end,
            "seconds": seconds,
            "per_trial": records,
        },
        args.json,
        quick=args.quick,
    )
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
