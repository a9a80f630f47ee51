"""The dense zoo models: build by name, parity with NumPy, training, saving."""

import re

import keras
import numpy as np
import pytest
from lesson_004 import BD, BE, BETA, LOSS, WD, WE, XIN, XOUT
from scipy.linalg import subspace_angles
from sklearn.decomposition import PCA

import keras_sparse_ae as ksae
from keras_sparse_ae.datasets import load_digits, load_mnist_5k
from keras_sparse_ae.reference import l1_autoencoder
from keras_sparse_ae.reference import models as ref

RTOL = 1e-5
ATOL = 1e-6

#: Small versions of each dense model, for fast parity and round-trip tests.
SMALL = {
    "plain": dict(hidden=(8, 3)),
    "linear": dict(code_size=3),
    "stacked": dict(hidden=(8, 3), l2=1e-3),
    "denoising": dict(hidden=(8, 3)),
    "kl_sae": dict(hidden=(6,), target=0.2, weight=0.3, l2=1e-3),
    "kl_sae_deep": dict(hidden=(8, 3)),
    "l1_sae": dict(code_size=5, beta=0.1),
    "l2_sae": dict(units=5, activity_weight=0.01, kernel_weight=1e-3),
    "deep_sae": dict(hidden=(8, 3)),
}


def dense_weights(model):
    return [
        tuple(layer.get_weights())
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if isinstance(layer, keras.layers.Dense)
    ]


def reference_terms(name, model, x):
    weights = dense_weights(model)
    if name == "plain":
        return ref.plain_loss(x, weights, "sigmoid")
    if name == "linear":
        return ref.linear_loss(x, weights)
    if name == "stacked":
        return ref.plain_loss(x, weights, "elu", l2=1e-3)
    if name == "denoising":
        return ref.plain_loss(x, weights, "elu")
    if name == "kl_sae":
        return ref.kl_sae_loss(x, weights, target=0.2, weight=0.3, l2=1e-3)
    if name == "kl_sae_deep":
        return ref.kl_sae_loss(x, weights, target=0.02, weight=7.5e-5, l2=2.5e-6)
    if name == "l1_sae":
        return ref.l1_sae_loss(x, weights, beta=0.1)
    if name == "l2_sae":
        return ref.l2_sae_loss(x, weights, activity_weight=0.01, kernel_weight=1e-3)
    raise AssertionError(name)


@pytest.fixture(scope="module")
def digits():
    x, labels = load_mnist_5k()
    order = np.random.default_rng(0).permutation(len(x))
    return x[order[:512]], labels[order[:512]]


def test_every_model_is_listed_and_builds_from_name_and_input_dim_alone():
    assert set(SMALL) <= set(ksae.list_models())
    for name in ksae.list_models():
        model = ksae.build(name, input_dim=784)
        assert model.name == name
        assert model.encoder.name == "encoder" and model.decoder.name == "decoder"
        assert model.encoder.input_shape == (None, 784)
        assert model.compiled


@pytest.mark.parametrize("name", sorted(set(SMALL) - {"deep_sae"}))
def test_loss_matches_reference(name, rng):
    model = ksae.build(name, input_dim=12, seed=0, **SMALL[name])
    x = rng.random((32, 12)).astype("float32")
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    got = model.evaluate(x, batch_size=32, verbose=0, return_dict=True)
    expected = reference_terms(name, model, x)
    # The model reports the reference's L2 kernel penalty as `weight_penalty`.
    if "l2_weights" in expected:
        expected["weight_penalty"] = expected.pop("l2_weights")
    for key, value in expected.items():
        np.testing.assert_allclose(got[key], value, rtol=RTOL, atol=ATOL, err_msg=key)
    assert sorted(got) == sorted(expected)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_keras_round_trip(name, rng, tmp_path):
    model = ksae.build(name, input_dim=12, seed=0, **SMALL[name])
    x = rng.random((24, 12)).astype("float32")
    model.fit(x, batch_size=8, epochs=1, verbose=0)
    model.save(tmp_path / f"{name}.keras")
    loaded = keras.models.load_model(tmp_path / f"{name}.keras", safe_mode=True)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert loaded.evaluate(x, verbose=0) == pytest.approx(model.evaluate(x, verbose=0))
    for a, b in zip(loaded.weights, model.weights):
        np.testing.assert_array_equal(
            keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b)
        )


