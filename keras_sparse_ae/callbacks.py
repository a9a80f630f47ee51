"""Training callbacks.

`DivergenceGuard` stops a diverging run and gives back finite weights;
`TraceRecorder` records the participation traces during training;
`DeadUnitMonitor` logs the share of dead units, and `resample_dead_units`
revives them.
"""

import math

import keras
import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.dead_units import DeadUnitTracker
from keras_sparse_ae.layers.participation_trace import ParticipationTrace


class TrainingDivergedError(FloatingPointError):
    """Training produced a NaN or infinite loss (or penalty term).

    Raised by `Autoencoder.fit` after `DivergenceGuard` stopped the run and
    restored the weights and optimizer state of the last finite epoch.

    Attributes:
        epoch: the 1-based epoch in which the first non-finite value showed.
        name: the name of the first non-finite log entry (`loss` first).
        value: that value (`nan`, `inf` or `-inf`).
        history: the `keras.callbacks.History` of the stopped run.
    """

    def __init__(self, message, *, epoch=None, name=None, value=None, history=None):
        super().__init__(message)
        self.epoch = epoch
        self.name = name
        self.value = value
        self.history = history


class DivergenceGuard(keras.callbacks.Callback):
    """Stops training when a logged value becomes NaN or infinite.

    At the end of every epoch it looks at the epoch's logs (the loss, each
    penalty term, the validation values). While they are finite it keeps a
    copy of the model's variables (weights, the participation traces, seed
    states) and of the optimizer's variables. When one is not finite it
    stops training, and at the end of training puts that copy back, so the
    model never holds the NaN weights of a diverged run: saving it
    afterwards saves the last good state. `Autoencoder.fit` adds one of
    these to every run (unless `callbacks` already holds one) and raises
    `TrainingDivergedError` with the message in `error` when it fired.

    Checking once per epoch keeps the training loop free of per-batch
    synchronisation; combine it with `keras.callbacks.TerminateOnNaN` to
    stop within the epoch as well.

    Attributes:
        error: `None`, or the `TrainingDivergedError` describing the
            divergence once it happened.
    """

    def __init__(self):
        super().__init__()
        self.error = None
        self._snapshot = None
        self._last_good_epoch = 0

    def on_train_begin(self, logs=None):
        self.error = None
        self._last_good_epoch = 0
        self._snapshot = self._take_snapshot()

    def on_epoch_end(self, epoch, logs=None):
        bad = _first_non_finite(logs or {})
        if bad is None:
            self._snapshot = self._take_snapshot()
            self._last_good_epoch = epoch + 1
            return
        name, value = bad
        self.model.stop_training = True
        self.error = TrainingDivergedError(
            _message(self.model, epoch + 1, name, value, self._last_good_epoch),
            epoch=epoch + 1,
            name=name,
            value=value,
        )

    def on_train_end(self, logs=None):
        # Restored here, not in `on_epoch_end`: the JAX trainer writes its
        # last (diverged) state back into the variables after the loop.
        if self.error is not None and self._snapshot is not None:
            for variable, value in zip(_variables(self.model), self._snapshot):
                variable.assign(value)

    def _take_snapshot(self):
        return [keras.ops.convert_to_numpy(v) for v in _variables(self.model)]


def _variables(model):
    """The model's variables, then its optimizer's (once built)."""
    found = list(model.variables)
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None and getattr(optimizer, "built", False):
        found += list(optimizer.variables)
    return found


def _first_non_finite(logs):
    """`(name, value)` of the first non-finite log entry, `loss` first."""
    names = sorted(logs, key=lambda n: (n != "loss", n != "val_loss"))
    for name in names:
        try:
            value = float(logs[name])
        except (TypeError, ValueError):
            continue
        if not math.isfinite(value):
            return name, value
    return None


