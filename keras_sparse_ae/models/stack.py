"""Shared construction of dense autoencoders: mirrored stacks, compiling."""

import keras

from keras_sparse_ae import _validation, config, distribute
from keras_sparse_ae.losses import RECONSTRUCTIONS
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.optimizers import make_optimizer

ACTIVATIONS = ("sigmoid", "tanh", "relu", "elu", "selu", "linear")

#: Training steps run per call into the backend. Results are identical to
#: one step per call; on 2 CPU cores it saves about 30 % of each epoch.
#: Callbacks see every tenth batch; recompile to change it.
STEPS_PER_EXECUTION = 10


def layer_seeds(seed, count):
    """`count` initialiser seeds derived from `seed` (all `None` if `None`)."""
    if seed is None:
        return [None] * count
    return [seed * 1000 + i for i in range(count)]


def check_common(input_dim, activation, reconstruction, seed):
    """Validates the arguments every builder shares; returns them cleaned."""
    input_dim = _validation.check_int("input_dim", input_dim)
    _validation.check_choice("activation", activation, ACTIVATIONS)
    _validation.check_choice("reconstruction", reconstruction, RECONSTRUCTIONS)
    if seed is not None:
        seed = _validation.check_int("seed", seed, low=0)
    return input_dim, seed


def initializer(name, seed):
    """A seeded Keras initialiser: `"glorot_uniform"` or `"he_normal"`."""
    if name == "he_normal":
        return keras.initializers.HeNormal(seed)
    return keras.initializers.GlorotUniform(seed)


def mirrored_autoencoder(
    input_dim,
    hidden,
    *,
    activation="sigmoid",
    output_activation="sigmoid",
    kernel_initializer="glorot_uniform",
    kernel_regularizer=None,
    after_hidden=None,
    input_layers=(),
    reconstruction="mse",
    seed=None,
    name="autoencoder",
):
    """An (uncompiled) `Autoencoder` with a mirrored dense stack.

    `input_dim - hidden[0] - ... - hidden[-1] - ... - hidden[0] - input_dim`:
    the encoder ends at `hidden[-1]` (the code), the decoder mirrors the
    rest. Hidden layers are named `h1`, `h2`, ... from input to output
    (their Dense layers `h1_dense`, ... when `after_hidden` adds layers).

    Args:
        input_dim: number of input features.
        hidden: encoder layer sizes, the last being the code size.
        activation: activation of the hidden layers (the code included).
        output_activation: activation of the reconstruction layer.
        kernel_initializer: `"glorot_uniform"` or `"he_normal"`.
        kernel_regularizer: a regularizer for every Dense kernel, or `None`.
        after_hidden: optional callable `(index, name) -> list of layers`
            placed after hidden layer `index` (0-based), e.g. penalty
            layers; those layers get the hidden layer's name.
        input_layers: layers placed first in the encoder (e.g. noise).
        reconstruction: see `Autoencoder`.
        seed: int or `None`, seeds the initialisers.
        name: the model's name.
    """
    sizes = list(hidden) + list(reversed(hidden[:-1]))
    seeds = layer_seeds(seed, len(sizes) + 1)

    def dense(units, act, index, layer_name):
        return keras.layers.Dense(
            units,
            activation=act,
            kernel_initializer=initializer(kernel_initializer, seeds[index]),
            kernel_regularizer=keras.regularizers.get(kernel_regularizer),
            name=layer_name,
        )

    def block(index):
        name_ = f"h{index + 1}"
        extra = after_hidden(index, name_) if after_hidden else []
        dense_name = f"{name_}_dense" if extra else name_
        return [dense(sizes[index], activation, index, dense_name), *extra]

    encoder_layers = [keras.Input((input_dim,), name="x"), *input_layers]
    for index in range(len(hidden)):
        encoder_layers += block(index)
    decoder_layers = [keras.Input((hidden[-1],), name="code")]
    for index in range(len(hidden), len(sizes)):
        decoder_layers += block(index)
    decoder_layers.append(dense(input_dim, output_activation, -1, "reconstruction"))
    model = Autoencoder(
        keras.Sequential(encoder_layers, name="encoder"),
        keras.Sequential(decoder_layers, name="decoder"),
        reconstruction=reconstruction,
        name=name,
    )
    model.build((None, input_dim))
    return model


def compile_autoencoder(model, optimizer="adam", learning_rate=None):
    """Compiles `model` with a named optimizer and the library's defaults.

    Args:
        model: an `Autoencoder` (or any Keras model whose loss is its own).
        optimizer: see `keras_sparse_ae.models.make_optimizer`.
        learning_rate: float > 0 or `None` for the optimizer's default.

    Returns:
        `model`, compiled with `steps_per_execution()` steps per call and
        `jit_compile=keras_sparse_ae.config.jit_compile()` (XLA on
        TensorFlow and JAX unless turned off; see `keras_sparse_ae.config`).
    """
    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        steps_per_execution=steps_per_execution(),
        jit_compile=config.jit_compile(model),
    )
    return model


def steps_per_execution():
    """`STEPS_PER_EXECUTION`, or 1 where Keras 3.15 allows no other value.

    1 on PyTorch (its trainer refuses more) and inside a TensorFlow
    `tf.distribute` strategy's scope (Keras 3.15.1's multi-step function
    fails under `MirroredStrategy`, plain Keras models too).
    """
    if keras.backend.backend() == "torch" or distribute.in_strategy_scope():
        return 1
    return STEPS_PER_EXECUTION
