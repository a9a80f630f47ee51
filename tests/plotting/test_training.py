"""`keras_sparse_ae.plotting.training`: curves, sweeps, and bad input."""

import types

import numpy as np
import pytest

import keras_sparse_ae as ksae
from keras_sparse_ae import plotting
from keras_sparse_ae.plotting import training


@pytest.fixture(scope="module")
def history():
    model = ksae.build_deep_sae(input_dim=16, hidden=(8, 4), seed=0)
    x = np.random.default_rng(0).random((48, 16)).astype("float32")
    return model.fit(x[:32], validation_data=x[32:], epochs=3, batch_size=16, verbose=0)


def test_package_reexports_the_training_functions():
    for name in ("plot_training_curves", "plot_sweep", "axis_scale"):
        assert getattr(plotting, name) is getattr(training, name)


def test_curves_draw_every_term_with_validation_dashed(history):
    logs = history.history
    figure = plotting.plot_training_curves(history)
    ax = figure.axes[0]
    assert len(figure.axes) == 1
    lines = {line.get_label(): line for line in ax.lines}
    assert set(lines) == set(logs)  # loss, reconstruction, h*_..., val_*
    for name, values in logs.items():
        np.testing.assert_allclose(lines[name].get_ydata(), values)
        np.testing.assert_array_equal(lines[name].get_xdata(), [1, 2, 3])
        if name.startswith("val_"):
            train = lines[name.removeprefix("val_")]
            assert lines[name].get_linestyle() == "--"
            assert train.get_linestyle() == "-"
            assert lines[name].get_color() == train.get_color()
    assert ax.get_yscale() == "log"


def test_curves_select_terms_from_a_dict(history):
    logs = history.history
    ax = plotting.plot_training_curves(logs, terms=["reconstruction"]).axes[0]
    assert [line.get_label() for line in ax.lines] == [
        "reconstruction",
        "val_reconstruction",
    ]
    ax = plotting.plot_training_curves(logs, terms="loss", logy=False).axes[0]
    assert [line.get_label() for line in ax.lines] == ["loss", "val_loss"]
    assert ax.get_yscale() == "linear"


def test_curves_use_symlog_for_zero_values():
    ax = plotting.plot_training_curves({"loss": [1.0, 0.0]}).axes[0]
    assert ax.get_yscale() == "symlog"


@pytest.mark.parametrize(
    "history, kwargs, error, match",
    [
        ({"loss": [1.0]}, {"terms": ["h1_sparsity"]}, ValueError, "`terms`.*loss"),
        ({"loss": [1.0]}, {"terms": []}, ValueError, "argument `terms`"),
        ({"loss": []}, {}, ValueError, "argument `history`. Expected a history"),
        ([1.0, 2.0], {}, TypeError, "argument `history`"),
        ({"loss": [1.0]}, {"logy": "yes"}, TypeError, "argument `logy`"),
    ],
)
def test_curves_reject_bad_input(history, kwargs, error, match):
    with pytest.raises(error, match=match):
        plotting.plot_training_curves(history, **kwargs)


def _rows():
    rows = []
    for value in (1e-3, 0.0, 1e-5, 1e-4):  # unsorted on purpose
        rows.append(
            {
                "value": value,
                "train_loss": 0.01 + value,
                "val_loss": 0.02 + value,
                "test_loss": 0.03 + value,
                "train_reconstruction": 0.01,
                "val_reconstruction": 0.02,
                "test_reconstruction": 0.03,
                "sparsity_fraction": 0.5 + value,
                "train_sparsity_fraction": 0.4 + value,
            }
        )
    return rows


