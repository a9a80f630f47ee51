"""`build_vae`: structure, parity with the NumPy reference, training on MNIST,
generation, interpolation, persistence and argument checks."""

import copy
import re

import keras
import numpy as np
import pytest

from keras_sparse_ae.datasets import load_mnist_5k
from keras_sparse_ae.layers.gaussian_sampling import GaussianSampling
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.models.vae import VariationalAutoencoder, build_vae
from keras_sparse_ae.reference import vae as reference

RTOL = 1e-5
ATOL = 1e-6

INPUT_DIM, HIDDEN, CODE_SIZE = 12, (8,), 2


def small_model(**kwargs):
    options = dict(input_dim=INPUT_DIM, hidden=HIDDEN, code_size=CODE_SIZE, seed=0)
    options.update(kwargs)
    return build_vae(**options)


def trained_small_model(x, epochs=3, **kwargs):
    model = small_model(learning_rate=0.01, **kwargs)
    model.fit(x, batch_size=8, epochs=epochs, verbose=0)
    return model


def weights(model, hidden=HIDDEN):
    """`(encoder, heads, decoder)` weights, as `reference.vae_forward` takes them."""
    encoder = [
        tuple(model.encoder.get_layer(f"h{i + 1}").get_weights())
        for i in range(len(hidden))
    ]
    heads = tuple(
        tuple(model.encoder.get_layer(name).get_weights())
        for name in ("z_mean", "z_log_var")
    )
    decoder = [
        tuple(layer.get_weights())
        for layer in model.decoder.layers
        if isinstance(layer, keras.layers.Dense)
    ]
    return encoder, heads, decoder


def seed_state(model):
    return keras.ops.convert_to_numpy(model.sampling_layer.seed_generator.state)


# === Structure ===


def test_lesson_shape_and_names():
    model = build_vae(seed=0)
    assert isinstance(model, VariationalAutoencoder)
    assert isinstance(model, Autoencoder)
    assert model.name == "vae" and model.compiled
    encoder, heads, decoder = weights(model, hidden=(500, 500))
    shapes = [k.shape for k, _ in encoder + list(heads) + decoder]
    assert shapes == [
        (784, 500),
        (500, 500),
        (500, 20),
        (500, 20),
        (20, 500),
        (500, 500),
        (500, 784),
    ]
    assert [layer.name for layer in model.penalty_layers] == ["latent"]
    latent = model.sampling_layer
    assert isinstance(latent, GaussianSampling)
    np.testing.assert_allclose(latent.weight, 1.0 / 784)
    assert model.encoder.output_shape == (None, 20)
    assert model.input_dim == 784 and model.code_size == 20
    assert model.encoder.get_layer("h1").activation.__name__ == "elu"
    assert model.reconstruction == "bce"
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_same_seed_same_weights():
    first, second = small_model(seed=3), small_model(seed=3)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(seed_state(first), seed_state(second))
    other = small_model(seed=4)
    assert not np.array_equal(first.get_weights()[0], other.get_weights()[0])


# === Parity with the reference ===


