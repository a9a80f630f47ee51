"""`GaussianSampling`: the reparameterised code of a variational autoencoder."""

import keras
from keras import backend, ops

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer
from keras_sparse_ae.layers.seeded_noise import SeedStateMixin

#: Key of the noise generator's state in the layer's saved variables.


def _float(x):
    x = ops.convert_to_tensor(x)
    if backend.standardize_dtype(x.dtype) not in ("float32", "float64"):
        x = ops.cast(x, "float32")
    return x


def gaussian_kl(z_mean, z_log_var):
    """`KL(N(mean, exp(log_var)) || N(0, I))`, summed over units, batch mean.

    `mean_i [-0.5 * sum_j (1 + log_var_ij - mean_ij**2 - exp(log_var_ij))]`,
    in float32 (or float64 for float64 inputs), whatever the input dtype.
    """
    z_mean, z_log_var = _float(z_mean), _float(z_log_var)
    z_log_var = ops.cast(z_log_var, z_mean.dtype)
    per_unit = 1.0 + z_log_var - ops.square(z_mean) - ops.exp(z_log_var)
    return ops.mean(-0.5 * ops.sum(per_unit, axis=-1))


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class GaussianSampling(SeedStateMixin, PenaltyLayer):
    """Draws the code of a variational autoencoder and adds its KL term.

    Takes `[z_mean, z_log_var]`, two (batch, units) tensors that describe a
    diagonal Gaussian `N(z_mean, exp(z_log_var))` per sample, and returns
    the code `z` (Kingma and Welling's reparameterisation trick):

        training:  z = z_mean + exp(0.5 * z_log_var) * eps,  eps ~ N(0, I)
        inference: z = z_mean

    so that `predict`, `evaluate` and `model(x)` are deterministic: a
    trained VAE reconstructs from the mean code, and sampling happens only
    while training (draw codes yourself, e.g. `VariationalAutoencoder.
    generate`, to sample). `eps` comes from a `keras.random.SeedGenerator`
    owned by the layer, whose state is saved with the model.

    On every call, in both modes, the layer adds the KL divergence from the
    prior `N(0, I)`, summed over units and averaged over the batch:

        penalty = weight * mean_i [-0.5 * sum_j (1 + log_var_ij
                                    - mean_ij**2 - exp(log_var_ij))]

    computed in float32 (also under mixed precision). It is reported as
    `<layer name>_kl`; `weight=0` disables it.

    Args:
        weight: float >= 0, the weight of the KL term; 0 disables it.
        seed: int >= 0 or `None`, seeds the noise of the training draws.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Example:

    >>> import numpy as np
    >>> layer = GaussianSampling(weight=1.0, seed=0)
    >>> z_mean = np.array([[0.0, 1.0]], dtype="float32")
    >>> z_log_var = np.zeros((1, 2), dtype="float32")
    >>> z = layer([z_mean, z_log_var])  # inference: the mean itself
    >>> np.asarray(z).tolist()
    [[0.0, 1.0]]
    >>> round(float(layer.losses[0]), 6)  # 0.5 * 1.0**2
    0.5
    >>> z = layer([z_mean, z_log_var], training=True)  # a random draw
    >>> bool(np.all(np.asarray(z) != z_mean))
    True
    """

    def __init__(self, weight=1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.weight = _validation.check_weight("weight", weight)
        if seed is not None:
            seed = _validation.check_int("seed", seed, low=0)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    @property
    def penalty_terms(self):
        return ("kl",) if self.weight > 0 else ()

    def build(self, input_shape):
        shapes = None
        if isinstance(input_shape, (list, tuple)) and len(input_shape) == 2:
            shapes = [tuple(shape) for shape in input_shape if _is_shape(shape)]
        if (
            shapes is None
            or len(shapes) != 2
            or any(len(shape) != 2 or shape[-1] is None for shape in shapes)
            or shapes[0][-1] != shapes[1][-1]
        ):
            raise ValueError(
                f"Invalid input shape for layer `{self.name}` "
                f"({type(self).__name__}). Expected a list of two 2-D inputs "
                "[z_mean, z_log_var] of equal shape (batch, units) with a "
                f"known number of units. Received: input_shape={input_shape}"
            )
        self.built = True

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            return mask[0]
        return mask

    def call(self, inputs, training=None):
        z_mean, z_log_var = inputs
        if self.weight > 0:
            self.add_penalty("kl", self.weight * gaussian_kl(z_mean, z_log_var))
        if not training:
            return z_mean
        eps = keras.random.normal(
            ops.shape(z_mean), dtype=z_mean.dtype, seed=self.seed_generator
        )
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def get_config(self):
        config = super().get_config()
        config.update({"weight": self.weight, "seed": self.seed})
        return config


def _is_shape(shape):
    return isinstance(shape, (list, tuple)) and all(
        dim is None or isinstance(dim, int) for dim in shape
    )
