"""`GaussianSampling` against the NumPy float64 reference (lesson 001's VAE).

Inference and training draws, the KL term, the noise generator's state,
mixed precision, config and `.keras` round trips, and argument checks.
"""

import re

import keras
import numpy as np
import pytest
from hypothesis import given, seed, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from keras_sparse_ae.layers.gaussian_sampling import GaussianSampling
from keras_sparse_ae.models.autoencoder import Autoencoder
from keras_sparse_ae.reference import vae as reference

# === Tolerances ===
#
# float32 against float64; U = 2**-24 is float32's unit roundoff.

U = 2.0**-24

# Every new shape compiles new kernels on JAX (about 0.5 s for a random
# draw): the examples vary the values freely but the shapes only among these.
SHAPES = [(1, 1), (1, 8), (16, 1), (7, 5), (16, 8)]
EXAMPLES = 20


def kl_atol(z_mean, z_log_var, weight):
    """Bound on |layer - reference| for the weighted KL term.

    Each element `1 + lv - m**2 - exp(lv)` is computed to within a few U of
    `1 + |lv| + m**2 + exp(lv)` (exp within 2 ulp, the square and the three
    additions within 1 U each), and summing `units` of them and averaging
    `batch` rows adds `(units + batch) U` of the sum of their sizes.
    """
    m, lv = np.asarray(z_mean, np.float64), np.asarray(z_log_var, np.float64)
    batch, units = m.shape
    size = np.mean(np.sum(1.0 + np.abs(lv) + m**2 + np.exp(lv), axis=1))
    return weight * 0.5 * (units + batch + 8) * U * size


def assert_z_close(z, z_mean, z_log_var, eps):
    """`z` equals the reference draw to within a few U of its two terms."""
    m = np.asarray(z_mean, np.float64)
    noise = np.exp(0.5 * np.asarray(z_log_var, np.float64)) * eps
    expected = reference.sample(z_mean, z_log_var, eps)
    bound = 8 * U * (np.abs(m) + np.abs(noise)) + 1e-30
    assert np.all(np.abs(np.asarray(z, np.float64) - expected) <= bound)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def kl_value(layer):
    return float(to_numpy(layer.penalty_values["kl"]))


def twin_noise(layer, shape):
    """The noise `layer` will draw next, from a generator in the same state."""
    twin = keras.random.SeedGenerator(0)
    twin.state.assign(layer.seed_generator.state.value)
    return to_numpy(keras.random.normal(shape, dtype="float32", seed=twin))


@st.composite
def gaussians(draw, shapes=SHAPES):
    shape = draw(st.sampled_from(shapes))
    z_mean = draw(arrays(np.float32, shape, elements=st.floats(-4, 4, width=32)))
    z_log_var = draw(arrays(np.float32, shape, elements=st.floats(-6, 6, width=32)))
    return z_mean, z_log_var


# === Inference: z is the mean; the KL term ===


@seed(5)
@settings(max_examples=EXAMPLES)
@given(gaussians(), st.floats(0.01, 10.0))
def test_inference_returns_mean_and_kl_matches_reference(gaussian, weight):
    z_mean, z_log_var = gaussian
    layer = GaussianSampling(weight=weight)
    z = layer([z_mean, z_log_var])  # training=None: inference
    np.testing.assert_array_equal(to_numpy(z), z_mean)
    assert list(layer.penalty_values) == ["kl"]
    assert len(layer.losses) == 1
    expected = weight * reference.gaussian_kl(z_mean, z_log_var)
    np.testing.assert_allclose(
        kl_value(layer), expected, rtol=0, atol=kl_atol(z_mean, z_log_var, weight)
    )
    np.testing.assert_allclose(float(to_numpy(layer.losses[0])), kl_value(layer))


def test_kl_hand_values():
    layer = GaussianSampling(weight=2.0)
    # KL(N(0, 1) || N(0, 1)) = 0.
    layer([np.zeros((3, 4), np.float32), np.zeros((3, 4), np.float32)])
    assert kl_value(layer) == 0.0
    # Per sample 0.5 * sum_j (exp(lv) + m**2 - 1 - lv); rows (m=1, lv=0) and
    # (m=0, lv=log 2) give 0.5 and 0.5 * (1 - log 2); weight 2, batch mean.
    z_mean = np.array([[1.0], [0.0]], np.float32)
    z_log_var = np.array([[0.0], [np.log(2.0)]], np.float32)
    layer([z_mean, z_log_var])
    expected = 2.0 * (0.5 + 0.5 * (1.0 - np.log(2.0))) / 2.0
    np.testing.assert_allclose(kl_value(layer), expected, rtol=1e-6)


