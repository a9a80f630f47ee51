"""Hyperband against the full grid of a reduced seed-000 space, same epochs.

Lesson 000 trained every point of its grid to the end. This benchmark runs
both searches of `keras_sparse_ae.tune.run_search` over the same reduced
seed-000 space (lesson 000's SGD with a halving rate, `l2`
reconstruction, batches of 32; two values of each of five
hyperparameters, 32 configurations) at the same epochs per trial:

- `grid`: every configuration for `--epochs` epochs;
- `hyperband`: KerasTuner's Hyperband with `max_epochs=--epochs`.

It prints, for each, the best held-out objective found, the epochs
actually trained (summed over trials, from each trial's `run.json`; a
diverged trial counts the epochs it ran), trials, failures and wall time,
then the Hyperband / grid ratios.

    python bench/tune_efficiency.py                       # MNIST 5k, ~1 h
    python bench/tune_efficiency.py --data digits --size-h1 64 --epochs 9

`--json PATH` also writes the numbers as JSON.
"""

import argparse
import os
import platform
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keras_sparse_ae import io  # noqa: E402
from keras_sparse_ae.tune import SEED000_SPACE, grid_size, run_search  # noqa: E402
from keras_sparse_ae.tune.search import hyperband_budget  # noqa: E402

#: Two values of each tuned hyperparameter of lesson 000 (the rest fixed as
#: in `SEED000_SPACE`): 2**5 = 32 configurations, enough distinct points
#: for Hyperband's 17 first-round draws at 9 epochs.
REDUCED = {
    "learning_rate": [1.0, 10.0],
    "alpha_s": [0.5, 5.0],
    "alpha_p": [1.0, 100.0],
    "alpha_b": [0.5],
    "sparsity": [0.5, 0.75],
    "size_h2": [30, 60],
}


def reduced_space(size_h1):
    space = {k: list(v) for k, v in SEED000_SPACE.items()}
    space.update(REDUCED)
    space["size_h1"] = [size_h1]
    return space


def search(kind, args, space, directory):
    start = time.perf_counter()
    try:
        result = run_search(
            "deep_sae",
            tuner=kind,
            epochs=args.epochs,
            data=args.data,
            directory=directory,
            project_name=kind,
            seed=args.seed,
            space=space,
            hyperband_factor=args.factor,
            overwrite=True,
            progress=(lambda line: print(f"  {kind}: {line}", flush=True))
            if args.verbose
            else None,
        )
        trials, best = result.trials, result.best
    except RuntimeError as error:  # no trial completed: still report it
        print(f"  {kind}: {error}")
        from keras_sparse_ae.tune import load_trials

        trials, best = load_trials(os.path.join(directory, kind)), None
    return {
        "tuner": kind,
        "best_objective": best["score"] if best else None,
        "best_hyperparameters": {
            k: v for k, v in (best or {}).get("hyperparameters", {}).items()
        },
        "epochs_trained": sum(r["epochs"] or 0 for r in trials),
        "trials": len(trials),
        "failed": sum(r["status"] != "COMPLETED" for r in trials),
        "wall_seconds": time.perf_counter() - start,
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default="mnist5k", help="mnist5k, digits or file")
    parser.add_argument("--epochs", type=int, default=9, help="epochs per trial")
    parser.add_argument("--factor", type=int, default=3, help="Hyperband factor")
    parser.add_argument("--size-h1", type=int, default=200, help="first layer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="project folder (default: a temporary one)")
    parser.add_argument("--json", help="also write the numbers to this file")
    parser.add_argument("--verbose", action="store_true", help="per-trial lines")
    args = parser.parse_args(argv)

    space = reduced_space(args.size_h1)
    n_configs = grid_size({k: tuple(v) for k, v in space.items()})
    planned_trials, planned_epochs = hyperband_budget(args.epochs, args.factor)
    print(
        f"reduced seed-000 space: {n_configs} configurations "
        + ", ".join(f"{k}={v}" for k, v in REDUCED.items())
        + f", size_h1={args.size_h1}"
    )
    print(
        f"data {args.data}, {args.epochs} epochs per trial; grid plans "
        f"{n_configs * args.epochs} epochs, Hyperband (factor {args.factor}) "
        f"{planned_epochs} epochs in {planned_trials} trials"
    )
    with tempfile.TemporaryDirectory() as tmp:
        directory = args.out or tmp
        rows = [search(kind, args, space, directory) for kind in ("grid", "hyperband")]

    print()
    print(
        f"{'tuner':<10} {'best val_reconstruction':>24} {'epochs trained':>15} "
        f"{'trials (failed)':>16} {'wall s':>8}"
    )
    for row in rows:
        best = row["best_objective"]
        print(
            f"{row['tuner']:<10} {best if best is None else f'{best:.6g}':>24} "
            f"{row['epochs_trained']:>15} "
            f"{row['trials']:>9} ({row['failed']}) {row['wall_seconds']:>11.1f}"
        )
    grid, hyperband = rows
    ratios = {
        "epochs": hyperband["epochs_trained"] / max(grid["epochs_trained"], 1),
        "wall_seconds": hyperband["wall_seconds"] / grid["wall_seconds"],
    }
    if grid["best_objective"] and hyperband["best_objective"] is not None:
        ratios["best_objective"] = hyperband["best_objective"] / grid["best_objective"]
    print()
    print(
        "hyperband / grid: "
        + ", ".join(f"{name} {value:.4f}" for name, value in ratios.items())
    )
    for row in rows:
        values = ", ".join(
            f"{k}={v}"
            for k, v in row["best_hyperparameters"].items()
            if k in REDUCED or k.startswith("tuner/epochs")
        )
        print(f"best of {row['tuner']}: {values}")
    if args.json:
        io.write_json(
            args.json,
            {
                "space": space,
                "data": args.data,
                "epochs": args.epochs,
                "factor": args.factor,
                "results": rows,
                "ratios": ratios,
                "keras_backend": keras.backend.backend(),
                "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            },
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
