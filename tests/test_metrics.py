"""`sparsity_report` and the statistics behind it."""

import keras
import numpy as np
import pytest

import keras_sparse_ae as ksae
from keras_sparse_ae import Autoencoder, build_deep_sae, reference, sparsity_report
from keras_sparse_ae.metrics import (
    fidelity,
    format_sparsity_report,
    hidden_layers,
    layer_statistics,
    treves_rolls,
)


def test_layer_statistics_by_hand():
    a = np.array([[0.0, 0.5, 0.2], [0.0, 0.05, 0.3], [0.0, 0.9, 0.0]])
    stats = layer_statistics(a, threshold=0.1)
    assert stats["units"] == 3
    assert stats["mean_activation"] == pytest.approx(a.mean())
    assert stats["active_fraction"] == pytest.approx(4 / 9)
    assert stats["l0"] == pytest.approx(4 / 3)
    assert stats["dead_units"] == 1 and stats["dead_fraction"] == pytest.approx(1 / 3)


def test_treves_rolls_extremes():
    one_hot = np.eye(4)
    np.testing.assert_allclose(treves_rolls(one_hot, axis=1), 1.0)
    np.testing.assert_allclose(treves_rolls(np.full((3, 5), 0.7), axis=1), 0.0)
    np.testing.assert_allclose(treves_rolls(np.zeros((2, 5)), axis=1), 1.0)
    # [1, 1, 0, 0]: mean 0.5, mean square 0.5 -> (1 - 0.5) / (1 - 1/4) = 2/3
    np.testing.assert_allclose(treves_rolls(np.array([[1, 1, 0, 0.0]]), axis=1), 2 / 3)
    assert treves_rolls(np.ones((3, 1)), axis=1).tolist() == [0.0, 0.0, 0.0]


def test_report_matches_reference_forward_pass(rng):
    model = build_deep_sae(input_dim=16, hidden=(8, 3), sparsity=0.6, seed=0)
    x = rng.random((40, 16)).astype("float32")
    model.fit(x, epochs=2, batch_size=8, verbose=0)
    # Silence unit 2 of h1: a very negative bias makes it dead everywhere.
    dense = model.encoder.get_layer("h1_dense")
    kernel, bias = dense.get_weights()
    bias[2] = -50.0
    dense.set_weights([kernel, bias])

    report = sparsity_report(model, x, threshold=0.2)
    weights = [
        tuple(layer.get_weights())
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if isinstance(layer, keras.layers.Dense)
    ]
    *hidden, x_hat = reference.dense_stack(x, weights, ["sigmoid"] * 4)
    assert list(report["layers"]) == ["h1", "h2", "h3"]
    assert report["samples"] == 40 and report["threshold"] == 0.2
    for (name, stats), h in zip(report["layers"].items(), hidden):
        expected = layer_statistics(h, 0.2)
        for key, value in expected.items():
            assert stats[key] == pytest.approx(value, rel=1e-5, abs=1e-6), (name, key)
        assert stats["target"] == pytest.approx(0.4)
        layer = (
            model.encoder.get_layer(name)
            if name != "h3"
            else model.decoder.get_layer(name)
        )
        np.testing.assert_allclose(
            stats["trace"], keras.ops.convert_to_numpy(layer.trace), atol=1e-6
        )
        assert stats["collapsed_units"] == int(layer.collapsed_units(0.1).sum())
    assert report["layers"]["h1"]["dead_units"] >= 1
    x64 = x.astype(np.float64)
    error = np.square(x64 - x_hat).sum()
    assert report["mse"] == pytest.approx(error / x.size, rel=1e-5)
    assert report["normalized_mse"] == pytest.approx(
        error / np.square(x64).sum(), rel=1e-5
    )
    assert report["explained_variance"] == pytest.approx(
        1 - error / np.square(x64 - x64.mean(axis=0)).sum(), rel=1e-5
    )
    table = format_sparsity_report(report)
    assert table.splitlines()[2].startswith("h1")
    assert len(table.splitlines()) == 6
    assert table.splitlines()[-1].startswith(f"reconstruction: mse {report['mse']:.5f}")


def test_fidelity_by_hand():
    x = np.array([[1.0, 0.0], [3.0, 2.0]])
    got = fidelity(x, np.array([[1.0, 1.0], [3.0, 2.0]]))
    # error 1; sum x**2 = 14; sum (x - mean)**2 = 2 + 2 = 4.
    assert got == pytest.approx(
        {"mse": 0.25, "normalized_mse": 1 / 14, "explained_variance": 0.75}
    )
    assert np.isnan(fidelity(np.ones((2, 2)), np.ones((2, 2)))["explained_variance"])


def test_hidden_layers_without_penalty_layers_are_the_dense_ones():
    encoder = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(4, name="a"),
            keras.layers.Dense(2, name="b"),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4, name="c"),
            keras.layers.Dense(6, name="out"),
        ]
    )
    model = Autoencoder(encoder, decoder)
    assert [layer.name for _, layer in hidden_layers(model)] == ["a", "b", "c"]
    report = sparsity_report(model, np.ones((5, 6), "float32"))
    assert list(report["layers"]) == ["a", "b", "c"]
    assert "trace" not in report["layers"]["a"]


def test_bad_threshold():
    model = build_deep_sae(input_dim=4, hidden=(2,), seed=0)
    with pytest.raises(ValueError, match="argument `threshold`"):
        sparsity_report(model, np.ones((3, 4)), threshold=float("nan"))


def test_hidden_layers_of_a_tied_model_include_the_transposed_ones():
    model = ksae.build("tied", input_dim=16, hidden=(8, 4), seed=0)
    names = [layer.name for _, layer in hidden_layers(model)]
    assert names == ["h1", "h2", "h3"]  # the output layer is not hidden