@pytest.mark.parametrize("name", sorted(SMALL))
def test_trains_on_embedded_digits(name, digits):
    x, _ = digits
    model = ksae.build(name, input_dim=784, seed=0)
    history = model.fit(x, batch_size=64, epochs=3, verbose=0)
    losses = history.history["loss"]
    assert np.all(np.isfinite(losses))
    assert losses[-1] < losses[0]
    assert history.history["reconstruction"][-1] < history.history["reconstruction"][0]


def test_linear_autoencoder_finds_the_pca_subspace():
    x, _ = load_digits()
    k = 4
    model = ksae.build("linear", input_dim=64, code_size=k, seed=0, learning_rate=0.005)
    model.fit(x, batch_size=32, epochs=100, verbose=0)  # measured: 1.4 degrees
    decoder_kernel = model.decoder.layers[-1].get_weights()[0]  # (k, 64)
    pca = PCA(k).fit(x)
    angles = np.degrees(subspace_angles(decoder_kernel.T, pca.components_.T))
    # Bound: the largest principal angle between the two k-dim subspaces.
    assert angles.max() < 3.0, angles
    mse = np.mean((model.predict(x, verbose=0) - x) ** 2)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(x)) - x) ** 2)
    assert mse < 1.01 * pca_mse


def test_l1_sae_reproduces_lesson_004_worked_example():
    model = ksae.build("l1_sae", input_dim=4, code_size=3, beta=BETA)
    model.set_weights([WE, BE, WD, BD])
    np.testing.assert_allclose(model.predict(XIN, verbose=0), XOUT, atol=1e-6)
    loss = model.evaluate(XIN, batch_size=5, verbose=0, return_dict=True)["loss"]
    assert loss == pytest.approx(LOSS, abs=1e-6)
    assert l1_autoencoder(XIN, WE, BE, WD, BD, beta=BETA)[1] == pytest.approx(
        LOSS, abs=1e-12
    )


@pytest.mark.parametrize("batch_size", [1, 8, 32])
def test_l2_sae_activity_weight_is_per_sample_like_keras_l2(batch_size, rng):
    """`activity_weight` is lesson 002's lambda_a: Keras' `L2(lambda_a)`
    activity regularizer divided by the batch size (tf.keras 2 and Keras
    3.15), i.e. the squared code summed over units, averaged over samples."""
    weight = 0.02
    model = ksae.build_l2_sae(input_dim=12, units=6, activity_weight=weight, seed=0)
    x = rng.random((batch_size, 12)).astype("float32")
    code = keras.ops.convert_to_numpy(model.encoder(x)).astype(np.float64)
    expected = weight * np.mean(np.sum(code**2, axis=1))
    (ours,) = model.encoder.losses
    assert float(ours) == pytest.approx(expected, rel=1e-5)
    # Keras' own activity regularizer on the same Dense layer.
    dense = model.encoder.get_layer("h1_dense")
    keras_dense = keras.layers.Dense(
        6, activation="relu", activity_regularizer=keras.regularizers.L2(weight)
    )
    keras_dense.build((None, 12))
    keras_dense.set_weights(dense.get_weights())
    keras_dense(x)
    (keras_penalty,) = keras_dense.losses
    # Keras 3.0-3.14 did not divide by the batch size (keras-team/keras#22021).
    assert float(keras_penalty) == pytest.approx(float(ours), rel=1e-5)


