"""The sparsity-fidelity frontier: held-out MSE against L0, per method.

On the embedded digits (`keras_sparse_ae.datasets.load_mnist_5k()`, the main
job's seeded split: 4,000 training and 1,000 held-out digits), every method
gets a code of the same size (64 units), the same number of epochs and the
same batch size, at several sparsity settings:

- `l1_sae` (ReLU code, L1 activity penalty) at several `beta`;
- `kl_sae` (sigmoid code, KL sparsity) at several `target` activities;
- `deep_sae` (lesson 000's participation constraint, 784-200-64-200-784)
  at several `sparsity` levels;
- `topk_sae` and `batch_topk_sae` (linear encoder, TopK / BatchTopK, AuxK)
  at several `k`;
- PCA with as many components as the L0 values above (a dense code of that
  size: its L0 is the number of components).

L0 is the mean number of code units above 0.1 per held-out sample, as
`keras_sparse_ae.sparsity_report` counts it (the code being the encoder's
last hidden layer); MSE is the held-out per-pixel mean squared error.
Each method's MSE at a common L0 (16 by default) is interpolated linearly in
log(MSE) between its two nearest points, when its points bracket it.

    python bench/frontier.py            # the full run (~10 min on 2 cores)
    python bench/frontier.py --quick --json /tmp/frontier.json  # smoke run

Writes `frontier.csv`, `frontier.png` and `frontier.json` (atomically) to
`bench/results/` (a `--quick` run: beside its `--json`, or the temporary
folder).
"""

import argparse
import csv
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _common  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.decomposition import PCA  # noqa: E402

import keras_sparse_ae as ksae  # noqa: E402
from keras_sparse_ae import io  # noqa: E402
from keras_sparse_ae.metrics import (  # noqa: E402
    fidelity,
    hidden_layers,
    sparsity_report,
)
from keras_sparse_ae.train import split_holdout  # noqa: E402

CODE_SIZE = 64
THRESHOLD = 0.1
OPERATING_L0 = 16.0

#: method -> (model name, builder kwargs, swept argument, values).
FULL = {
    "l1_sae": ("l1_sae", {"code_size": CODE_SIZE}, "beta",
               (0.001, 0.003, 0.01, 0.03, 0.1)),
    "kl_sae": ("kl_sae", {"hidden": (CODE_SIZE,)}, "target",
               (0.01, 0.02, 0.05, 0.1, 0.2)),
    "deep_sae": ("deep_sae", {"hidden": (200, CODE_SIZE)}, "sparsity",
                 (0.5, 0.75, 0.85, 0.9, 0.95)),
    "topk_sae": ("topk_sae", {"code_size": CODE_SIZE}, "k", (4, 8, 16, 24, 32)),
    "batch_topk_sae": ("batch_topk_sae", {"code_size": CODE_SIZE}, "k",
                       (4, 8, 16, 24, 32)),
}  # fmt: skip

QUICK = {
    name: (model, kwargs, arg, values[1:4:2]) for name, (model, kwargs, arg, values)
    in FULL.items()
}  # fmt: skip

PCA_COMPONENTS = (4, 8, 16, 24, 32, 64)


def code_layer(model):
    """The encoder's last hidden layer (the code)."""
    return [layer for part, layer in hidden_layers(model) if part is model.encoder][-1]


def run_model(method, model_name, kwargs, arg, value, data, epochs, batch_size):
    x_train, x_test = data
    keras.utils.set_random_seed(0)
    model = ksae.build(
        model_name, input_dim=x_train.shape[1], seed=0, **kwargs, **{arg: value}
    )
    start = time.perf_counter()
    history = model.fit(x_train, batch_size=batch_size, epochs=epochs, verbose=0)
    seconds = time.perf_counter() - start
    report = sparsity_report(model, x_test, threshold=THRESHOLD)
    code = report["layers"][code_layer(model).name]
    return {
        "method": method,
        "parameter": arg,
        "value": value,
        "l0": code["l0"],
        "heldout_mse": report["mse"],
        "normalized_mse": report["normalized_mse"],
        "explained_variance": report["explained_variance"],
        "dead_fraction": code["dead_fraction"],
        "train_loss": float(history.history["loss"][-1]),
        "seconds": seconds,
    }


def run_pca(components, data):
    x_train, x_test = data
    pca = PCA(components, random_state=0).fit(x_train)
    x_hat = pca.inverse_transform(pca.transform(x_test))
    quality = fidelity(x_test, x_hat)
    return {
        "method": "pca",
        "parameter": "components",
        "value": components,
        "l0": float(components),
        "heldout_mse": quality["mse"],
        "normalized_mse": quality["normalized_mse"],
        "explained_variance": quality["explained_variance"],
        "dead_fraction": 0.0,
        "train_loss": None,
        "seconds": 0.0,
    }


