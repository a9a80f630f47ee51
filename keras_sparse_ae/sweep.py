"""`regularization_sweep`: one model per value of a penalty weight (lesson 002).

Lesson 002 trained its 196-unit autoencoder once per value of the L2
activity or kernel weight and compared, across the values, the training and
test losses, the share of silent code units and the epochs EarlyStopping
allowed. `regularization_sweep` does the same for any zoo model (or any
builder), with the lesson's bug fixed: EarlyStopping watches a seeded
validation split of the training data, never the test set, so the test
figures stay an unbiased estimate.

Example:

>>> import numpy as np
>>> x = np.random.default_rng(0).random((64, 8)).astype("float32")
>>> result = regularization_sweep(
...     "l2_sae", "activity_weight", [0.0, 0.1], x,
...     epochs=1, build_kwargs={"units": 4})
>>> [row["value"] for row in result.rows]
[0.0, 0.1]
>>> result.best()["value"] in (0.0, 0.1)
True
"""

import inspect
import math
import numbers
import time

import keras
import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.callbacks import TrainingDivergedError
from keras_sparse_ae.datasets.validation import check_data
from keras_sparse_ae.metrics import hidden_activations, hidden_layers
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.registry import get_builder
from keras_sparse_ae.train import split_holdout

#: The keys of every row, in table order.
ROW_KEYS = (
    "value",
    "train_loss",
    "val_loss",
    "test_loss",
    "train_reconstruction",
    "val_reconstruction",
    "test_reconstruction",
    "sparsity_fraction",
    "train_sparsity_fraction",
    "mean_activation",
    "epochs",
    "best_epoch",
    "seconds",
    "diverged",
)

#: Row entries `SweepResult.best` can rank by: the measured values.
METRICS = tuple(
    key
    for key in ROW_KEYS
    if key not in ("value", "epochs", "best_epoch", "seconds", "diverged")
)


# === Result ===


class SweepResult:
    """What `regularization_sweep` measured, one row per swept value.

    Attributes:
        parameter: the name of the swept builder argument.
        rows: list of dicts, one per value in the order given, with the keys
            in `ROW_KEYS`: `value`; `train_loss`, `val_loss`, `test_loss`
            (the total loss, penalties included, of the restored best
            weights on the training part, the validation split and
            `x_test`; NaN without `x_test`); the same three for the
            `*_reconstruction` term alone; `sparsity_fraction` (share of code
            entries <= the threshold on `x_test`, or on the validation split
            without `x_test`), `train_sparsity_fraction` (on the training
            part) and `mean_activation` (mean code entry, same set as
            `sparsity_fraction`); `epochs` (epochs run), `best_epoch`
            (1-based epoch whose weights were restored), `seconds` (wall
            time of the value: build, fit and measurements) and `diverged`
            (`True` when the fit became NaN or infinite; its metrics are
            then NaN).
        models: `{value: model}` (empty when `keep_models=False`). A
            diverged model holds its last finite weights.
        histories: `{value: History.history dict}` of every fit.
        validation_index: indices (into `x`) of the validation split, the
            same for every value.
    """

    def __init__(self, parameter, rows, models, histories, validation_index):
        self.parameter = parameter
        self.rows = rows
        self.models = models
        self.histories = histories
        self.validation_index = validation_index

    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __repr__(self):
        values = ", ".join(f"{row['value']:g}" for row in self.rows)
        return f"SweepResult(parameter={self.parameter!r}, values=[{values}])"

    def best(self, metric="val_loss"):
        """The row with the lowest `metric` among the rows that did not diverge.

        Args:
            metric: a numeric row entry (see `METRICS`), `"val_loss"` by
                default.

        Raises:
            ValueError: an unknown metric, or no row with a finite value
                (every fit diverged, or `"test_*"` without `x_test`).
        """
        _validation.check_choice("metric", metric, METRICS)
        candidates = [
            row
            for row in self.rows
            if not row["diverged"] and math.isfinite(row[metric])
        ]
        if not candidates:
            raise ValueError(
                f"No row of the sweep over `{self.parameter}` has a finite "
                f"`{metric}`: every fit diverged"
                + (" or no x_test was given." if metric.startswith("test") else ".")
            )
        return min(candidates, key=lambda row: row[metric])

    def table(self):
        """The rows as a Markdown table (one line per value)."""
        header = (
            f"| {self.parameter} | epochs | best epoch | train loss | val loss "
            "| test loss | test reconstruction | sparsity fraction "
            "| mean activation | seconds |"
        )
        lines = [header, "|" + "---|" * 10]
        for row in self.rows:
            if row["diverged"]:
                cells = [
                    f"{row['value']:g}",
                    str(row["epochs"]),
                    "diverged",
                    *[""] * 6,
                    f"{row['seconds']:.1f}",
                ]
            else:
                cells = [
                    f"{row['value']:g}",
                    str(row["epochs"]),
                    str(row["best_epoch"]),
                    _number(row["train_loss"]),
                    _number(row["val_loss"]),
                    _number(row["test_loss"]),
                    _number(row["test_reconstruction"]),
                    f"{row['sparsity_fraction']:.3f}",
                    f"{row['mean_activation']:.4f}",
                    f"{row['seconds']:.1f}",
                ]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def plot(self, **kwargs):
        """`keras_sparse_ae.plotting.plot_sweep(self.rows, self.parameter)`.

        Keyword arguments (`scale=...`) go to `plot_sweep`.
        """
        from keras_sparse_ae.plotting import plot_sweep

        return plot_sweep(self.rows, self.parameter, **kwargs)


