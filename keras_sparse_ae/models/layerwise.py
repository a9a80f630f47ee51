"""`train_layerwise`: lesson 001's greedy training, one autoencoder at a time."""

import time

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.datasets.validation import check_data
from keras_sparse_ae.losses import RECONSTRUCTIONS
from keras_sparse_ae.models.optimizers import fresh_optimizer
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)

#: Batch size used to compute codes and losses (inference only).
INFERENCE_BATCH_SIZE = 1024


def _phase(history, epochs, seconds, **extra):
    logs = history.history if history is not None else {}
    result = {
        "loss": float(logs["loss"][-1]) if logs else None,
        "reconstruction": float(logs["reconstruction"][-1]) if logs else None,
        "epochs": epochs,
        "seconds": seconds,
    }
    if "val_loss" in logs:
        result["val_loss"] = float(logs["val_loss"][-1])
    result.update(extra)
    return result


def _fit(model, x, epochs, batch_size, verbose, validation):
    start = time.perf_counter()
    history = model.fit(
        x,
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
        validation_data=validation,
    )
    return history, time.perf_counter() - start


def _reconstruction(model, x):
    logs = model.evaluate(
        x, batch_size=INFERENCE_BATCH_SIZE, verbose=0, return_dict=True
    )
    return float(logs["reconstruction"])