def learning_rate_text(model):
    """`"learning_rate=0.003 (Adam)"` for the model's optimizer, or `""`."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return ""
    try:
        rate = float(np.asarray(keras.ops.convert_to_numpy(optimizer.learning_rate)))
    except (TypeError, ValueError, AttributeError):
        return f"({type(optimizer).__name__})"
    return f"learning_rate={rate:g} ({type(optimizer).__name__})"


def _message(model, epoch, name, value, last_good_epoch):
    restored = (
        f"the end of epoch {last_good_epoch}"
        if last_good_epoch
        else "their values before training"
    )
    return (
        f"Training diverged: `{name}` became {value} in epoch {epoch}. The "
        "most likely cause is a learning rate too high for this model and data "
        f"({learning_rate_text(model)}); lower it, e.g. tenfold, or lower the "
        "penalty weights. The weights and optimizer state were restored to "
        f"{restored}, so the model holds no NaN."
    )


# === Dead units ===


def dead_unit_trackers(model):
    """The `DeadUnitTracker` layers (`TopK`, `BatchTopK`, `DeadUnits`) of `model`."""
    return layers_of_type(model, DeadUnitTracker)


class DeadUnitMonitor(keras.callbacks.Callback):
    """Logs the fraction of dead units at the end of every epoch.

    Reads `dead_fraction()` of every `DeadUnitTracker` layer of the model
    (`TopK`, `BatchTopK`, `DeadUnits`): a unit is dead when it has not been
    active for `dead_after` training steps. With one such layer the value
    is logged as `dead_fraction`, with several as
    `<layer name>_dead_fraction`; `History` then holds one value per epoch.

    Example:

    >>> import numpy as np
    >>> from keras_sparse_ae import build_topk_sae
    >>> model = build_topk_sae(input_dim=8, code_size=6, k=2, seed=0)
    >>> x = np.random.default_rng(0).random((16, 8)).astype("float32")
    >>> history = model.fit(x, epochs=2, verbose=0,
    ...                     callbacks=[DeadUnitMonitor()])
    >>> len(history.history["dead_fraction"])
    2
    """

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        trackers = dead_unit_trackers(self.model)
        if len(trackers) == 1:
            logs["dead_fraction"] = trackers[0].dead_fraction()
            return
        for layer in trackers:
            logs[f"{layer.name}_dead_fraction"] = layer.dead_fraction()


#: Anthropic's scale of a resampled encoder column, relative to the mean norm
#: of the alive units' columns.
RESAMPLE_ENCODER_SCALE = 0.2


def _code_dense_layers(model, tracker):
    """The encoder `Dense` feeding `tracker` and the decoder's first `Dense`."""
    encoder_layers = list(model.encoder.layers)
    if tracker not in encoder_layers:
        raise ValueError(
            "Invalid value for argument `layer`. Expected a dead-unit layer of "
            f"the model's encoder. Received: layer={tracker.name!r}"
        )
    before = encoder_layers[: encoder_layers.index(tracker)]
    encoder_dense = next(
        (x for x in reversed(before) if isinstance(x, keras.layers.Dense)), None
    )
    decoder_dense = next(
        (x for x in model.decoder.layers if isinstance(x, keras.layers.Dense)), None
    )
    if encoder_dense is None or decoder_dense is None:
        raise ValueError(
            "Invalid value for argument `model`. Expected a `Dense` layer before "
            f"`{tracker.name}` in the encoder and a `Dense` decoder layer. "
            f"Received: model={model.name!r}"
        )
    return encoder_dense, decoder_dense


def _zero_slots(optimizer, variable, index, axis):
    """Zeroes `index` along `axis` of `variable`'s Adam moments; True if done."""
    momentums = getattr(optimizer, "_momentums", None)
    velocities = getattr(optimizer, "_velocities", None)
    if optimizer is None or not optimizer.built or None in (momentums, velocities):
        return False
    try:
        position = optimizer._get_variable_index(variable)
    except (AttributeError, KeyError):
        return False
    for slots in (momentums, velocities):
        value = np.array(keras.ops.convert_to_numpy(slots[position]))
        np.moveaxis(value, axis, 0)[index] = 0.0
        slots[position].assign(value)
    return True


