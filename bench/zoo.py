"""Trains every zoo model on the embedded digits and tabulates the results.

Each model is built by name with its defaults (`keras_sparse_ae.build(name,
input_dim=784)`), trained on 4,000 of the 5,000 embedded MNIST digits for
the same number of epochs and batch size, and measured on the 1,000 held
out (the main job's seeded split): held-out per-pixel MSE, PCA with the
same code size, the mean activation of each hidden layer (lesson 003's
plain-vs-sparse comparison) and training seconds.

    python bench/zoo.py                 # every model, 20 epochs (~6 min)
    python bench/zoo.py --epochs 5 --models plain kl_sae_deep

Prints a Markdown table and writes `bench/results/zoo.json`.
"""

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import keras_sparse_ae as ksae  # noqa: E402
from keras_sparse_ae import io  # noqa: E402
from keras_sparse_ae.train import measure, split_holdout  # noqa: E402


def run(name, x_train, x_test, epochs, batch_size, seed=0):
    keras.utils.set_random_seed(seed)
    model = ksae.build(name, input_dim=x_train.shape[1], seed=seed)
    start = time.perf_counter()
    model.fit(x_train, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    metrics = measure(model, x_train, x_test)
    layers = metrics["sparsity_report"]["layers"]
    return {
        "model": name,
        "parameters": int(model.count_params()),
        "code_size": metrics["code_size"],
        "heldout_mse": metrics["heldout_mse"],
        "pca_mse": metrics["pca_mse"],
        "mean_activation": {k: s["mean_activation"] for k, s in layers.items()},
        "dead_units": sum(s["dead_units"] for s in layers.values()),
        "seconds": seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", choices=ksae.list_models())
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    x, _ = ksae.datasets.load_mnist_5k()
    x_train, x_test = split_holdout(x)
    print(
        f"{len(x_train)} training / {len(x_test)} held-out digits, "
        f"{args.epochs} epochs, batch {args.batch_size}\n"
    )
    print(
        "| model | code | held-out MSE | PCA MSE (same code) "
        "| mean activation per hidden layer | dead units | seconds |"
    )
    print("|---|---|---|---|---|---|---|")
    rows = []
    for name in args.models or ksae.list_models():
        row = run(name, x_train, x_test, args.epochs, args.batch_size)
        rows.append(row)
        activations = ", ".join(
            f"{k} {v:.3f}" for k, v in row["mean_activation"].items()
        )
        print(
            f"| {name} | {row['code_size']} | {row['heldout_mse']:.5f} | "
            f"{row['pca_mse']:.5f} | {activations} | {row['dead_units']} | "
            f"{row['seconds']:.1f} |",
            flush=True,
        )
    io.write_json(
        os.path.join(os.path.dirname(__file__), "results", "zoo.json"),
        {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
