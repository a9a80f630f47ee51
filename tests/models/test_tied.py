"""`DenseTranspose`, `TiedAutoencoder` and `build_tied`: sharing, parity, saving."""

import re

import keras
import numpy as np
import pytest

from keras_sparse_ae.datasets import load_mnist_5k
from keras_sparse_ae.layers.dense_transpose import DenseTranspose, tied_layer_scope
from keras_sparse_ae.models.tied import TiedAutoencoder, build_tied
from keras_sparse_ae.reference import forward
from keras_sparse_ae.reference.tied import tied_forward, tied_loss

RTOL = 1e-5
ATOL = 1e-6


def small_model(**kwargs):
    options = dict(input_dim=16, hidden=(8, 4), seed=0)
    options.update(kwargs)
    return build_tied(**options)


def numpy_weights(model):
    """Encoder kernels and all biases (input to output) as NumPy arrays."""
    dense = [model.encoder.get_layer(f"h{i + 1}") for i in range(2)]
    kernels = [layer.get_weights()[0] for layer in dense]
    biases = [layer.get_weights()[1] for layer in dense]
    biases += [layer.get_weights()[0] for layer in model.decoder.layers]
    return kernels, biases


def test_decoder_reuses_encoder_kernels_and_counts_them_once():
    model = small_model()
    assert isinstance(model, TiedAutoencoder) and model.compiled
    assert [layer.name for layer in model.encoder.layers] == ["h1", "h2"]
    assert [layer.name for layer in model.decoder.layers] == ["h3", "reconstruction"]
    h1, h2 = model.encoder.layers
    h3, out = model.decoder.layers
    assert h3.tied_kernel is h2.kernel and out.tied_kernel is h1.kernel
    assert [pair[1] for pair in model.tied_pairs] == [h2, h1]
    # The decoder owns its biases only.
    assert [tuple(w.shape) for w in model.decoder.weights] == [(8,), (16,)]
    encoder_params = (16 * 8 + 8) + (8 * 4 + 4)
    assert model.count_params() == encoder_params + 8 + 16
    assert len(model.trainable_variables) == 6
    assert len({id(v) for v in model.trainable_variables}) == 6


def test_lesson_size_has_about_half_the_weights():
    model = build_tied(seed=0)
    assert model.encoder.output_shape == (None, 150)
    assert model.count_params() == (784 * 300 + 300) + (300 * 150 + 150) + 300 + 784


