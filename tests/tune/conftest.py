"""Fixtures of the tuning tests."""

import pytest

from keras_sparse_ae.train import load_data, split_holdout


@pytest.fixture(scope="session")
def heldout_digits():
    """The held-out digits `run_search` measures with seed 0."""
    x, _ = load_data("digits")
    return split_holdout(x, 0.2, 0)[1]
