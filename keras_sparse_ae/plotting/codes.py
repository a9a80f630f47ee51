"""How codes group by class: cosine similarity, t-SNE and k-means.

Lesson 002 looks at a trained autoencoder's codes three ways: are codes of
the same digit more alike than codes of different digits (cosine
similarity), do they form visible groups in 2-D (t-SNE), and do k-means
clusters of the codes hold together (silhouette) and match the digits
(adjusted Rand index).
"""

import numpy as np
from matplotlib import colormaps

from keras_sparse_ae import _validation
from keras_sparse_ae.plotting._figure import (
    as_labels,
    as_matrix,
    check_seed,
    new_figure,
    python_scalar,
)


def _unit_rows(codes):
    """Each row divided by its L2 norm; an all-zero row stays zero."""
    norms = np.linalg.norm(codes, axis=1, keepdims=True)
    return np.divide(codes, norms, out=np.zeros_like(codes), where=norms > 0)


def code_similarity(codes, labels, n_pairs=2000, seed=0):
    """Cosine similarities of random pairs of codes, same vs different class.

    The cosine similarity of codes `u` and `v` is `u.v / (|u| |v|)` (taken
    as 0 when one of them is all zeros, as a dead code is alike nothing).
    `n_pairs` pairs are drawn with the same class: a first code uniformly
    among the samples whose class has two or more samples, the second
    uniformly among the other samples of its class; and `n_pairs` with a
    different class: a first code uniformly, the second uniformly among
    the samples of the other classes.

    Args:
        codes: (samples, code size) array, e.g. `model.encoder.predict(x)`.
        labels: (samples,) class labels.
        n_pairs: int >= 1, pairs drawn of each kind.
        seed: int >= 0 or `None`, seeds the draw.

    Returns:
        A dict with `same` and `different`, each a (n_pairs,) array of
        cosine similarities; `same_pairs` and `different_pairs`, the
        (n_pairs, 2) sample indices of those pairs; and `by_class`,
        `{class: (same array, different array)}` grouping the pairs by the
        class of their first code (in sorted class order).

    Example:

    >>> import numpy as np
    >>> codes = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])
    >>> result = code_similarity(codes, [0, 0, 1, 1], n_pairs=5)
    >>> result["same"].tolist(), result["different"].tolist()
    ([1.0, 1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0, 0.0])
    """
    codes = as_matrix("codes", codes)
    labels = as_labels("labels", labels, len(codes))
    n_pairs = _validation.check_int("n_pairs", n_pairs)
    rng = np.random.default_rng(check_seed(seed))
    classes, class_of, counts = np.unique(
        labels, return_inverse=True, return_counts=True
    )
    if counts.max() < 2:
        raise _validation.invalid_value(
            "labels", "a class with two or more samples", labels
        )
    if len(classes) < 2:
        raise _validation.invalid_value("labels", "two or more classes", labels)
    # Samples sorted by class: class c occupies order[starts[c]:starts[c + 1]].
    order = np.argsort(class_of, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    rank = np.empty(len(codes), dtype=np.int64)
    rank[order] = np.arange(len(codes)) - starts[class_of[order]]

    eligible = np.flatnonzero(counts[class_of] >= 2)
    first = rng.choice(eligible, n_pairs)
    c = class_of[first]
    # A uniform other member of the class: skip the first code's own slot.
    k = rng.integers(0, counts[c] - 1)
    k = k + (k >= rank[first])
    same_pairs = np.stack([first, order[starts[c] + k]], axis=1)

    first = rng.integers(0, len(codes), n_pairs)
    c = class_of[first]
    # A uniform sample outside the class: skip the class's block in `order`.
    k = rng.integers(0, len(codes) - counts[c])
    k = k + counts[c] * (k >= starts[c])
    different_pairs = np.stack([first, order[k]], axis=1)

    unit = _unit_rows(codes)

    def cosine(pairs):
        return np.sum(unit[pairs[:, 0]] * unit[pairs[:, 1]], axis=1)

    same, different = cosine(same_pairs), cosine(different_pairs)
    by_class = {
        python_scalar(label): (
            same[class_of[same_pairs[:, 0]] == i],
            different[class_of[different_pairs[:, 0]] == i],
        )
        for i, label in enumerate(classes)
    }
    return {
        "same": same,
        "different": different,
        "same_pairs": same_pairs,
        "different_pairs": different_pairs,
        "by_class": by_class,
    }


def plot_code_similarity(codes, labels, n_pairs=2000, seed=0):
    """Box plots of the cosine similarity of codes, per class.

    Left, pairs of the same class; right, pairs of different classes (see
    `code_similarity`): codes that separate the classes have the left boxes
    above the right ones. Lesson 002's figure.

    Args:
        codes, labels, n_pairs, seed: as in `code_similarity`.

    Returns:
        A `matplotlib.figure.Figure` with two axes (same, different class),
        one box per class in sorted class order (the median lines carry the
        gid `"median"`). A class without pairs of a kind (e.g. a single
        sample) has an empty box.

    Example:

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> figure = plot_code_similarity(rng.random((30, 4)), np.arange(30) % 3,
    ...                               n_pairs=50)
    >>> len(figure.axes)
    2
    """
    result = code_similarity(codes, labels, n_pairs=n_pairs, seed=seed)
    classes = list(result["by_class"])
    figure = new_figure(max(6.0, 1.0 + 0.9 * len(classes)), 3.6)
    axes = figure.subplots(1, 2, sharey=True)
    for ax, which, title in (
        (axes[0], 0, "same class"),
        (axes[1], 1, "different class"),
    ):
        data = [result["by_class"][c][which] for c in classes]
        parts = ax.boxplot(data, tick_labels=[str(c) for c in classes])
        for line in parts["medians"]:
            line.set_gid("median")
        overall = result["same" if which == 0 else "different"]
        ax.set_title(f"{title} (median {np.median(overall):.3f})")
        ax.set_xlabel("class of the first code")
    axes[0].set_ylabel("cosine similarity")
    figure.suptitle(f"Cosine similarity of codes ({n_pairs} pairs of each kind)")
    return figure


def tsne_embedding(codes, n=1000, seed=0, perplexity=30):
    """A 2-D t-SNE embedding of (a random subset of) the codes.

    t-SNE (van der Maaten and Hinton, 2008) places the points in 2-D so
    that neighbours in code space stay neighbours; `perplexity` is roughly
    the number of neighbours each point keeps. Uses scikit-learn's `TSNE`
    with PCA initialisation and `random_state=seed`.

    Args:
        codes: (samples, code size) array.
        n: int >= 1, embed a random subset of `n` samples (all if fewer).
        seed: int >= 0 or `None`, seeds the subset and t-SNE.
        perplexity: float > 0, below the number of samples embedded.

    Returns:
        `(embedding, index)`: the (m, 2) embedding and the (m,) sorted
        indices of the embedded samples in `codes`.
    """
    codes = as_matrix("codes", codes)
    n = _validation.check_int("n", n)
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)
    if n < len(codes):
        index = np.sort(rng.choice(len(codes), n, replace=False))
    else:
        index = np.arange(len(codes))
    perplexity = _validation.check_float(
        "perplexity",
        perplexity,
        0.0,
        float(len(index)),
        low_open=True,
        high_open=True,
        expected=f"a float in (0, {len(index)}), below the number of samples embedded",
    )
    # scikit-learn is imported on use: `plotting` is imported by the CLIs.
    from sklearn.manifold import TSNE

    tsne = TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed)
    return tsne.fit_transform(codes[index]), index


