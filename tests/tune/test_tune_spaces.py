"""Search spaces and HyperModels: names, values, lesson 000's grid, builds."""

import json

import keras
import keras_tuner
import numpy as np
import pytest
from keras_tuner.engine import hyperparameters as kt_hps
from tune_helpers import DIVERGING_RATE

from keras_sparse_ae.models.registry import list_models
from keras_sparse_ae.tune import (
    AutoencoderHyperModel,
    DeepSAEHyperModel,
    Range,
    check_history,
    get_space,
    grid_size,
    hyperband_budget,
    load_space_file,
    model_parameters,
    parse_assignments,
    planned_trials,
    resolve_space,
)
from keras_sparse_ae.tune.hypermodels import declare
from keras_sparse_ae.tune.spaces import DEFAULT_SPACES, builder_arguments

#: The diverging learning rate overflows float32 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast")

# === Lesson 000's grid ===


def test_seed000_is_lesson_000_grid_exactly():
    space = resolve_space("deep_sae", "seed000")
    assert space["learning_rate"] == (0.1, 1.0, 10.0, 100.0)
    for name in ("alpha_s", "alpha_p", "alpha_b"):
        assert space[name] == (0.5, 1.0, 2.0, 5.0, 10.0, 100.0)
    assert space["sparsity"] == (0.25, 0.33, 0.5, 0.66, 0.75)
    assert space["size_h2"] == (30, 45, 60)
    # Fixed: SGD with a halving rate, l2 reconstruction, 784-200-h2, batch 32.
    assert space["size_h1"] == (200,)
    assert space["gamma"] == (0.99,)
    assert space["batch_size"] == (32,)
    assert space["optimizer"] == ("sgd_halving",)
    assert space["reconstruction"] == ("l2",)
    assert grid_size(space) == 4 * 6 * 6 * 6 * 5 * 3 == 12960
    assert planned_trials("grid", space, None, 1, 3) == 12960


def test_seed000_is_for_deep_sae_only():
    with pytest.raises(ValueError, match="'seed000' is lesson 000's grid"):
        get_space("linear", "seed000")


def test_seed000_first_trial_builds_lesson_model():
    hypermodel = DeepSAEHyperModel(input_dim=784, space="seed000")
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert model.encoder.output_shape == (None, 30)
    assert model.reconstruction == "l2"
    # sgd_halving: an SGD whose rate is a staircase schedule starting at 0.1.
    assert isinstance(model.optimizer, keras.optimizers.SGD)
    schedule = model.optimizer._learning_rate
    assert float(schedule(0)) == pytest.approx(0.1)
    assert float(schedule(1000)) == pytest.approx(0.05)
    assert hp.values["batch_size"] == 32


# === Overrides and files ===


def test_set_fixes_or_overrides_values():
    overrides = parse_assignments(["alpha_p=100", "size_h2=30,45"])
    space = resolve_space("deep_sae", "seed000", overrides=overrides)
    assert space["alpha_p"] == (100.0,)
    assert space["size_h2"] == (30, 45)
    assert grid_size(space) == 4 * 6 * 1 * 6 * 5 * 2


def test_space_file_then_set(tmp_path):
    path = tmp_path / "space.json"
    path.write_text(
        json.dumps(
            {
                "alpha_p": [10, 100],
                "learning_rate": {"min": 1e-4, "max": 1e-1, "sampling": "log"},
                "size_h2": {"min": 10, "max": 30, "step": 10},
            }
        )
    )
    space = resolve_space("deep_sae", "default", path, overrides={"alpha_p": ["5"]})
    assert space["alpha_p"] == (5.0,)
    assert space["learning_rate"] == Range(1e-4, 1e-1, None, "log")
    assert space["size_h2"] == Range(10, 30, 10)
    assert grid_size(space) == float("inf")  # the rate range has no step
    hp = keras_tuner.HyperParameters()
    values = AutoencoderHyperModel("deep_sae", 64, space).declare(hp)
    declared = {p.name: p for p in hp.space}
    assert isinstance(declared["learning_rate"], kt_hps.Float)
    assert declared["learning_rate"].sampling == "log"
    assert isinstance(declared["size_h2"], kt_hps.Int)
    assert values["size_h2"] == 10


@pytest.mark.parametrize(
    "text, match",
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "Expected a JSON object"),
        ('{"alpha_p": {"min": 1}}', "a range"),
        ('{"alpha_p": {"min": 5, "max": 1}}', "min < max"),
        ('{"optimizer": {"min": 1, "max": 2}}', "needs a numeric"),
    ],
)
def test_bad_space_files(tmp_path, text, match):
    path = tmp_path / "space.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        resolve_space("deep_sae", "default", path)


