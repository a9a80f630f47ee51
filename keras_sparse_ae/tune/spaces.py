"""Search spaces: which hyperparameters each model has and which values to try.

A search space maps hyperparameter names to the values a tuner may pick:

- a tuple of values, `(30, 45, 60)`: a `keras_tuner` `Choice` (a `Fixed`
  value when the tuple has one element). The first value is the default,
  the one `GridSearch` tries first;
- a `Range(min, max, step=None, sampling="linear")`: an `Int` or `Float`
  (a `step` is needed for a grid).

Hyperparameter names are the builder's argument names (`learning_rate`,
`alpha_p`, `sparsity`, ...) plus `size_h1`, `size_h2`, ... for the
encoder's layer sizes (`hidden=(size_h1, size_h2, ...)`, as in lesson 000)
and `batch_size`, which goes to `fit`.

Spaces come from code (`get_space(model, "default")`, or `"seed000"`:
lesson 000's grid for `deep_sae`), a JSON file (`load_space_file`) and
command-line assignments (`parse_assignments(["alpha_p=100"])`), layered by
`resolve_space`. Every name and value is checked here, before a tuner
starts: an unknown name or a value outside its allowed set is a
`ValueError` in Keras' wording.

Example:

>>> space = resolve_space("deep_sae", "seed000")
>>> space["size_h2"], space["optimizer"]
((30, 45, 60), ('sgd_halving',))
>>> grid_size(space)
12960
>>> space = resolve_space(
...     "deep_sae", "seed000", overrides=parse_assignments(["alpha_p=100"])
... )
>>> space["alpha_p"], grid_size(space)
((100.0,), 2160)
"""

import dataclasses
import json
import math
import os
import re

from keras_sparse_ae import _validation
from keras_sparse_ae.losses import RECONSTRUCTIONS
from keras_sparse_ae.models.denoising import NOISES
from keras_sparse_ae.models.optimizers import OPTIMIZERS
from keras_sparse_ae.models.stack import ACTIVATIONS

#: Names of the spaces defined in code (`--space`).
SPACES = ("default", "seed000")

#: Batch size when a space does not tune it (the main job's default).
DEFAULT_BATCH_SIZE = 32

_SIZE = re.compile(r"^size_h([1-9][0-9]*)$")


# === Values ===


@dataclasses.dataclass(frozen=True)
class Range:
    """A numeric interval to search: a KerasTuner `Int` or `Float`.

    Args:
        min: the smallest value.
        max: the largest value.
        step: spacing of the values, or `None` for a continuous range
            (random and Bayesian search only; a grid needs a step).
        sampling: `"linear"` or `"log"` (for rates and weights spanning
            decades).
    """

    min: float
    max: float
    step: float | None = None
    sampling: str = "linear"

    def to_json(self):
        """The JSON form used by space files: `{"min": ..., "max": ...}`."""
        data = {"min": self.min, "max": self.max}
        if self.step is not None:
            data["step"] = self.step
        if self.sampling != "linear":
            data["sampling"] = self.sampling
        return data


@dataclasses.dataclass(frozen=True)
class _Kind:
    """How one hyperparameter's values are parsed and checked."""

    parse: type  # float, int or str
    check: object  # callable(name, value) -> cleaned value
    help: str


def _float_kind(low=None, high=None, low_open=False, high_open=False):
    def check(name, value):
        return _validation.check_float(
            name, value, low, high, low_open=low_open, high_open=high_open
        )

    text = "a float" + _validation._interval_text(low, high, low_open, high_open)
    return _Kind(float, check, text)


def _int_kind(low=1):
    return _Kind(int, lambda n, v: _validation.check_int(n, v, low), f"an int >= {low}")


def _choice_kind(choices):
    return _Kind(
        str,
        lambda n, v: _validation.check_choice(n, v, tuple(choices)),
        "one of " + ", ".join(choices),
    )


_WEIGHT = _Kind(float, _validation.check_weight, "a float >= 0")
_SIZE_KIND = _int_kind(1)

