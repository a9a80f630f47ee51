"""Figures of autoencoders, their activity, training and codes (headless).

Every function returns a `matplotlib.figure.Figure`; save it with
`keras_sparse_ae.io.save_figure` (atomic) or `figure.savefig`, or show it in
a notebook with `IPython.display.display(figure)`. Figures are made with the
object-oriented API on the Agg canvas, so they work without a display and
never touch pyplot's global state.

- `images`: reconstructions, first-layer filters, image grids, VAE samples
  and interpolations.
- `activity`: activation histograms, mean activations per layer and unit,
  participation traces during training.
- `training`: loss curves, regularisation sweeps.
- `codes`: cosine similarity, t-SNE and k-means of the codes.
"""

from keras_sparse_ae.plotting._figure import image_shape
from keras_sparse_ae.plotting.activity import (
    plot_activation_histograms,
    plot_mean_activations,
    plot_trace_evolution,
    plot_unit_means,
)
from keras_sparse_ae.plotting.codes import (
    code_similarity,
    kmeans_codes,
    plot_code_similarity,
    plot_kmeans,
    plot_tsne,
    tsne_embedding,
)
from keras_sparse_ae.plotting.images import (
    first_dense_kernel,
    plot_filters,
    plot_generation_grid,
    plot_images,
    plot_interpolation,
    plot_reconstructions,
)
from keras_sparse_ae.plotting.training import (
    axis_scale,
    plot_sweep,
    plot_training_curves,
)

__all__ = [
    "axis_scale",
    "code_similarity",
    "first_dense_kernel",
    "image_shape",
    "kmeans_codes",
    "plot_activation_histograms",
    "plot_code_similarity",
    "plot_filters",
    "plot_generation_grid",
    "plot_images",
    "plot_interpolation",
    "plot_kmeans",
    "plot_mean_activations",
    "plot_reconstructions",
    "plot_sweep",
    "plot_trace_evolution",
    "plot_training_curves",
    "plot_tsne",
    "plot_unit_means",
    "tsne_embedding",
]