def test_sweep_draws_losses_and_sparsity_against_the_value():
    figure = plotting.plot_sweep(_rows(), "activity_weight")
    loss_ax, sparsity_ax = figure.axes
    values = [0.0, 1e-5, 1e-4, 1e-3]
    lines = {line.get_label(): line for line in loss_ax.lines}
    assert list(lines) == [
        "train loss",
        "train reconstruction",
        "validation loss",
        "validation reconstruction",
        "test loss",
        "test reconstruction",
    ]
    for split, offset in (("train", 0.01), ("validation", 0.02), ("test", 0.03)):
        loss, reconstruction = lines[f"{split} loss"], lines[f"{split} reconstruction"]
        np.testing.assert_allclose(loss.get_xdata(), values)
        np.testing.assert_allclose(loss.get_ydata(), np.add(values, offset))
        np.testing.assert_allclose(reconstruction.get_ydata(), [offset] * 4)
        assert reconstruction.get_linestyle() == "--"
        assert reconstruction.get_color() == loss.get_color()
    sparsity = {line.get_label(): line for line in sparsity_ax.lines}
    np.testing.assert_allclose(sparsity["train"].get_ydata(), np.add(values, 0.4))
    np.testing.assert_allclose(sparsity["test"].get_ydata(), np.add(values, 0.5))
    assert loss_ax.get_xscale() == sparsity_ax.get_xscale() == "symlog"
    assert loss_ax.get_xlabel() == "activity_weight"


def test_sweep_takes_a_result_object_and_missing_columns():
    rows = [
        {
            "value": v,
            "train_loss": 1.0,
            "val_loss": 2.0,
            "test_loss": None,
            "sparsity_fraction": 0.3,
        }
        for v in (1.0, 2.0)
    ]
    result = types.SimpleNamespace(rows=rows, parameter="kernel_weight")
    figure = plotting.plot_sweep(result)
    loss_ax, sparsity_ax = figure.axes
    assert [line.get_label() for line in loss_ax.lines] == [
        "train loss",
        "validation loss",
    ]
    # Without a test set the sparsity fraction is measured on validation.
    assert [line.get_label() for line in sparsity_ax.lines] == ["validation"]
    assert loss_ax.get_xscale() == "linear"
    assert loss_ax.get_xlabel() == "kernel_weight"


def test_axis_scale_rule():
    assert training.axis_scale([0.0, 1e-5, 1e-3]) == "symlog"
    assert training.axis_scale([0.0, 1.0, 5.0]) == "linear"
    assert training.axis_scale([1e-5, 1e-3]) == "log"
    assert training.axis_scale([1.0, 10.0]) == "linear"
    assert training.axis_scale([-1.0, 100.0]) == "linear"
    assert plotting.plot_sweep(_rows()[1:2], "w").axes[0].get_xscale() == "linear"


@pytest.mark.parametrize(
    "rows, kwargs, error, match",
    [
        ([], {"parameter": "w"}, ValueError, "argument `rows`"),
        ([{"loss": 1.0}], {"parameter": "w"}, ValueError, "argument `rows`"),
        (_rows(), {}, TypeError, "argument `parameter`"),
        (_rows(), {"parameter": "w", "scale": "x"}, ValueError, "argument `scale`"),
        (_rows(), {"parameter": "w", "scale": "log"}, ValueError, "`scale`"),
    ],
)
def test_sweep_rejects_bad_input(rows, kwargs, error, match):
    with pytest.raises(error, match=match):
        plotting.plot_sweep(rows, **kwargs)


def test_training_curves_title_and_legend_follow_what_was_logged():
    few = {"loss": [2.0, 1.0], "reconstruction": [1.5, 0.8]}
    figure = plotting.plot_training_curves(few)
    assert figure._suptitle.get_text() == "Training curves"
    many = {f"h{i}_term": [1.0, 0.5] for i in range(4)}
    many.update({f"val_{k}": v for k, v in list(many.items())})
    figure = plotting.plot_training_curves(many)
    assert figure._suptitle.get_text() == "Training curves (validation dashed)"
    legend = figure.axes[0].get_legend()
    assert legend.get_bbox_to_anchor().x0 > figure.axes[0].get_window_extent().x1
