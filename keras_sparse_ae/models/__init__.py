"""Autoencoder models and their builders."""

from keras_sparse_ae.models.autoencoder import Autoencoder

__all__ = ["Autoencoder"]
