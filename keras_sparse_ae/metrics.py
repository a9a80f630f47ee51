"""Sparsity statistics of a trained autoencoder's hidden layers."""

import keras
import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.dense_transpose import DenseTranspose
from keras_sparse_ae.layers.kl_sparsity import KLSparsity
from keras_sparse_ae.layers.participation_trace import ParticipationTrace
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer


def hidden_layers(model):
    """The layers whose outputs are the model's hidden activations.

    The sparsity layers (`ParticipationTrace`, `KLSparsity`,
    `ActivityRegularizer`, `GaussianSampling`) if the model has any, else
    every `Dense` (or tied `DenseTranspose`) layer of the encoder and
    decoder except the decoder's output layer. Returns a list of
    `(part, layer)` pairs, `part` being `model.encoder` or `model.decoder`.
    """
    pairs = [
        (part, layer)
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if isinstance(layer, PenaltyLayer)
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
    pairs = hidden_layers(model)
    x = np.asarray(x, dtype="float32")
    collected = {layer.name: [] for _, layer in pairs}
    probes = []
    for part in (model.encoder, model.decoder):
        layers = [layer for p, layer in pairs if p is part]
        outputs = [layer.output for layer in layers] + [part.layers[-1].output]
        probes.append((keras.Model(part.inputs[0], outputs), layers))
    # Direct calls in inference mode: no traced predict function per probe.
    for start in range(0, len(x), batch_size):
        values = x[start : start + batch_size]
        for probe, layers in probes:
            *hidden, values = probe(values, training=False)
            for layer, h in zip(layers, hidden):
                collected[layer.name].append(keras.ops.convert_to_numpy(h))
    return {
        name: np.concatenate(chunks).astype(np.float64)
        for name, chunks in collected.items()
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
    `layer_statistics` on `x`, plus for a `ParticipationTrace` its `target`
    (`1 - sparsity`) and `trace` (list of floats), and for `KLSparsity` its
    `target`. Computation is vectorised; activations come from inference
    mode, so the traces are not changed.

    Args:
        model: a `keras_sparse_ae.Autoencoder`.
        x: (samples, features) array.
        threshold: a unit is active on a sample when its activation is
            above this value.
        batch_size: batch size of the forward passes.

    Returns:
        `{"threshold": threshold, "samples": n, "layers": {name: stats}}`.

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
    for name, values in hidden_activations(model, x, batch_size).items():
        stats = layer_statistics(values, threshold)
        layer = layers[name]
        if isinstance(layer, ParticipationTrace):
            stats["target"] = layer.participation
            trace = keras.ops.convert_to_numpy(layer.trace).astype(np.float64)
            stats["trace"] = [round(float(t), 6) for t in trace]
        elif isinstance(layer, KLSparsity):
            stats["target"] = layer.target
        report["layers"][name] = stats
    return report


def format_sparsity_report(report):
    """The report as a fixed-width text table, one row per hidden layer."""
    header = (
        f"{'layer':<10}{'units':>6}{'mean act':>10}{'target':>8}{'active':>8}"
        f"{'dead':>6}{'lifetime':>10}{'population':>12}"
    )
    rows = [header, "-" * len(header)]
    for name, s in report["layers"].items():
        target = f"{s['target']:.3f}" if "target" in s else "-"
        rows.append(
            f"{name:<10}{s['units']:>6}{s['mean_activation']:>10.3f}{target:>8}"
            f"{s['active_fraction']:>8.3f}{s['dead_units']:>6}"
            f"{s['lifetime_sparsity']:>10.3f}{s['population_sparsity']:>12.3f}"
        )
    return "\n".join(rows)
