"""Sparse autoencoders for Keras 3: layers, models, reference and tools."""

from keras_sparse_ae import datasets, reference, regularizers
from keras_sparse_ae.layers import ActivityRegularizer, KLSparsity, ParticipationTrace
from keras_sparse_ae.metrics import format_sparsity_report, sparsity_report
from keras_sparse_ae.models import Autoencoder, build_deep_sae

__version__ = "0.1.0"

__all__ = [
    "ActivityRegularizer",
    "Autoencoder",
    "KLSparsity",
    "ParticipationTrace",
    "build_deep_sae",
    "datasets",
    "format_sparsity_report",
    "reference",
    "regularizers",
    "sparsity_report",
]
