"""Command line: `python -m keras_sparse_ae.tune --model deep_sae --tuner ...`.

Parses arguments, calls `keras_sparse_ae.tune.run_search`, prints a
summary. Bad input ends with a one-paragraph `error: ...` and exit code 2
before any trial runs or any file is touched; a search in which no trial
produced a score ends with exit code 1 and says why (`--debug` shows the
traceback).
"""

import argparse
import os
import sys

EPILOG = """\
hyperparameters:
  Names are the builder's arguments (learning_rate, alpha_p, sparsity,
  optimizer, ...) plus size_h1, size_h2, ... for the encoder's layer sizes
  (hidden=(size_h1, size_h2, ...)) and batch_size. --set NAME=V fixes one,
  --set NAME=V1,V2,... gives the values to search; a JSON --space-file maps
  names to a value, a list or a range {"min": .., "max": .., "step": ..,
  "sampling": "log"}. Layers: --space, then --space-file, then --set.
  --dry-run prints the resulting space and its grid size.

resume and failures:
  Rerunning the same command resumes the project: completed trials are
  kept, a trial cut off (even by SIGKILL) is run again. A diverging trial
  (NaN/inf) is stopped and recorded as failed; the search goes on. Exit
  codes: 0 done, 1 no trial produced a score (or repeated errors stopped
  the search), 2 bad input (nothing was run or written).

distributed (KerasTuner's chief/worker mechanism):
  chief:   --distributed chief --oracle 127.0.0.1:8000
  workers: --distributed worker --oracle 127.0.0.1:8000 --worker-id tuner0
  with the same --model, --tuner, space, --data, --directory (shared) and
  --project-name. The chief serves the oracle, waits for the workers to run
  every trial, then writes the report.

output, in DIRECTORY/PROJECT_NAME:
  results.csv, report.md, objective_vs_hyperparameters.png,
  best_reconstructions.png, best.keras, best_hyperparameters.json (usable
  as --space-file), search.json and KerasTuner's trial folders.

examples:
  python -m keras_sparse_ae.tune --model deep_sae --tuner hyperband \\
      --epochs 27 --data mnist5k --project-name sae_hb
  python -m keras_sparse_ae.tune --space seed000 --tuner grid --dry-run
  python -m keras_sparse_ae.tune --space seed000 --set alpha_p=100 \\
      --set size_h2=30,45,60 --tuner random --max-trials 50 --epochs 6
"""


def _parser():
    from keras_sparse_ae.models.registry import list_models
    from keras_sparse_ae.tune import search, spaces

    parser = argparse.ArgumentParser(
        prog="python -m keras_sparse_ae.tune",
        description="KerasTuner search over a sparse autoencoder's "
        "hyperparameters, minimising the held-out loss; resumable, "
        "distributable, with a report.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = parser.add_argument_group("what to search")
    what.add_argument(
        "--model",
        default="deep_sae",
        help=f"model to tune (default deep_sae): {', '.join(list_models())}",
    )
    what.add_argument(
        "--space",
        default="default",
        help=f"search space defined in code: {', '.join(spaces.SPACES)} "
        "(seed000: lesson 000's 12,960-point grid for deep_sae, SGD with a "
        "halving rate, l2 reconstruction, hidden=(200, size_h2), batch 32)",
    )
    what.add_argument(
        "--space-file", metavar="FILE", help="JSON space file applied over --space"
    )
    what.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="NAME=V[,V...]",
        help="fix (one value) or override (several) a hyperparameter; "
        "repeatable, e.g. --set alpha_p=100 --set size_h2=30,45,60",
    )
    what.add_argument(
        "--objective",
        default="val_reconstruction",
        help="held-out quantity to minimise: val_reconstruction (default) "
        "or val_loss (reconstruction plus penalties)",
    )

    how = parser.add_argument_group("how to search")
    how.add_argument(
        "--tuner",
        default="random",
        help=f"KerasTuner tuner: {', '.join(search.TUNERS)} (default random)",
    )
    how.add_argument(
        "--max-trials",
        type=int,
        metavar="N",
        help=f"trial budget (default {search.DEFAULT_MAX_TRIALS} for random and "
        "bayesian, the whole grid for grid, Hyperband's own schedule for "
        "hyperband, where it caps the trials)",
    )
    how.add_argument(
        "--epochs",
        type=int,
        default=search.DEFAULT_EPOCHS,
        metavar="N",
        help=f"epochs per trial; Hyperband's maximum (default {search.DEFAULT_EPOCHS})",
    )
    how.add_argument(
        "--hyperband-factor",
        type=int,
        default=search.DEFAULT_HYPERBAND_FACTOR,
        metavar="F",
        help="Hyperband's reduction factor (default 3)",
    )
    how.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seeds the held-out split, every trial's weights and shuffling, "
        "and the tuner (default 0)",
    )
    how.add_argument(
        "--max-consecutive-errors",
        type=int,
        default=search.DEFAULT_MAX_CONSECUTIVE_ERRORS,
        metavar="N",
        help="stop after N trials in a row fail with an error other than a "
        "divergence (default 3; 0: never)",
    )

    data = parser.add_argument_group("data and output")
    data.add_argument(
        "--data",
        default="mnist5k",
        help="'mnist5k' (5,000 embedded MNIST digits, default), 'digits' "
        "(sklearn 8x8 digits) or a .npy/.npz/.csv(.gz)/IDX(.gz) file",
    )
    data.add_argument(
        "--holdout",
        type=float,
        default=0.2,
        help="share of the data held out for the objective (default 0.2)",
    )
    data.add_argument(
        "--directory",
        default=search.DEFAULT_DIRECTORY,
        help="folder of the projects (default tuner_runs)",
    )
    data.add_argument(
        "--project-name",
        metavar="NAME",
        help="project folder inside --directory (default MODEL_TUNER)",
    )
    data.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the project and start afresh (default: resume it)",
    )

    dist = parser.add_argument_group("distributed search")
    dist.add_argument(
        "--distributed",
        choices=("chief", "worker"),
        help="run as KerasTuner's chief (serves the oracle) or as a worker",
    )
    dist.add_argument(
        "--oracle",
        metavar="HOST:PORT",
        help="the chief's oracle address (default 127.0.0.1:8000; the chief "
        "binds to it, so only loopback unless told e.g. 0.0.0.0:8000)",
    )
    dist.add_argument(
        "--worker-id",
        metavar="ID",
        help="a worker's KerasTuner id, e.g. tuner0 (default tuner<pid>; "
        "reuse it when restarting a worker)",
    )
    dist.add_argument(
        "--oracle-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="how long a worker waits for the chief's oracle (default 120)",
    )

    other = parser.add_argument_group("other")
    other.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything, print the space and its size, run nothing",
    )
    other.add_argument("--quiet", action="store_true", help="no per-trial lines")
    other.add_argument(
        "--debug", action="store_true", help="show full tracebacks on errors"
    )
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    from keras_sparse_ae.tune.search import SearchFailedError

    try:
        return _run(args)
    except (ValueError, TypeError, OSError) as error:
        if args.debug:
            raise
        _error(error)
        return 2
    except (SearchFailedError, RuntimeError) as error:
        if args.debug:
            raise
        _error(error)
        return 1
    except KeyboardInterrupt:
        print(
            "interrupted: rerun the same command to resume the search",
            file=sys.stderr,
        )
        return 130


