"""Figures of hidden activity: histograms, mean activations, traces."""

import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.plotting._figure import (
    as_array,
    as_matrix,
    check_name_map,
    is_number,
    new_figure,
)

_BY_MODEL = "a non-empty dict {model label: {layer name: (samples, units) array}}"


def plot_activation_histograms(activations, targets=None, bins=50):
    """Histogram of each hidden layer's activations.

    Args:
        activations: dict `{layer name: (samples, units) array}` (see
            `keras_sparse_ae.metrics.hidden_activations`).
        targets: optional dict `{layer name: target mean activity}`, drawn
            as a vertical line beside the measured mean.
        bins: number of histogram bins.

    Returns:
        A `matplotlib.figure.Figure`, one panel per layer (log counts).

    Example:

    >>> import numpy as np
    >>> h = {"h1": np.random.default_rng(0).random((20, 4))}
    >>> len(plot_activation_histograms(h, {"h1": 0.25}).axes)
    1
    """
    activations = check_name_map(
        "activations", activations, "a non-empty dict {layer name: array}"
    )
    bins = _validation.check_int("bins", bins)
    names = list(activations)
    figure = new_figure(3.2 * len(names), 2.8)
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        values = np.asarray(activations[name]).ravel()
        ax.hist(values, bins=bins, color="tab:blue")
        ax.axvline(values.mean(), color="black", linestyle="-", label="mean")
        if targets and name in targets:
            ax.axvline(targets[name], color="tab:red", linestyle="--", label="target")
        ax.set_title(name)
        ax.set_xlabel("activation")
        ax.set_yscale("log")
    axes[0].set_ylabel("count")
    axes[0].legend()
    figure.suptitle("Hidden activations on held-out data")
    return figure


def _check_by_model(activations_by_model):
    """`{model: {layer: (samples, units) float array}}`, checked."""
    models = check_name_map("activations_by_model", activations_by_model, _BY_MODEL)
    checked = {}
    for label, layers in models.items():
        layers = check_name_map("activations_by_model", layers, _BY_MODEL)
        checked[label] = {
            name: as_matrix(f"activations_by_model[{label!r}][{name!r}]", values)
            for name, values in layers.items()
        }
    return checked


def plot_mean_activations(activations_by_model, target=None):
    """Mean activation of each hidden layer, models side by side.

    For every layer, one bar per model with the layer's mean activation
    `mean_ij h_ij` over samples and units, its value written on the bar:
    lesson 003 compares a plain and a KL-sparse autoencoder this way (the
    sparse model's first layer drops towards its target `rho`).

    Args:
        activations_by_model: dict `{model label: {layer name: (samples,
            units) array}}`, e.g. `{"plain": hidden_activations(plain, x),
            "sparse": hidden_activations(sparse, x)}`. A layer missing from
            a model has no bar for that model.
        target: optional float, the target mean activation (e.g. the KL
            sparsity target `rho`), drawn as a dashed horizontal line.

    Returns:
        A `matplotlib.figure.Figure` with one axes; its bar containers are
        in model order.

    Example:

    >>> import numpy as np
    >>> acts = {"plain": {"h1": np.full((4, 3), 0.5)},
    ...         "sparse": {"h1": np.full((4, 3), 0.1)}}
    >>> figure = plot_mean_activations(acts, target=0.05)
    >>> [round(float(bar.get_height()), 2) for bar in figure.axes[0].patches]
    [0.5, 0.1]
    """
    models = _check_by_model(activations_by_model)
    if target is not None:
        target = _validation.check_float("target", target)
    layers = list(dict.fromkeys(name for acts in models.values() for name in acts))
    width = 0.8 / len(models)
    figure = new_figure(max(4.0, 1.2 + 0.9 * len(layers) * len(models)), 3.4)
    ax = figure.subplots()
    positions = np.arange(len(layers), dtype=float)
    for i, (label, acts) in enumerate(models.items()):
        present = [j for j, name in enumerate(layers) if name in acts]
        means = [float(acts[layers[j]].mean()) for j in present]
        bars = ax.bar(
            positions[present] + (i - (len(models) - 1) / 2) * width,
            means,
            width,
            label=label,
        )
        ax.bar_label(bars, fmt="%.3f", fontsize="small")
    if target is not None:
        ax.axhline(target, color="black", linestyle="--", label=f"target {target:g}")
    ax.set_xticks(positions, layers)
    ax.set_xlabel("layer")
    ax.set_ylabel("mean activation")
    ax.margins(y=0.15)
    ax.legend()
    figure.suptitle("Mean activation per hidden layer")
    return figure