def train_layerwise(
    x,
    hidden=(300, 150),
    *,
    epochs=5,
    batch_size=32,
    fine_tune_epochs=0,
    activation="elu",
    l2=5e-5,
    reconstruction="mse",
    optimizer="adam",
    learning_rate=None,
    seed=None,
    verbose=0,
    validation_data=None,
):
    """Trains a stacked autoencoder one shallow autoencoder at a time.

    Lesson 001's greedy layer-wise training ("train one autoencoder at a
    time", with the "cache the frozen layer's outputs" trick): level 1 is
    a shallow autoencoder `n_0 - hidden[0] - n_0` trained on `x`; level
    `i` is `hidden[i-2] - hidden[i-1] - hidden[i-2]`, trained on the codes
    of level `i-1`'s trained encoder, computed once and kept as a NumPy
    array (the lower levels are frozen: they are not even in the graph).
    The trained encoder layers and, in reverse order, the decoder layers
    are then copied into one mirrored `Autoencoder`
    (`n_0 - h1 - h2 - h1 - n_0` for two levels), which is optionally
    fine-tuned end to end for `fine_tune_epochs` epochs.

    Every layer is a `Dense` layer with He initialisation and an L2 kernel
    penalty `l2 * sum(W**2)` (lesson 001: `l2_regularizer`). Level 1's
    decoder ends in a sigmoid, the stacked model's output; the decoders of
    the deeper levels use `activation`, because in the stacked model they
    become hidden layers (the lesson trained them linear and applied ELU
    when stacking, so the stacked layer computed something it was not
    trained for). Deeper levels reconstruct codes, not pixels: with
    `reconstruction="bce"` they use `"mse"` unless `activation` is
    `"sigmoid"` (codes in (0, 1)).

    Args:
        x: training data, `(samples, features)` (see
            `keras_sparse_ae.datasets.check_data`); in [0, 1] when
            `reconstruction="bce"`.
        hidden: tuple of ints >= 1, the sizes of the levels' codes; the
            last is the stacked model's code.
        epochs: int >= 1, epochs of each level.
        batch_size: int >= 1, batch size of every phase.
        fine_tune_epochs: int >= 0, epochs of end-to-end training of the
            stacked model (0: no fine-tuning).
        activation: activation of the hidden layers (ELU, as in the lesson).
        l2: float >= 0, weight of the L2 kernel penalty; lesson 001's
            `l2_regularizer(1e-4)` is `5e-5` in Keras' convention.
        reconstruction: `"mse"`, `"l2"` or `"bce"` (see `Autoencoder`).
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer
            instance (each phase trains with a fresh copy of it).
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.
        verbose: verbosity of `fit` (0, 1, 2 or `"auto"`).
        validation_data: optional array of validation samples; it is
            encoded like `x` for the deeper levels, and each phase reports
            its last `val_loss`.

    Returns:
        `(model, report)`: `model` is the compiled stacked `Autoencoder`
        (named `layerwise`, layers `h1`, `h2`, ..., `reconstruction`);
        `report` maps each phase, `"level_1"`, `"level_2"`, ... and
        `"fine_tune"`, to a dict with its last epoch's training `loss` and
        `reconstruction` (`None` for a fine-tuning of 0 epochs), `epochs`,
        `seconds` (and `val_loss` with validation data); the levels also
        give `input_dim` and `units`. `"reconstruction_before_fine_tune"`
        and `"reconstruction_after_fine_tune"` hold the stacked model's
        reconstruction error on `x`.

    Example:

    >>> import numpy as np
    >>> x = np.random.default_rng(0).random((64, 16)).astype("float32")
    >>> model, report = train_layerwise(x, hidden=(8, 4), epochs=1, seed=0)
    >>> [layer.name for layer in model.encoder.layers]
    ['h1', 'h2']
    >>> sorted(report)[:3]
    ['fine_tune', 'level_1', 'level_2']
    """
    # The data check depends on the reconstruction: check that first.
    _validation.check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)
    unit_interval = reconstruction == "bce"
    x = check_data(x, name="x", require_unit_interval=unit_interval)
    input_dim, seed = check_common(x.shape[1], activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    epochs = _validation.check_int("epochs", epochs, low=1)
    fine_tune_epochs = _validation.check_int("fine_tune_epochs", fine_tune_epochs, 0)
    batch_size = _validation.check_int("batch_size", batch_size, low=1)
    l2 = _validation.check_weight("l2", l2)
    fresh_optimizer(optimizer, learning_rate)  # validates before training
    validation = None
    if validation_data is not None:
        validation = check_data(
            validation_data,
            name="validation_data",
            input_dim=input_dim,
            require_unit_interval=unit_interval,
        )

    inner = reconstruction
    if reconstruction == "bce" and activation != "sigmoid":
        inner = "mse"
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    options = dict(kernel_initializer="he_normal", kernel_regularizer=regularizer)

    report = {}
    levels = []
    inputs, val_inputs = x, validation
    for index, units in enumerate(hidden):
        level = mirrored_autoencoder(
            inputs.shape[1],
            (units,),
            activation=activation,
            output_activation="sigmoid" if index == 0 else activation,
            reconstruction=reconstruction if index == 0 else inner,
            seed=None if seed is None else seed + index,
            name=f"level_{index + 1}",
            **options,
        )
        compile_autoencoder(level, fresh_optimizer(optimizer, learning_rate))
        history, seconds = _fit(level, inputs, epochs, batch_size, verbose, val_inputs)
        report[f"level_{index + 1}"] = _phase(
            history, epochs, seconds, input_dim=int(inputs.shape[1]), units=units
        )
        levels.append(level)
        if index + 1 < len(hidden):
            inputs = level.encode(inputs, batch_size=INFERENCE_BATCH_SIZE)
            if val_inputs is not None:
                val_inputs = level.encode(val_inputs, batch_size=INFERENCE_BATCH_SIZE)

    model = mirrored_autoencoder(
        input_dim,
        hidden,
        activation=activation,
        reconstruction=reconstruction,
        seed=seed,
        name="layerwise",
        **options,
    )
    depth = len(hidden)
    for index, level in enumerate(levels):
        model.encoder.get_layer(f"h{index + 1}").set_weights(
            level.encoder.get_layer("h1").get_weights()
        )
        target = "reconstruction" if index == 0 else f"h{2 * depth - index}"
        model.decoder.get_layer(target).set_weights(
            level.decoder.get_layer("reconstruction").get_weights()
        )
    compile_autoencoder(model, fresh_optimizer(optimizer, learning_rate))
    # Built now, so that a model saved without fine-tuning reloads its
    # optimizer without a variable-count mismatch warning.
    model.optimizer.build(model.trainable_variables)

    before = _reconstruction(model, x)
    history, seconds = None, 0.0
    if fine_tune_epochs:
        history, seconds = _fit(
            model, x, fine_tune_epochs, batch_size, verbose, validation
        )
    report["fine_tune"] = _phase(history, fine_tune_epochs, seconds)
    report["reconstruction_before_fine_tune"] = before
    report["reconstruction_after_fine_tune"] = (
        _reconstruction(model, x) if fine_tune_epochs else before
    )
    return model, report