def test_disabled_kl_still_samples(rng):
    layer = GaussianSampling(weight=0.0, seed=1)
    assert layer.penalty_terms == ()
    z_mean = rng.normal(size=(4, 3)).astype(np.float32)
    z = layer([z_mean, np.zeros_like(z_mean)], training=True)
    assert layer.penalty_values == {} and layer.losses == []
    assert not np.array_equal(to_numpy(z), z_mean)
    assert GaussianSampling(weight=1e-4).penalty_terms == ("kl",)


# === Training: z = mean + exp(0.5 log_var) eps ===


@seed(6)
@settings(max_examples=EXAMPLES)
@given(gaussians(shapes=[(1, 1), (7, 5)]), st.integers(0, 2**31 - 1))
def test_training_draw_matches_reference_with_same_noise(gaussian, layer_seed):
    z_mean, z_log_var = gaussian
    layer = GaussianSampling(weight=0.5, seed=layer_seed)
    eps = twin_noise(layer, z_mean.shape)
    z = to_numpy(layer([z_mean, z_log_var], training=True))
    assert_z_close(z, z_mean, z_log_var, eps)
    # The KL term is the same in both modes (it does not depend on eps).
    expected = 0.5 * reference.gaussian_kl(z_mean, z_log_var)
    np.testing.assert_allclose(
        kl_value(layer), expected, rtol=0, atol=kl_atol(z_mean, z_log_var, 0.5)
    )


def test_training_noise_is_standard_normal(rng):
    z_mean = rng.normal(size=(4096, 4)).astype(np.float32)
    z_log_var = rng.uniform(-2, 2, size=(4096, 4)).astype(np.float32)
    layer = GaussianSampling(seed=11)
    z = to_numpy(layer([z_mean, z_log_var], training=True)).astype(np.float64)
    eps = (z - z_mean) / np.exp(0.5 * z_log_var.astype(np.float64))
    # 16,384 draws: the standard error of the mean is 0.008, of the std 0.006.
    assert abs(eps.mean()) < 0.04
    assert abs(eps.std() - 1.0) < 0.03
    assert np.all(np.abs(eps.mean(axis=0)) < 0.08)  # every unit, not the pool
    assert 0.3 < np.mean(eps > 0.5) < 0.32  # P(N(0, 1) > 0.5) = 0.3085
    np.testing.assert_allclose(
        kl_value(layer),
        reference.gaussian_kl(z_mean, z_log_var),
        rtol=1e-5,
    )


def test_draws_advance_and_seed_reproduces(rng):
    z_mean = rng.normal(size=(8, 3)).astype(np.float32)
    z_log_var = np.zeros_like(z_mean)
    first, second = GaussianSampling(seed=3), GaussianSampling(seed=3)
    a1 = to_numpy(first([z_mean, z_log_var], training=True))
    a2 = to_numpy(first([z_mean, z_log_var], training=True))
    b1 = to_numpy(second([z_mean, z_log_var], training=True))
    assert not np.array_equal(a1, a2)
    np.testing.assert_array_equal(a1, b1)
    other = to_numpy(GaussianSampling(seed=4)([z_mean, z_log_var], training=True))
    assert not np.array_equal(a1, other)
    # Inference draws nothing: the state does not move.
    state = to_numpy(first.seed_generator.state).copy()
    first([z_mean, z_log_var], training=False)
    np.testing.assert_array_equal(to_numpy(first.seed_generator.state), state)


# === Mixed precision ===


def test_mixed_float16_kl_in_float32(mixed_float16, rng):
    z_mean = rng.normal(size=(16, 5)).astype(np.float32)
    z_log_var = rng.uniform(-3, 3, size=(16, 5)).astype(np.float32)
    layer = GaussianSampling(weight=0.25, seed=0)
    assert layer.compute_dtype == "float16"
    z = layer([z_mean, z_log_var], training=True)
    assert keras.backend.standardize_dtype(z.dtype) == "float16"
    value = layer.penalty_values["kl"]
    assert keras.backend.standardize_dtype(value.dtype) == "float32"
    m16, lv16 = (a.astype(np.float16).astype(np.float64) for a in (z_mean, z_log_var))
    expected = 0.25 * reference.gaussian_kl(m16, lv16)
    np.testing.assert_allclose(float(to_numpy(value)), expected, rtol=1e-5)


# === Config and `.keras` round trips ===