def plot_unit_means(activations_by_model, layer):
    """Each unit's mean activation in one layer, sorted, one line per model.

    Unit `j`'s mean is `mean_i h_ij` over the samples; sorted from the most
    to the least active unit, the curve shows how the activity is shared: a
    flat curve spreads it over every unit, a steep one gives it to a few
    (and units at 0 are dead).

    Args:
        activations_by_model: dict `{model label: {layer name: (samples,
            units) array}}`.
        layer: str, a layer name present for every model.

    Returns:
        A `matplotlib.figure.Figure` with one axes, one line per model
        (`x` the rank 1..units, `y` the sorted means).

    Example:

    >>> import numpy as np
    >>> acts = {"a": {"h1": np.array([[0.1, 0.9], [0.3, 0.7]])}}
    >>> line = plot_unit_means(acts, "h1").axes[0].lines[0]
    >>> [round(float(y), 2) for y in line.get_ydata()]
    [0.8, 0.2]
    """
    models = _check_by_model(activations_by_model)
    missing = [label for label, acts in models.items() if layer not in acts]
    if not isinstance(layer, str) or missing:
        names = sorted(set.intersection(*(set(acts) for acts in models.values())))
        raise _validation.invalid_value(
            "layer", f"a layer name present for every model (one of {names})", layer
        )
    figure = new_figure(5.0, 3.4)
    ax = figure.subplots()
    for label, acts in models.items():
        means = np.sort(acts[layer].mean(axis=0))[::-1]
        ax.plot(np.arange(1, len(means) + 1), means, marker=".", label=label)
    ax.set_xlabel("unit (sorted by mean activation)")
    ax.set_ylabel("mean activation")
    ax.legend()
    figure.suptitle(f"Per-unit mean activation of {layer}")
    return figure


def _trace_data(recorder):
    """`(traces, steps, targets)` from a recorder or a `(traces, steps)` pair."""
    if hasattr(recorder, "traces") and hasattr(recorder, "steps"):
        traces, steps = recorder.traces, recorder.steps
        targets = dict(getattr(recorder, "targets", None) or {})
    elif isinstance(recorder, (tuple, list)) and len(recorder) == 2:
        (traces, steps), targets = recorder, {}
    else:
        raise _validation.invalid_type(
            "recorder",
            "a `keras_sparse_ae.callbacks.TraceRecorder` or a pair (traces, steps)",
            recorder,
        )
    expected = "a non-empty dict {layer name: (records, units) array}"
    traces = check_name_map("recorder", traces, expected)
    steps = as_array("steps", steps, (1,), "a non-empty 1-D sequence of steps")
    checked = {}
    for name, values in traces.items():
        values = as_matrix(f"traces[{name!r}]", values)
        if len(values) != len(steps):
            raise ValueError(
                f"Invalid value for argument `recorder`. Expected one trace "
                f"record per step ({len(steps)} steps). Received: traces[{name!r}] "
                f"with {len(values)} records"
            )
        checked[name] = values
    return checked, steps, targets


def plot_trace_evolution(recorder, targets=None):
    """How each `ParticipationTrace` layer's activity trace moved in training.

    Every unit's trace is an exponential moving average of its activity,
    `trace_j <- gamma * trace_j + (1 - gamma) * mean_i h_ij`; the
    participation penalty pushes it towards `p = 1 - sparsity`. One panel
    per traced layer: the mean over units against the training step, a
    shaded band from the least to the most active unit, and the target
    `1 - sparsity` dashed.

    Args:
        recorder: a `keras_sparse_ae.callbacks.TraceRecorder` after `fit`,
            or a pair `(traces, steps)` of its `traces` dict and `steps`.
        targets: optional dict `{layer name: sparsity}` (as in
            `TraceRecorder.targets`, which is the default); each layer's
            dashed line is drawn at `1 - sparsity`.

    Returns:
        A `matplotlib.figure.Figure`, one axes per layer; in each, the first
        line is the mean trace.

    Example:

    >>> import numpy as np
    >>> traces = {"h1": np.array([[0.25, 0.25], [0.3, 0.1], [0.28, 0.2]])}
    >>> figure = plot_trace_evolution((traces, [0, 10, 20]), {"h1": 0.75})
    >>> [round(float(y), 3) for y in figure.axes[0].lines[0].get_ydata()]
    [0.25, 0.2, 0.24]
    """
    traces, steps, recorded_targets = _trace_data(recorder)
    if targets is not None:
        targets = check_name_map(
            "targets",
            targets,
            "a dict {layer name: sparsity in (0, 1)}",
            allow_empty=True,
        )
    else:
        targets = recorded_targets
    for value in targets.values():
        if not is_number(value) or not 0 < value < 1:
            raise _validation.invalid_value(
                "targets", "a dict {layer name: sparsity in (0, 1)}", targets
            )
    names = list(traces)
    figure = new_figure(3.4 * len(names), 3.0)
    axes = figure.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names):
        values = traces[name]
        ax.plot(steps, values.mean(axis=1), color="tab:blue", label="mean over units")
        ax.fill_between(
            steps,
            values.min(axis=1),
            values.max(axis=1),
            color="tab:blue",
            alpha=0.25,
            label="min..max",
        )
        if name in targets:
            ax.axhline(
                1.0 - targets[name],
                color="tab:red",
                linestyle="--",
                label=f"target 1 - sparsity = {1.0 - targets[name]:g}",
            )
        ax.set_title(name)
        ax.set_xlabel("training step")
    axes[0].set_ylabel("activity trace")
    axes[0].legend(fontsize="small")
    figure.suptitle("Participation traces during training")
    return figure
