"""Sparse autoencoders for Keras 3: layers, models, reference and tools."""

from keras_sparse_ae import callbacks, datasets, reference, regularizers
from keras_sparse_ae.callbacks import (
    DivergenceGuard,
    TraceRecorder,
    TrainingDivergedError,
)
from keras_sparse_ae.layers import (
    ActivityRegularizer,
    DenseTranspose,
    GaussianSampling,
    KLSparsity,
    ParticipationTrace,
)
from keras_sparse_ae.metrics import format_sparsity_report, sparsity_report
from keras_sparse_ae.models import (
    Autoencoder,
    TiedAutoencoder,
    build,
    build_classifier,
    build_deep_sae,
    build_denoising,
    build_kl_sae,
    build_kl_sae_deep,
    build_l1_sae,
    build_l2_sae,
    build_linear,
    build_plain,
    build_stacked,
    build_tied,
    build_vae,
    compare_pretraining,
    list_models,
    train_layerwise,
)
from keras_sparse_ae.models.vae import VariationalAutoencoder
from keras_sparse_ae.sweep import SweepResult, regularization_sweep

__version__ = "0.1.0"

__all__ = [
    "ActivityRegularizer",
    "Autoencoder",
    "DenseTranspose",
    "DivergenceGuard",
    "GaussianSampling",
    "KLSparsity",
    "ParticipationTrace",
    "build",
    "build_classifier",
    "build_deep_sae",
    "build_denoising",
    "build_kl_sae",
    "build_kl_sae_deep",
    "build_l1_sae",
    "build_l2_sae",
    "build_linear",
    "build_plain",
    "build_stacked",
    "build_tied",
    "build_vae",
    "callbacks",
    "compare_pretraining",
    "datasets",
    "format_sparsity_report",
    "list_models",
    "reference",
    "regularization_sweep",
    "regularizers",
    "sparsity_report",
    "SweepResult",
    "train_layerwise",
    "TiedAutoencoder",
    "TraceRecorder",
    "TrainingDivergedError",
    "VariationalAutoencoder",
]