def _error(error):
    message = " ".join(str(error).split())
    print(f"error: {message}", file=sys.stderr)


def _run(args):
    from keras_sparse_ae.tune import spaces
    from keras_sparse_ae.tune.search import run_search

    result = run_search(
        args.model,
        tuner=args.tuner,
        max_trials=args.max_trials,
        epochs=args.epochs,
        data=args.data,
        directory=args.directory,
        project_name=args.project_name,
        seed=args.seed,
        space=args.space,
        space_file=args.space_file,
        overrides=spaces.parse_assignments(args.assignments),
        objective=args.objective,
        holdout=args.holdout,
        overwrite=args.overwrite,
        hyperband_factor=args.hyperband_factor,
        max_consecutive_errors=args.max_consecutive_errors,
        distributed=args.distributed,
        oracle=args.oracle,
        worker_id=args.worker_id,
        oracle_timeout=args.oracle_timeout,
        progress=None if args.quiet else _print_flush,
        dry_run=args.dry_run,
    )
    if args.dry_run:
        _print_space(result)
        return 0
    if result.role == "worker":
        done = sum(r["status"] == "COMPLETED" for r in result.trials)
        print(
            f"worker finished: ran {len(result.trials)} trials ({done} completed) "
            f"in {result.seconds:.1f} s"
        )
        return 0
    best = result.best
    failed = sum(r["status"] == "FAILED" for r in result.trials)
    print()
    print(
        f"{len(result.trials)} trials ({len(result.trials) - failed} completed, "
        f"{failed} failed) in {result.seconds:.1f} s"
    )
    print(f"best trial {best['trial_id']}: {args.objective} = {best['score']:.6g}")
    from keras_sparse_ae.tune.report import best_hyperparameters

    for name, value in best_hyperparameters(best).items():
        print(f"  {name} = {value!r}")
    print(f"wrote {', '.join(result.files)} to {os.path.abspath(result.project_dir)}")
    return 0


def _print_flush(line):
    print(line, flush=True)


def _print_space(result):
    from keras_sparse_ae.tune import spaces

    for name, spec in result.space.items():
        text = spec if isinstance(spec, spaces.Range) else ", ".join(map(str, spec))
        print(f"  {name:<16} {text}")
    size = spaces.grid_size(result.space)
    print(f"grid size: {size:,}" if size != float("inf") else "grid size: unbounded")
    planned = result.planned_trials
    print(f"planned trials: {planned if planned is not None else 'unbounded'}")
    print("dry run: nothing was run or written")


if __name__ == "__main__":
    sys.exit(main())
