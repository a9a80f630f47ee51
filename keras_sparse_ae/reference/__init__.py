"""NumPy (float64) reference of every forward pass and loss term.

The tests check the Keras layers and models against these functions.
"""

from keras_sparse_ae.reference import models, tied, topk, vae
from keras_sparse_ae.reference.forward import dense, dense_stack, l1_autoencoder
from keras_sparse_ae.reference.losses import (
    activity_penalty,
    bce,
    binary_penalty,
    kl_sparsity_penalty,
    l2_loss_per_input,
    layer_sparsity_penalty,
    mse,
    participation_penalty,
    participation_trace_penalties,
    relu,
    shifted_sigmoid,
    sigmoid,
    sigmoid_shift,
    trace_update,
)

__all__ = [
    "activity_penalty",
    "bce",
    "binary_penalty",
    "dense",
    "dense_stack",
    "kl_sparsity_penalty",
    "l1_autoencoder",
    "l2_loss_per_input",
    "layer_sparsity_penalty",
    "models",
    "mse",
    "participation_penalty",
    "participation_trace_penalties",
    "relu",
    "sigmoid",
    "shifted_sigmoid",
    "sigmoid_shift",
    "tied",
    "topk",
    "trace_update",
    "vae",
]
