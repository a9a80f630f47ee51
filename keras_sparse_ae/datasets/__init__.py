"""Datasets: input validation, built-in digits and local file loaders."""

from keras_sparse_ae.datasets.builtin import (
    DatasetUnavailableError,
    keras_cache_dir,
    load_digits,
    load_mnist,
    load_mnist_5k,
)
from keras_sparse_ae.datasets.files import load_array, load_idx
from keras_sparse_ae.datasets.validation import check_data

__all__ = [
    "DatasetUnavailableError",
    "check_data",
    "keras_cache_dir",
    "load_array",
    "load_digits",
    "load_idx",
    "load_mnist",
    "load_mnist_5k",
]
