"""`keras.regularizers.Regularizer` twins of the sparsity layers."""

from keras_sparse_ae.regularizers.activity import ActivityPenalty
from keras_sparse_ae.regularizers.kl import KLSparsityPenalty

__all__ = ["ActivityPenalty", "KLSparsityPenalty"]
