"""`keras_sparse_ae.plotting.codes`: similarities, t-SNE, k-means, bad input."""

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_samples, silhouette_score

from keras_sparse_ae import plotting
from keras_sparse_ae.plotting import codes as codes_module


@pytest.fixture
def blobs():
    """3 well-separated classes of 12 codes each in 5-D, shuffled."""
    rng = np.random.default_rng(0)
    centres = np.eye(5)[:3] * 4.0
    labels = rng.permutation(np.repeat([0, 1, 2], 12))
    return centres[labels] + 0.2 * rng.standard_normal((36, 5)), labels


def test_package_reexports_the_code_functions():
    for name in (
        "code_similarity",
        "plot_code_similarity",
        "tsne_embedding",
        "plot_tsne",
        "kmeans_codes",
        "plot_kmeans",
    ):
        assert getattr(plotting, name) is getattr(codes_module, name)


def test_similarity_of_hand_made_codes():
    codes = np.array([[1.0, 0.0], [3.0, 0.0], [1.0, 1.0], [0.0, 2.0]])
    result = plotting.code_similarity(codes, ["a", "a", "b", "b"], n_pairs=50)
    # Class a: both along x (cos 1); class b: at 45 degrees (cos 1/sqrt 2).
    first_class_b = np.isin(result["same_pairs"][:, 0], [2, 3])
    np.testing.assert_allclose(result["same"][~first_class_b], 1.0)
    np.testing.assert_allclose(result["same"][first_class_b], np.sqrt(0.5))
    # a against b: (1,0).(1,1) -> 1/sqrt 2, (1,0).(0,1) -> 0.
    expected = {(0, 2): np.sqrt(0.5), (0, 3): 0.0, (1, 2): np.sqrt(0.5), (1, 3): 0.0}
    for (i, j), value in zip(result["different_pairs"], result["different"]):
        assert value == pytest.approx(expected[tuple(sorted((i, j)))])
    same_a, different_a = result["by_class"]["a"]
    np.testing.assert_allclose(same_a, 1.0)
    assert len(same_a) + len(result["by_class"]["b"][0]) == 50


def test_similarity_matches_cosine_of_the_drawn_pairs(blobs):
    codes, labels = blobs
    codes[5] = 0.0  # a dead code is alike nothing
    result = plotting.code_similarity(codes, labels, n_pairs=300, seed=3)
    unit = codes / np.maximum(np.linalg.norm(codes, axis=1, keepdims=True), 1e-30)
    for kind, same_class in (("same", True), ("different", False)):
        pairs = result[f"{kind}_pairs"]
        assert pairs.shape == (300, 2) and result[kind].shape == (300,)
        assert np.all(pairs[:, 0] != pairs[:, 1])
        assert np.all((labels[pairs[:, 0]] == labels[pairs[:, 1]]) == same_class)
        expected = np.einsum("ij,ij->i", unit[pairs[:, 0]], unit[pairs[:, 1]])
        np.testing.assert_allclose(result[kind], expected, atol=1e-12)
        for c in (0, 1, 2):
            part = result["by_class"][c][0 if same_class else 1]
            np.testing.assert_array_equal(part, result[kind][labels[pairs[:, 0]] == c])
    # Separated classes: same-class pairs are far more alike.
    assert np.median(result["same"]) > 0.9 > 0.1 > np.median(result["different"])
    # Every sample is drawn as a partner somewhere: the draw is not stuck.
    assert len(np.unique(result["same_pairs"][:, 1])) == 36
    again = plotting.code_similarity(codes, labels, n_pairs=300, seed=3)
    np.testing.assert_array_equal(again["same_pairs"], result["same_pairs"])
    other = plotting.code_similarity(codes, labels, n_pairs=300, seed=4)
    assert not np.array_equal(other["same_pairs"], result["same_pairs"])


@pytest.mark.parametrize(
    "codes, labels, kwargs, error, match",
    [
        (np.ones((4, 2)), [0, 0, 1], {}, ValueError, "argument `labels`. Expected one"),
        (np.ones((4, 2)), [0, 0, 1, 1], {"n_pairs": 0}, ValueError, "`n_pairs`"),
        (np.ones((3, 2)), [0, 1, 2], {}, ValueError, "two or more samples"),
        (np.ones((3, 2)), [0, 0, 0], {}, ValueError, "two or more classes"),
        (np.ones(4), [0, 0, 1, 1], {}, ValueError, "argument `codes`"),
        (np.ones((4, 2)), [0, 0, 1, 1], {"seed": -1}, ValueError, "`seed`"),
    ],
)
def test_similarity_rejects_bad_input(codes, labels, kwargs, error, match):
    with pytest.raises(error, match=match):
        plotting.code_similarity(codes, labels, **kwargs)