def _number(value):
    return "n/a" if not math.isfinite(value) else f"{value:.5g}"


# === Checks ===


def _accepted_arguments(builder):
    """Names `builder` accepts, or `None` when it takes `**kwargs`."""
    try:
        signature = inspect.signature(builder)
    except (TypeError, ValueError):
        return None
    names = []
    for p in signature.parameters.values():
        if p.kind is inspect.Parameter.VAR_KEYWORD:
            return None
        if p.kind in (
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            inspect.Parameter.KEYWORD_ONLY,
        ):
            names.append(p.name)
    return names


def _check_model(model):
    """`(builder, label, is_registered)` for a zoo name or a callable."""
    if isinstance(model, str):
        return get_builder(model), repr(model), True
    if callable(model):
        label = getattr(model, "__name__", type(model).__name__)
        return model, label, False
    raise _validation.invalid_type(
        "model", "a registered model name or a callable returning a model", model
    )


def _check_arguments(builder, label, registered, parameter, build_kwargs):
    if not isinstance(parameter, str):
        raise _validation.invalid_type(
            "parameter", "a builder argument name", parameter
        )
    if build_kwargs is None:
        build_kwargs = {}
    if not isinstance(build_kwargs, dict) or not all(
        isinstance(k, str) for k in build_kwargs
    ):
        raise _validation.invalid_type(
            "build_kwargs", "a dict of builder arguments or None", build_kwargs
        )
    build_kwargs = dict(build_kwargs)
    if parameter in build_kwargs:
        raise ValueError(
            "Invalid value for argument `build_kwargs`. Expected no entry for "
            f"the swept parameter {parameter!r} (its values come from "
            f"`values`). Received: build_kwargs={build_kwargs!r}"
        )
    reserved = ("input_dim", "seed") if registered else ()
    for name in reserved:
        if name in build_kwargs:
            raise ValueError(
                "Invalid value for argument `build_kwargs`. Expected no "
                f"{name!r}: the sweep sets input_dim from x and seed from "
                f"`seed`. Received: build_kwargs={build_kwargs!r}"
            )
    if registered and parameter == "input_dim":
        raise ValueError(
            "Invalid value for argument `parameter`. Expected a builder argument "
            "other than 'input_dim' (set from x). Received: parameter='input_dim'"
        )
    accepted = _accepted_arguments(builder)
    if accepted is not None:
        shown = ", ".join(n for n in accepted if n not in reserved)
        if parameter not in accepted:
            raise ValueError(
                "Invalid value for argument `parameter`. Expected an argument "
                f"of the builder of model {label}: one of {shown}. "
                f"Received: parameter={parameter!r}"
            )
        for name in build_kwargs:
            if name not in accepted:
                raise ValueError(
                    "Invalid value for argument `build_kwargs`. Expected "
                    f"arguments of the builder of model {label}: {shown}. "
                    f"Received: unknown argument {name!r} in "
                    f"build_kwargs={build_kwargs!r}"
                )
    return build_kwargs


def _check_values(values):
    expected = "a non-empty list of distinct finite numbers"
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise _validation.invalid_type("values", expected, values)
    cleaned = []
    for value in values:
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise _validation.invalid_type("values", expected, value)
        if not math.isfinite(value):
            raise _validation.invalid_value("values", expected, value)
        if value in cleaned:
            raise ValueError(
                f"Invalid value for argument `values`. Expected {expected}. "
                f"Received: {value!r} twice"
            )
        cleaned.append(value)
    if not cleaned:
        raise _validation.invalid_value("values", expected, values)
    return cleaned


# === Measurements ===


