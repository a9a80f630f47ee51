"""`TermMeans`: per-term epoch means in one metric."""

import keras
import numpy as np
import pytest

import keras_sparse_ae
from keras_sparse_ae.models.term_means import TermMeans


def test_means_skip_missing_values_and_reset():
    metric = TermMeans(["a", "b", "c"])
    metric.update_state([1.0, 2.0, None])
    metric.update_state([3.0, None, None])
    result = {k: float(v) for k, v in metric.result().items()}
    assert result == {"a": 2.0, "b": 2.0, "c": 0.0}
    metric.reset_state()
    assert all(float(v) == 0.0 for v in metric.result().values())


def test_wrong_number_of_values():
    with pytest.raises(ValueError, match="Expected 2 values.*Received: 1"):
        TermMeans(["a", "b"]).update_state([1.0])


def test_same_means_as_one_keras_mean_per_term():
    rng = np.random.default_rng(0)
    names = ["reconstruction", "h1_sparsity", "h1_binary"]
    metric = TermMeans(names)
    means = {name: keras.metrics.Mean(name=name) for name in names}
    for _ in range(7):
        values = rng.random(len(names)).astype("float32")
        metric.update_state(list(values))
        for name, value in zip(names, values):
            means[name].update_state(value)
    result = metric.result()
    assert list(result) == names
    for name in names:
        np.testing.assert_allclose(
            float(result[name]), float(means[name].result()), rtol=1e-6
        )


def test_history_has_every_term_once():
    x = np.random.default_rng(0).random((64, 16)).astype("float32")
    model = keras_sparse_ae.build_deep_sae(16, hidden=(8, 4), alpha_b=0.5, seed=0)
    history = model.fit(x, batch_size=32, epochs=1, verbose=0)
    terms = ["sparsity", "participation", "binary"]
    expected = ["loss", "reconstruction"]
    expected += [f"h{i}_{t}" for i in (1, 2, 3) for t in terms]
    assert sorted(history.history) == sorted(expected)
    assert "terms" not in history.history


def test_evaluate_lists_loss_reconstruction_then_terms_in_model_order():
    x = np.random.default_rng(0).random((64, 16)).astype("float32")
    model = keras_sparse_ae.build_deep_sae(16, hidden=(8, 4), alpha_b=0.5, seed=0)
    logs = model.evaluate(x, verbose=0, return_dict=True)
    values = model.evaluate(x, verbose=0)
    names = ["loss", *model.term_tracker.names]
    assert names[1:4] == ["reconstruction", "h1_sparsity", "h1_participation"]
    assert values == [logs[name] for name in names]


def test_weights_scale_each_step():
    metric = TermMeans(["a"])
    metric.update_state([1.0], weight=3)
    metric.update_state([5.0], weight=1)
    assert float(metric.result()["a"]) == pytest.approx(2.0)


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_terms_add_up_to_loss_with_a_short_last_batch(steps_per_execution):
    # 70 samples in batches of 32: the last batch holds 6. Keras weights
    # `loss` by batch size; unweighted term means would not add up to it.
    x = np.random.default_rng(1).random((70, 16)).astype("float32")
    model = keras_sparse_ae.build_l1_sae(16, 8, beta=0.05, seed=0)
    if keras.backend.backend() == "torch":
        steps_per_execution = 1
    model.compile(optimizer="adam", steps_per_execution=steps_per_execution)
    history = model.fit(x, batch_size=32, epochs=2, verbose=0)
    logs = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    for record in (
        {k: v[-1] for k, v in history.history.items()},
        logs,
    ):
        terms = sum(v for k, v in record.items() if k != "loss")
        np.testing.assert_allclose(terms, record["loss"], rtol=2e-6)
    full = model.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["reconstruction"], full["reconstruction"], rtol=1e-5)
