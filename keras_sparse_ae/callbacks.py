"""`DivergenceGuard`: stops a diverging run and gives back finite weights."""

import math

import keras
import numpy as np


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


__all__ = ["DivergenceGuard", "TrainingDivergedError"]
