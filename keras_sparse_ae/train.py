"""The main job: train a model on a dataset, measure it, save it, report.

`python -m keras_sparse_ae train` and `... evaluate` are thin wrappers
around `train_job` and `evaluate_job`.
"""

import os
import platform
import time

import keras
import numpy as np
from sklearn.decomposition import PCA

from keras_sparse_ae import _validation, datasets, io, plotting
from keras_sparse_ae.callbacks import TrainingDivergedError
from keras_sparse_ae.metrics import (
    format_sparsity_report,
    hidden_activations,
    sparsity_report,
)
from keras_sparse_ae.models.registry import build, check_model_name

BUILTIN_DATA = ("mnist5k", "digits")

#: Settings of the main job, chosen with `bench/deep_sae_defaults.py`.
DEFAULT_EPOCHS = 40
DEFAULT_BATCH_SIZE = 32
DEFAULT_HOLDOUT = 0.2
DEFAULT_SEED = 0


def load_data(data):
    """Loads `"mnist5k"`, `"digits"` or an array file path.

    Returns:
        `(x, labels)`; `labels` is `None` for a file.
    """
    if not isinstance(data, (str, os.PathLike)):
        raise _validation.invalid_type(
            "data", "'mnist5k', 'digits' or a file path", data
        )
    if data == "mnist5k":
        return datasets.load_mnist_5k()
    if data == "digits":
        return datasets.load_digits()
    return datasets.load_array(data), None


def split_holdout(x, holdout=DEFAULT_HOLDOUT, seed=DEFAULT_SEED, *, name="holdout"):
    """Seeded random split into `(x_train, x_test)`; `holdout` is the test share.

    `name` is the argument named in the error for a bad share (callers that
    expose the share under another name, like `validation_split`, pass it).
    """
    holdout = _validation.check_float(
        name, holdout, 0.0, 1.0, low_open=True, high_open=True
    )
    n_test = int(round(holdout * len(x)))
    if n_test < 1 or n_test >= len(x):
        raise _validation.invalid_value(
            name,
            f"a share leaving at least one training and one held-out sample of "
            f"{len(x)}",
            holdout,
        )
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order[n_test:]], x[order[:n_test]]


def code_size(model):
    """Width of the model's code (the encoder's output)."""
    return int(model.encoder.output_shape[-1])


def pca_components(x_train, n_components):
    """PCA's number of components for a code size: at most the data's rank."""
    return int(min(n_components, *x_train.shape))


def pca_mse(x_train, x_test, n_components):
    """Held-out per-feature MSE of PCA with `n_components`, fitted on train."""
    n_components = pca_components(x_train, n_components)
    pca = PCA(n_components=n_components, random_state=0).fit(x_train)
    x_hat = pca.inverse_transform(pca.transform(x_test))
    return float(np.mean(np.square(x_hat - x_test)))


def measure(model, x_train, x_test):
    """Held-out reconstruction error, PCA baseline and sparsity report."""
    x_hat = model.predict(x_test, verbose=0)
    return {
        "heldout_mse": float(np.mean(np.square(x_hat - x_test))),
        "pca_mse": pca_mse(x_train, x_test, code_size(model)),
        "code_size": code_size(model),
        "pca_components": pca_components(x_train, code_size(model)),
        "sparsity_report": sparsity_report(model, x_test),
    }


def summary_table(metrics):
    """Short text summary: held-out MSE beside PCA, then the sparsity table."""
    pca = metrics["pca_mse"]
    ratio = f"{metrics['heldout_mse'] / pca:.3f}" if pca > 1e-12 else "n/a"
    rows = [
        ("held-out MSE per pixel", f"{metrics['heldout_mse']:.5f}"),
        (
            f"PCA, {metrics['pca_components']} components",
            f"{pca:.5f}   (model / PCA = {ratio}; code size {metrics['code_size']})",
        ),
    ]
    if "train_seconds" in metrics:
        rows.append(
            (
                "training time",
                f"{metrics['train_seconds']:.1f} s ({metrics['epochs']} epochs)",
            )
        )
    lines = [f"{label:<24}: {value}" for label, value in rows]
    lines += ["", format_sparsity_report(metrics["sparsity_report"])]
    return "\n".join(lines)


