"""Fixtures for the dataset tests: no test may reach the network."""

import gzip
import socket

import numpy as np
import pytest


def _refuse(*args, **kwargs):
    raise OSError("network access is disabled in tests/datasets")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Makes every socket connection and DNS lookup fail at once."""
    monkeypatch.setattr(socket.socket, "connect", _refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", _refuse)
    monkeypatch.setattr(socket, "create_connection", _refuse)
    monkeypatch.setattr(socket, "getaddrinfo", _refuse)


def write_idx(path, array, type_code=0x08, *, gz=False):
    """Writes `array` as an IDX file (big-endian) and returns the path."""
    dtypes = {
        0x08: ">u1",
        0x09: ">i1",
        0x0B: ">i2",
        0x0C: ">i4",
        0x0D: ">f4",
        0x0E: ">f8",
    }
    array = np.asarray(array)
    header = bytes([0, 0, type_code, array.ndim])
    header += b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    content = header + array.astype(dtypes[type_code]).tobytes()
    opener = gzip.open if gz else open
    with opener(path, "wb") as f:
        f.write(content)
    return path


def write_fake_mnist(path, n_train=6, n_test=4, seed=0):
    """Writes a small Keras-format MNIST .npz; returns its four arrays."""
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test).astype(np.uint8),
    }
    arrays["x_train"][0, 0, 0] = 255  # make the max exactly 255
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


@pytest.fixture
def idx_writer():
    """The `write_idx(path, array, type_code=0x08, *, gz=False)` helper."""
    return write_idx


@pytest.fixture
def fake_mnist_writer():
    """The `write_fake_mnist(path, n_train=6, n_test=4, seed=0)` helper."""
    return write_fake_mnist
