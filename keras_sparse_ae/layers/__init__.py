"""Sparsity layers: identity layers that add penalties on their input."""

from keras_sparse_ae.layers.activity_regularizer import ActivityRegularizer
from keras_sparse_ae.layers.dead_units import DeadUnits, DeadUnitTracker
from keras_sparse_ae.layers.dense_transpose import DenseTranspose, tied_layer_scope
from keras_sparse_ae.layers.gaussian_sampling import GaussianSampling
from keras_sparse_ae.layers.kl_sparsity import KLSparsity
from keras_sparse_ae.layers.participation_trace import ParticipationTrace
from keras_sparse_ae.layers.penalty_layer import PenaltyLayer
from keras_sparse_ae.layers.seeded_noise import Dropout, GaussianNoise
from keras_sparse_ae.layers.topk import BatchTopK, TopK

__all__ = [
    "ActivityRegularizer",
    "BatchTopK",
    "DeadUnitTracker",
    "DeadUnits",
    "DenseTranspose",
    "Dropout",
    "GaussianNoise",
    "GaussianSampling",
    "KLSparsity",
    "ParticipationTrace",
    "PenaltyLayer",
    "TopK",
    "tied_layer_scope",
]
