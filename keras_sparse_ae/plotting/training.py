"""Figures of training runs: loss curves and regularisation sweeps."""

import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.plotting._figure import is_number, new_figure

_SCALES = ("auto", "linear", "log", "symlog")


def _history_dict(history):
    logs = getattr(history, "history", history)
    if not hasattr(logs, "items"):
        raise _validation.invalid_type(
            "history", "a `keras.callbacks.History` or its `.history` dict", history
        )
    logs = {
        str(name): np.asarray(values, dtype=np.float64).ravel()
        for name, values in logs.items()
    }
    if not any(len(values) for values in logs.values()):
        raise _validation.invalid_value(
            "history", "a history with at least one logged epoch", history
        )
    return logs


def _terms(logs, terms):
    logged = list(dict.fromkeys(name.removeprefix("val_") for name in logs))
    if terms is None:
        return logged
    if isinstance(terms, str):
        terms = [terms]
    terms = list(terms)
    unknown = [
        term
        for term in terms
        if not isinstance(term, str) or (term not in logs and f"val_{term}" not in logs)
    ]
    if not terms or unknown:
        raise _validation.invalid_value(
            "terms",
            f"names logged in `history` (one or more of {', '.join(logged)})",
            terms,
        )
    return list(dict.fromkeys(terms))


def plot_training_curves(history, terms=None, logy=True):
    """Every logged term against the epoch, validation dashed.

    One curve per term in the history (`loss`, `reconstruction`, each
    penalty such as `h1_sparsity`, ...), the validation value of the same
    term (`val_*`) dashed in the same colour.

    Args:
        history: a `keras.callbacks.History` (what `fit` returns) or its
            `.history` dict `{name: [value per epoch]}`.
        terms: optional name or list of names to draw (without `val_`; the
            validation curve comes along); default every logged term.
        logy: bool, logarithmic y axis (symmetric log when a value drawn is
            0 or negative), so that small penalties show beside the loss.

    Returns:
        A `matplotlib.figure.Figure` with one axes: for each term its
        training line, then its validation line (when logged).

    Example:

    >>> logs = {"loss": [0.5, 0.3], "val_loss": [0.6, 0.4], "h1_sparsity": [0.1, 0.05]}
    >>> ax = plot_training_curves(logs).axes[0]
    >>> [line.get_label() for line in ax.lines]
    ['loss', 'val_loss', 'h1_sparsity']
    """
    logs = _history_dict(history)
    terms = _terms(logs, terms)
    if not isinstance(logy, (bool, np.bool_)):
        raise _validation.invalid_type("logy", "a bool", logy)
    lines = sum(name in logs for term in terms for name in (term, f"val_{term}"))
    # A deep SAE logs a dozen terms: beside the axes, the legend hides nothing.
    outside = lines > 6
    figure = new_figure(8.5 if outside else 6.0, 3.8)
    ax = figure.subplots()
    drawn = []
    validation = False
    for i, term in enumerate(terms):
        color = f"C{i % 10}"
        for name, style in ((term, "-"), (f"val_{term}", "--")):
            if name in logs and len(logs[name]):
                values = logs[name]
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, linestyle=style, color=color, label=name)
                drawn.append(values)
                validation = validation or style == "--"
    if logy:
        values = np.concatenate(drawn)
        values = values[np.isfinite(values)]
        if values.size and (values <= 0).any():
            positive = np.abs(values[values != 0])
            ax.set_yscale("symlog", linthresh=positive.min() if positive.size else 1.0)
        else:
            ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("value")
    if outside:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1.0))
    else:
        ax.legend(fontsize="small")
    figure.suptitle(
        "Training curves (validation dashed)" if validation else "Training curves"
    )
    return figure


def axis_scale(values):
    """The x scale `plot_sweep(..., scale="auto")` picks for `values`.

    `"symlog"` when a value is 0 and the non-zero values span more than a
    factor of 10, `"log"` when all are > 0 and span more than 10x, else
    `"linear"`.

    Example:

    >>> axis_scale([0, 1e-5, 1e-3]), axis_scale([1e-5, 1e-3]), axis_scale([1, 2])
    ('symlog', 'log', 'linear')
    """
    values = np.asarray(values, dtype=np.float64)
    positive = values[values > 0]
    if (values < 0).any() or positive.size == 0:
        return "linear"
    wide = positive.max() > 10 * positive.min()
    if not wide:
        return "linear"
    return "symlog" if (values == 0).any() else "log"


