"""`build_deep_sae`: lesson 000's deep sparse autoencoder."""

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.participation_trace import ParticipationTrace
from keras_sparse_ae.losses import RECONSTRUCTIONS
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.optimizers import make_optimizer

ACTIVATIONS = ("sigmoid", "tanh", "relu", "elu", "linear")

#: Learning rates used when `learning_rate=None`: adam's was measured
#: (bench/deep_sae_defaults.py), sgd_halving's is lesson 000's best.
LEARNING_RATES = {"adam": 3e-3, "sgd": 1.0, "sgd_halving": 10.0}

#: Training steps run per call into the backend. Results are identical to
#: one step per call; on 2 CPU cores it saves about 30 % of each epoch.
STEPS_PER_EXECUTION = 10


def build_deep_sae(
    input_dim=784,
    hidden=(200, 30),
    *,
    sparsity=0.75,
    gamma=0.99,
    alpha_s=1.0,
    alpha_p=100.0,
    alpha_b=0.0,
    activation="sigmoid",
    reconstruction="bce",
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds and compiles lesson 000's deep sparse autoencoder.

    A mirrored stack of dense layers, `input_dim - hidden[0] - ... -
    hidden[-1] - ... - hidden[0] - input_dim` (lesson 000:
    784-200-{30,45,60}-200-784), with a `ParticipationTrace` on every hidden
    layer, named `h1`, `h2`, ... from input to output. The encoder ends at
    the code (`hidden[-1]`); the decoder's last layer is a sigmoid, for
    inputs in [0, 1]. Each trace layer adds lesson 000's three penalties
    (within-layer sparsity `alpha_s`, participation `alpha_p`, binary
    `alpha_b`) and keeps its unit's activity trace; `History` shows the
    reconstruction and every term of every layer (`h1_participation`, ...).

    The defaults were chosen by measurement on the embedded 5,000 MNIST
    digits (`bench/deep_sae_defaults.py`): with them the model reconstructs
    held-out digits better than PCA with the same code size while every
    hidden layer's mean activity stays within 0.05 of `1 - sparsity` and no
    unit is dead. The lesson's recipe is `optimizer="sgd_halving",
    learning_rate=10.0, reconstruction="l2", alpha_s=0.5, alpha_p=100.0,
    alpha_b=0.5, sparsity=0.75` with batches of 32. The model is compiled
    with `steps_per_execution=10` (same results, faster epochs; callbacks
    see every tenth batch); recompile to change it.

    Args:
        input_dim: int >= 1, number of input features (784 for MNIST).
        hidden: tuple of ints >= 1, encoder layer sizes; the decoder
            mirrors them.
        sparsity: float in (0, 1), the wanted fraction of inactive units:
            each hidden layer's mean activity is pulled to `1 - sparsity`.
        gamma: float in [0, 1), smoothing factor of the activity traces.
        alpha_s: float >= 0, weight of the within-layer sparsity term.
        alpha_p: float >= 0, weight of the participation term.
        alpha_b: float >= 0, weight of the binary term.
        activation: activation of the hidden layers (the penalties assume
            values in [0, 1], so `"sigmoid"` is the meaningful choice).
        reconstruction: `"bce"`, `"mse"` or `"l2"` (lesson 000's
            `l2_loss / n_inputs` per sample); see `Autoencoder`.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` (SGD whose rate halves
            every 1,000 steps, lesson 000) or a `keras.optimizers.Optimizer`.
        learning_rate: float > 0, or `None` for adam 3e-3 (measured), sgd
            1.0, sgd_halving 10.0 (lesson 000's best).
        seed: int or `None`, seeds the weight initialisers.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder` with `encoder` and
        `decoder` parts; train it with `model.fit(X)`.

    Example:

    >>> model = build_deep_sae(input_dim=64, hidden=(32, 8), seed=0)
    >>> [layer.name for layer in model.penalty_layers]
    ['h1', 'h2', 'h3']
    >>> model.encoder.output_shape
    (None, 8)
    """
    input_dim = _validation.check_int("input_dim", input_dim)
    hidden = _validation.check_sizes("hidden", hidden)
    _validation.check_choice("activation", activation, ACTIVATIONS)
    _validation.check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)
    if seed is not None:
        seed = _validation.check_int("seed", seed, low=0)
    trace_kwargs = dict(
        sparsity=sparsity,
        gamma=gamma,
        alpha_s=alpha_s,
        alpha_p=alpha_p,
        alpha_b=alpha_b,
    )
    # Validates every penalty argument before any layer is made.
    ParticipationTrace(**trace_kwargs)
    if learning_rate is None and isinstance(optimizer, str):
        learning_rate = LEARNING_RATES.get(optimizer)
    compiled_optimizer = make_optimizer(optimizer, learning_rate)

    sizes = list(hidden) + list(reversed(hidden[:-1]))
    seeds = _layer_seeds(seed, len(sizes) + 1)

    def block(index, units):
        name = f"h{index + 1}"
        return [
            keras.layers.Dense(
                units,
                activation=activation,
                kernel_initializer=keras.initializers.GlorotUniform(seeds[index]),
                name=f"{name}_dense",
            ),
            ParticipationTrace(**trace_kwargs, name=name),
        ]

    encoder_layers = [keras.Input((input_dim,), name="x")]
    for index, units in enumerate(hidden):
        encoder_layers += block(index, units)
    decoder_layers = [keras.Input((hidden[-1],), name="code")]
    for index in range(len(hidden), len(sizes)):
        decoder_layers += block(index, sizes[index])
    decoder_layers.append(
        keras.layers.Dense(
            input_dim,
            activation="sigmoid",
            kernel_initializer=keras.initializers.GlorotUniform(seeds[-1]),
            name="reconstruction",
        )
    )
    model = Autoencoder(
        keras.Sequential(encoder_layers, name="encoder"),
        keras.Sequential(decoder_layers, name="decoder"),
        reconstruction=reconstruction,
        name="deep_sae",
    )
    model.build((None, input_dim))
    model.compile(optimizer=compiled_optimizer, steps_per_execution=STEPS_PER_EXECUTION)
    return model


def _layer_seeds(seed, count):
    if seed is None:
        return [None] * count
    return [seed * 1000 + i for i in range(count)]