def resample_dead_units(model, x, layer=None, batch_size=1024, seed=None):
    """Re-initialises the dead units of `model` from poorly reconstructed inputs.

    Anthropic's recipe ("Towards Monosemanticity", 2023, "Neuron
    resampling"): for each dead unit of `layer` (see `DeadUnitTracker`),

    1. draw an input `x_i` with probability proportional to the square of
       its squared reconstruction error `sum_j (x_ij - x_hat_ij)**2`
       (uniformly if every error is 0), distinct inputs for distinct units
       unless fewer inputs have a non-zero error than units are dead;
    2. set the unit's decoder row to `x_i / ||x_i||`;
    3. set its encoder column to the same direction scaled to 0.2 times the
       mean norm of the alive units' encoder columns (1 if none is alive),
       and its encoder bias to 0;
    4. zero those entries of the Adam moments of the three variables, when
       the optimizer is a built Keras `Adam`-like optimizer with
       `_momentums` and `_velocities` (private Keras API; skipped silently
       otherwise), and reset the units' `steps_since_active` to 0.

    Args:
        model: an `Autoencoder` whose encoder holds `layer` after a `Dense`
            layer and whose decoder starts with a `Dense` layer (the zoo's
            `topk_sae` and `batch_topk_sae`).
        x: (samples, features) array, the inputs to draw from.
        layer: the dead-unit layer, or `None` for the model's only one.
        batch_size: batch size of the reconstruction pass.
        seed: int or `None`, seeds the draw.

    Returns:
        The number of units resampled.
    """
    if layer is None:
        trackers = dead_unit_trackers(model)
        if len(trackers) != 1:
            raise ValueError(
                "Invalid value for argument `layer`. Expected a layer, since "
                f"the model has {len(trackers)} dead-unit layers. Received: "
                "layer=None"
            )
        layer = trackers[0]
    encoder_dense, decoder_dense = _code_dense_layers(model, layer)
    dead = np.flatnonzero(layer.dead_mask())
    if dead.size == 0:
        return 0
    x = np.asarray(x, dtype="float32")
    x_hat = model.predict(x, batch_size=batch_size, verbose=0)
    error = np.square(x.astype(np.float64) - x_hat).sum(axis=1) ** 2
    total = error.sum()
    p = error / total if total > 0 else None
    rng = np.random.default_rng(seed)
    # Distinct inputs where there are enough with a non-zero error.
    candidates = len(x) if p is None else int(np.count_nonzero(p))
    chosen = rng.choice(len(x), size=dead.size, replace=dead.size > candidates, p=p)
    directions = x[chosen].astype(np.float64)
    norms = np.linalg.norm(directions, axis=1, keepdims=True)
    directions = np.where(norms > 0, directions / np.where(norms > 0, norms, 1), 0)

    w_enc, b_enc = (np.array(keras.ops.convert_to_numpy(v)) for v in (
        encoder_dense.kernel, encoder_dense.bias))  # fmt: skip
    w_dec = np.array(keras.ops.convert_to_numpy(decoder_dense.kernel))
    alive = np.setdiff1d(np.arange(w_enc.shape[1]), dead)
    scale = np.linalg.norm(w_enc[:, alive], axis=0).mean() if alive.size else 1.0
    w_dec[dead] = directions
    w_enc[:, dead] = (directions * RESAMPLE_ENCODER_SCALE * scale).T
    b_enc[dead] = 0.0
    encoder_dense.kernel.assign(w_enc)
    encoder_dense.bias.assign(b_enc)
    decoder_dense.kernel.assign(w_dec)

    optimizer = getattr(model, "optimizer", None)
    _zero_slots(optimizer, encoder_dense.kernel, dead, axis=1)
    _zero_slots(optimizer, encoder_dense.bias, dead, axis=0)
    _zero_slots(optimizer, decoder_dense.kernel, dead, axis=0)
    steps = np.array(keras.ops.convert_to_numpy(layer.steps_since_active))
    steps[dead] = 0.0
    layer.steps_since_active.assign(steps)
    return int(dead.size)


# === Participation traces ===


def layers_of_type(model, cls):
    """The layers of class `cls` anywhere inside `model`, in model order.

    Walks `.layers` depth first (the encoder's layers, then the decoder's,
    and so on into any nested model), each layer once. Keras'
    `_flatten_layers` is not used: its order is not the model's.
    """
    found = []
    pending = [model]
    while pending:
        layer = pending.pop()
        if isinstance(layer, cls) and all(layer is not seen for seen in found):
            found.append(layer)
        pending.extend(reversed(getattr(layer, "layers", None) or ()))
    return found


def trace_layers(model):
    """The `ParticipationTrace` layers anywhere inside `model`, in model order."""
    return layers_of_type(model, ParticipationTrace)