#: Every hyperparameter any model may have, and its allowed values.
KINDS = {
    "learning_rate": _float_kind(0.0, low_open=True),
    "optimizer": _choice_kind(OPTIMIZERS),
    "batch_size": _int_kind(1),
    "reconstruction": _choice_kind(RECONSTRUCTIONS),
    "activation": _choice_kind(ACTIVATIONS),
    "sparsity": _float_kind(0.0, 1.0, low_open=True, high_open=True),
    "gamma": _float_kind(0.0, 1.0, high_open=True),
    "alpha_s": _WEIGHT,
    "alpha_p": _WEIGHT,
    "alpha_b": _WEIGHT,
    "l2": _WEIGHT,
    "beta": _WEIGHT,
    "weight": _WEIGHT,
    "target": _float_kind(0.0, 1.0, low_open=True, high_open=True),
    "noise": _choice_kind(NOISES),
    "noise_level": _float_kind(0.0, low_open=True),
    "code_size": _int_kind(1),
    "units": _int_kind(1),
    "activity_weight": _WEIGHT,
    "kernel_weight": _WEIGHT,
    "k": _int_kind(1),
    "aux_weight": _WEIGHT,
}

_COMMON = ("optimizer", "learning_rate", "batch_size")
_DENSE = ("activation", "reconstruction")

#: The hyperparameters of each model (besides `size_h<i>` where it has
#: `hidden`). A registered model missing here gets `_COMMON` only.
MODEL_PARAMETERS = {
    "deep_sae": ("hidden", "sparsity", "gamma", "alpha_s", "alpha_p", "alpha_b")
    + _DENSE,
    "plain": ("hidden",) + _DENSE,
    "linear": ("code_size",),
    "stacked": ("hidden", "l2") + _DENSE,
    "tied": ("hidden", "l2") + _DENSE,
    "denoising": ("hidden", "noise", "noise_level") + _DENSE,
    "kl_sae": ("hidden", "target", "weight", "l2") + _DENSE,
    "kl_sae_deep": ("hidden", "target", "weight", "l2") + _DENSE,
    "l1_sae": ("code_size", "beta"),
    "l2_sae": ("units", "activity_weight", "kernel_weight"),
    "vae": ("hidden", "code_size", "beta") + _DENSE,
    "topk_sae": ("code_size", "k", "aux_weight"),
    "batch_topk_sae": ("code_size", "k", "aux_weight"),
}

_ADAM_RATES = (1e-3, 3e-4, 3e-3)

#: Default spaces: small, around each model's documented defaults (the
#: first value of each entry), a few hundred configurations at most.
DEFAULT_SPACES = {
    "deep_sae": {
        "learning_rate": (3e-3, 1e-3, 1e-2),
        "alpha_s": (1.0, 0.5, 2.0),
        "alpha_p": (100.0, 10.0),
        "alpha_b": (0.0, 0.5),
        "sparsity": (0.75, 0.5),
        "size_h1": (200,),
        "size_h2": (30, 45, 60),
    },
    "plain": {
        "learning_rate": _ADAM_RATES,
        "activation": ("sigmoid", "elu"),
        "size_h1": (300,),
        "size_h2": (30, 60),
    },
    "linear": {"learning_rate": _ADAM_RATES, "code_size": (30, 10, 50)},
    "stacked": {
        "learning_rate": _ADAM_RATES,
        "l2": (5e-5, 0.0, 5e-4),
        "size_h1": (300,),
        "size_h2": (150,),
    },
    "tied": {
        "learning_rate": _ADAM_RATES,
        "l2": (5e-5, 0.0, 5e-4),
        "size_h1": (300,),
        "size_h2": (150,),
    },
    "denoising": {
        "learning_rate": _ADAM_RATES,
        "noise": ("gaussian", "dropout"),
        "size_h1": (300,),
        "size_h2": (150,),
    },
    "kl_sae": {
        "learning_rate": _ADAM_RATES,
        "target": (0.1, 0.05, 0.2),
        "weight": (0.2, 0.05, 1.0),
        "size_h1": (1000,),
    },
    "kl_sae_deep": {
        "learning_rate": _ADAM_RATES,
        "target": (0.02, 0.05, 0.1),
        "weight": (7.5e-5, 1e-3, 1e-2),
        "size_h1": (300,),
        "size_h2": (30,),
    },
    "l1_sae": {
        "learning_rate": _ADAM_RATES,
        "beta": (0.05, 0.01, 0.2),
        "code_size": (50,),
    },
    "l2_sae": {
        "learning_rate": _ADAM_RATES,
        "activity_weight": (0.0, 1e-4, 1e-3),
        "kernel_weight": (0.0, 1e-5),
        "units": (196,),
    },
    "vae": {
        "learning_rate": _ADAM_RATES,
        "beta": (1.0, 0.5, 2.0),
        "size_h1": (500,),
        "size_h2": (500,),
        "code_size": (20,),
    },
    "topk_sae": {
        "learning_rate": _ADAM_RATES,
        "k": (16, 8, 32),
        "code_size": (256, 128),
        "aux_weight": (1 / 32, 0.0, 1 / 8),
    },
    "batch_topk_sae": {
        "learning_rate": _ADAM_RATES,
        "k": (16, 8, 32),
        "code_size": (256, 128),
        "aux_weight": (1 / 32, 0.0, 1 / 8),
    },
}

