"""`build_deep_sae`: lesson 000's deep sparse autoencoder."""

from keras_sparse_ae import _validation
from keras_sparse_ae.layers.participation_trace import ParticipationTrace
from keras_sparse_ae.models.optimizers import make_optimizer
from keras_sparse_ae.models.stack import (
    check_common,
    compile_autoencoder,
    mirrored_autoencoder,
)

#: Learning rates used when `learning_rate=None`: adam's was measured
#: (bench/deep_sae_defaults.py), sgd_halving's is lesson 000's best.
LEARNING_RATES = {"adam": 3e-3, "sgd": 1.0, "sgd_halving": 10.0}


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
    unit is dead. The lesson trained with SGD at rate 10 (halving every
    1,000 steps), alpha_s 0.5, alpha_p 100, alpha_b 0.5, sparsity 0.75 and
    batches of 32, on a reconstruction *summed* over the batch; our `"l2"`
    is its per-sample mean, 32 times smaller, while the penalties are the
    same averages. The same gradient steps are therefore
    `optimizer="sgd_halving", learning_rate=320.0, reconstruction="l2",
    alpha_s=0.5/32, alpha_p=100/32, alpha_b=0.5/32` with batches of 32
    (notebook 00 trains it). The model is compiled
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
    input_dim, seed = check_common(input_dim, activation, reconstruction, seed)
    hidden = _validation.check_sizes("hidden", hidden)
    trace_kwargs = dict(sparsity=sparsity, gamma=gamma)
    trace_kwargs.update(alpha_s=alpha_s, alpha_p=alpha_p, alpha_b=alpha_b)
    # Validates every penalty argument before any layer is made.
    ParticipationTrace(**trace_kwargs)
    if learning_rate is None and isinstance(optimizer, str):
        learning_rate = LEARNING_RATES.get(optimizer)
    make_optimizer(optimizer, learning_rate)  # validates before building

    model = mirrored_autoencoder(
        input_dim,
        hidden,
        activation=activation,
        after_hidden=lambda _, name: [ParticipationTrace(**trace_kwargs, name=name)],
        reconstruction=reconstruction,
        seed=seed,
        name="deep_sae",
    )
    return compile_autoencoder(model, optimizer, learning_rate)