@pytest.mark.parametrize(
    "reconstruction, activation, beta",
    [("bce", "elu", 1.0), ("mse", "relu", 4.0), ("l2", "tanh", 0.0)],
)
def test_evaluate_matches_reference(rng, reconstruction, activation, beta):
    x = rng.random((32, INPUT_DIM)).astype("float32")
    model = trained_small_model(
        x, reconstruction=reconstruction, activation=activation, beta=beta
    )
    got = model.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    expected = reference.vae_loss(
        x, *weights(model), activation, beta=beta, reconstruction=reconstruction
    )
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_allclose(got[name], value, rtol=RTOL, atol=ATOL, err_msg=name)
    # Inference uses the mean code: predict is the reference's x_hat.
    z_mean, z_log_var, z, x_hat = reference.vae_forward(x, *weights(model), activation)
    np.testing.assert_array_equal(z, z_mean)
    np.testing.assert_allclose(model.predict(x, verbose=0), x_hat, rtol=RTOL, atol=ATOL)
    got_mean, got_log_var = model.encode_distribution(x)
    np.testing.assert_allclose(got_mean, z_mean, rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(got_log_var, z_log_var, rtol=RTOL, atol=ATOL)


def test_training_forward_matches_reference_with_same_noise(rng):
    x = rng.random((16, INPUT_DIM)).astype("float32")
    model = small_model(beta=2.0)
    # A generator in the sampling layer's state draws the layer's next noise.
    twin = keras.random.SeedGenerator(0)
    twin.state.assign(model.sampling_layer.seed_generator.state.value)
    eps = keras.ops.convert_to_numpy(
        keras.random.normal((16, CODE_SIZE), dtype="float32", seed=twin)
    )
    x_hat = keras.ops.convert_to_numpy(model(x, training=True))
    _, _, _, expected = reference.vae_forward(x, *weights(model), "elu", eps=eps)
    np.testing.assert_allclose(x_hat, expected, rtol=RTOL, atol=ATOL)
    (kl,) = model.losses
    terms = reference.vae_loss(x, *weights(model), "elu", beta=2.0, eps=eps)
    np.testing.assert_allclose(
        float(keras.ops.convert_to_numpy(kl)), terms["latent_kl"], rtol=RTOL
    )
    # The draw really is random: it differs from the mean-code reconstruction.
    assert not np.allclose(x_hat, model.predict(x, verbose=0))


# === Training on MNIST ===


def test_fit_on_mnist_lowers_loss_and_reports_terms():
    x = load_mnist_5k(return_labels=False)[:512]
    model = build_vae(hidden=(128,), code_size=8, seed=0)
    before = model.evaluate(x, batch_size=512, verbose=0, return_dict=True)
    history = model.fit(x, batch_size=64, epochs=2, verbose=0)
    assert sorted(history.history) == ["latent_kl", "loss", "reconstruction"]
    losses = history.history["loss"]
    assert losses[1] < losses[0]
    after = model.evaluate(x, batch_size=512, verbose=0, return_dict=True)
    assert after["loss"] < before["loss"]
    assert after["reconstruction"] < before["reconstruction"]
    assert after["latent_kl"] > 0
    np.testing.assert_allclose(
        after["loss"], after["reconstruction"] + after["latent_kl"], rtol=1e-5
    )


def test_history_with_validation(rng):
    x = rng.random((32, INPUT_DIM)).astype("float32")
    history = small_model().fit(x, validation_data=x[:8], epochs=1, verbose=0)
    names = ["latent_kl", "loss", "reconstruction"]
    assert sorted(history.history) == sorted(names + ["val_" + n for n in names])


def test_no_kl_term_when_beta_is_zero():
    model = small_model(beta=0.0)
    assert model.sampling_layer.penalty_terms == ()
    assert model.term_tracker.names == ("reconstruction",)


# === Encoding, generation, interpolation ===


def test_inference_is_deterministic_and_uses_the_mean(rng):
    x = rng.random((10, INPUT_DIM)).astype("float32")
    model = small_model()
    z_mean, z_log_var = model.encode_distribution(x)
    assert z_mean.shape == z_log_var.shape == (10, CODE_SIZE)
    np.testing.assert_array_equal(model.encode(x), z_mean)
    np.testing.assert_array_equal(model.encoder.predict(x, verbose=0), z_mean)
    first = model.predict(x, verbose=0)
    np.testing.assert_array_equal(model.predict(x, verbose=0), first)
    np.testing.assert_array_equal(model.reconstruct(x), first)
    np.testing.assert_allclose(model.decode(z_mean), first, rtol=1e-6, atol=1e-7)


def test_generate(rng):
    model = small_model()
    samples = model.generate(5, seed=0)
    assert samples.shape == (5, INPUT_DIM)
    assert np.all((samples >= 0) & (samples <= 1))
    np.testing.assert_array_equal(model.generate(5, seed=0), samples)
    assert not np.array_equal(model.generate(5, seed=1), samples)
    codes = np.random.default_rng(0).standard_normal((5, CODE_SIZE))
    np.testing.assert_array_equal(model.decode(codes.astype("float32")), samples)
    assert model.generate(1).shape == (1, INPUT_DIM)


def test_interpolate(rng):
    x = rng.random((2, INPUT_DIM)).astype("float32")
    model = small_model()
    path = model.interpolate(x[0], x[1], steps=5)
    assert path.shape == (5, INPUT_DIM)
    ends = model.decode(model.encode(x))
    np.testing.assert_allclose(path[0], ends[0], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(path[-1], ends[1], rtol=1e-6, atol=1e-7)
    middle = model.decode(model.encode(x).mean(axis=0, keepdims=True))
    np.testing.assert_allclose(path[2], middle[0], rtol=1e-5, atol=1e-6)
    # (1, input_dim) samples and lists are accepted too; 8 steps by default.
    np.testing.assert_array_equal(model.interpolate(x[:1], x[1:], steps=5), path)
    assert model.interpolate(list(x[0]), x[1]).shape == (8, INPUT_DIM)
    assert model.interpolate(x[0], x[1], steps=2).shape == (2, INPUT_DIM)


# === Persistence ===


def test_config_round_trip():
    model = small_model(beta=0.5, activation="relu", reconstruction="mse")
    config = model.get_config()
    untouched = copy.deepcopy(config)
    clone = VariationalAutoencoder.from_config(config)
    assert config == untouched  # from_config leaves its argument intact
    assert isinstance(clone, VariationalAutoencoder)
    assert clone.get_config() == config
    assert clone.sampling_layer.weight == 0.5 / INPUT_DIM
    assert clone.reconstruction == "mse"
    assert clone.code_size == CODE_SIZE and clone.input_dim == INPUT_DIM


def test_save_load_and_continue_training(rng, tmp_path):
    x = rng.random((32, INPUT_DIM)).astype("float32")
    model = trained_small_model(x, epochs=2)
    model.save(tmp_path / "vae.keras")
    loaded = keras.models.load_model(tmp_path / "vae.keras")
    assert isinstance(loaded, VariationalAutoencoder)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    np.testing.assert_array_equal(loaded.generate(6, seed=3), model.generate(6, seed=3))
    for a, b in zip(loaded.encode_distribution(x), model.encode_distribution(x)):
        np.testing.assert_array_equal(a, b)
    assert loaded.evaluate(x, verbose=0, return_dict=True) == model.evaluate(
        x, verbose=0, return_dict=True
    )
    np.testing.assert_array_equal(seed_state(loaded), seed_state(model))
    # Same weights, optimizer state and noise state: training goes on alike.
    model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


# === Argument checks ===


def invalid_value(name, expected, received):
    return (
        ValueError,
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received}",
    )


def invalid_type(name, expected, received, type_name):
    return (
        TypeError,
        f"Invalid type for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received} of type {type_name}",
    )


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(code_size=0), *invalid_value("code_size", "an integer >= 1", "0")),
        (
            dict(code_size=2.0),
            *invalid_type("code_size", "an integer >= 1", "2.0", "float"),
        ),
        (dict(beta=-1.0), *invalid_value("beta", "a finite float >= 0", "-1.0")),
        (dict(beta=float("inf")), *invalid_value("beta", "a finite float >= 0", "inf")),
        (dict(input_dim=0), *invalid_value("input_dim", "an integer >= 1", "0")),
        (dict(hidden=()), ValueError, "Invalid value for argument `hidden`"),
        (dict(hidden=(8, 0)), ValueError, "Invalid value for argument `hidden`"),
        (
            dict(activation="swish"),
            ValueError,
            "Invalid value for argument `activation`",
        ),
        (dict(reconstruction="mae"), ValueError, "argument `reconstruction`"),
        (dict(optimizer="rmsprop"), ValueError, "argument `optimizer`"),
        (dict(learning_rate=0.0), ValueError, "argument `learning_rate`"),
        (dict(seed=-1), *invalid_value("seed", "an integer >= 0", "-1")),
    ],
)
def test_bad_builder_arguments(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        small_model(**kwargs)


ONE_SAMPLE = f"one sample of shape ({INPUT_DIM},) or (1, {INPUT_DIM})"


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda m, x: m.generate(0),
            *invalid_value("n", "an integer >= 1", "0"),
        ),
        (
            lambda m, x: m.generate(2.5),
            *invalid_type("n", "an integer >= 1", "2.5", "float"),
        ),
        (
            lambda m, x: m.generate(True),
            *invalid_type("n", "an integer >= 1", "True", "bool"),
        ),
        (
            lambda m, x: m.generate(3, seed=-2),
            *invalid_value("seed", "an integer >= 0", "-2"),
        ),
        (
            lambda m, x: m.interpolate(x[0], x[1], steps=1),
            *invalid_value("steps", "an integer >= 2", "1"),
        ),
        (
            lambda m, x: m.interpolate(x[0], x[1], steps=3.0),
            *invalid_type("steps", "an integer >= 2", "3.0", "float"),
        ),
        (
            lambda m, x: m.interpolate(x[0, :-1], x[1]),
            ValueError,
            f"Invalid value for argument `x_a`. Expected {ONE_SAMPLE}. "
            f"Received: x_a of shape ({INPUT_DIM - 1},)",
        ),
        (
            lambda m, x: m.interpolate(x[:2], x[1]),
            ValueError,
            f"Invalid value for argument `x_a`. Expected {ONE_SAMPLE}. "
            f"Received: x_a of shape (2, {INPUT_DIM})",
        ),
        (
            lambda m, x: m.interpolate(x[0], x[1:2, :5]),
            ValueError,
            f"Invalid value for argument `x_b`. Expected {ONE_SAMPLE}. "
            "Received: x_b of shape (1, 5)",
        ),
        (
            lambda m, x: m.interpolate("digit", x[1]),
            *invalid_type("x_a", ONE_SAMPLE, "'digit'", "str"),
        ),
    ],
    ids=[
        "n_0",
        "n_float",
        "n_bool",
        "seed_negative",
        "steps_1",
        "steps_float",
        "x_a_width",
        "x_a_batch",
        "x_b_width",
        "x_a_str",
    ],
)
def test_bad_method_arguments(rng, call, error, message):
    model = small_model()
    x = rng.random((2, INPUT_DIM)).astype("float32")
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        call(model, x)


def test_encoder_without_sampling_layer_is_refused():
    encoder = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(2)], name="plain_encoder"
    )
    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(4)])
    message = (
        "Invalid value for argument `encoder`. Expected a model that contains "
        "exactly one `GaussianSampling` layer. Received: "
        "encoder='plain_encoder' with 0 such layers"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        VariationalAutoencoder(encoder, decoder)
