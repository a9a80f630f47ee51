"""`keras_sparse_ae.plotting.activity`: what each figure draws, and bad input."""

import numpy as np
import pytest

import keras_sparse_ae as ksae
from keras_sparse_ae import plotting
from keras_sparse_ae.plotting import activity


@pytest.fixture
def by_model(rng):
    return {
        "plain": {"h1": rng.random((20, 6)), "h2": rng.random((20, 3)) * 0.5},
        "sparse": {"h1": rng.random((20, 6)) * 0.1, "h2": rng.random((20, 3))},
    }


def test_package_reexports_the_activity_functions():
    for name in (
        "plot_activation_histograms",
        "plot_mean_activations",
        "plot_unit_means",
        "plot_trace_evolution",
    ):
        assert getattr(plotting, name) is getattr(activity, name)


def test_histograms_count_every_activation(by_model):
    acts = by_model["plain"]
    figure = plotting.plot_activation_histograms(acts, {"h1": 0.3}, bins=7)
    assert len(figure.axes) == 2
    heights = [patch.get_height() for patch in figure.axes[0].patches]
    assert len(heights) == 7 and sum(heights) == acts["h1"].size
    mean_line, target_line = figure.axes[0].lines
    assert mean_line.get_xdata()[0] == pytest.approx(acts["h1"].mean())
    assert target_line.get_xdata()[0] == 0.3
    assert len(figure.axes[1].lines) == 1  # no target for h2


def test_histograms_reject_bad_input():
    with pytest.raises(ValueError, match="argument `activations`"):
        plotting.plot_activation_histograms({})
    with pytest.raises(ValueError, match="argument `bins`"):
        plotting.plot_activation_histograms({"h1": np.ones((2, 2))}, bins=0)


def test_mean_activation_bars_are_the_means(by_model):
    figure = plotting.plot_mean_activations(by_model, target=0.02)
    ax = figure.axes[0]
    assert len(figure.axes) == 1
    plain, sparse = ax.containers
    expected = {
        "plain": [by_model["plain"][n].mean() for n in ("h1", "h2")],
        "sparse": [by_model["sparse"][n].mean() for n in ("h1", "h2")],
    }
    np.testing.assert_allclose([b.get_height() for b in plain], expected["plain"])
    np.testing.assert_allclose([b.get_height() for b in sparse], expected["sparse"])
    # Side by side: the plain bar left of the sparse bar of the same layer.
    assert plain[0].get_x() < sparse[0].get_x() < plain[1].get_x()
    texts = sorted(t.get_text() for t in ax.texts)
    assert texts == sorted(f"{v:.3f}" for v in expected["plain"] + expected["sparse"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["h1", "h2"]
    assert ax.lines[0].get_ydata()[0] == 0.02


def test_mean_activations_skip_a_layer_a_model_lacks(by_model):
    del by_model["sparse"]["h2"]
    ax = plotting.plot_mean_activations(by_model).axes[0]
    assert [len(c) for c in ax.containers] == [2, 1]
    assert not ax.lines


@pytest.mark.parametrize(
    "value, error",
    [
        ({}, ValueError),
        ([1, 2], TypeError),
        ({"plain": {}}, ValueError),
        ({"plain": {"h1": np.ones(3)}}, ValueError),
    ],
)
def test_mean_activations_reject_bad_input(value, error):
    with pytest.raises(error, match="argument `activations_by_model"):
        plotting.plot_mean_activations(value)


def test_mean_activations_reject_a_bad_target(by_model):
    with pytest.raises(TypeError, match="argument `target`"):
        plotting.plot_mean_activations(by_model, target="low")


def test_unit_means_are_sorted_per_model(by_model):
    figure = plotting.plot_unit_means(by_model, "h1")
    lines = figure.axes[0].lines
    assert [line.get_label() for line in lines] == ["plain", "sparse"]
    for line, label in zip(lines, ("plain", "sparse")):
        expected = np.sort(by_model[label]["h1"].mean(axis=0))[::-1]
        np.testing.assert_allclose(line.get_ydata(), expected)
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 7))


def test_unit_means_need_the_layer_in_every_model(by_model):
    del by_model["sparse"]["h2"]
    with pytest.raises(ValueError, match=r"argument `layer`.*\['h1'\].*layer='h2'"):
        plotting.plot_unit_means(by_model, "h2")


def test_trace_evolution_from_traces_and_steps():
    traces = {
        "h1": np.array([[0.25, 0.25, 0.25], [0.4, 0.1, 0.2], [0.3, 0.2, 0.1]]),
        "h2": np.array([[0.5, 0.5], [0.6, 0.3], [0.55, 0.45]]),
    }
    steps = [0, 10, 20]
    figure = plotting.plot_trace_evolution((traces, steps), {"h1": 0.75})
    assert len(figure.axes) == 2
    for ax, name in zip(figure.axes, traces):
        np.testing.assert_allclose(ax.lines[0].get_xdata(), steps)
        np.testing.assert_allclose(ax.lines[0].get_ydata(), traces[name].mean(axis=1))
        band = ax.collections[0].get_paths()[0].vertices
        assert band[:, 1].min() == pytest.approx(traces[name].min())
        assert band[:, 1].max() == pytest.approx(traces[name].max())
    target = figure.axes[0].lines[1]
    assert target.get_ydata()[0] == pytest.approx(0.25)
    assert target.get_linestyle() == "--"
    assert len(figure.axes[1].lines) == 1  # no target for h2


def test_trace_evolution_from_a_recorder():
    model = ksae.build_deep_sae(input_dim=16, hidden=(8, 4), sparsity=0.8, seed=0)
    x = np.random.default_rng(0).random((32, 16)).astype("float32")
    recorder = ksae.TraceRecorder()
    model.fit(x, epochs=2, batch_size=16, verbose=0, callbacks=[recorder])
    figure = plotting.plot_trace_evolution(recorder)
    assert [ax.get_title() for ax in figure.axes] == ["h1", "h2", "h3"]
    for ax, name in zip(figure.axes, ("h1", "h2", "h3")):
        np.testing.assert_allclose(
            ax.lines[0].get_ydata(), recorder.traces[name].mean(axis=1)
        )
        assert ax.lines[1].get_ydata()[0] == pytest.approx(0.2)


def test_trace_evolution_rejects_bad_input():
    traces = {"h1": np.ones((3, 2))}
    with pytest.raises(ValueError, match="Expected one trace record per step"):
        plotting.plot_trace_evolution((traces, [0, 1]))
    with pytest.raises(TypeError, match="argument `recorder`"):
        plotting.plot_trace_evolution(traces)
    with pytest.raises(ValueError, match="argument `recorder`"):
        plotting.plot_trace_evolution(({}, [0]))
    with pytest.raises(ValueError, match="argument `targets`"):
        plotting.plot_trace_evolution((traces, [0, 1, 2]), {"h1": 1.5})
