"""Measures candidate defaults of `build_deep_sae` on the embedded digits.

For each candidate (optimizer settings, batch size, epochs, penalties) it
trains on 4,000 of the 5,000 embedded MNIST digits and measures on the
1,000 held out (seeded split, the main job's): per-pixel MSE against PCA
with the same code size, each hidden layer's mean activity against its
target `1 - sparsity`, dead units, and wall time. The defaults of
`build_deep_sae` and of the main job are the candidate marked `default`.

    python bench/deep_sae_defaults.py            # the full table (~5 min)
    python bench/deep_sae_defaults.py --only default

Writes `bench/results/deep_sae_defaults.json` and prints a Markdown table.
"""

import argparse
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

from keras_sparse_ae import build_deep_sae, datasets, io  # noqa: E402
from keras_sparse_ae.train import (  # noqa: E402
    DEFAULT_BATCH_SIZE,
    DEFAULT_EPOCHS,
    measure,
    split_holdout,
)

CANDIDATES = {
    "default": dict(batch_size=DEFAULT_BATCH_SIZE, epochs=DEFAULT_EPOCHS),
    "no_penalties": dict(alpha_s=0.0, alpha_p=0.0, alpha_b=0.0),
    "batch64": dict(batch_size=64),
    "lr1e-3": dict(learning_rate=1e-3),
    "mse_loss": dict(reconstruction="mse"),
    "sparsity0.5": dict(sparsity=0.5),
    "binary0.5": dict(alpha_b=0.5),
}


def run(name, overrides, x_train, x_test, seed=0):
    options = dict(CANDIDATES["default"])
    options.update(overrides)
    batch_size = options.pop("batch_size")
    epochs = options.pop("epochs")
    keras.utils.set_random_seed(seed)
    model = build_deep_sae(input_dim=x_train.shape[1], seed=seed, **options)
    start = time.perf_counter()
    model.fit(x_train, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    metrics = measure(model, x_train, x_test)
    layers = metrics["sparsity_report"]["layers"]
    target = model.penalty_layers[0].participation
    return {
        "candidate": name,
        "settings": {"batch_size": batch_size, "epochs": epochs, **options},
        "heldout_mse": metrics["heldout_mse"],
        "pca_mse": metrics["pca_mse"],
        "max_activity_error": max(
            abs(s["mean_activation"] - target) for s in layers.values()
        ),
        "mean_activation": {k: s["mean_activation"] for k, s in layers.items()},
        "dead_units": sum(s["dead_units"] for s in layers.values()),
        "seconds": seconds,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=sorted(CANDIDATES))
    args = parser.parse_args()
    x, _ = datasets.load_mnist_5k()
    x_train, x_test = split_holdout(x)
    rows = []
    print(
        "| candidate | held-out MSE | PCA MSE | model/PCA "
        "| max abs(mean act - target) | dead units | seconds |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.only or CANDIDATES:
        row = run(name, CANDIDATES[name], x_train, x_test)
        rows.append(row)
        print(
            f"| {name} | {row['heldout_mse']:.5f} | {row['pca_mse']:.5f} | "
            f"{row['heldout_mse'] / row['pca_mse']:.3f} | "
            f"{row['max_activity_error']:.3f} | {row['dead_units']} | "
            f"{row['seconds']:.1f} |",
            flush=True,
        )
    io.write_json(
        os.path.join(os.path.dirname(__file__), "results", "deep_sae_defaults.json"),
        {
            "date": time.strftime("%Y-%m-%d"),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "keras": keras.__version__,
            "backend": keras.backend.backend(),
            "rows": rows,
        },
    )


if __name__ == "__main__":
    main()