def test_dense_transpose_matches_numpy(rng):
    dense = keras.layers.Dense(3, name="h1")
    dense.build((None, 5))
    layer = DenseTranspose(dense, activation="elu", bias_initializer="ones")
    h = rng.normal(size=(4, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(layer(h))
    kernel = dense.get_weights()[0]
    expected = forward.dense(h, kernel.T, np.ones(5), "elu")
    np.testing.assert_allclose(out, expected, rtol=RTOL, atol=ATOL)
    assert layer.compute_output_shape((None, 3)) == (None, 5)


@pytest.mark.parametrize(
    "activation, reconstruction, l2",
    [("elu", "mse", 5e-5), ("selu", "bce", 0.0), ("sigmoid", "l2", 1e-3)],
)
def test_loss_matches_reference_after_training(rng, activation, reconstruction, l2):
    model = small_model(activation=activation, reconstruction=reconstruction, l2=l2)
    x = rng.random((32, 16)).astype("float32")
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    got = model.evaluate(x, batch_size=len(x), verbose=0, return_dict=True)
    kernels, biases = numpy_weights(model)
    expected = tied_loss(
        x, kernels, biases, activation, "sigmoid", reconstruction, l2=l2
    )
    # The model reports the reference's L2 penalty as `weight_penalty`.
    if "l2_weights" in expected:
        expected["weight_penalty"] = expected.pop("l2_weights")
    assert sorted(got) == sorted(expected)
    assert ("weight_penalty" in got) == (l2 > 0)
    for name in got:
        np.testing.assert_allclose(
            got[name], expected[name], rtol=RTOL, atol=ATOL, err_msg=name
        )
    x_hat = tied_forward(x, kernels, biases, activation)[-1]
    np.testing.assert_allclose(model.predict(x, verbose=0), x_hat, rtol=RTOL, atol=ATOL)


def numeric_gradient(x, kernels, biases, index, eps=1e-6):
    """Central differences of the reference MSE w.r.t. encoder kernel `index`."""
    kernels = [np.asarray(k, np.float64) for k in kernels]
    grad = np.zeros_like(kernels[index])
    for position in np.ndindex(grad.shape):
        values = []
        for step in (eps, -eps):
            shifted = [k.copy() for k in kernels]
            shifted[index][position] += step
            values.append(tied_loss(x, shifted, biases)["loss"])
        grad[position] = (values[0] - values[1]) / (2 * eps)
    return grad


def test_one_sgd_step_follows_the_gradient_of_both_uses(rng):
    # W1 is used by h1 and, transposed, by the reconstruction layer: the
    # step must follow the gradient of the loss through both uses.
    model = small_model(l2=0.0, optimizer="sgd", learning_rate=0.5)
    model.compile(optimizer=model.optimizer, steps_per_execution=1)
    x = rng.random((8, 16)).astype("float32")
    kernels, biases = numpy_weights(model)
    grads = [numeric_gradient(x, kernels, biases, i) for i in range(2)]
    model.fit(x, batch_size=8, epochs=1, verbose=0, shuffle=False)
    after, _ = numpy_weights(model)
    for before, grad, now in zip(kernels, grads, after):
        np.testing.assert_allclose(before - now, 0.5 * grad, rtol=1e-3, atol=1e-7)
    out = model.decoder.get_layer("reconstruction")
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out.tied_kernel), after[0])


def test_decode_sees_the_trained_kernels(rng):
    model = small_model()
    x = rng.random((32, 16)).astype("float32")
    codes = model.encode(x)
    first = model.decode(codes)
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    kernels, biases = numpy_weights(model)
    expected = tied_forward(x, kernels, biases)
    np.testing.assert_allclose(model.encode(x), expected[1], rtol=RTOL, atol=ATOL)
    codes = model.encode(x)
    got = model.decode(codes)
    assert not np.array_equal(first, got)
    h3 = forward.dense(codes, kernels[1].T, biases[2], "elu")
    x_hat = forward.dense(h3, kernels[0].T, biases[3], "sigmoid")
    np.testing.assert_allclose(got, x_hat, rtol=RTOL, atol=ATOL)


def test_keras_file_round_trip_is_exact_and_stays_tied(rng, tmp_path):
    x = rng.random((32, 16)).astype("float32")
    model = small_model()
    model.fit(x, batch_size=8, epochs=2, verbose=0)
    model.save(tmp_path / "tied.keras")
    loaded = keras.models.load_model(tmp_path / "tied.keras")
    assert isinstance(loaded, TiedAutoencoder)
    np.testing.assert_array_equal(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0)
    )
    assert loaded.count_params() == model.count_params()
    h1, h2 = loaded.encoder.layers
    h3, out = loaded.decoder.layers
    assert h3.tied_kernel is h2.kernel and out.tied_kernel is h1.kernel
    assert h1.kernel is not model.encoder.layers[0].kernel

    # Training the loaded model moves the one shared kernel, not the original.
    original = model.encoder.layers[0].get_weights()[0]
    before = h1.get_weights()[0]
    loaded.fit(x, batch_size=8, epochs=1, verbose=0)
    after = h1.get_weights()[0]
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(out.tied_kernel), after)
    np.testing.assert_array_equal(model.encoder.layers[0].get_weights()[0], original)
    kernels, biases = numpy_weights(loaded)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0),
        tied_forward(x, kernels, biases)[-1],
        rtol=RTOL,
        atol=ATOL,
    )


