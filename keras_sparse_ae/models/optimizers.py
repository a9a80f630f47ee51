"""Optimizers by name, including lesson 000's halving SGD."""

import keras

from keras_sparse_ae import _validation

OPTIMIZERS = ("adam", "sgd", "sgd_halving")
DEFAULT_LEARNING_RATES = {"adam": 1e-3, "sgd": 1.0, "sgd_halving": 1.0}

#: Lesson 000 meant to halve the SGD rate every 1,000 steps (its halving
#: never took effect: the rate was a Python float baked into the graph).
HALVING_STEPS = 1000


def make_optimizer(optimizer="adam", learning_rate=None):
    """Returns a new Keras optimizer.

    Args:
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` (SGD whose rate halves
            every 1,000 steps, `keras.optimizers.schedules.ExponentialDecay`
            with `decay_rate=0.5, staircase=True`), or an optimizer instance,
            returned as is.
        learning_rate: float > 0, or `None` for the default of that
            optimizer (adam 1e-3, sgd 1.0, sgd_halving 1.0).

    Returns:
        A `keras.optimizers.Optimizer`.
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        if learning_rate is not None:
            raise ValueError(
                "Invalid value for argument `learning_rate`. Expected None when "
                "`optimizer` is an optimizer instance (set its rate there). "
                f"Received: learning_rate={learning_rate!r}"
            )
        return optimizer
    _validation.check_choice("optimizer", optimizer, OPTIMIZERS)
    if learning_rate is None:
        learning_rate = DEFAULT_LEARNING_RATES[optimizer]
    learning_rate = _validation.check_float(
        "learning_rate", learning_rate, 0.0, low_open=True
    )
    if optimizer == "adam":
        return keras.optimizers.Adam(learning_rate)
    if optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate)
    schedule = keras.optimizers.schedules.ExponentialDecay(
        learning_rate, decay_steps=HALVING_STEPS, decay_rate=0.5, staircase=True
    )
    return keras.optimizers.SGD(schedule)
