"""Sparse autoencoders for Keras 3: layers, models, reference and tools."""

from keras_sparse_ae import reference, regularizers
from keras_sparse_ae.layers import ActivityRegularizer, KLSparsity, ParticipationTrace
from keras_sparse_ae.models import Autoencoder

__version__ = "0.1.0"

__all__ = [
    "ActivityRegularizer",
    "Autoencoder",
    "KLSparsity",
    "ParticipationTrace",
    "reference",
    "regularizers",
]
