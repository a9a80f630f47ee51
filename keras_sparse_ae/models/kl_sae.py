"""`build_kl_sae`: KL-sparse autoencoders of lessons 001 and 003."""

import keras

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.kl_sparsity import KLSparsity
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)


def build_kl_sae(
    input_dim=784,
    hidden=(1000,),
    *,
    target=0.1,
    weight=0.2,
    l2=0.0,
    activation="sigmoid",
    reconstruction="mse",
    optimizer="adam",
    learning_rate=None,
    seed=None,
    name="kl_sae",
):
    """Builds a KL-sparse autoencoder (lesson 001's by default).

    Every encoder layer (the code included) is followed by a `KLSparsity`
    layer that adds `weight * sum_j KL(target || rho_hat_j)`, pulling each
    unit's batch-mean activity `rho_hat_j` towards `target`; with `l2 > 0`
    every kernel also gets `l2 * sum(W**2)`. The output is a sigmoid.

    Lesson 001 (the default): 784-1000-784, 1000 sigmoid codings, target
    0.1, weight 0.2. Lesson 003 (`build_kl_sae_deep`): 784-300-30-300-784
    sigmoid, target 0.02, weight 7.5e-5 on both encoder layers, and
    `tf.nn.l2_loss` weight decay 5e-6 (`sum(W**2) / 2`, i.e. `l2=2.5e-6`).

    Args:
        input_dim: int >= 1, number of input features.
        hidden: tuple of ints >= 1, encoder sizes; the last is the code.
        target: float in (0, 1), the wanted mean activity of every unit.
        weight: float >= 0, the KL penalty's weight.
        l2: float >= 0, weight of the L2 kernel penalty.
        activation: activation of the hidden layers (sigmoid: the KL
            penalty needs activities in [0, 1]).
        reconstruction: `"mse"`, `"l2"` or `"bce"`.
        optimizer: `"adam"`, `"sgd"`, `"sgd_halving"` or an optimizer.
        learning_rate: float > 0 or `None` for the optimizer's default.
        seed: int or `None`, seeds the initialisers.
        name: the model's name.

    Returns:
        A compiled `keras_sparse_ae.Autoencoder`; `History` shows
        `h1_kl`, ... per encoder layer and, with `l2 > 0`, the kernels'
        L2 penalty as `weight_penalty`.

    Example:

    >>> model = build_kl_sae(input_dim=16, hidden=(8,), seed=0)
    >>> [layer.name for layer in model.penalty_layers]
    ['h1']
    """
    input_dim, seed = check_common(input_dim, activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    KLSparsity(target=target, weight=weight)  # validates before building
    l2 = _validation.check_weight("l2", l2)

    def kl_on_encoder(index, layer_name):
        if index >= len(hidden):
            return []
        return [KLSparsity(target=target, weight=weight, name=layer_name)]

    model = mirrored_autoencoder(
        input_dim,
        hidden,
        activation=activation,
        kernel_regularizer=keras.regularizers.L2(l2) if l2 > 0 else None,
        after_hidden=kl_on_encoder,
        reconstruction=reconstruction,
        seed=seed,
        name=name,
    )
    return compile_autoencoder(model, optimizer, learning_rate)


def build_kl_sae_deep(input_dim=784, hidden=(300, 30), **kwargs):
    """Builds lesson 003's deep KL-sparse autoencoder.

    `build_kl_sae` with lesson 003's settings: 784-300-30-300-784 sigmoid,
    `target=0.02`, `weight=7.5e-5` on both encoder layers, `l2=2.5e-6` and
    Adam at 0.01; any of them can be overridden by keyword.

    Example:

    >>> model = build_kl_sae_deep(input_dim=16, hidden=(8, 2), seed=0)
    >>> [layer.target for layer in model.penalty_layers]
    [0.02, 0.02]
    """
    options = dict(target=0.02, weight=7.5e-5, l2=2.5e-6, learning_rate=0.01)
    options.update(kwargs)
    return build_kl_sae(input_dim, hidden, name="kl_sae_deep", **options)