def plot_tsne(codes, labels, n=1000, seed=0, perplexity=30):
    """The codes' 2-D t-SNE embedding, coloured by class.

    Args:
        codes: (samples, code size) array.
        labels: (samples,) class labels.
        n, seed, perplexity: as in `tsne_embedding`.

    Returns:
        A `matplotlib.figure.Figure` with one axes holding one scatter per
        class (sorted class order, labelled with the class).
    """
    codes = as_matrix("codes", codes)
    labels = as_labels("labels", labels, len(codes))
    embedding, index = tsne_embedding(codes, n=n, seed=seed, perplexity=perplexity)
    chosen = labels[index]
    classes = np.unique(chosen)
    cmap = "tab10" if len(classes) <= 10 else "nipy_spectral"
    figure = new_figure(5.4, 4.6)
    ax = figure.subplots()
    palette = colormaps[cmap]
    for i, label in enumerate(classes):
        mask = chosen == label
        color = palette(i if cmap == "tab10" else i / max(len(classes) - 1, 1))
        ax.scatter(
            embedding[mask, 0], embedding[mask, 1], s=8, color=color, label=str(label)
        )
    ax.set_xlabel("t-SNE 1")
    ax.set_ylabel("t-SNE 2")
    ax.legend(title="class", fontsize="small", markerscale=2)
    figure.suptitle(f"t-SNE of {len(index)} codes (perplexity {perplexity:g})")
    return figure