def code_layer_name(model):
    """Name of the layer whose output is the model's code.

    The encoder's last hidden layer in `keras_sparse_ae.metrics.hidden_layers`
    (its sparsity layer when it has one), else the first hidden layer.
    """
    pairs = hidden_layers(model)
    if not pairs:
        raise ValueError(
            f"Model {model.name!r} has no hidden layer to measure sparsity on."
        )
    encoder = [layer for part, layer in pairs if part is model.encoder]
    return (encoder or [pairs[0][1]])[-1].name


def _code(model, x, layer_name):
    return hidden_activations(model, x)[layer_name]


#: Samples per evaluation batch: the sets of a sweep are small, and one
#: large batch measures them in a few calls (the results do not depend on
#: it: `loss` and every term are per-sample means weighted by batch size).
EVALUATION_BATCH_SIZE = 10_000


def _evaluate(model, x):
    logs = model.evaluate(
        x, batch_size=EVALUATION_BATCH_SIZE, verbose=0, return_dict=True
    )
    return float(logs["loss"]), float(logs.get("reconstruction", logs["loss"]))


def _diverged_row(value, epochs, seconds):
    row = {key: math.nan for key in ROW_KEYS}
    row.update(value=value, epochs=epochs, best_epoch=0, seconds=seconds, diverged=True)
    return row


# === Sweep ===


def regularization_sweep(
    model,
    parameter,
    values,
    x,
    *,
    x_test=None,
    validation_split=0.2,
    epochs=100,
    patience=3,
    min_delta=1e-4,
    batch_size=32,
    seed=0,
    threshold=0.0,
    build_kwargs=None,
    keep_models=True,
    verbose=0,
):
    """Trains one model per value of `parameter` and measures each (lesson 002).

    For every value the model is built afresh (the same seed each time, so
    values differ only by the parameter), trained on `x` less a seeded
    validation split, with `keras.callbacks.EarlyStopping(monitor="val_loss",
    patience=patience, min_delta=min_delta, restore_best_weights=True)`,
    and measured with the restored best weights: losses and reconstruction
    on the training part, the validation split and `x_test`; the share of
    code entries `<= threshold` ("sparsity fraction", lesson 002's plot) and
    the mean code on `x_test` (on the validation split without `x_test`).
    The code is the output of the encoder's last hidden layer (see
    `code_layer_name`).

    The validation split is drawn from `x` only, never from `x_test`:
    lesson 002 stopped on its test set, which made its test loss an
    optimistic estimate. Before each value the sweep calls
    `keras.utils.set_random_seed(seed)` (Python, NumPy and backend
    generators), so the same seed gives the same split, initial weights and
    shuffling and, on the same machine, the same numbers.

    A fit that becomes NaN or infinite (`TrainingDivergedError`) is recorded
    with `diverged=True` and NaN metrics, and the sweep goes on with the
    next value.

    Args:
        model: a registered model name (`keras_sparse_ae.list_models()`),
            built as `build(model, input_dim=x.shape[1], seed=seed,
            **build_kwargs, parameter=value)`; or a callable returning a
            compiled `Autoencoder` from `(**{parameter: value,
            **build_kwargs})`.
        parameter: the builder argument to sweep (e.g. `"activity_weight"`).
        values: the values to try, distinct finite numbers, in order.
        x: training data (samples, features); see
            `keras_sparse_ae.datasets.check_data`.
        x_test: optional held-out data for the test figures.
        validation_split: float in (0, 1), the share of `x` used for
            EarlyStopping.
        epochs: int >= 1, the most epochs per value.
        patience: int >= 0, epochs without improvement before stopping.
        min_delta: float >= 0, the smallest change of `val_loss` counted as
            an improvement.
        batch_size: int >= 1.
        seed: int >= 0; seeds the split, the weights and the shuffling.
        threshold: float, a code entry `<= threshold` counts as silent.
        build_kwargs: optional dict of further builder arguments.
        keep_models: whether `SweepResult.models` keeps the trained models.
        verbose: int >= 0; 1 prints one line per value, 2 also Keras' epoch
            lines.

    Returns:
        A `SweepResult`.

    Raises:
        ValueError, TypeError: a bad argument, before any training.
    """
    builder, label, registered = _check_model(model)
    build_kwargs = _check_arguments(builder, label, registered, parameter, build_kwargs)
    values = _check_values(values)
    x = check_data(x, name="x")
    if x_test is not None:
        x_test = check_data(x_test, name="x_test", input_dim=x.shape[1])
    validation_split = _validation.check_float(
        "validation_split", validation_split, 0.0, 1.0, low_open=True, high_open=True
    )
    epochs = _validation.check_int("epochs", epochs)
    patience = _validation.check_int("patience", patience, low=0)
    min_delta = _validation.check_weight("min_delta", min_delta)
    batch_size = _validation.check_int("batch_size", batch_size)
    seed = _validation.check_int("seed", seed, low=0)
    threshold = _validation.check_float("threshold", threshold)
    if not isinstance(keep_models, bool):
        raise _validation.invalid_type("keep_models", "a bool", keep_models)
    verbose = _validation.check_int("verbose", verbose, low=0)
    train_index, validation_index = (
        np.sort(part)
        for part in split_holdout(
            np.arange(len(x)), validation_split, seed, name="validation_split"
        )
    )
    x_train, x_val = x[train_index], x[validation_index]
    measured = x_test if x_test is not None else x_val
    if verbose:
        test_text = f", {len(x_test)} test" if x_test is not None else ""
        print(
            f"Sweeping {parameter} over {len(values)} values: "
            f"{len(x_train)} training, {len(x_val)} validation{test_text} samples",
            flush=True,
        )

    rows, models, histories = [], {}, {}
    for value in values:
        start = time.perf_counter()
        keras.utils.set_random_seed(seed)
        kwargs = {**build_kwargs, parameter: value}
        if registered:
            kwargs = {"input_dim": x.shape[1], "seed": seed, **kwargs}
        net = builder(**kwargs)
        _check_built(net, label)
        stopper = keras.callbacks.EarlyStopping(
            monitor="val_loss",
            patience=patience,
            min_delta=min_delta,
            restore_best_weights=True,
        )
        try:
            history = net.fit(
                x_train,
                validation_data=x_val,
                epochs=epochs,
                batch_size=batch_size,
                callbacks=[stopper],
                verbose=2 if verbose >= 2 else 0,
            ).history
        except TrainingDivergedError as error:
            history = error.history.history if error.history is not None else {}
            row = _diverged_row(value, error.epoch, time.perf_counter() - start)
            if verbose:
                print(
                    f"{parameter}={value:g}: diverged in epoch {error.epoch} "
                    f"(`{error.name}` became {error.value}), "
                    f"{row['seconds']:.1f} s",
                    flush=True,
                )
        else:
            row = _measure(net, value, history, stopper, x_train, x_val, x_test)
            row["train_sparsity_fraction"], _ = _sparsity(net, x_train, threshold)
            row["sparsity_fraction"], row["mean_activation"] = _sparsity(
                net, measured, threshold
            )
            row["seconds"] = time.perf_counter() - start
            if verbose:
                print(
                    f"{parameter}={value:g}: {row['epochs']} epochs (best "
                    f"{row['best_epoch']}), val loss {row['val_loss']:.5g}, "
                    f"sparsity fraction {row['sparsity_fraction']:.3f}, "
                    f"{row['seconds']:.1f} s",
                    flush=True,
                )
        rows.append({key: row[key] for key in ROW_KEYS})
        histories[value] = history
        if keep_models:
            models[value] = net
    return SweepResult(parameter, rows, models, histories, validation_index)