def test_similarity_boxes_hold_the_per_class_values(blobs):
    codes, labels = blobs
    figure = plotting.plot_code_similarity(codes, labels, n_pairs=200, seed=1)
    result = plotting.code_similarity(codes, labels, n_pairs=200, seed=1)
    assert len(figure.axes) == 2
    for ax, which in zip(figure.axes, (0, 1)):
        medians = [line for line in ax.lines if line.get_gid() == "median"]
        assert len(medians) == 3
        for line, c in zip(medians, (0, 1, 2)):
            expected = np.median(result["by_class"][c][which])
            np.testing.assert_allclose(line.get_ydata(), [expected, expected])
        assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "1", "2"]
    assert "same class" in figure.axes[0].get_title()


def test_tsne_embeds_a_seeded_subset(blobs):
    codes, _ = blobs
    embedding, index = plotting.tsne_embedding(codes, n=20, seed=0, perplexity=5)
    assert embedding.shape == (20, 2)
    assert np.all(np.diff(index) > 0) and index.max() < 36
    _, all_index = plotting.tsne_embedding(codes, n=100, perplexity=5)
    np.testing.assert_array_equal(all_index, np.arange(36))


def test_tsne_rejects_bad_input(blobs):
    codes, labels = blobs
    with pytest.raises(ValueError, match=r"argument `perplexity`.*\(0, 20\)"):
        plotting.tsne_embedding(codes, n=20, perplexity=20)
    with pytest.raises(ValueError, match="argument `n`"):
        plotting.tsne_embedding(codes, n=0)
    with pytest.raises(ValueError, match="argument `labels`"):
        plotting.plot_tsne(codes, labels[:-1], perplexity=5)


def test_tsne_scatter_is_the_embedding_by_class(blobs):
    codes, labels = blobs
    figure = plotting.plot_tsne(codes, labels, n=30, seed=2, perplexity=5)
    embedding, index = plotting.tsne_embedding(codes, n=30, seed=2, perplexity=5)
    ax = figure.axes[0]
    assert len(ax.collections) == 3
    for scatter, c in zip(ax.collections, (0, 1, 2)):
        assert scatter.get_label() == str(c)
        np.testing.assert_allclose(
            scatter.get_offsets(), embedding[labels[index] == c], rtol=1e-5, atol=1e-5
        )


def test_kmeans_scores_equal_sklearns(blobs):
    codes, labels = blobs
    result = plotting.kmeans_codes(codes, n_clusters=3, seed=0, true_labels=labels)
    assert result["silhouette"] == pytest.approx(
        silhouette_score(codes, result["labels"]), abs=1e-12
    )
    np.testing.assert_allclose(
        result["samples"], silhouette_samples(codes, result["labels"])
    )
    assert result["ari"] == pytest.approx(adjusted_rand_score(labels, result["labels"]))
    assert result["ari"] == pytest.approx(1.0)  # the blobs are the classes
    reference = KMeans(n_clusters=3, n_init=10, random_state=0).fit(codes)
    assert result["inertia"] == pytest.approx(reference.inertia_)
    four = plotting.kmeans_codes(codes, n_clusters=4)
    assert "ari" not in four and four["silhouette"] < result["silhouette"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_clusters": 1}, "argument `n_clusters`"),
        ({"n_clusters": 36}, r"`n_clusters`. Expected an integer in \[2, 35\]"),
        ({"true_labels": [0, 1]}, "argument `true_labels`"),
    ],
)
def test_kmeans_rejects_bad_input(blobs, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.kmeans_codes(blobs[0], **kwargs)


def test_kmeans_plot_shows_each_clusters_silhouettes(blobs):
    codes, labels = blobs
    figure = plotting.plot_kmeans(codes, n_clusters=3, true_labels=labels)
    result = plotting.kmeans_codes(codes, n_clusters=3, true_labels=labels)
    ax = figure.axes[0]
    assert len(ax.collections) == 3
    for band, cluster in zip(ax.collections, range(3)):
        x = band.get_paths()[0].vertices[:, 0]
        values = result["samples"][result["labels"] == cluster]
        assert x.max() == pytest.approx(values.max())
    mean_line = ax.lines[0]
    assert mean_line.get_xdata()[0] == pytest.approx(
        silhouette_score(codes, result["labels"])
    )
    title = figure._suptitle.get_text()
    assert f"silhouette {result['silhouette']:.3f}" in title
    assert "ARI 1.000" in title
    assert "ARI" not in plotting.plot_kmeans(codes, n_clusters=3)._suptitle.get_text()