def _sweep_rows(rows, parameter):
    if hasattr(rows, "rows"):
        parameter = getattr(rows, "parameter", None) if parameter is None else parameter
        rows = rows.rows
    if parameter is None or not isinstance(parameter, str):
        raise _validation.invalid_type(
            "parameter", "the name of the swept parameter (a str)", parameter
        )
    expected = "a non-empty list of dicts with a numeric `value` (or a SweepResult)"
    try:
        rows = list(rows)
    except TypeError:
        raise _validation.invalid_type("rows", expected, rows) from None
    if not rows or not all(
        hasattr(row, "get") and is_number(row.get("value")) for row in rows
    ):
        raise _validation.invalid_value("rows", expected, rows)
    return sorted(rows, key=lambda row: row["value"]), parameter


def _column(rows, key):
    """The rows' `key` as floats (missing or `None` -> NaN); `None` if all NaN."""
    values = np.array(
        [np.nan if row.get(key) is None else float(row[key]) for row in rows]
    )
    return None if np.isnan(values).all() else values


def plot_sweep(rows, parameter=None, scale="auto"):
    """Loss and sparsity against a swept regularisation weight.

    Two panels: (a) the loss on the training, validation and test data
    (solid) with the reconstruction part of each (dashed, same colour),
    (b) the sparsity fraction (share of code entries at or below the
    sweep's threshold) on the training and test data. Diverged fits (NaN)
    leave gaps.

    Args:
        rows: the sweep's rows, dicts with `value` and any of `train_loss`,
            `val_loss`, `test_loss`, `train_reconstruction`,
            `val_reconstruction`, `test_reconstruction`,
            `train_sparsity_fraction`, `sparsity_fraction` (see
            `keras_sparse_ae.regularization_sweep`), or a `SweepResult`.
        parameter: str, the swept parameter's name (the x label); taken from
            the `SweepResult` when `None`.
        scale: x scale, one of `"auto"`, `"linear"`, `"log"`, `"symlog"`;
            `"auto"` picks it with `axis_scale`.

    Returns:
        A `matplotlib.figure.Figure` with two axes (loss, sparsity).

    Example:

    >>> rows = [{"value": v, "train_loss": 0.1 + v, "test_loss": 0.2 + v,
    ...          "sparsity_fraction": v} for v in (0.0, 1e-4, 1e-2)]
    >>> figure = plot_sweep(rows, "activity_weight")
    >>> figure.axes[0].get_xscale(), len(figure.axes)
    ('symlog', 2)
    """
    rows, parameter = _sweep_rows(rows, parameter)
    scale = _validation.check_choice("scale", scale, _SCALES)
    values = np.array([float(row["value"]) for row in rows])
    if scale == "auto":
        scale = axis_scale(values)
    if scale == "log" and (values <= 0).any():
        raise _validation.invalid_value(
            "scale", "'linear' or 'symlog' for values <= 0", scale
        )
    has_test = _column(rows, "test_loss") is not None
    figure = new_figure(9.0, 3.6)
    loss_ax, sparsity_ax = figure.subplots(1, 2)
    for split, label, color in (
        ("train", "train", "C0"),
        ("val", "validation", "C1"),
        ("test", "test", "C2"),
    ):
        for key, style, what in (
            (f"{split}_loss", "-", "loss"),
            (f"{split}_reconstruction", "--", "reconstruction"),
        ):
            column = _column(rows, key)
            if column is not None:
                loss_ax.plot(
                    values,
                    column,
                    linestyle=style,
                    marker="o",
                    color=color,
                    label=f"{label} {what}",
                )
    for key, label, color in (
        ("train_sparsity_fraction", "train", "C0"),
        ("sparsity_fraction", "test" if has_test else "validation", "C2"),
    ):
        column = _column(rows, key)
        if column is not None:
            sparsity_ax.plot(values, column, marker="o", color=color, label=label)
    positive = np.abs(values[values != 0])
    for ax in (loss_ax, sparsity_ax):
        if scale == "symlog":
            ax.set_xscale("symlog", linthresh=positive.min() if positive.size else 1.0)
        else:
            ax.set_xscale(scale)
        ax.set_xlabel(parameter)
        if ax.lines:
            ax.legend(fontsize="small")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("(a) loss")
    sparsity_ax.set_ylabel("sparsity fraction")
    sparsity_ax.set_title("(b) sparsity fraction")
    figure.suptitle(f"Sweep over {parameter}")
    return figure
