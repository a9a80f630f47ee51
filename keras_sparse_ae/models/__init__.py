"""Autoencoder models and their builders (the model zoo)."""

from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.classifier import build_classifier, compare_pretraining
from keras_sparse_ae.models.deep_sae import build_deep_sae
from keras_sparse_ae.models.denoising import build_denoising
from keras_sparse_ae.models.kl_sae import build_kl_sae, build_kl_sae_deep
from keras_sparse_ae.models.l1_sae import build_l1_sae
from keras_sparse_ae.models.l2_sae import build_l2_sae
from keras_sparse_ae.models.layerwise import train_layerwise
from keras_sparse_ae.models.linear import build_linear
from keras_sparse_ae.models.optimizers import make_optimizer
from keras_sparse_ae.models.plain import build_plain
from keras_sparse_ae.models.registry import build, list_models, register_model
from keras_sparse_ae.models.stacked import build_stacked
from keras_sparse_ae.models.tied import TiedAutoencoder, build_tied
from keras_sparse_ae.models.topk_sae import (
    TopKAutoencoder,
    build_batch_topk_sae,
    build_topk_sae,
)
from keras_sparse_ae.models.vae import VariationalAutoencoder, build_vae

__all__ = [
    "Autoencoder",
    "TopKAutoencoder",
    "build",
    "build_batch_topk_sae",
    "build_topk_sae",
    "build_deep_sae",
    "build_denoising",
    "build_kl_sae",
    "build_kl_sae_deep",
    "build_l1_sae",
    "build_l2_sae",
    "build_linear",
    "build_plain",
    "build_stacked",
    "list_models",
    "make_optimizer",
    "register_model",
    "VariationalAutoencoder",
    "build_vae",
    "TiedAutoencoder",
    "build_classifier",
    "build_tied",
    "compare_pretraining",
    "train_layerwise",
]
