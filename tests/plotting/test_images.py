"""`keras_sparse_ae.plotting.images`: what each figure draws, and bad input."""

import numpy as np
import pytest
from matplotlib.figure import Figure

import keras_sparse_ae as ksae
from keras_sparse_ae import plotting
from keras_sparse_ae.plotting import images


def _image(ax):
    return np.asarray(ax.images[0].get_array())


@pytest.fixture
def vae():
    return ksae.build_vae(input_dim=16, hidden=(8,), code_size=2, seed=0)


def test_package_reexports_the_image_functions():
    for name in (
        "plot_reconstructions",
        "plot_filters",
        "first_dense_kernel",
        "plot_images",
        "plot_generation_grid",
        "plot_interpolation",
    ):
        assert getattr(plotting, name) is getattr(images, name)
    assert plotting.image_shape(784) == (28, 28)
    assert plotting.image_shape(10) is None


def test_reconstructions_draw_inputs_above_outputs(rng):
    x = rng.random((5, 16))
    x_hat = rng.random((5, 16))
    figure = plotting.plot_reconstructions(x, x_hat, n=3, title="mine")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 6
    top, bottom = figure.axes[:3], figure.axes[3:]
    for i in range(3):
        np.testing.assert_allclose(_image(top[i]), x[i].reshape(4, 4))
        np.testing.assert_allclose(_image(bottom[i]), x_hat[i].reshape(4, 4))
    assert figure._suptitle.get_text() == "mine"


def test_reconstructions_keep_the_default_title_and_cap_n(rng):
    x = rng.random((2, 10))  # not square: one-row strips
    figure = plotting.plot_reconstructions(x, x, n=10)
    assert len(figure.axes) == 4
    assert _image(figure.axes[0]).shape == (1, 10)
    assert figure._suptitle.get_text() == "Held-out digits and their reconstructions"


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"n": 0}, ValueError, "Invalid value for argument `n`"),
        ({"n": 2.5}, TypeError, "Invalid type for argument `n`"),
        ({"x_hat": np.zeros((4, 16))}, ValueError, "argument `x_hat`. Expected the"),
        ({"x": np.zeros(16)}, ValueError, "argument `x`. Expected a non-empty 2-D"),
        ({"x": np.zeros((0, 16))}, ValueError, "argument `x`"),
    ],
)
def test_reconstructions_reject_bad_input(kwargs, error, match):
    args = {"x": np.zeros((5, 16)), "x_hat": np.zeros((5, 16)), **kwargs}
    with pytest.raises(error, match=match):
        plotting.plot_reconstructions(**args)


def test_filters_show_each_units_incoming_weights():
    model = ksae.build_deep_sae(input_dim=16, hidden=(8, 4), seed=0)
    kernel = plotting.first_dense_kernel(model)
    assert kernel.shape == (16, 8)
    figure = plotting.plot_filters(model, n=5)
    assert len(figure.axes) == 5  # one row of 5
    for j in range(5):
        np.testing.assert_allclose(_image(figure.axes[j]), kernel[:, j].reshape(4, 4))
        # Symmetric scale: white (the map's middle) is a zero weight.
        bound = np.abs(kernel[:, j]).max()
        image = figure.axes[j].images[0]
        np.testing.assert_allclose(image.get_clim(), (-bound, bound), rtol=1e-6)
    assert "5 of 8 units" in figure._suptitle.get_text()
    assert len(plotting.plot_filters(model).axes) == 8


def test_filters_reject_bad_input():
    model = ksae.build_deep_sae(input_dim=16, hidden=(8, 4), seed=0)
    with pytest.raises(ValueError, match="Invalid value for argument `n`"):
        plotting.plot_filters(model, n=0)
    with pytest.raises(ValueError, match="encoder has a Dense layer"):
        plotting.first_dense_kernel(object())


def test_image_grid_rows_blanks_and_labels(rng):
    data = rng.random((12, 64))
    figure = plotting.plot_images(
        data, n_cols=5, title="grid", row_labels=["a", "b", "c"]
    )
    assert len(figure.axes) == 15
    for i in range(12):
        np.testing.assert_allclose(_image(figure.axes[i]), data[i].reshape(8, 8))
    assert [ax.axison for ax in figure.axes[12:]] == [False] * 3
    assert [figure.axes[i].get_ylabel() for i in (0, 5, 10)] == ["a", "b", "c"]
    assert figure._suptitle.get_text() == "grid"


def test_image_grid_takes_2d_images(rng):
    data = rng.random((3, 5, 7))
    figure = plotting.plot_images(data)
    assert len(figure.axes) == 3  # fewer images than n_cols: one short row
    np.testing.assert_allclose(_image(figure.axes[2]), data[2])
    assert figure._suptitle is None


def test_image_grid_rejects_bad_input(rng):
    with pytest.raises(ValueError, match="argument `row_labels`. Expected one"):
        plotting.plot_images(rng.random((12, 64)), n_cols=5, row_labels=["a"])
    with pytest.raises(ValueError, match="argument `n_cols`"):
        plotting.plot_images(rng.random((12, 64)), n_cols=0)
    with pytest.raises(ValueError, match="argument `images`"):
        plotting.plot_images(rng.random(64))
    with pytest.raises(TypeError, match="argument `images`"):
        plotting.plot_images([["a", "b"]])


def test_generation_grid_shows_the_generated_samples(vae):
    figure = plotting.plot_generation_grid(vae, n=3, seed=4)
    expected = vae.generate(9, seed=4)
    assert len(figure.axes) == 9
    for ax, sample in zip(figure.axes, expected):
        np.testing.assert_allclose(_image(ax), sample.reshape(4, 4), rtol=1e-6)


def test_generation_grid_rejects_bad_input(vae):
    with pytest.raises(ValueError, match="Invalid value for argument `n`"):
        plotting.plot_generation_grid(vae, n=0)
    with pytest.raises(ValueError, match="Invalid value for argument `seed`"):
        plotting.plot_generation_grid(vae, seed=-1)
    model = ksae.build_deep_sae(input_dim=16, hidden=(8, 4), seed=0)
    with pytest.raises(TypeError, match="argument `vae`. Expected a variational"):
        plotting.plot_generation_grid(model)


def test_interpolation_one_strip_per_pair(vae, rng):
    x = rng.random((4, 16)).astype("float32")
    figure = plotting.plot_interpolation(vae, x[:2], x[2:], steps=4)
    assert len(figure.axes) == 8
    for row in range(2):
        path = vae.interpolate(x[row], x[2 + row], steps=4)
        for step in range(4):
            np.testing.assert_allclose(
                _image(figure.axes[4 * row + step]), path[step].reshape(4, 4), rtol=1e-6
            )
    assert [ax.get_title() for ax in figure.axes[:4]] == [
        "t=0.00",
        "t=0.33",
        "t=0.67",
        "t=1.00",
    ]
    assert len(plotting.plot_interpolation(vae, x[0], x[1], steps=3).axes) == 3


def test_interpolation_rejects_bad_input(vae, rng):
    x = rng.random((4, 16)).astype("float32")
    with pytest.raises(ValueError, match="argument `x_b`. Expected the shape of"):
        plotting.plot_interpolation(vae, x[:2], x[2])
    with pytest.raises(ValueError, match="Invalid value for argument `steps`"):
        plotting.plot_interpolation(vae, x[0], x[1], steps=1)
    with pytest.raises(TypeError, match="argument `vae`"):
        plotting.plot_interpolation(object(), x[0], x[1])