def mse_at(rows, l0):
    """MSE at `l0`, interpolated in log(MSE) between the nearest points; or None."""
    points = sorted((r["l0"], r["heldout_mse"]) for r in rows)
    l0s = np.array([p[0] for p in points])
    if len(points) == 0 or not l0s.min() <= l0 <= l0s.max():
        return None
    for (a, ma), (b, mb) in zip(points, points[1:]):
        if a <= l0 <= b:
            if b == a:
                return float(min(ma, mb))
            t = (l0 - a) / (b - a)
            return float(np.exp((1 - t) * np.log(ma) + t * np.log(mb)))
    return float(points[0][1])


def dominance(rows, method, other):
    """For each point of `other`, whether `method`'s curve is below it there."""
    mine = [r for r in rows if r["method"] == method]
    verdicts = []
    for r in rows:
        if r["method"] != other:
            continue
        mse = mse_at(mine, r["l0"])
        verdicts.append(
            {
                "l0": r["l0"],
                f"{other}_mse": r["heldout_mse"],
                f"{method}_mse": mse,
                "below": None if mse is None else mse < r["heldout_mse"],
            }
        )
    return verdicts


def write_csv(path, rows):
    fields = list(rows[0])
    with io.atomic_path(path, suffix=".csv") as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)


def plot(path, rows, operating_l0):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for method in dict.fromkeys(r["method"] for r in rows):
        points = sorted(
            (r["l0"], r["heldout_mse"]) for r in rows if r["method"] == method
        )
        style = "k--" if method == "pca" else "o-"
        axes.plot(*zip(*points), style, label=method, markersize=4)
    axes.axvline(operating_l0, color="grey", linewidth=0.8, linestyle=":")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel(f"L0 (code units > {THRESHOLD} per held-out sample)")
    axes.set_ylabel("held-out MSE per pixel")
    axes.set_title(f"Sparsity vs fidelity, code size {CODE_SIZE}, digits")
    axes.legend(fontsize=8)
    axes.grid(True, which="both", linewidth=0.3)
    io.save_figure(figure, path)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--methods", nargs="*", choices=sorted(FULL))
    parser.add_argument("--operating-l0", type=float, default=OPERATING_L0)
    parser.add_argument("--quick", action="store_true", help="tiny smoke run")
    parser.add_argument("--json", help="path of the JSON result")
    args = parser.parse_args(argv)

    x, _ = ksae.datasets.load_mnist_5k()
    x_train, x_test = split_holdout(x)
    sweeps = QUICK if args.quick else FULL
    epochs = 1 if args.quick else args.epochs
    if args.quick:
        x_train, x_test = x_train[:256], x_test[:128]
    data = (x_train, x_test)
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
    else:
        folder = tempfile.gettempdir() if args.quick else _common.RESULTS
    info = _common.machine_info()
    print(
        f"{len(x_train)} training / {len(x_test)} held-out digits, code "
        f"{CODE_SIZE}, {epochs} epochs, batch {args.batch_size}", flush=True
    )  # fmt: skip

    start = time.perf_counter()
    rows = []
    for method in args.methods or list(sweeps):
        model_name, kwargs, arg, values = sweeps[method]
        for value in values:
            row = run_model(
                method, model_name, kwargs, arg, value, data, epochs, args.batch_size
            )
            rows.append(row)
            print(
                f"{method:>15} {arg}={value:<6g} L0 {row['l0']:6.2f}  held-out "
                f"MSE {row['heldout_mse']:.5f}  dead {row['dead_fraction']:.2f}  "
                f"{row['seconds']:.0f} s",
                flush=True,
            )
            keras.backend.clear_session(free_memory=False)
    components = PCA_COMPONENTS[:2] if args.quick else PCA_COMPONENTS
    rows += [run_pca(n, data) for n in components]
    total = time.perf_counter() - start

    methods = list(dict.fromkeys(r["method"] for r in rows))
    at_operating = {
        m: mse_at([r for r in rows if r["method"] == m], args.operating_l0)
        for m in methods
    }
    result = {
        "benchmark": "frontier",
        "command": _common.command_line(),
        "machine": info,
        "load_average_end": _common.load_average(),
        "train_samples": len(x_train),
        "heldout_samples": len(x_test),
        "code_size": CODE_SIZE,
        "epochs": epochs,
        "batch_size": args.batch_size,
        "threshold": THRESHOLD,
        "operating_l0": args.operating_l0,
        "mse_at_operating_l0": at_operating,
        "topk_vs_l1": dominance(rows, "topk_sae", "l1_sae"),
        "seconds": total,
        "rows": rows,
    }
    name = "frontier_quick" if args.quick else "frontier"
    write_csv(os.path.join(folder, f"{name}.csv"), rows)
    plot(os.path.join(folder, f"{name}.png"), rows, args.operating_l0)
    path = _common.write_result("frontier", result, path=args.json, quick=args.quick)
    print(f"\nMSE at L0 = {args.operating_l0:g}:")
    for method, mse in at_operating.items():
        print(f"  {method:>15}: {'not reached' if mse is None else f'{mse:.5f}'}")
    print(f"{total:.0f} s; wrote {path}")


if __name__ == "__main__":
    main()
