"""TopK sparse autoencoders with the AuxK loss (OpenAI 2024; BatchTopK)."""

import keras
import numpy as np

from keras_sparse_ae import _validation, losses
from keras_sparse_ae.layers.topk import BatchTopK, TopK
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    initializer,
    layer_seeds,
)

#: Default AuxK weight (Gao et al. 2024: alpha = 1/32).
AUX_WEIGHT = 1.0 / 32.0

#: Default `dead_after` of the zoo models, in training steps.
DEAD_AFTER = 256


# === Model ===


@keras.saving.register_keras_serializable(package="keras_sparse_ae")
class TopKAutoencoder(Autoencoder):
    """An `Autoencoder` whose code is a `TopK` or `BatchTopK` layer, plus AuxK.

    The loss is

        loss = reconstruction + aux_weight * auxk

    where `auxk` (`keras_sparse_ae.losses.auxk_loss`) asks the `aux_k`
    largest pre-activations of the dead units (per `steps_since_active`,
    after this step's update) to reconstruct the residual `x - x_hat`
    through the decoder's kernel; it is 0 when no unit is dead. `History`
    reports `loss`, `reconstruction` and `auxk` (the weighted value).

    Args:
        encoder: a `keras.Model` whose layers include exactly one `TopK` or
            `BatchTopK` layer (the code).
        decoder: a `keras.Model` whose first layer is a `Dense` layer on the
            code; its kernel (units, features) is the AuxK decoder.
        reconstruction: see `Autoencoder` (`"mse"` by default).
        aux_k: int >= 1 and <= units, or `None` for `min(2 * k, units)`.
        aux_weight: float >= 0, weight of the AuxK term.
        **kwargs: base model arguments (`name`, ...).
    """

    extra_terms = ("auxk",)

    def __init__(
        self,
        encoder,
        decoder,
        reconstruction="mse",
        aux_k=None,
        aux_weight=AUX_WEIGHT,
        **kwargs,
    ):
        super().__init__(encoder, decoder, reconstruction=reconstruction, **kwargs)
        found = [
            layer
            for layer in encoder._flatten_layers(include_self=False)
            if isinstance(layer, (TopK, BatchTopK))
        ]
        if len(found) != 1:
            raise ValueError(
                "Invalid value for argument `encoder`. Expected a model that "
                "contains exactly one `TopK` or `BatchTopK` layer. Received: "
                f"encoder={getattr(encoder, 'name', encoder)!r} with "
                f"{len(found)} such layers"
            )
        self.code_layer = found[0]
        dense = [
            layer
            for layer in decoder._flatten_layers(include_self=False)
            if isinstance(layer, keras.layers.Dense)
        ]
        if not dense:
            raise ValueError(
                "Invalid value for argument `decoder`. Expected a model whose "
                "first layer is a `Dense` layer. Received: "
                f"decoder={getattr(decoder, 'name', decoder)!r}"
            )
        self.decoder_dense = dense[0]
        units = int(encoder.output_shape[-1])
        if aux_k is not None:
            aux_k = _validation.check_int("aux_k", aux_k)
            if aux_k > units:
                raise _validation.invalid_value(
                    "aux_k", f"an integer <= the code size ({units})", aux_k
                )
        self.aux_k = aux_k
        self.aux_weight = _validation.check_weight("aux_weight", aux_weight)

    @property
    def effective_aux_k(self):
        """`aux_k`, or `min(2 * k, units)` when it is `None`."""
        units = int(self.encoder.output_shape[-1])
        return self.aux_k or min(2 * self.code_layer.k, units)

    def extra_losses(self, target, y_pred):
        record = self.code_layer.last_call
        if self.aux_weight == 0 or "inputs" not in record:
            return [keras.ops.zeros((), "float32")]
        auxk = losses.auxk_loss(
            target,
            y_pred,
            record["inputs"],
            record["dead"],
            self.decoder_dense.kernel,
            self.effective_aux_k,
        )
        return [self.aux_weight * auxk]

    def get_config(self):
        config = super().get_config()
        config.update({"aux_k": self.aux_k, "aux_weight": self.aux_weight})
        return config


# === Builders ===


