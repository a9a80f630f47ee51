"""Autoencoder models and their builders."""

from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.deep_sae import build_deep_sae
from keras_sparse_ae.models.optimizers import make_optimizer

__all__ = ["Autoencoder", "build_deep_sae", "make_optimizer"]