#: Lesson 000's `GridSearchCV` grid, exactly: 4 * 6**3 * 5 * 3 = 12,960
#: configurations of a 784-200-{30,45,60}-200-784 model trained by SGD whose
#: rate halves every 1,000 steps, on lesson 000's `l2_loss / n_inputs`
#: reconstruction, in batches of 32.
SEED000_SPACE = {
    "learning_rate": (0.1, 1.0, 10.0, 100.0),
    "alpha_s": (0.5, 1.0, 2.0, 5.0, 10.0, 100.0),
    "alpha_p": (0.5, 1.0, 2.0, 5.0, 10.0, 100.0),
    "alpha_b": (0.5, 1.0, 2.0, 5.0, 10.0, 100.0),
    "sparsity": (0.25, 0.33, 0.5, 0.66, 0.75),
    "gamma": (0.99,),
    "size_h1": (200,),
    "size_h2": (30, 45, 60),
    "batch_size": (32,),
    "optimizer": ("sgd_halving",),
    "reconstruction": ("l2",),
}


# === Names ===


def model_parameters(model):
    """Sorted names of the hyperparameters `model` accepts.

    `size_h1`, `size_h2`, ... stand for the encoder's layer sizes of models
    with `hidden`; any number of them is accepted (`size_h<i>` for i >= 1).

    Example:

    >>> model_parameters("linear")
    ['batch_size', 'code_size', 'learning_rate', 'optimizer']
    """
    names = set(_COMMON)
    names.update(MODEL_PARAMETERS.get(model, ()))
    if "hidden" in names:
        names.remove("hidden")
        names.update(("size_h1", "size_h2"))
    return sorted(names)


def _has_hidden(model):
    return "hidden" in MODEL_PARAMETERS.get(model, ())


def _kind(model, name):
    """The `_Kind` of hyperparameter `name` of `model`; unknown is an error."""
    if _SIZE.match(name) and _has_hidden(model):
        return _SIZE_KIND
    if name in KINDS and name in model_parameters(model):
        return KINDS[name]
    known = model_parameters(model)
    if _has_hidden(model):
        known = [n for n in known if not _SIZE.match(n)] + ["size_h1, size_h2, ..."]
    raise ValueError(
        f"Invalid value for argument `hyperparameter`. Expected a "
        f"hyperparameter of model {model!r}: one of {', '.join(known)}. "
        f"Received: hyperparameter={name!r}"
    )


def _hyperparameter_error(error):
    """Rewords a `_validation` error about argument `x` as hyperparameter `x`."""
    text = str(error).replace("for argument `", "for hyperparameter `", 1)
    return type(error)(text)


# === Parsing and checking ===


def check_value(model, name, value):
    """Checks one value of hyperparameter `name` of `model`; returns it cleaned.

    Ints are accepted for float hyperparameters (returned as floats);
    strings are parsed when they come from a command line.

    Example:

    >>> check_value("deep_sae", "alpha_p", 100)
    100.0
    >>> check_value("deep_sae", "sparsity", 1.5)
    Traceback (most recent call last):
    ...
    ValueError: Invalid value for hyperparameter `sparsity`. Expected a float in \
(0, 1). Received: sparsity=1.5
    """
    kind = _kind(model, name)
    if isinstance(value, str) and kind.parse is not str:
        try:
            value = kind.parse(value.strip())
        except ValueError:
            raise ValueError(
                f"Invalid value for hyperparameter `{name}`. Expected "
                f"{kind.help}. Received: {name}={value!r}"
            ) from None
    try:
        return kind.check(name, value)
    except (TypeError, ValueError) as error:
        raise _hyperparameter_error(error) from None


