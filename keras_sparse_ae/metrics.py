"""Sparsity statistics of a trained autoencoder's hidden layers."""

import keras
import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.dead_units import DeadUnitTracker
from keras_sparse_ae.layers.dense_transpose import DenseTranspose
from keras_sparse_ae.layers.kl_sparsity import KLSparsity
from keras_sparse_ae.layers.participation_trace import ParticipationTrace
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer


def hidden_layers(model):
    """The layers whose outputs are the model's hidden activations.

    The sparsity layers (`ParticipationTrace`, `KLSparsity`,
    `ActivityRegularizer`, `GaussianSampling`, `TopK`, `BatchTopK`,
    `DeadUnits`) if the model has any, else
    every `Dense` (or tied `DenseTranspose`) layer of the encoder and
    decoder except the decoder's output layer. Returns a list of
    `(part, layer)` pairs, `part` being `model.encoder` or `model.decoder`.
    """
    pairs = [
        (part, layer)
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if isinstance(layer, (PenaltyLayer, DeadUnitTracker))
    ]
    if pairs:
        return pairs
    output_layer = model.decoder.layers[-1]
    return [
        (part, layer)
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if isinstance(layer, (keras.layers.Dense, DenseTranspose))
        and layer is not output_layer
    ]


def hidden_activations(model, x, batch_size=1024):
    """Hidden activations of `x` in inference mode, by layer name.

    Returns:
        A dict `{layer name: (n_samples, units) float64 array}`, in order
        from the input to the output.
    """
    return _activations_and_reconstructions(model, x, batch_size)[0]


def _activations_and_reconstructions(model, x, batch_size):
    """`hidden_activations` and the (float64) reconstructions, in one pass."""
    pairs = hidden_layers(model)
    x = np.asarray(x, dtype="float32")
    collected = {layer.name: [] for _, layer in pairs}
    reconstructions = []
    probes = []
    for part in (model.encoder, model.decoder):
        layers = [layer for p, layer in pairs if p is part]
        outputs = [layer.output for layer in layers] + [part.layers[-1].output]
        probes.append((keras.Model(part.inputs[0], outputs), layers))
    # Direct calls in inference mode: no traced predict function per probe.
    for start in range(0, len(x), batch_size):
        values = x[start : start + batch_size]
        for probe, layers in probes:
            outputs = probe(values, training=False)
            # A probe with one output (no hidden layer in this part) gives a
            # bare tensor, not a list of one.
            if not isinstance(outputs, (list, tuple)):
                outputs = [outputs]
            *hidden, values = outputs
            for layer, h in zip(layers, hidden):
                collected[layer.name].append(keras.ops.convert_to_numpy(h))
        reconstructions.append(keras.ops.convert_to_numpy(values))
    activations = {
        name: np.concatenate(chunks).astype(np.float64)
        for name, chunks in collected.items()
    }
    return activations, np.concatenate(reconstructions).astype(np.float64)


def fidelity(x, x_hat):
    """Reconstruction quality of `x_hat` for `x` (both (samples, features)).

    Returns a dict with `mse` (mean over samples and features),
    `normalized_mse` (`sum (x - x_hat)**2 / sum x**2`) and
    `explained_variance` (`1 - sum (x - x_hat)**2 / sum (x - mean_i x)**2`,
    the mean taken per feature over the samples). A ratio whose denominator
    is 0 is reported as NaN.

    Example:

    >>> x = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> fidelity(x, np.array([[0.0, 1.0], [0.5, 1.0]]))
    {'mse': 0.0625, 'normalized_mse': 0.08333333333333333, 'explained_variance': 0.5}
    """
    x = np.asarray(x, dtype=np.float64)
    x_hat = np.asarray(x_hat, dtype=np.float64)
    squared_error = float(np.square(x - x_hat).sum())
    energy = float(np.square(x).sum())
    variance = float(np.square(x - x.mean(axis=0)).sum())
    return {
        "mse": squared_error / x.size,
        "normalized_mse": squared_error / energy if energy > 0 else float("nan"),
        "explained_variance": 1.0 - squared_error / variance
        if variance > 0
        else float("nan"),
    }


def treves_rolls(a, axis):
    """Treves-Rolls sparsity of non-negative activities along `axis`.

    `S = (1 - mean(a)**2 / mean(a**2)) / (1 - 1/m)` for `m` values: 0 when
    all are equal, 1 when one value carries all the activity. A silent
    vector (root mean square below 1e-12) counts as 1. Returns one value
    per other index; for `m == 1` it is 0.
    """
    a = np.abs(np.asarray(a, dtype=np.float64))
    m = a.shape[axis]
    if m < 2:
        return np.zeros(np.delete(a.shape, axis))
    mean = a.mean(axis=axis)
    mean_sq = np.square(a).mean(axis=axis)
    # RMS below 1e-12 is silence: the ratio of such values is rounding noise
    # (a sigmoid at -50 is 2e-22 in float64 and 0 or a denormal in float32).
    silent = mean_sq <= 1e-24
    ratio = np.square(mean) / np.where(silent, 1.0, mean_sq)
    return np.where(silent, 1.0, (1.0 - ratio) / (1.0 - 1.0 / m))