def test_load_space_file_missing(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_space_file(tmp_path / "missing.json")


# === Errors ===


def test_unknown_hyperparameter_lists_known_ones():
    with pytest.raises(ValueError) as info:
        resolve_space("deep_sae", overrides={"alpha_q": [1]})
    message = str(info.value)
    assert "Received: hyperparameter='alpha_q'" in message
    assert "alpha_p" in message and "size_h1, size_h2, ..." in message
    # `linear` has a code size, not hidden layers.
    with pytest.raises(ValueError, match="hyperparameter='size_h1'"):
        resolve_space("linear", overrides={"size_h1": [4]})


@pytest.mark.parametrize(
    "assignment, match",
    [
        ("sparsity=1.5", r"hyperparameter `sparsity`. Expected a float in \(0, 1\)"),
        ("optimizer=rmsprop", "hyperparameter `optimizer`. Expected one of"),
        ("size_h2=0", "hyperparameter `size_h2`. Expected an integer >= 1"),
        ("size_h2=3.5", "hyperparameter `size_h2`. Expected an int >= 1"),
        ("learning_rate=-1", "hyperparameter `learning_rate`"),
        ("alpha_p=abc", "hyperparameter `alpha_p`"),
        ("batch_size=0", "hyperparameter `batch_size`"),
    ],
)
def test_values_outside_their_allowed_set(assignment, match):
    with pytest.raises(ValueError, match=match):
        resolve_space("deep_sae", overrides=parse_assignments([assignment]))


@pytest.mark.parametrize("text", ["alpha_p", "=1", "alpha_p=", "alpha_p=1,,2"])
def test_malformed_assignments(text):
    with pytest.raises(ValueError, match="Expected NAME=VALUE"):
        parse_assignments([text])


def test_repeated_assignment():
    with pytest.raises(ValueError, match="each hyperparameter once"):
        parse_assignments(["alpha_p=1", "alpha_p=2"])


def test_layer_sizes_without_gap():
    with pytest.raises(ValueError, match="without gaps"):
        resolve_space("deep_sae", overrides={"size_h4": [3]})
    space = resolve_space("deep_sae", overrides={"size_h3": [3]})
    assert builder_arguments({n: s[0] for n, s in space.items()})["hidden"] == (
        200,
        30,
        3,
    )


def test_bad_space_name():
    with pytest.raises(ValueError, match="Received: space='nope'"):
        resolve_space("deep_sae", "nope")


# === HyperModels ===


def test_every_registered_model_has_a_space_that_builds():
    tiny = {"size_h1": 8, "size_h2": 4, "code_size": 3, "units": 4, "k": 2}
    for name in list_models():
        assert name in DEFAULT_SPACES, name
        params = model_parameters(name)
        overrides = {k: v for k, v in tiny.items() if k in params}
        if name == "kl_sae":
            overrides.pop("size_h2")
        hypermodel = AutoencoderHyperModel(name, 16, overrides=overrides, seed=0)
        model = hypermodel.build(keras_tuner.HyperParameters())
        assert model.optimizer is not None, name
        assert model.encoder.output_shape[-1] in (3, 4, 8), name
        keras.backend.clear_session(free_memory=False)


def test_declare_orders_numbers_and_keeps_default():
    hp = keras_tuner.HyperParameters()
    assert declare(hp, "learning_rate", (3e-3, 1e-3, 1e-2)) == 3e-3
    choice = {p.name: p for p in hp.space}["learning_rate"]
    assert list(choice.values) == [1e-3, 3e-3, 1e-2]
    assert choice.default == 3e-3
    assert declare(hp, "gamma", (0.99,)) == 0.99
    assert isinstance({p.name: p for p in hp.space}["gamma"], kt_hps.Fixed)
    assert declare(hp, "optimizer", ("sgd", "adam")) == "sgd"


def test_builder_arguments_collects_hidden():
    values = {"size_h2": 30, "size_h1": 200, "batch_size": 32, "tuner/epochs": 2}
    assert builder_arguments(values) == {"hidden": (200, 30)}


def test_check_history_raises_failed_trial_on_nan():
    history = keras.callbacks.History()
    history.epoch = [0, 1]
    history.history = {"h1_participation": [1.0, np.nan], "loss": [1.0, np.nan]}
    with pytest.raises(
        keras_tuner.errors.FailedTrialError, match="`loss` became nan in epoch 2"
    ):
        check_history(history)
    history.history = {"loss": [1.0, 0.5]}
    check_history(history)


def test_fit_stops_a_diverging_trial(heldout_digits):
    hypermodel = AutoencoderHyperModel(
        "deep_sae",
        64,
        overrides={"size_h1": 8, "size_h2": 4, "learning_rate": DIVERGING_RATE},
    )
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    with pytest.raises(keras_tuner.errors.FailedTrialError, match="diverged"):
        hypermodel.fit(hp, model, heldout_digits, epochs=3)
    # TerminateOnNaN ended training in the first epoch.
    assert hypermodel.epochs_run == 1


def test_hyperband_budget_matches_kerastuner_schedule():
    assert hyperband_budget(9, 3) == (23, 75)
    assert hyperband_budget(2, 2) == (5, 7)
