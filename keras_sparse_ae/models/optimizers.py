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


def fresh_optimizer(optimizer, learning_rate):
    """A new optimizer per model: an instance is copied from its config.

    One optimizer instance cannot train several models (it builds its
    slots for the first model's variables), so each level gets a copy.

    Args:
        optimizer: a name (see `make_optimizer`) or an optimizer instance.
        learning_rate: float > 0 or `None`; must be `None` for an instance.

    Returns:
        A new, unbuilt `keras.optimizers.Optimizer`.

    Example:

    >>> import keras
    >>> original = keras.optimizers.Adam(0.01)
    >>> copy = fresh_optimizer(original, None)
    >>> copy is original, round(float(copy.learning_rate), 6)
    (False, 0.01)
    """
    if isinstance(optimizer, keras.optimizers.Optimizer):
        make_optimizer(optimizer, learning_rate)  # refuses a learning_rate
        return keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    return make_optimizer(optimizer, learning_rate)