def layer_statistics(a, threshold=0.1):
    """Sparsity statistics of one layer's activations `a` (samples, units).

    Returns a dict with `mean_activation` (over samples and units),
    `active_fraction` (fraction of entries above `threshold`, i.e. L0 / n),
    `l0` (mean number of active units per sample), `dead_units` and
    `dead_fraction` (units never above `threshold` on these samples),
    `lifetime_sparsity` (Treves-Rolls over samples, mean over units) and
    `population_sparsity` (Treves-Rolls over units, mean over samples).
    """
    a = np.asarray(a, dtype=np.float64)
    active = a > threshold
    dead = ~active.any(axis=0)
    return {
        "units": int(a.shape[1]),
        "mean_activation": float(a.mean()),
        "active_fraction": float(active.mean()),
        "l0": float(active.sum(axis=1).mean()),
        "dead_units": int(dead.sum()),
        "dead_fraction": float(dead.mean()),
        "lifetime_sparsity": float(treves_rolls(a, axis=0).mean()),
        "population_sparsity": float(treves_rolls(a, axis=1).mean()),
    }


def sparsity_report(model, x, threshold=0.1, batch_size=1024):
    """Per-hidden-layer sparsity statistics of `model` on data `x`.

    For every hidden layer (see `hidden_layers`): the statistics of
    `layer_statistics` on `x` (L0 and the dead fraction on `x` among them),
    plus for a `ParticipationTrace` its `target` (`1 - sparsity`), `trace`
    (list of floats) and `collapsed_units` (how many units' trace fell
    below a tenth of the target, `ParticipationTrace.collapsed_units`), for
    `KLSparsity` its `target`, for `TopK` and `BatchTopK` their `k`, and for
    every dead-unit layer its `tracked_dead_fraction` (dead per
    `steps_since_active`, over training). For the model as a
    whole: `mse`, `normalized_mse` and `explained_variance` of the
    reconstructions (see `fidelity`). Computation is vectorised;
    activations come from inference mode, so the traces are not changed.

    Args:
        model: a `keras_sparse_ae.Autoencoder`.
        x: (samples, features) array.
        threshold: a unit is active on a sample when its activation is
            above this value.
        batch_size: batch size of the forward passes.

    Returns:
        `{"threshold": threshold, "samples": n, "layers": {name: stats},
        "mse": ..., "normalized_mse": ..., "explained_variance": ...}`.

    Example:

    >>> import numpy as np
    >>> from keras_sparse_ae import build_deep_sae
    >>> model = build_deep_sae(input_dim=16, hidden=(8, 4), seed=0)
    >>> x = np.random.default_rng(0).random((10, 16)).astype("float32")
    >>> report = sparsity_report(model, x)
    >>> list(report["layers"])
    ['h1', 'h2', 'h3']
    >>> report["layers"]["h2"]["trace"] == [0.25] * 4  # untouched by inference
    True
    """
    threshold = _validation.check_float("threshold", threshold)
    x = np.asarray(x)
    layers = {layer.name: layer for _, layer in hidden_layers(model)}
    report = {"threshold": threshold, "samples": int(x.shape[0]), "layers": {}}
    activations, x_hat = _activations_and_reconstructions(model, x, batch_size)
    for name, values in activations.items():
        stats = layer_statistics(values, threshold)
        layer = layers[name]
        if isinstance(layer, ParticipationTrace):
            stats["target"] = layer.participation
            trace = keras.ops.convert_to_numpy(layer.trace).astype(np.float64)
            stats["trace"] = [round(float(t), 6) for t in trace]
            stats["collapsed_units"] = int(layer.collapsed_units().sum())
        elif isinstance(layer, KLSparsity):
            stats["target"] = layer.target
        if isinstance(layer, DeadUnitTracker):
            if hasattr(layer, "k"):
                stats["k"] = layer.k
            stats["tracked_dead_fraction"] = layer.dead_fraction()
        report["layers"][name] = stats
    report.update(fidelity(x, x_hat))
    return report


def format_sparsity_report(report):
    """The report as a fixed-width text table, one row per hidden layer.

    A last line gives the model's reconstruction quality when the report
    has it (`mse`, `normalized_mse`, `explained_variance`).
    """
    header = (
        f"{'layer':<10}{'units':>6}{'mean act':>10}{'target':>8}{'active':>8}"
        f"{'L0':>8}{'dead':>6}{'lifetime':>10}{'population':>12}"
    )
    rows = [header, "-" * len(header)]
    for name, s in report["layers"].items():
        target = f"{s['target']:.3f}" if "target" in s else "-"
        rows.append(
            f"{name:<10}{s['units']:>6}{s['mean_activation']:>10.3f}{target:>8}"
            f"{s['active_fraction']:>8.3f}{s['l0']:>8.2f}{s['dead_units']:>6}"
            f"{s['lifetime_sparsity']:>10.3f}{s['population_sparsity']:>12.3f}"
        )
    if "mse" in report:
        rows.append(
            f"reconstruction: mse {report['mse']:.5f}, normalized mse "
            f"{report['normalized_mse']:.4f}, explained variance "
            f"{report['explained_variance']:.4f}"
        )
    return "\n".join(rows)
