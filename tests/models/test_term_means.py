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
    np.testing.assert_allclose(
        logs["reconstruction"], full["reconstruction"], rtol=1e-5
    )


# === Weight regularizers: the `weight_penalty` term ===

#: Builders whose Dense kernels carry `keras.regularizers.L2(l2)`, with an
#: `l2` large enough that the penalty is a sizeable share of the loss.
REGULARIZED = {
    "kl_sae_deep": dict(hidden=(8, 4), l2=0.01),
    "stacked": dict(hidden=(8, 4), l2=0.01),
}


def l2_kernel_penalty(model, l2):
    """`l2 * sum(W**2)` over the regularized kernels, in float64 NumPy."""
    kernels = [
        layer.kernel
        for part in (model.encoder, model.decoder)
        for layer in part._flatten_layers(include_self=False)
        if getattr(layer, "kernel_regularizer", None) is not None
    ]
    # One L2 per Dense kernel of the mirrored 16-8-4-8-16 network.
    assert len(kernels) == 4
    return sum(
        l2 * np.sum(np.square(keras.ops.convert_to_numpy(k).astype("float64")))
        for k in kernels
    )


def assert_terms_add_up(record, prefix=""):
    names = [k for k in record if k.startswith(prefix) and k != f"{prefix}loss"]
    if prefix == "":
        names = [k for k in names if not k.startswith("val_")]
    terms = sum(np.asarray(record[k], dtype="float64") for k in names)
    np.testing.assert_allclose(terms, record[f"{prefix}loss"], rtol=1e-5)


@pytest.mark.parametrize("name", sorted(REGULARIZED))
def test_weight_penalty_is_reported_and_terms_add_up(name):
    x = np.random.default_rng(2).random((64, 16)).astype("float32")
    kwargs = REGULARIZED[name]
    model = keras_sparse_ae.build(name, input_dim=16, seed=0, **kwargs)
    assert model.term_tracker.names[-1] == "weight_penalty"
    assert model.term_tracker.names.count("weight_penalty") == 1
    # One step on the whole batch: History's value is the penalty of the
    # weights the step started from.
    before = l2_kernel_penalty(model, kwargs["l2"])
    history = model.fit(x, batch_size=len(x), epochs=1, verbose=0)
    record = {k: v[-1] for k, v in history.history.items()}
    assert "weight_penalty" in record
    np.testing.assert_allclose(record["weight_penalty"], before, rtol=1e-5)
    assert record["weight_penalty"] > 0.05 * record["loss"]  # not negligible
    assert_terms_add_up(record)
    logs = model.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    np.testing.assert_allclose(
        logs["weight_penalty"], l2_kernel_penalty(model, kwargs["l2"]), rtol=1e-5
    )
    assert_terms_add_up(logs)
    # As a list: loss, reconstruction, the sparsity terms, weight_penalty.
    values = model.evaluate(x, batch_size=len(x), verbose=0)
    assert values == [logs[k] for k in ["loss", *model.term_tracker.names]]


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_weight_penalty_adds_up_over_epochs_with_validation(steps_per_execution):
    x = np.random.default_rng(1).random((70, 16)).astype("float32")
    model = keras_sparse_ae.build(
        "kl_sae_deep", input_dim=16, seed=0, **REGULARIZED["kl_sae_deep"]
    )
    if keras.backend.backend() == "torch":
        steps_per_execution = 1
    model.compile(optimizer="adam", steps_per_execution=steps_per_execution)
    history = model.fit(x, validation_data=x[:20], batch_size=32, epochs=2, verbose=0)
    assert {"weight_penalty", "val_weight_penalty"} <= set(history.history)
    for prefix in ("", "val_"):
        assert_terms_add_up(history.history, prefix)


def test_models_without_weight_regularizers_have_no_weight_penalty():
    x = np.random.default_rng(0).random((32, 16)).astype("float32")
    for model in (
        keras_sparse_ae.build_deep_sae(16, hidden=(8, 4), seed=0),
        keras_sparse_ae.build("kl_sae_deep", input_dim=16, hidden=(8, 4), l2=0.0),
        keras_sparse_ae.build("stacked", input_dim=16, hidden=(8, 4), l2=0.0),
        keras_sparse_ae.build_l1_sae(16, 8, beta=0.05, seed=0),
    ):
        assert "weight_penalty" not in model.term_tracker.names
        history = model.fit(x, batch_size=32, epochs=1, verbose=0)
        assert "weight_penalty" not in history.history
        logs = model.evaluate(x, verbose=0, return_dict=True)
        assert "weight_penalty" not in logs


def test_nested_bias_regularizer_is_found_and_reported():
    from keras_sparse_ae import Autoencoder, KLSparsity

    inner = keras.Sequential(
        [
            keras.Input((16,)),
            keras.layers.Dense(
                8,
                activation="sigmoid",
                bias_initializer="ones",
                bias_regularizer=keras.regularizers.L2(0.1),
            ),
        ],
        name="inner",
    )
    encoder = keras.Sequential(
        [keras.Input((16,)), inner, KLSparsity(target=0.1, weight=0.1, name="code")],
        name="encoder",
    )
    decoder = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="sigmoid")],
        name="decoder",
    )
    model = Autoencoder(encoder, decoder)
    model.compile(optimizer="sgd")
    assert model.term_tracker.names == ("reconstruction", "code_kl", "weight_penalty")
    x = np.random.default_rng(0).random((32, 16)).astype("float32")
    logs = model.evaluate(x, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["weight_penalty"], 0.1 * 8, rtol=1e-6)
    assert_terms_add_up(logs)