class TraceRecorder(keras.callbacks.Callback):
    """Records the activity trace of every `ParticipationTrace` layer.

    A `ParticipationTrace` layer keeps, per unit, an exponential moving
    average of its activity, `trace_j <- gamma * trace_j + (1 - gamma) *
    mean_i h_ij`, which the participation penalty pulls towards
    `p = 1 - sparsity`. This callback copies every such trace once before
    training (step 0), then at the end of every epoch or, with
    `every_n_batches`, each time another `every_n_batches` training steps
    have run, so that `plotting.plot_trace_evolution` can show how the
    traces moved.

    Batch hooks run once per `steps_per_execution` steps (`build_deep_sae`
    compiles with 10): the recorder then sees every 10th step, and records
    at the first one that completes another `every_n_batches`. Each record
    copies the traces from the device, so recording every few batches
    synchronises that often.

    Each `fit` starts a new record (like `History`).

    Args:
        every_n_batches: int >= 1 or `None` (default): record every this
            many training steps instead of at each epoch end.

    Attributes:
        steps: list of int, the number of training steps of this `fit` run
            before each record (0 first).
        traces: `{layer name: (records, units) float32 array}`, one row
            per entry of `steps` (a property; empty before training).
        targets: `{layer name: sparsity}` of each traced layer; the trace's
            target is `1 - sparsity`.

    Raises:
        ValueError: on `fit`, before any step, if the model has no
            `ParticipationTrace` layer.

    Example:

    >>> import numpy as np
    >>> from keras_sparse_ae import build_deep_sae
    >>> model = build_deep_sae(input_dim=16, hidden=(8, 4), seed=0)
    >>> x = np.random.default_rng(0).random((64, 16)).astype("float32")
    >>> recorder = TraceRecorder()
    >>> _ = model.fit(x, epochs=2, batch_size=16, verbose=0,
    ...               callbacks=[recorder])
    >>> recorder.steps
    [0, 4, 8]
    >>> {name: trace.shape for name, trace in recorder.traces.items()}
    {'h1': (3, 8), 'h2': (3, 4), 'h3': (3, 8)}
    >>> recorder.targets
    {'h1': 0.75, 'h2': 0.75, 'h3': 0.75}
    """

    def __init__(self, every_n_batches=None):
        super().__init__()
        if every_n_batches is not None:
            every_n_batches = _validation.check_int("every_n_batches", every_n_batches)
        self.every_n_batches = every_n_batches
        self.steps = []
        self.targets = {}
        self._layers = []
        self._records = {}
        self._first_iteration = None
        self._step = 0
        self._epoch_start = 0

    @property
    def traces(self):
        return {
            name: np.stack(rows).astype(np.float32)
            for name, rows in self._records.items()
            if rows
        }

    def on_train_begin(self, logs=None):
        model = self.model
        layers = trace_layers(model)
        if not layers:
            raise ValueError(
                "Invalid value for argument `model`. Expected a model with at "
                "least one `ParticipationTrace` layer (`TraceRecorder` records "
                f"their traces). Received: model {model.name!r} without one"
            )
        names = [layer.name for layer in layers]
        if len(set(names)) != len(names):
            raise ValueError(
                "Invalid value for argument `model`. Expected "
                "`ParticipationTrace` layers with unique names (traces are "
                f"recorded by name). Received: layers named {names}"
            )
        self._layers = layers
        self.targets = {layer.name: layer.sparsity for layer in layers}
        self._records = {name: [] for name in names}
        self.steps = []
        self._first_iteration = self._iterations()
        self._epoch_start = self._step = 0
        self._record()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = self._step

    def on_train_batch_end(self, batch, logs=None):
        n = self.every_n_batches
        if n is None and self._first_iteration is not None:
            return  # the optimizer's counter gives the step at the epoch end
        previous = self._step
        self._step = self._steps_run(batch)
        if n is not None and self._step // n > previous // n:
            self._record()

    def on_epoch_end(self, epoch, logs=None):
        self._step = self._steps_run()
        if self.every_n_batches is None:
            self._record()

    def _iterations(self):
        """The optimizer's step counter, or `None` without an optimizer."""
        optimizer = getattr(self.model, "optimizer", None)
        iterations = getattr(optimizer, "iterations", None)
        if iterations is None:
            return None
        return int(np.asarray(keras.ops.convert_to_numpy(iterations)))

    def _steps_run(self, batch=None):
        """Training steps run so far in this `fit`."""
        # The optimizer counts the steps exactly. Keras' `batch` argument
        # overshoots in an epoch's last, partial execution when
        # `steps_per_execution > 1` (it is `begin + steps_per_execution - 1`).
        if self._first_iteration is not None:
            return self._iterations() - self._first_iteration
        if batch is None:
            return self._step
        steps = (self.params or {}).get("steps") or batch + 1
        return self._epoch_start + min(batch + 1, steps)

    def _record(self):
        # `self.model` (not `_model`): on JAX the property first writes the
        # trainer's state back into the variables.
        self.model  # noqa: B018
        for layer in self._layers:
            value = keras.ops.convert_to_numpy(layer.trace)
            self._records[layer.name].append(np.array(value, dtype=np.float32))
        self.steps.append(self._step)


__all__ = [
    "DeadUnitMonitor",
    "DivergenceGuard",
    "TraceRecorder",
    "TrainingDivergedError",
    "resample_dead_units",
]