def _check_range(model, name, spec):
    kind = _kind(model, name)
    if kind.parse is str:
        raise ValueError(
            f"Invalid value for hyperparameter `{name}`. Expected a list of "
            f"{kind.help} (a range needs a numeric hyperparameter). "
            f"Received: {name}={spec.to_json()!r}"
        )
    low = check_value(model, name, spec.min)
    high = check_value(model, name, spec.max)
    if not low < high:
        raise ValueError(
            f"Invalid value for hyperparameter `{name}`. Expected a range "
            f"with min < max. Received: {name}={spec.to_json()!r}"
        )
    if spec.sampling not in ("linear", "log"):
        raise ValueError(
            f"Invalid value for hyperparameter `{name}`. Expected sampling "
            f"'linear' or 'log'. Received: sampling={spec.sampling!r}"
        )
    if spec.sampling == "log" and low <= 0:
        raise ValueError(
            f"Invalid value for hyperparameter `{name}`. Expected min > 0 "
            f"for log sampling. Received: {name}={spec.to_json()!r}"
        )
    step = spec.step
    if step is not None:
        step = kind.parse(
            _validation.check_float(f"{name}.step", step, 0.0, low_open=True)
        )
        if step <= 0:
            raise ValueError(
                f"Invalid value for hyperparameter `{name}`. Expected a step "
                f"> 0. Received: step={spec.step!r}"
            )
    return Range(low, high, step, spec.sampling)


def check_entry(model, name, spec):
    """Checks one space entry: a value, a list of values or a `Range`.

    Returns:
        A tuple of distinct cleaned values (in the given order), or a
        cleaned `Range`.
    """
    if isinstance(spec, dict):
        spec = _range_from_json(name, spec)
    if isinstance(spec, Range):
        return _check_range(model, name, spec)
    values = spec if isinstance(spec, (list, tuple)) else (spec,)
    if not values:
        raise ValueError(
            f"Invalid value for hyperparameter `{name}`. Expected at least "
            f"one value. Received: {name}={spec!r}"
        )
    cleaned = []
    for value in values:
        value = check_value(model, name, value)
        if value not in cleaned:
            cleaned.append(value)
    return tuple(cleaned)


def _range_from_json(name, data):
    allowed = {"min", "max", "step", "sampling"}
    if not {"min", "max"} <= set(data) or not set(data) <= allowed:
        raise ValueError(
            f"Invalid value for hyperparameter `{name}`. Expected a value, a "
            'list of values or a range {"min": ..., "max": ..., '
            '"step": ... (optional), "sampling": "linear"|"log" '
            f"(optional)}}. Received: {name}={data!r}"
        )
    sampling = data.get("sampling", "linear")
    return Range(data["min"], data["max"], data.get("step"), sampling)


def parse_assignments(assignments):
    """Parses command-line `NAME=VALUE[,VALUE...]` strings into a dict.

    Values stay strings here; `resolve_space` parses and checks them
    against the model's hyperparameters.

    Example:

    >>> parse_assignments(["alpha_p=100", "size_h2=30,45,60"])
    {'alpha_p': ['100'], 'size_h2': ['30', '45', '60']}
    """
    result = {}
    for text in assignments or ():
        name, sep, values = str(text).partition("=")
        name = name.strip()
        parts = [v.strip() for v in values.split(",")]
        if not sep or not name or not all(parts):
            raise ValueError(
                "Invalid value for argument `--set`. Expected NAME=VALUE or "
                "NAME=VALUE1,VALUE2,... (for example alpha_p=100 or "
                f"size_h2=30,45,60). Received: --set={text!r}"
            )
        if name in result:
            raise ValueError(
                f"Invalid value for argument `--set`. Expected each "
                f"hyperparameter once. Received: {name} twice"
            )
        result[name] = parts
    return result


