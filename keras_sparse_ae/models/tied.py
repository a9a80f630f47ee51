"""`TiedAutoencoder` and `build_tied`: lesson 001's tied-weights autoencoder."""

import copy

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.dense_transpose import DenseTranspose, tied_layer_scope
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.optimizers import make_optimizer
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    initializer,
    layer_seeds,
)


def _dense_layers(model):
    """The `Dense` layers anywhere inside `model`, by name."""
    found = {}
    for layer in model._flatten_layers(include_self=True, recursive=True):
        if isinstance(layer, keras.layers.Dense):
            if layer.name in found and found[layer.name] is not layer:
                raise ValueError(
                    "Invalid value for argument `encoder`. Expected Dense layers "
                    "with unique names (a `DenseTranspose` finds its layer by "
                    f"name). Received: two Dense layers named {layer.name!r}"
                )
            found[layer.name] = layer
    return found


def _tied_layers(model):
    return [
        layer
        for layer in model._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, DenseTranspose)
    ]


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class TiedAutoencoder(Autoencoder):
    """An `Autoencoder` whose decoder reuses the encoder's kernels, transposed.

    The decoder's `DenseTranspose` layers compute
    `activation(h @ W.T + b)` with the kernel `W` of an encoder `Dense`
    layer and a bias of their own, so each kernel is stored once, in the
    encoder, and trained through both of its uses. Everything else
    (`fit(X)`, the loss and its terms) is `Autoencoder`'s.

    What this class adds is persistence: `from_config` rebuilds the encoder
    first and then the decoder inside `tied_layer_scope`, so that the
    loaded decoder's layers are tied to the loaded encoder's variables
    again (a `.keras` file stores each kernel once).

    Args:
        encoder: a `keras.Model` mapping inputs to codes, holding the
            `Dense` layers the decoder is tied to (with unique names).
        decoder: a `keras.Model` mapping codes to reconstructions; every
            `DenseTranspose` in it must be tied to a `Dense` layer of
            `encoder`.
        reconstruction: `"mse"`, `"l2"` or `"bce"` (see `Autoencoder`).
        **kwargs: base model arguments (`name`, `dtype`, ...).

    Example:

    >>> import keras
    >>> h1 = keras.layers.Dense(4, activation="elu", name="h1")
    >>> encoder = keras.Sequential([keras.Input((16,)), h1], name="encoder")
    >>> decoder = keras.Sequential(
    ...     [keras.Input((4,)), DenseTranspose(h1, "sigmoid", name="reconstruction")],
    ...     name="decoder")
    >>> model = TiedAutoencoder(encoder, decoder)
    >>> model.build((None, 16))
    >>> model.count_params()  # 16*4 + 4 in the encoder, 16 biases in the decoder
    84
    """

    def __init__(self, encoder, decoder, reconstruction="mse", **kwargs):
        super().__init__(encoder, decoder, reconstruction=reconstruction, **kwargs)
        encoder_dense = _dense_layers(encoder)
        for layer in _tied_layers(decoder):
            if encoder_dense.get(layer.tied_to.name) is not layer.tied_to:
                raise ValueError(
                    "Invalid value for argument `decoder`. Expected every "
                    "DenseTranspose to be tied to a Dense layer of the encoder. "
                    f"Received: layer {layer.name!r} tied to "
                    f"{layer.tied_to.name!r}, which is not in the encoder"
                )

    @property
    def tied_pairs(self):
        """`(DenseTranspose, Dense)` pairs: each decoder layer and its tie."""
        return [(layer, layer.tied_to) for layer in _tied_layers(self.decoder)]

    def decode(self, codes, batch_size=None, verbose=0):
        """Reconstructions from `codes` as a NumPy array (inference mode)."""
        if keras.backend.backend() == "jax":
            # The decoder does not own the tied kernels, so JAX's compiled
            # predict function would keep the values it was traced with.
            self.decoder.predict_function = None
        return super().decode(codes, batch_size=batch_size, verbose=verbose)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        # Keras pops entries from nested configs while rebuilding them.
        config = copy.deepcopy(config)
        encoder = keras.saving.deserialize_keras_object(
            config["encoder"], custom_objects=custom_objects
        )
        with tied_layer_scope(_dense_layers(encoder)):
            decoder = keras.saving.deserialize_keras_object(
                config["decoder"], custom_objects=custom_objects
            )
        config.update(encoder=encoder, decoder=decoder)
        return cls(**config)


def build_tied(
    input_dim=784,
    hidden=(300, 150),
    *,
    activation="elu",
    l2=5e-5,
    reconstruction="mse",
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds lesson 001's stacked autoencoder with tied weights.

    `input_dim - hidden[0] - ... - hidden[-1] - ... - hidden[0] - input_dim`
    (784-300-150-300-784 by default). The encoder's `Dense` layers `h1`,
    `h2`, ... use He initialisation; the decoder's layers are
    `DenseTranspose` layers tied to them in mirror order (`h3` uses
    `h2`'s kernel transposed, `reconstruction` uses `h1`'s), each with its
    own bias. The hidden layers use `activation` (ELU, as in the lesson);
    the output is a sigmoid, for inputs in [0, 1] (the lesson's output was
    linear). The model has about half the weights of `build_stacked`'s:
    `count_params() == encoder params + decoder biases`.

    An L2 penalty `l2 * sum(W**2)` applies once to each kernel (lesson 001
    regularises `weights1` and `weights2` only, with TensorFlow's
    `l2_regularizer(1e-4)`, i.e. Keras' `L2(5e-5)`: the default).

    Args:
        input_dim: int >= 1, number of input features.
        hidden: tuple of ints >= 1, encoder sizes; the last is the code.
        activation: activation of the hidden layers: `"elu"`, `"selu"`,
            `"relu"`, `"sigmoid"`, `"tanh"` or `"linear"`.
        l2: float >= 0, weight of the L2 kernel penalty (0 disables it).
        reconstruction: `"mse"`, `"l2"` or `"bce"` (see `Autoencoder`).
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.

    Returns:
        A compiled `TiedAutoencoder`; train it with `model.fit(X)`.

    Example:

    >>> model = build_tied(input_dim=16, hidden=(8, 4), seed=0)
    >>> [layer.name for layer in model.decoder.layers]
    ['h3', 'reconstruction']
    >>> model.count_params()  # (16*8 + 8) + (8*4 + 4) + biases 8 + 16
    196
    """
    input_dim, seed = check_common(input_dim, activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    l2 = _validation.check_weight("l2", l2)
    make_optimizer(optimizer, learning_rate)  # validates before building

    seeds = layer_seeds(seed, len(hidden))
    regularizer = keras.regularizers.L2(l2) if l2 > 0 else None
    dense = [
        keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=initializer("he_normal", seeds[index]),
            kernel_regularizer=regularizer,
            name=f"h{index + 1}",
        )
        for index, units in enumerate(hidden)
    ]
    encoder = keras.Sequential(
        [keras.Input((input_dim,), name="x"), *dense], name="encoder"
    )
    tied = [
        DenseTranspose(dense[index], activation, name=f"h{2 * len(hidden) - index}")
        for index in range(len(hidden) - 1, 0, -1)
    ]
    tied.append(DenseTranspose(dense[0], "sigmoid", name="reconstruction"))
    decoder = keras.Sequential(
        [keras.Input((hidden[-1],), name="code"), *tied], name="decoder"
    )
    model = TiedAutoencoder(
        encoder, decoder, reconstruction=reconstruction, name="tied"
    )
    model.build((None, input_dim))
    return compile_autoencoder(model, optimizer, learning_rate)