def kmeans_codes(codes, n_clusters=10, seed=0, true_labels=None):
    """k-means clusters of the codes and how well they hold together.

    The silhouette of a sample is `(b - a) / max(a, b)`, `a` its mean
    distance to its own cluster and `b` to the nearest other cluster: near 1
    a sample sits well inside its cluster, near 0 between two. The adjusted
    Rand index compares the clusters with the classes: 1 for the same
    partition, about 0 for a random one.

    Args:
        codes: (samples, code size) array.
        n_clusters: int in [2, samples - 1].
        seed: int >= 0 or `None`, seeds k-means (`n_init=10`).
        true_labels: optional (samples,) classes for the adjusted Rand index.

    Returns:
        A dict with `labels` (cluster of each sample), `silhouette` (the
        mean silhouette, `sklearn.metrics.silhouette_score`), `samples`
        (each sample's silhouette), `inertia` (k-means' sum of squared
        distances to the centres) and, with `true_labels`, `ari`.

    Example:

    >>> import numpy as np
    >>> codes = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
    >>> result = kmeans_codes(codes, n_clusters=2, true_labels=[1, 1, 2, 2])
    >>> round(result["ari"], 3), result["silhouette"] > 0.9
    (1.0, True)
    """
    codes = as_matrix("codes", codes)
    if true_labels is not None:
        true_labels = as_labels("true_labels", true_labels, len(codes))
    n_clusters = _validation.check_int("n_clusters", n_clusters, low=2)
    if n_clusters > len(codes) - 1:
        raise _validation.invalid_value(
            "n_clusters",
            f"an integer in [2, {len(codes) - 1}] (below the number of samples, "
            f"{len(codes)})",
            n_clusters,
        )
    seed = check_seed(seed)
    # scikit-learn is imported on use: `plotting` is imported by the CLIs.
    from sklearn.cluster import KMeans
    from sklearn.metrics import (
        adjusted_rand_score,
        silhouette_samples,
        silhouette_score,
    )

    kmeans = KMeans(n_clusters=n_clusters, n_init=10, random_state=seed).fit(codes)
    labels = kmeans.labels_
    if len(np.unique(labels)) < 2:
        raise _validation.invalid_value(
            "codes", "codes with at least two distinct values", "all codes equal"
        )
    result = {
        "labels": labels,
        "silhouette": float(silhouette_score(codes, labels)),
        "samples": silhouette_samples(codes, labels),
        "inertia": float(kmeans.inertia_),
    }
    if true_labels is not None:
        result["ari"] = float(adjusted_rand_score(true_labels, labels))
    return result


def plot_kmeans(codes, n_clusters=10, seed=0, true_labels=None):
    """Silhouette plot of the k-means clusters of the codes.

    Each cluster's samples, sorted by silhouette, form one filled band
    (lesson 002's figure); the dashed line is the mean silhouette. The title
    gives the mean silhouette and, with `true_labels`, the adjusted Rand
    index of the clusters against the classes.

    Args:
        codes, n_clusters, seed, true_labels: as in `kmeans_codes`.

    Returns:
        A `matplotlib.figure.Figure` with one axes: one filled band per
        cluster (in cluster order) and the mean line.
    """
    result = kmeans_codes(
        codes, n_clusters=n_clusters, seed=seed, true_labels=true_labels
    )
    labels, samples = result["labels"], result["samples"]
    figure = new_figure(5.4, 4.6)
    ax = figure.subplots()
    gap = max(1, len(samples) // 100)
    lower = gap
    for cluster in range(n_clusters):
        values = np.sort(samples[labels == cluster])
        color = f"C{cluster % 10}"
        rows = np.arange(lower, lower + len(values))
        ax.fill_betweenx(rows, 0, values, facecolor=color, edgecolor=color, alpha=0.7)
        ax.text(-0.05, lower + 0.5 * len(values), str(cluster), ha="right", va="center")
        lower += len(values) + gap
    ax.axvline(result["silhouette"], color="red", linestyle="--", label="mean")
    ax.set_xlabel("silhouette")
    ax.set_ylabel("cluster")
    ax.set_yticks([])
    ax.legend(fontsize="small")
    title = f"k-means, {n_clusters} clusters: silhouette {result['silhouette']:.3f}"
    if "ari" in result:
        title += f", ARI {result['ari']:.3f}"
    figure.suptitle(title)
    return figure