def test_config_round_trip(rng):
    layer = GaussianSampling(weight=0.3, seed=9, name="latent")
    config = layer.get_config()
    assert config["weight"] == 0.3 and config["seed"] == 9
    clone = GaussianSampling.from_config(config)
    assert clone.get_config() == config
    z_mean = rng.normal(size=(5, 2)).astype(np.float32)
    z_log_var = rng.normal(size=(5, 2)).astype(np.float32)
    inputs = [z_mean, z_log_var]
    layer(inputs), clone(inputs)
    assert kl_value(clone) == kl_value(layer)
    np.testing.assert_array_equal(
        to_numpy(clone(inputs, training=True)), to_numpy(layer(inputs, training=True))
    )
    assert layer.compute_output_shape([(None, 2), (None, 2)]) == (None, 2)


def tiny_vae(input_dim=12, code_size=3):
    x = keras.Input((input_dim,))
    h = keras.layers.Dense(6, activation="relu", name="h1")(x)
    z_mean = keras.layers.Dense(code_size, name="z_mean")(h)
    z_log_var = keras.layers.Dense(code_size, name="z_log_var")(h)
    z = GaussianSampling(weight=0.1, seed=2, name="latent")([z_mean, z_log_var])
    decoder = keras.Sequential(
        [
            keras.Input((code_size,)),
            keras.layers.Dense(input_dim, activation="sigmoid"),
        ],
        name="decoder",
    )
    model = Autoencoder(keras.Model(x, z, name="encoder"), decoder)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    return model


def state(layer):
    return to_numpy(layer.seed_generator.state)


def test_keras_round_trip_inside_a_model(rng, tmp_path):
    model = tiny_vae()
    assert [layer.name for layer in model.penalty_layers] == ["latent"]
    x = rng.random((32, 12)).astype(np.float32)
    history = model.fit(x, batch_size=8, epochs=1, shuffle=False, verbose=0)
    assert sorted(history.history) == ["latent_kl", "loss", "reconstruction"]
    path = tmp_path / "gaussian_sampling.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    (sampling,) = loaded.penalty_layers
    assert isinstance(sampling, GaussianSampling)
    assert sampling.get_config() == model.penalty_layers[0].get_config()
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert loaded.evaluate(x, verbose=0) == model.evaluate(x, verbose=0)
    # The noise generator's state is saved too (Keras alone does not save
    # it), so both models go on drawing the same noise.
    np.testing.assert_array_equal(state(sampling), state(model.penalty_layers[0]))
    assert not np.array_equal(state(sampling), [2, 0])  # it moved in fit
    # (tests/models/test_vae.py checks that training then goes on alike.)


# === Argument and input checks ===


def value_error(name, expected, received):
    return (
        ValueError,
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={received}",
    )


WEIGHT = "a finite float >= 0"

ARGUMENT_ERRORS = [
    ({"weight": -1}, *value_error("weight", WEIGHT, "-1.0")),
    ({"weight": float("nan")}, *value_error("weight", WEIGHT, "nan")),
    ({"weight": float("inf")}, *value_error("weight", WEIGHT, "inf")),
    (
        {"weight": "1"},
        TypeError,
        "Invalid type for argument `weight`. Expected a finite float >= 0. "
        "Received: weight='1' of type str",
    ),
    ({"seed": -1}, *value_error("seed", "an integer >= 0", "-1")),
    (
        {"seed": 1.5},
        TypeError,
        "Invalid type for argument `seed`. Expected an integer >= 0. "
        "Received: seed=1.5 of type float",
    ),
]


@pytest.mark.parametrize("kwargs, error, message", ARGUMENT_ERRORS)
def test_argument_errors(kwargs, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        GaussianSampling(**kwargs)


@pytest.mark.parametrize(
    "shapes",
    [
        [(4, 3)],
        [(4, 3), (4, 3), (4, 3)],
        [(4, 3), (4, 2)],
        [(4, 3, 2), (4, 3, 2)],
    ],
    ids=["one", "three", "mismatched", "3d"],
)
def test_rejects_bad_inputs(shapes):
    layer = GaussianSampling(name="latent")
    inputs = [np.zeros(shape, np.float32) for shape in shapes]
    message = (
        "Invalid input shape for layer `latent` (GaussianSampling). Expected "
        "a list of two 2-D inputs [z_mean, z_log_var] of equal shape "
        "(batch, units) with a known number of units. Received: input_shape="
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        layer(inputs if len(inputs) > 1 else inputs[0])
