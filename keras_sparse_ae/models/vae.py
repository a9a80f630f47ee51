"""`build_vae`: lesson 001's variational autoencoder (keras.io's VAE, dense)."""

import keras
import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.gaussian_sampling import GaussianSampling
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.optimizers import make_optimizer
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    initializer,
    layer_seeds,
)


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class VariationalAutoencoder(Autoencoder):
    """An `Autoencoder` whose code is drawn by a `GaussianSampling` layer.

    The encoder maps `x` to the mean and log-variance of a diagonal Gaussian
    and ends with a `GaussianSampling` layer, so `encoder(x)` is the code
    `z`: a random draw while training, the mean at inference. The sampling
    layer adds the KL divergence from `N(0, I)`, which `History` reports as
    `<sampling layer name>_kl` (`latent_kl` for `build_vae` models) next to
    `loss` and `reconstruction`.

    Inference is deterministic: `predict(x)`, `reconstruct(x)` and
    `evaluate(x)` use the mean code, so the same input always gives the
    same reconstruction (and `evaluate` reports the reconstruction of the
    means plus the KL term). Sampling for new data is explicit:
    `generate(n, seed)` decodes codes drawn from the prior.

    Args:
        encoder: a functional `keras.Model` from the input to the code that
            contains exactly one `GaussianSampling` layer, called on
            `[z_mean, z_log_var]`; its output is the code.
        decoder: a `keras.Model` mapping codes to reconstructions.
        reconstruction: `"bce"` (default), `"mse"` or `"l2"`; see
            `Autoencoder`.
        **kwargs: base model arguments (`name`, `dtype`, ...).
    """

    def __init__(self, encoder, decoder, reconstruction="bce", **kwargs):
        super().__init__(encoder, decoder, reconstruction=reconstruction, **kwargs)
        found = _sampling_layers(encoder)
        if len(found) != 1:
            raise ValueError(
                "Invalid value for argument `encoder`. Expected a model that "
                "contains exactly one `GaussianSampling` layer. Received: "
                f"encoder={getattr(encoder, 'name', encoder)!r} with "
                f"{len(found)} such layers"
            )
        # A plain holder, which Keras neither tracks nor saves: the mean and
        # log-variance model shares the encoder's layers.
        self._distribution = _Holder()

    @property
    def sampling_layer(self):
        """The encoder's `GaussianSampling` layer."""
        return _sampling_layers(self.encoder)[0]

    @property
    def input_dim(self):
        """Number of input features."""
        return int(self.decoder.output_shape[-1])

    @property
    def code_size(self):
        """Number of code units (dimensions of the latent space)."""
        return int(self.decoder.input_shape[-1])

    def encode_distribution(self, x, batch_size=None, verbose=0):
        """The Gaussian of each sample's code, as NumPy arrays.

        Returns:
            `(z_mean, z_log_var)`, each of shape (samples, code_size).
        """
        if self._distribution.model is None:
            if not hasattr(self.encoder, "inputs") or self.encoder.inputs is None:
                raise ValueError(
                    "`encode_distribution` needs a functional encoder (built "
                    "with `keras.Model(inputs, outputs)`). Received: encoder "
                    f"of type {type(self.encoder).__name__}"
                )
            self._distribution.model = keras.Model(
                self.encoder.inputs,
                list(self.sampling_layer.input),
                name=f"{self.encoder.name}_distribution",
            )
        z_mean, z_log_var = self._distribution.model.predict(
            x, batch_size=batch_size, verbose=verbose
        )
        return z_mean, z_log_var

    def encode(self, x, batch_size=None, verbose=0):
        """Mean codes of `x` as a NumPy array (what `encoder` gives at inference)."""
        return self.encode_distribution(x, batch_size=batch_size, verbose=verbose)[0]

    def generate(self, n, seed=None, batch_size=None, verbose=0):
        """Decodes `n` codes drawn from the prior `N(0, I)`.

        Args:
            n: int >= 1, the number of samples.
            seed: int >= 0 or `None`, seeds the NumPy generator of the codes
                (the same seed gives the same samples).
            batch_size, verbose: passed to `decode`.

        Returns:
            NumPy array of shape (n, input_dim), in [0, 1] for a sigmoid
            decoder.
        """
        n = _validation.check_int("n", n)
        if seed is not None:
            seed = _validation.check_int("seed", seed, low=0)
        codes = np.random.default_rng(seed).standard_normal((n, self.code_size))
        return self.decode(codes.astype("float32"), batch_size, verbose)

    def interpolate(self, x_a, x_b, steps=8, batch_size=None, verbose=0):
        """Decodes the straight path between the mean codes of two samples.

        Args:
            x_a, x_b: one sample each, of shape (input_dim,) or
                (1, input_dim).
            steps: int >= 2, the number of points on the path, both ends
                included.
            batch_size, verbose: passed to `decode`.

        Returns:
            NumPy array of shape (steps, input_dim): row 0 decodes the mean
            code of `x_a`, the last row that of `x_b`.
        """
        x_a = self._one_sample("x_a", x_a)
        x_b = self._one_sample("x_b", x_b)
        steps = _validation.check_int("steps", steps, low=2)
        means = self.encode(np.concatenate([x_a, x_b]))
        t = np.linspace(0.0, 1.0, steps)[:, None]
        # Exact ends: (1 - 0) * a + 0 * b == a and 0 * a + 1 * b == b.
        path = (1.0 - t) * means[0].astype(np.float64) + t * means[1]
        return self.decode(path.astype(means.dtype), batch_size, verbose)

    def _one_sample(self, name, value):
        expected = f"one sample of shape ({self.input_dim},) or (1, {self.input_dim})"
        try:
            array = np.asarray(value, dtype="float32")
        except (TypeError, ValueError):
            raise _validation.invalid_type(name, expected, value) from None
        if array.shape not in ((self.input_dim,), (1, self.input_dim)):
            raise ValueError(
                f"Invalid value for argument `{name}`. Expected {expected}. "
                f"Received: {name} of shape {array.shape}"
            )
        return array.reshape(1, self.input_dim)


