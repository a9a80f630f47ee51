"""Models by name: `build(name, **kwargs)` and `list_models()`."""

from keras_sparse_ae import _validation
from keras_sparse_ae.models.deep_sae import build_deep_sae
from keras_sparse_ae.models.denoising import build_denoising
from keras_sparse_ae.models.kl_sae import build_kl_sae, build_kl_sae_deep
from keras_sparse_ae.models.l1_sae import build_l1_sae
from keras_sparse_ae.models.l2_sae import build_l2_sae
from keras_sparse_ae.models.linear import build_linear
from keras_sparse_ae.models.plain import build_plain
from keras_sparse_ae.models.stacked import build_stacked
from keras_sparse_ae.models.tied import build_tied
from keras_sparse_ae.models.topk_sae import build_batch_topk_sae, build_topk_sae
from keras_sparse_ae.models.vae import build_vae

_BUILDERS = {
    "deep_sae": build_deep_sae,
    "denoising": build_denoising,
    "kl_sae": build_kl_sae,
    "kl_sae_deep": build_kl_sae_deep,
    "l1_sae": build_l1_sae,
    "l2_sae": build_l2_sae,
    "linear": build_linear,
    "plain": build_plain,
    "stacked": build_stacked,
    "tied": build_tied,
    "vae": build_vae,
    "topk_sae": build_topk_sae,
    "batch_topk_sae": build_batch_topk_sae,
}


def register_model(name, builder):
    """Makes `builder(input_dim=..., **kwargs)` available as `build(name)`."""
    if not isinstance(name, str) or not name:
        raise _validation.invalid_value("name", "a non-empty string", name)
    if not callable(builder):
        raise _validation.invalid_type("builder", "a callable", builder)
    _BUILDERS[name] = builder
    return builder


def list_models():
    """Names of the models `build` knows, sorted."""
    return sorted(_BUILDERS)


def check_model_name(name):
    """Raises a `ValueError` listing the known models if `name` is unknown."""
    return _validation.check_choice("model", name, tuple(list_models()))


def get_builder(name):
    """The builder registered as `name` (a `ValueError` lists the known ones).

    >>> get_builder("l1_sae").__name__
    'build_l1_sae'
    """
    return _BUILDERS[check_model_name(name)]


def build(name, **kwargs):
    """Builds the model called `name` with `kwargs` (e.g. `input_dim=784`).

    Example:

    >>> model = build("deep_sae", input_dim=64, hidden=(16, 4))
    >>> model.name
    'deep_sae'
    """
    return get_builder(name)(**kwargs)