def test_l2_sae_penalises_the_encoder_kernel_only():
    model = ksae.build_l2_sae(input_dim=12, units=5, kernel_weight=1e-3, seed=0)
    dense = model.encoder.get_layer("h1_dense")
    assert dense.kernel_regularizer is not None
    assert model.decoder.get_layer("reconstruction").kernel_regularizer is None
    (penalty,) = model.losses
    kernel = dense.get_weights()[0].astype(np.float64)
    assert float(penalty) == pytest.approx(1e-3 * np.sum(kernel**2), rel=1e-5)
    plain = ksae.build_l2_sae(input_dim=12, units=5, seed=0)
    assert plain.losses == [] and plain.encoder.get_layer("code").penalty_terms == ()


@pytest.mark.parametrize("noise", ["gaussian", "dropout"])
def test_denoising_noise_only_while_training(noise, rng):
    model = ksae.build("denoising", input_dim=12, hidden=(8,), noise=noise, seed=0)
    x = rng.random((16, 12)).astype("float32")
    clean = keras.ops.convert_to_numpy(model(x, training=False))
    # Eager call and compiled predict may pick different CPU kernels (oneDNN):
    # equal up to float32 rounding, while the noise moves outputs by ~1e-2.
    np.testing.assert_allclose(clean, model.predict(x, verbose=0), rtol=0, atol=1e-6)
    noisy = keras.ops.convert_to_numpy(model(x, training=True))
    assert not np.allclose(noisy, clean)


def test_kl_models_report_one_kl_term_per_encoder_layer(digits):
    x, _ = digits
    model = ksae.build("kl_sae_deep", input_dim=784, seed=0)
    history = model.fit(x, batch_size=64, epochs=1, verbose=0)
    assert sorted(history.history) == [
        "h1_kl",
        "h2_kl",
        "loss",
        "reconstruction",
        "weight_penalty",  # lesson 003's L2 weight decay
    ]
    assert [layer.target for layer in model.penalty_layers] == [0.02, 0.02]


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(ValueError, match="Invalid value for argument `model`") as info:
        ksae.build("resnet", input_dim=784)
    for name in ksae.list_models():
        assert repr(name) in str(info.value)


@pytest.mark.parametrize("name", sorted(SMALL))
@pytest.mark.parametrize("input_dim", [0, -3, 7.5, "784"])
def test_invalid_input_dim(name, input_dim):
    error = ValueError if isinstance(input_dim, int) else TypeError
    with pytest.raises(error, match="argument `input_dim`"):
        ksae.build(name, input_dim=input_dim)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("plain", dict(hidden=(0,)), "argument `hidden`"),
        ("stacked", dict(hidden=(300, -1)), "argument `hidden`"),
        ("stacked", dict(l2=-1.0), "argument `l2`"),
        ("linear", dict(code_size=0), "argument `code_size`"),
        ("linear", dict(code_size=(3,)), "argument `code_size`"),
        ("l1_sae", dict(code_size=2.5), "argument `code_size`"),
        ("l1_sae", dict(beta=-0.1), "argument `beta`"),
        ("l2_sae", dict(units=0), "argument `units`"),
        ("l2_sae", dict(units=19.6), "argument `units`"),
        ("l2_sae", dict(activity_weight=-1e-3), "argument `activity_weight`"),
        ("l2_sae", dict(kernel_weight=float("inf")), "argument `kernel_weight`"),
        ("l2_sae", dict(learning_rate=0.0), "argument `learning_rate`"),
        ("kl_sae", dict(target=1.0), "argument `target`"),
        ("kl_sae", dict(weight=float("nan")), "argument `weight`"),
        ("denoising", dict(noise="salt"), "argument `noise`"),
        ("denoising", dict(noise="dropout", noise_level=1.0), "argument `noise_level`"),
        ("denoising", dict(noise_level=-0.1), "argument `noise_level`"),
        ("plain", dict(activation="swish"), "argument `activation`"),
        ("plain", dict(optimizer="lbfgs"), "argument `optimizer`"),
    ],
)
def test_invalid_options(name, kwargs, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        ksae.build(name, input_dim=784, **kwargs)