def load_space_file(path):
    """Reads a JSON space file: `{"name": value | [values] | {range}, ...}`.

    Example file (a range is `{"min", "max"}` with optional `"step"` and
    `"sampling": "log"`):

        {"alpha_p": [10, 100], "size_h2": 30,
         "learning_rate": {"min": 1e-4, "max": 1e-1, "sampling": "log"}}

    Returns:
        The dict as read; `resolve_space` checks it against a model.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"Could not read the space file {path!r}: not valid JSON ({error})."
        ) from None
    except UnicodeDecodeError as error:
        raise ValueError(
            f"Could not read the space file {path!r}: not a text file ({error})."
        ) from None
    if not isinstance(data, dict):
        raise ValueError(
            f"Invalid space file {path!r}. Expected a JSON object mapping "
            "hyperparameter names to values, lists of values or ranges. "
            f"Received: a JSON {type(data).__name__}"
        )
    return data


# === Spaces ===


def get_space(model, space="default"):
    """The space called `space` for `model`, unchecked, as a new dict.

    Args:
        model: a model name (`keras_sparse_ae.models.list_models()`).
        space: `"default"` (a small space around the model's defaults) or
            `"seed000"` (lesson 000's 12,960-configuration grid; `deep_sae`
            only).
    """
    _validation.check_choice("space", space, SPACES)
    if space == "seed000":
        if model != "deep_sae":
            raise ValueError(
                "Invalid value for argument `space`. Expected a space defined "
                f"for model {model!r}: 'seed000' is lesson 000's grid for "
                f"'deep_sae' only. Received: space='seed000' with "
                f"model={model!r}"
            )
        return dict(SEED000_SPACE)
    base = {"learning_rate": _ADAM_RATES}
    base.update(DEFAULT_SPACES.get(model, {}))
    base.setdefault("batch_size", (DEFAULT_BATCH_SIZE,))
    return base


def resolve_space(model, space="default", space_file=None, overrides=None):
    """Builds and checks the search space of `model`.

    Layers, each replacing whole entries of the one before: the space
    called `space` (or a mapping), then the JSON `space_file`, then
    `overrides` (e.g. from `parse_assignments`).

    Args:
        model: a model name.
        space: a space name from `SPACES`, or a mapping.
        space_file: optional path of a JSON space file.
        overrides: optional mapping `{name: value or list of values}`.

    Returns:
        An ordered dict `{name: tuple of values or Range}`; every name is a
        hyperparameter of `model` and every value is allowed.

    Raises:
        ValueError: an unknown name, a value outside its allowed set, or
            layer sizes `size_h<i>` with a gap.
    """
    entries = dict(space) if isinstance(space, dict) else get_space(model, space)
    if space_file is not None:
        entries.update(load_space_file(space_file))
    entries.update(overrides or {})
    cleaned = {name: check_entry(model, name, spec) for name, spec in entries.items()}
    sizes = sorted(int(_SIZE.match(n).group(1)) for n in cleaned if _SIZE.match(n))
    if sizes and sizes != list(range(1, len(sizes) + 1)):
        names = ", ".join(f"size_h{i}" for i in sizes)
        raise ValueError(
            "Invalid value for argument `space`. Expected layer sizes "
            "size_h1, size_h2, ... without gaps (hidden=(size_h1, size_h2, "
            f"...)). Received: {names}"
        )
    return cleaned


def grid_size(space):
    """Number of configurations in a grid over `space` (`math.inf` if a
    range has no step)."""
    total = 1
    for spec in space.values():
        if isinstance(spec, Range):
            if spec.step is None:
                return math.inf
            total *= int(math.floor((spec.max - spec.min) / spec.step + 1e-9)) + 1
        else:
            total *= len(spec)
    return total


def is_gridable(space):
    """Whether every entry of `space` is a list of values or a stepped range."""
    return grid_size(space) != math.inf


def space_to_json(space):
    """`space` in the JSON form of space files (for saving and comparing)."""
    return {
        name: spec.to_json() if isinstance(spec, Range) else list(spec)
        for name, spec in space.items()
    }


def tuned_names(space):
    """Names of the entries that have more than one value."""
    return [n for n, s in space.items() if isinstance(s, Range) or len(s) > 1]


def builder_arguments(values):
    """Splits hyperparameter values into builder keyword arguments.

    `size_h1, size_h2, ...` become `hidden`; `batch_size` and KerasTuner's
    own `tuner/...` entries are left out (they are `fit` settings).

    Example:

    >>> builder_arguments({"size_h1": 200, "size_h2": 30, "alpha_p": 100.0,
    ...                    "batch_size": 32, "tuner/epochs": 3})
    {'alpha_p': 100.0, 'hidden': (200, 30)}
    """
    kwargs = {}
    sizes = {}
    for name, value in values.items():
        match = _SIZE.match(name)
        if match:
            sizes[int(match.group(1))] = int(value)
        elif name != "batch_size" and not name.startswith("tuner/"):
            kwargs[name] = value
    if sizes:
        kwargs["hidden"] = tuple(sizes[i] for i in sorted(sizes))
    return kwargs