def test_from_config_ties_the_new_decoder_to_the_new_encoder():
    model = small_model()
    config = model.get_config()
    clone = TiedAutoencoder.from_config(config)
    clone.build((None, 16))
    assert config == model.get_config()  # left intact: reusable
    TiedAutoencoder.from_config(config)
    h1 = clone.encoder.get_layer("h1")
    assert clone.decoder.get_layer("reconstruction").tied_to is h1
    assert h1 is not model.encoder.get_layer("h1")
    assert clone.count_params() == model.count_params()


def test_tied_layer_scope_nests_and_resolves_names():
    outer = keras.layers.Dense(2, name="h1")
    inner = keras.layers.Dense(3, name="h1")
    other = keras.layers.Dense(4, name="h2")
    with tied_layer_scope({"h1": outer, "h2": other}):
        with tied_layer_scope([inner]):
            assert DenseTranspose("h1").tied_to is inner
            assert DenseTranspose("h2").tied_to is other
        assert DenseTranspose("h1").tied_to is outer
    with pytest.raises(ValueError, match=re.escape("Received: tied_to='h1'")):
        DenseTranspose("h1")


def test_dense_transpose_errors():
    with pytest.raises(ValueError, match="Invalid value for argument `tied_to`"):
        DenseTranspose("h1")
    with pytest.raises(TypeError, match="Invalid type for argument `tied_to`"):
        DenseTranspose(keras.layers.Activation("relu"))
    unbuilt = keras.layers.Dense(3, name="later")
    with pytest.raises(ValueError, match="which is not built yet"):
        DenseTranspose(unbuilt)(np.zeros((2, 3), "float32"))
    dense = keras.layers.Dense(3)
    dense.build((None, 5))
    with pytest.raises(ValueError, match="expects inputs with 3 features"):
        DenseTranspose(dense)(np.zeros((2, 4), "float32"))


def test_tied_autoencoder_refuses_a_decoder_tied_elsewhere():
    h1 = keras.layers.Dense(4, name="h1")
    encoder = keras.Sequential([keras.Input((6,)), h1], name="encoder")
    stranger = keras.layers.Dense(4, name="h1")
    stranger.build((None, 6))
    decoder = keras.Sequential([keras.Input((4,)), DenseTranspose(stranger)])
    with pytest.raises(ValueError, match="Invalid value for argument `decoder`"):
        TiedAutoencoder(encoder, decoder)


def test_fit_on_digits_reduces_the_loss():
    x = load_mnist_5k(return_labels=False)
    x = x[np.random.default_rng(0).permutation(len(x))[:512]]
    model = build_tied(hidden=(64, 16), seed=0)
    before = model.evaluate(x, batch_size=512, verbose=0)[0]
    history = model.fit(x, batch_size=32, epochs=2, verbose=0)
    after = model.evaluate(x, batch_size=512, verbose=0)[0]
    assert np.isfinite(history.history["loss"]).all()
    assert after < 0.8 * before


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(hidden=()), ValueError, "Invalid value for argument `hidden`"),
        (dict(hidden=(8.5, 4)), TypeError, "Invalid type for argument `hidden`"),
        (dict(input_dim=0), ValueError, "Received: input_dim=0"),
        (
            dict(activation="gelu"),
            ValueError,
            "Invalid value for argument `activation`",
        ),
        (dict(reconstruction="mae"), ValueError, "argument `reconstruction`"),
        (dict(l2=-1.0), ValueError, "Invalid value for argument `l2`"),
        (dict(optimizer="rmsprop"), ValueError, "argument `optimizer`"),
        (dict(learning_rate=0.0), ValueError, "argument `learning_rate`"),
        (dict(seed=-1), ValueError, "Invalid value for argument `seed`"),
        (dict(seed="0"), TypeError, "Invalid type for argument `seed`"),
    ],
)
def test_bad_arguments_are_refused_before_building(kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        small_model(**kwargs)