class _Holder:
    """Caches a helper model out of Keras' sight (not tracked, not saved)."""

    def __init__(self):
        self.model = None


def _sampling_layers(part):
    return [
        layer
        for layer in part._flatten_layers(include_self=True)
        if isinstance(layer, GaussianSampling)
    ]


def build_vae(
    input_dim=784,
    hidden=(500, 500),
    code_size=20,
    *,
    beta=1.0,
    activation="elu",
    reconstruction="bce",
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds and compiles lesson 001's variational autoencoder.

    A dense VAE (Kingma and Welling, 2014), as in lesson 001 (784-500-500-20,
    ELU, Adam 1e-3) and keras.io's VAE example. The encoder runs `x` through
    the hidden layers `h1, h2, ...` to two linear heads `z_mean` and
    `z_log_var`, then a `GaussianSampling` layer named `latent` draws the
    code `z` (the mean at inference, see `GaussianSampling`); the decoder
    mirrors the hidden layers and ends with a sigmoid layer named
    `reconstruction`. `History` shows `loss`, `reconstruction` and
    `latent_kl`.

    The KL weight of the `latent` layer is `beta / input_dim`. Our
    reconstruction losses are means over the features, and

        mean_j BCE_j + KL / input_dim = (sum_j BCE_j + KL) / input_dim,

    so with `beta=1` and `reconstruction="bce"` the model minimises the
    keras.io / lesson 001 objective (summed binary cross-entropy plus the
    KL, per sample) divided by a constant: the same minimiser, with loss
    values on the per-pixel scale of the other models. `beta > 1` gives a
    beta-VAE; with `"mse"` or `"l2"` the reconstruction is a Gaussian
    likelihood up to a scale, which `beta` then absorbs.

    Inference is deterministic: `predict`, `evaluate` and `encode` use the
    mean code. The model also has `encode_distribution(x)`, `generate(n,
    seed)` and `interpolate(x_a, x_b, steps)` (see
    `VariationalAutoencoder`). It is compiled with `steps_per_execution=10`
    (same results, faster epochs); recompile to change it.

    Args:
        input_dim: int >= 1, number of input features (784 for MNIST).
        hidden: tuple of ints >= 1, encoder layer sizes; the decoder
            mirrors them.
        code_size: int >= 1, the dimension of the latent space (lesson: 20).
        beta: float >= 0, weight of the KL term relative to the summed
            reconstruction (1 is the plain VAE; 0 drops the term).
        activation: activation of the hidden layers (lesson: `"elu"`).
        reconstruction: `"bce"` (for inputs in [0, 1]), `"mse"` or `"l2"`.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or a
            `keras.optimizers.Optimizer`.
        learning_rate: float > 0, or `None` for the optimizer's default
            (adam 1e-3, the lesson's rate).
        seed: int or `None`, seeds the weight initialisers and the noise of
            the sampling layer.

    Returns:
        A compiled `VariationalAutoencoder`; train it with `model.fit(X)`.

    Example:

    >>> model = build_vae(input_dim=64, hidden=(32,), code_size=2, seed=0)
    >>> [layer.name for layer in model.penalty_layers]
    ['latent']
    >>> model.encoder.output_shape, model.decoder.output_shape
    ((None, 2), (None, 64))
    >>> model.generate(3, seed=0).shape
    (3, 64)
    """
    input_dim, seed = check_common(input_dim, activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    code_size = _validation.check_int("code_size", code_size)
    beta = _validation.check_weight("beta", beta)
    make_optimizer(optimizer, learning_rate)  # validates before building

    seeds = layer_seeds(seed, 2 * len(hidden) + 4)

    def dense(units, act, index, name):
        return keras.layers.Dense(
            units,
            activation=act,
            kernel_initializer=initializer("glorot_uniform", seeds[index]),
            name=name,
        )

    x = keras.Input((input_dim,), name="x")
    h = x
    for index, units in enumerate(hidden):
        h = dense(units, activation, index, f"h{index + 1}")(h)
    z_mean = dense(code_size, None, len(hidden), "z_mean")(h)
    z_log_var = dense(code_size, None, len(hidden) + 1, "z_log_var")(h)
    z = GaussianSampling(weight=beta / input_dim, seed=seeds[-1], name="latent")(
        [z_mean, z_log_var]
    )
    encoder = keras.Model(x, z, name="encoder")

    decoder_layers = [keras.Input((code_size,), name="code")]
    for offset, units in enumerate(reversed(hidden)):
        index = len(hidden) + 2 + offset
        decoder_layers.append(dense(units, activation, index, f"h{index - 1}"))
    decoder_layers.append(dense(input_dim, "sigmoid", -2, "reconstruction"))
    decoder = keras.Sequential(decoder_layers, name="decoder")

    model = VariationalAutoencoder(
        encoder, decoder, reconstruction=reconstruction, name="vae"
    )
    model.build((None, input_dim))
    return compile_autoencoder(model, optimizer, learning_rate)