def write_figures(model, x_test, out, report):
    """Writes reconstructions.png, filters.png and activations.png to `out`."""
    figures = {
        "reconstructions.png": plotting.plot_reconstructions(
            x_test[:10], model.predict(x_test[:10], verbose=0)
        ),
        "filters.png": plotting.plot_filters(model),
        "activations.png": plotting.plot_activation_histograms(
            hidden_activations(model, x_test),
            {
                name: s["target"]
                for name, s in report["layers"].items()
                if "target" in s
            },
        ),
    }
    for name, figure in figures.items():
        io.save_figure(figure, os.path.join(out, name))
    return list(figures)


def train_job(
    data="mnist5k",
    model="deep_sae",
    *,
    epochs=DEFAULT_EPOCHS,
    batch_size=DEFAULT_BATCH_SIZE,
    out="runs/train",
    seed=DEFAULT_SEED,
    holdout=DEFAULT_HOLDOUT,
    verbose="auto",
    model_kwargs=None,
):
    """Trains `model` on `data`, then writes and returns its metrics.

    Every argument and the data are checked before anything is trained or
    written. Writes to `out`: `model.keras`, `metrics.json` and the PNG
    figures, each atomically.

    Args:
        data: `"mnist5k"` (5,000 embedded MNIST digits), `"digits"`
            (sklearn's 8x8 digits) or a path for `datasets.load_array`.
        model: a name from `keras_sparse_ae.models.registry.list_models()`.
        epochs: int >= 1.
        batch_size: int >= 1.
        out: output folder (created if missing).
        seed: int >= 0; seeds the split, the weights and the shuffling.
        holdout: share of the data held out for measuring, in (0, 1).
        verbose: Keras `fit` verbosity.
        model_kwargs: extra keyword arguments for the model's builder.

    Returns:
        The metrics dict that was written to `metrics.json`.
    """
    start = time.perf_counter()
    check_model_name(model)
    epochs = _validation.check_int("epochs", epochs)
    batch_size = _validation.check_int("batch_size", batch_size)
    seed = _validation.check_int("seed", seed, low=0)
    x, _ = load_data(data)
    x_train, x_test = split_holdout(x, holdout, seed)

    keras.utils.set_random_seed(seed)
    net = build(model, input_dim=x.shape[1], seed=seed, **(model_kwargs or {}))
    fit_start = time.perf_counter()
    try:
        history = net.fit(
            x_train,
            validation_data=x_test,
            epochs=epochs,
            batch_size=batch_size,
            verbose=verbose,
        )
    except TrainingDivergedError as error:
        raise TrainingDivergedError(
            f"{error} Nothing was written to {out}.",
            epoch=error.epoch,
            name=error.name,
            value=error.value,
            history=error.history,
        ) from None
    train_seconds = time.perf_counter() - fit_start

    metrics = {
        "model": model,
        "data": os.fspath(data),
        "samples": {"train": int(len(x_train)), "heldout": int(len(x_test))},
        "epochs": epochs,
        "batch_size": batch_size,
        "seed": seed,
        **measure(net, x_train, x_test),
        "final_epoch": {k: float(v[-1]) for k, v in history.history.items()},
        "train_seconds": train_seconds,
        "keras_backend": keras.backend.backend(),
        "keras_version": keras.__version__,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
    }
    io.save_model(net, os.path.join(out, "model.keras"))
    metrics["figures"] = write_figures(net, x_test, out, metrics["sparsity_report"])
    metrics["wall_seconds"] = time.perf_counter() - start
    io.write_json(os.path.join(out, "metrics.json"), metrics)
    return metrics


def evaluate_job(
    model_path, data="mnist5k", *, seed=DEFAULT_SEED, holdout=DEFAULT_HOLDOUT
):
    """Reloads a saved model and measures it on the held-out split of `data`.

    With the same `data`, `seed` and `holdout` as `train_job`, the numbers
    are those the training run reported.
    """
    if not os.path.isfile(model_path):
        raise FileNotFoundError(f"No saved model at {model_path!r}.")
    x, _ = load_data(data)
    try:
        net = keras.models.load_model(model_path)
    except Exception as error:  # Keras raises many types for a bad file
        raise ValueError(
            f"Could not load a Keras model from {model_path!r}: {error}"
        ) from error
    expected = int(net.encoder.input_shape[-1])
    datasets.check_data(x, name="data", input_dim=expected)
    x_train, x_test = split_holdout(x, holdout, seed)
    return {"model_path": os.fspath(model_path), **measure(net, x_train, x_test)}
