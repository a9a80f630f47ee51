"""Command line: `python -m keras_sparse_ae train|evaluate ...`.

Parses arguments, calls `keras_sparse_ae.train.train_job` or
`evaluate_job`, prints a summary. A bad argument or bad data ends with a
one-paragraph message and exit code 2 before anything is trained or
written (`--debug` shows the traceback).
"""

import argparse
import os
import sys


def _parser():
    from keras_sparse_ae.models.registry import list_models
    from keras_sparse_ae.train import (
        DEFAULT_BATCH_SIZE,
        DEFAULT_EPOCHS,
        DEFAULT_HOLDOUT,
        DEFAULT_SEED,
    )

    parser = argparse.ArgumentParser(
        prog="python -m keras_sparse_ae",
        description="Train and evaluate sparse autoencoders.",
    )
    parser.add_argument(
        "--debug", action="store_true", help="show full tracebacks on errors"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def data_args(sub):
        sub.add_argument(
            "--data",
            default="mnist5k",
            help="'mnist5k' (5,000 embedded MNIST digits, default), 'digits' "
            "(sklearn 8x8 digits) or a .npy/.npz/.csv(.gz)/IDX(.gz) file",
        )
        sub.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="seed of split, weights"
        )
        sub.add_argument(
            "--holdout",
            type=float,
            default=DEFAULT_HOLDOUT,
            help="share of the data held out for measuring (default 0.2)",
        )

    train = commands.add_parser("train", help="train a model and report on it")
    data_args(train)
    train.add_argument(
        "--model", default="deep_sae", help=f"one of {', '.join(list_models())}"
    )
    train.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS)
    train.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    train.add_argument(
        "--out", default="runs/train", help="output folder (default runs/train)"
    )
    train.add_argument("--quiet", action="store_true", help="no progress bar")

    evaluate = commands.add_parser("evaluate", help="measure a saved model")
    evaluate.add_argument("model_path", metavar="MODEL", help="a saved .keras file")
    data_args(evaluate)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except (ValueError, TypeError, OSError, FloatingPointError) as error:
        if args.debug:
            raise
        message = " ".join(str(error).split())
        print(f"error: {message}", file=sys.stderr)
        return 2


def _run(args):
    from keras_sparse_ae import train

    if args.command == "train":
        metrics = train.train_job(
            args.data,
            args.model,
            epochs=args.epochs,
            batch_size=args.batch_size,
            out=args.out,
            seed=args.seed,
            holdout=args.holdout,
            verbose=0 if args.quiet else "auto",
        )
        print()
        print(train.summary_table(metrics))
        print()
        written = ["model.keras", "metrics.json", *metrics["figures"]]
        print(f"wrote {', '.join(written)} to {os.path.abspath(args.out)}")
        print(f"total wall time {metrics['wall_seconds']:.1f} s")
    else:
        metrics = train.evaluate_job(
            args.model_path, args.data, seed=args.seed, holdout=args.holdout
        )
        print(train.summary_table(metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
