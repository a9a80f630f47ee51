"""JAX: `steps_per_execution` steps scanned in one dispatch, same results."""

import keras
import numpy as np
import pytest

import keras_sparse_ae
from keras_sparse_ae.models import scan

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="the scanned steps are JAX's"
)

#: 13 full batches of 32 and a last one of 5: one scanned group of 10, one
#: of 3 and the smaller last batch on its own.
N, D, BATCH = 13 * 32 + 5, 24, 32


def _fit(name, steps_per_execution, **kwargs):
    keras.backend.clear_session()  # the same variable paths for both models
    keras.utils.set_random_seed(3)
    model = keras_sparse_ae.build(name, input_dim=D, seed=3, **kwargs)
    model.compile(
        optimizer=model.optimizer,
        steps_per_execution=steps_per_execution,
        jit_compile=True,
    )
    x = np.random.default_rng(0).random((N, D)).astype("float32")
    history = model.fit(x, batch_size=BATCH, epochs=2, shuffle=False, verbose=0)
    return model, history.history


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("deep_sae", dict(hidden=(16, 4), alpha_b=0.5)),
        ("denoising", dict(hidden=(16, 4))),
        ("vae", dict(hidden=(16,), code_size=4)),
    ],
)
def test_scanned_steps_match_one_step_per_call(name, kwargs):
    scanned, scanned_history = _fit(name, 10, **kwargs)
    single, single_history = _fit(name, 1, **kwargs)
    assert getattr(scanned.train_function, "scanned_steps", None) == 10
    assert not hasattr(single.train_function, "scanned_steps")
    assert sorted(scanned_history) == sorted(single_history)
    for key, values in single_history.items():
        np.testing.assert_allclose(
            scanned_history[key], values, rtol=1e-6, atol=1e-7, err_msg=key
        )
    for a, b in zip(scanned.variables, single.variables):
        assert a.path == b.path
        np.testing.assert_allclose(
            np.asarray(a), np.asarray(b), rtol=1e-6, atol=1e-7, err_msg=a.path
        )


def test_not_used_without_jit_or_under_a_distribution():
    model = keras_sparse_ae.build_deep_sae(D, hidden=(8, 4), seed=0)
    assert scan.uses_scanned_steps(model)
    model.compile(optimizer="adam", steps_per_execution=10, jit_compile=False)
    assert not scan.uses_scanned_steps(model)
    model.compile(optimizer="adam", steps_per_execution=1)
    assert not scan.uses_scanned_steps(model)
    model.compile(optimizer="adam", steps_per_execution=10)
    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(keras.distribution.DataParallel())
    try:
        assert not scan.uses_scanned_steps(model)
    finally:
        keras.distribution.set_distribution(previous)
