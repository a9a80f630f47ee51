"""KerasTuner `HyperModel`s for the model zoo."""

import math

import keras
import keras_tuner

from keras_sparse_ae import _validation, config
from keras_sparse_ae.callbacks import TrainingDivergedError
from keras_sparse_ae.models.registry import build, check_model_name
from keras_sparse_ae.tune import spaces


def declare(hp, name, spec):
    """Declares one space entry on `hp` and returns its current value.

    A single value becomes `hp.Fixed`; several become `hp.Choice` (numbers
    sorted, so that ordered search strategies see them in order, with the
    first given value as the default); a `spaces.Range` becomes `hp.Int`
    (integer bounds and step) or `hp.Float`.
    """
    if isinstance(spec, spaces.Range):
        integral = all(isinstance(v, int) for v in (spec.min, spec.max, spec.step or 1))
        if integral:
            return hp.Int(
                name, spec.min, spec.max, step=spec.step, sampling=spec.sampling
            )
        return hp.Float(
            name, spec.min, spec.max, step=spec.step, sampling=spec.sampling
        )
    if len(spec) == 1:
        return hp.Fixed(name, spec[0])
    values = list(spec) if isinstance(spec[0], str) else sorted(spec)
    return hp.Choice(name, values, default=spec[0])


def _diverged(name, value, epoch):
    """The `FailedTrialError` of a diverged trial (`report` reads it back)."""
    return keras_tuner.errors.FailedTrialError(
        f"Trial diverged: `{name}` became {value} in epoch {epoch}. Lower the "
        "learning rate or the penalty weights."
    )


def check_history(history):
    """Raises `keras_tuner.errors.FailedTrialError` if training diverged.

    A trial diverged when any value in `history.history` (the loss, the
    validation loss, a penalty term) is NaN or infinite, typically after
    `keras.callbacks.TerminateOnNaN` stopped it. KerasTuner records such a
    trial as failed and the search goes on.
    """
    # The loss first: it names the cause, a penalty term the symptom.
    names = sorted(history.history, key=lambda n: (n != "loss", n != "val_loss"))
    for name in names:
        for i, value in enumerate(history.history[name]):
            if not math.isfinite(float(value)):
                epoch = history.epoch[i] + 1 if i < len(history.epoch) else i + 1
                raise _diverged(name, float(value), epoch)


class AutoencoderHyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` for any model of the zoo.

    `build(hp)` declares every entry of the search space on `hp` (see
    `declare`) and builds the model with `keras_sparse_ae.models.build`:
    `size_h1, size_h2, ...` become `hidden`, the other names are the
    builder's arguments. `fit(hp, model, x, validation_data=x_val, ...)`
    trains with `model.fit(x)` in batches of the `batch_size`
    hyperparameter (32 if the space has none), stops a diverging run with
    `keras.callbacks.TerminateOnNaN` and raises
    `keras_tuner.errors.FailedTrialError` when the history is not finite, so
    KerasTuner records the trial as failed and goes on.

    Args:
        model: a model name from `keras_sparse_ae.models.list_models()`.
        input_dim: int >= 1, number of input features.
        space: a space name (`"default"`, `"seed000"`) or a mapping, checked
            and completed by `spaces.resolve_space`.
        overrides: optional mapping of entries replacing those of `space`
            (e.g. `{"alpha_p": [100]}`).
        seed: int >= 0 or `None`; seeds every trial's weights and shuffling
            alike, so trials differ only by their hyperparameters.
        name, tunable: see `keras_tuner.HyperModel`.

    Example:

    >>> import keras_tuner
    >>> hypermodel = AutoencoderHyperModel(
    ...     "deep_sae", input_dim=64, overrides={"size_h1": 16, "size_h2": 4})
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    >>> model.encoder.output_shape
    (None, 4)
    """

    def __init__(
        self,
        model="deep_sae",
        input_dim=784,
        space="default",
        *,
        overrides=None,
        seed=0,
        name=None,
        tunable=True,
    ):
        self.model_name = check_model_name(model)
        self.input_dim = _validation.check_int("input_dim", input_dim)
        if seed is not None:
            seed = _validation.check_int("seed", seed, low=0)
        self.seed = seed
        self.space = spaces.resolve_space(model, space, overrides=overrides)
        #: Epochs the last `fit` call ran (kept when a trial fails).
        self.epochs_run = 0
        super().__init__(name=name or model, tunable=tunable)

    def declare(self, hp):
        """Declares the whole space on `hp`; returns `{name: value}`."""
        return {name: declare(hp, name, spec) for name, spec in self.space.items()}

    def build(self, hp):
        values = self.declare(hp)
        model = build(
            self.model_name,
            input_dim=self.input_dim,
            seed=self.seed,
            **spaces.builder_arguments(values),
        )
        jit_compile = config.tuning_jit_compile(model)
        if isinstance(jit_compile, bool) and model.jit_compile != jit_compile:
            model.compile(
                optimizer=model.optimizer,
                steps_per_execution=model.steps_per_execution,
                jit_compile=jit_compile,
            )
        return model

    def fit(
        self,
        hp,
        model,
        x,
        *args,
        validation_data=None,
        callbacks=None,
        verbose=0,
        **kwargs,
    ):
        """Trains `model` on `x` (the data only); see the class docstring."""
        batch_size = hp.values.get("batch_size", spaces.DEFAULT_BATCH_SIZE)
        callbacks = [*(callbacks or ()), keras.callbacks.TerminateOnNaN()]
        self.epochs_run = 0
        if self.seed is not None:
            keras.utils.set_random_seed(self.seed)
        try:
            history = model.fit(
                x,
                *args,
                validation_data=validation_data,
                batch_size=batch_size,
                callbacks=callbacks,
                verbose=verbose,
                **kwargs,
            )
        except TrainingDivergedError as error:
            self.epochs_run = len(error.history.epoch) if error.history else 0
            raise _diverged(error.name, error.value, error.epoch) from error
        self.epochs_run = len(history.epoch)
        check_history(history)
        return history


class DeepSAEHyperModel(AutoencoderHyperModel):
    """`AutoencoderHyperModel` of lesson 000's `deep_sae`.

    `space="seed000"` is lesson 000's 12,960-configuration grid (SGD with
    a halving rate, `reconstruction="l2"`, `hidden=(200, size_h2)`, batches
    of 32); `space="default"` a small Adam space around the measured
    defaults.

    Example:

    >>> hypermodel = DeepSAEHyperModel(input_dim=784, space="seed000")
    >>> sorted(hypermodel.space)[:3]
    ['alpha_b', 'alpha_p', 'alpha_s']
    """

    def __init__(self, input_dim=784, space="default", **kwargs):
        super().__init__("deep_sae", input_dim, space, **kwargs)