def _build(
    kind,
    input_dim,
    code_size,
    k,
    aux_k,
    aux_weight,
    dead_after,
    optimizer,
    learning_rate,
    seed,
    name,
    **layer_kwargs,
):
    input_dim, seed = check_common(input_dim, "linear", "mse", seed)
    code_size = _validation.check_int("code_size", code_size)
    k = _validation.check_int("k", k)
    if k > code_size:
        raise _validation.invalid_value(
            "k", f"an integer <= code_size ({code_size})", k
        )
    dead_after = _validation.check_int("dead_after", dead_after)
    seeds = layer_seeds(seed, 2)
    encoder = keras.Sequential(
        [
            keras.Input((input_dim,), name="x"),
            keras.layers.Dense(
                code_size,
                kernel_initializer=initializer("glorot_uniform", seeds[0]),
                name="h1_dense",
            ),
            kind(k, dead_after=dead_after, name="h1", **layer_kwargs),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((code_size,), name="code"),
            keras.layers.Dense(input_dim, name="reconstruction"),
        ],
        name="decoder",
    )
    model = TopKAutoencoder(
        encoder,
        decoder,
        reconstruction="mse",
        aux_k=aux_k,
        aux_weight=aux_weight,
        name=name,
    )
    model.build((None, input_dim))
    # The decoder starts as the encoder's transpose (Gao et al. 2024).
    kernel = keras.ops.convert_to_numpy(encoder.layers[0].kernel)
    model.decoder_dense.kernel.assign(np.ascontiguousarray(kernel.T))
    return compile_autoencoder(model, optimizer, learning_rate)


def build_topk_sae(
    input_dim=784,
    code_size=256,
    *,
    k=16,
    aux_k=None,
    aux_weight=AUX_WEIGHT,
    dead_after=DEAD_AFTER,
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds a TopK sparse autoencoder (Gao et al. 2024).

    `z = TopK_k(x W_e + b_e)`, `x_hat = z W_d + b_d` (linear decoder, its
    kernel initialised as `W_e` transposed) and

        loss = mean_ij (x_ij - x_hat_ij)**2 + aux_weight * auxk

    (see `TopKAutoencoder`). Each code has at most `k` active units (more
    only on exact ties). The code layer is named `h1`.

    Args:
        input_dim: int >= 1, number of input features.
        code_size: int >= 1, number of code units.
        k: int in [1, code_size], active units per sample.
        aux_k: int or `None` (`min(2 k, code_size)`), dead units used by AuxK.
        aux_weight: float >= 0, weight of the AuxK term.
        dead_after: int >= 1, training steps without activity after which a
            unit is dead.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.

    Returns:
        A compiled `TopKAutoencoder`; `History` shows `reconstruction` and
        `auxk`.

    Example:

    >>> model = build_topk_sae(input_dim=8, code_size=6, k=2, seed=0)
    >>> [w.shape for w in model.get_weights()]
    [(8, 6), (6,), (6,), (6, 8), (8,)]
    """
    return _build(
        TopK, input_dim, code_size, k, aux_k, aux_weight, dead_after,
        optimizer, learning_rate, seed, "topk_sae",
    )  # fmt: skip


def build_batch_topk_sae(
    input_dim=784,
    code_size=256,
    *,
    k=16,
    aux_k=None,
    aux_weight=AUX_WEIGHT,
    dead_after=DEAD_AFTER,
    optimizer="adam",
    learning_rate=None,
    seed=None,
):
    """Builds a BatchTopK sparse autoencoder (Bussmann et al. 2024).

    As `build_topk_sae`, with a `BatchTopK` code layer: while training the
    `k * batch` largest pre-activations of the batch are kept; at inference
    those above the layer's learned `threshold`. Arguments as in
    `build_topk_sae`; `k` is the mean number of active units per sample.

    Example:

    >>> model = build_batch_topk_sae(input_dim=8, code_size=6, k=2, seed=0)
    >>> [v.name for v in model.non_trainable_weights]
    ['steps_since_active', 'threshold', 'threshold_updates']
    """
    return _build(
        BatchTopK, input_dim, code_size, k, aux_k, aux_weight, dead_after,
        optimizer, learning_rate, seed, "batch_topk_sae",
    )  # fmt: skip
