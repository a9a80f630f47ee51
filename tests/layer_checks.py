"""The standard checks every sparsity layer goes through.

`run_layer_checks(layer_factory)` builds the layer, calls it, round-trips its
config, and saves and reloads it inside a small `Autoencoder` trained for a
few steps, asserting equal outputs, equal losses and equal non-trainable
state (the `ParticipationTrace` trace included).
"""

import keras
import numpy as np

from keras_sparse_ae import Autoencoder

INPUT_DIM = 12
UNITS = 5


def tiny_autoencoder(penalty_layer, input_dim=INPUT_DIM, units=UNITS, **kwargs):
    """A 12-5-12 sigmoid autoencoder with `penalty_layer` on its code."""
    encoder = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(units, activation="sigmoid", name="code_dense"),
            penalty_layer,
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [keras.Input((units,)), keras.layers.Dense(input_dim, activation="sigmoid")],
        name="decoder",
    )
    model = Autoencoder(encoder, decoder, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    return model


def run_layer_checks(layer_factory, tmp_path, batch=8):
    """Runs the standard checks on the layer that `layer_factory()` returns.

    Args:
        layer_factory: callable returning a new, unbuilt layer.
        tmp_path: a folder for the `.keras` file.
        batch: batch size of the test data.
    """
    rng = np.random.default_rng(7)
    h = rng.random((batch, UNITS)).astype("float32")

    # Build and call: an identity on its input, with one loss per term.
    layer = layer_factory()
    out = layer(h, training=False)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out), h)
    assert layer.built
    assert len(layer.losses) == len(layer.penalty_terms)
    assert sorted(layer.penalty_values) == sorted(layer.penalty_terms)
    assert layer.compute_output_shape((None, UNITS)) == (None, UNITS)

    # Config round trip: same class, same config, same penalties.
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(h, training=False)
    for term in layer.penalty_terms:
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(clone.penalty_values[term]),
            keras.ops.convert_to_numpy(layer.penalty_values[term]),
            rtol=1e-6,
        )

    # `.keras` round trip inside a trained model: outputs, losses and state.
    model = tiny_autoencoder(layer_factory())
    x = rng.random((4 * batch, INPUT_DIM)).astype("float32")
    model.fit(x, batch_size=batch, epochs=1, verbose=0)
    path = str(tmp_path / "layer_check.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    for before, after in zip(model.non_trainable_weights, loaded.non_trainable_weights):
        assert before.name == after.name
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(after), keras.ops.convert_to_numpy(before)
        )
    assert model.evaluate(x, verbose=0) == loaded.evaluate(x, verbose=0)
    return loaded