def _check_built(net, label):
    if not isinstance(net, Autoencoder):
        raise TypeError(
            f"Invalid type for argument `model`. Expected a callable returning "
            f"a compiled keras_sparse_ae Autoencoder. Received: {label} "
            f"returned {type(net).__name__}"
        )
    if not getattr(net, "compiled", False):
        raise ValueError(
            f"Invalid value for argument `model`. Expected a callable returning "
            f"a compiled Autoencoder. Received: {label} returned an "
            "uncompiled model; call model.compile(optimizer=...) in it"
        )


def _measure(net, value, history, stopper, x_train, x_val, x_test):
    train_loss, train_rec = _evaluate(net, x_train)
    val_loss, val_rec = _evaluate(net, x_val)
    test_loss, test_rec = (
        _evaluate(net, x_test) if x_test is not None else (math.nan,) * 2
    )
    return {
        "value": value,
        "train_loss": train_loss,
        "val_loss": val_loss,
        "test_loss": test_loss,
        "train_reconstruction": train_rec,
        "val_reconstruction": val_rec,
        "test_reconstruction": test_rec,
        "epochs": len(history.get("loss", ())),
        "best_epoch": int(stopper.best_epoch) + 1,
        "diverged": False,
    }


def _sparsity(net, x, threshold):
    """`(share of code entries <= threshold, mean code entry)` on `x`."""
    code = _code(net, x, code_layer_name(net))
    return float(np.mean(code <= threshold)), float(np.mean(code))


__all__ = ["SweepResult", "regularization_sweep"]
