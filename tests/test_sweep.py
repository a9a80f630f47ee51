"""`regularization_sweep` and `SweepResult` (lesson 002's regularisation sweep)."""

import functools
import math
import re

import keras
import numpy as np
import pytest

import keras_sparse_ae as ksae
from keras_sparse_ae.datasets import load_digits
from keras_sparse_ae.models import registry
from keras_sparse_ae.sweep import ROW_KEYS, SweepResult, code_layer_name

#: The diverging learning rate overflows float32 on purpose.
pytestmark = pytest.mark.filterwarnings("ignore:overflow encountered in cast")

UNITS = 16
DIVERGING_RATE = 1e300  # overflows float32 on the first step: a sure NaN


@pytest.fixture(scope="module")
def digits():
    """400 training and 200 test digits (8x8, in [0, 1]), disjoint."""
    x, _ = load_digits()
    order = np.random.default_rng(0).permutation(len(x))
    return x[order[:400]], x[order[400:600]]


def sweep(x, values=(0.0, 0.03), **kwargs):
    kwargs.setdefault("epochs", 3)
    kwargs.setdefault("build_kwargs", {"units": UNITS})
    return ksae.regularization_sweep("l2_sae", "activity_weight", values, x, **kwargs)


def numbers(row):
    return {k: v for k, v in row.items() if k != "seconds"}


# === Rows ===


def test_rows_hold_what_the_models_measure(digits):
    x, x_test = digits
    result = sweep(x, x_test=x_test, epochs=3)

    assert isinstance(result, SweepResult)
    assert result.parameter == "activity_weight"
    assert [row["value"] for row in result.rows] == [0.0, 0.03]
    assert sorted(result.models) == sorted(result.histories) == [0.0, 0.03]
    val_index = result.validation_index
    assert len(val_index) == 80 and len(set(val_index)) == 80
    train_index = np.setdiff1d(np.arange(len(x)), val_index)
    for row in result.rows:
        assert list(row) == list(ROW_KEYS)
        model = result.models[row["value"]]
        history = result.histories[row["value"]]
        assert row["diverged"] is False
        assert row["epochs"] == 3 == len(history["val_loss"])
        assert 1 <= row["best_epoch"] <= 3
        assert row["seconds"] > 0
        # The restored best weights: the validation loss of the best epoch.
        assert row["val_loss"] == pytest.approx(
            history["val_loss"][row["best_epoch"] - 1], rel=1e-5
        )
        for key, data in (
            ("train", x[train_index]),
            ("val", x[val_index]),
            ("test", x_test),
        ):
            logs = model.evaluate(
                data, batch_size=len(data), verbose=0, return_dict=True
            )
            assert row[f"{key}_loss"] == pytest.approx(logs["loss"], rel=1e-5), key
            assert row[f"{key}_reconstruction"] == pytest.approx(
                logs["reconstruction"], rel=1e-5
            )
        # The code is the encoder's output (the `code` ActivityRegularizer).
        code = model.encode(x_test)
        assert row["sparsity_fraction"] == pytest.approx(np.mean(code <= 0.0))
        assert row["mean_activation"] == pytest.approx(np.mean(code), rel=1e-5)
        train_code = model.encode(x[train_index])
        assert row["train_sparsity_fraction"] == pytest.approx(
            np.mean(train_code <= 0.0)
        )
    plain, penalised = result.rows
    # No penalty: the loss is the reconstruction alone.
    assert plain["test_loss"] == pytest.approx(plain["test_reconstruction"], rel=1e-6)
    assert penalised["test_loss"] > penalised["test_reconstruction"] * 1.01


def test_threshold_counts_entries_at_or_below_it(digits):
    x, _ = digits
    result = sweep(x, values=[0.0], epochs=1, threshold=0.1)
    (row,) = result.rows
    code = result.models[0.0].encode(x[result.validation_index])
    assert row["sparsity_fraction"] == pytest.approx(np.mean(code <= 0.1))
    assert row["sparsity_fraction"] > np.mean(code <= 0.0)
    assert math.isnan(row["test_loss"]) and math.isnan(row["test_reconstruction"])


def test_stronger_activity_weight_gives_a_sparser_code(digits):
    x, x_test = digits
    result = sweep(x, values=[0.0, 0.03], x_test=x_test, epochs=5)
    plain, penalised = result.rows
    # Measured: 0.25 and 0.86 after 8 epochs (0.29 and 0.86 after 5).
    assert penalised["sparsity_fraction"] > plain["sparsity_fraction"] + 0.3
    assert penalised["train_sparsity_fraction"] > plain["train_sparsity_fraction"] + 0.3
    assert penalised["mean_activation"] < 0.5 * plain["mean_activation"]
    assert penalised["test_reconstruction"] > plain["test_reconstruction"]


# === Early stopping and the validation split ===


def test_early_stopping_stops_after_patience_and_restores_the_best(digits):
    x, _ = digits
    # No change of val_loss counts as an improvement after the first epoch.
    result = sweep(x, values=[0.0], epochs=50, patience=2, min_delta=10.0)
    (row,) = result.rows
    assert row["epochs"] == 3 and row["best_epoch"] == 1
    history = result.histories[0.0]
    assert len(history["loss"]) == 3
    assert history["val_loss"][2] < history["val_loss"][0]  # later epochs were better
    assert row["val_loss"] == pytest.approx(history["val_loss"][0], rel=1e-5)


def test_validation_split_is_seeded_and_drawn_from_x_only(digits):
    x, x_test = digits
    x_test = 1.0 - x_test  # unlike x: a split drawn from it would show
    first = sweep(x, x_test=x_test, epochs=2, seed=3)
    again = sweep(x, x_test=x_test, epochs=2, seed=3)
    other = sweep(x, values=[0.0], x_test=x_test, epochs=2, seed=4)

    np.testing.assert_array_equal(first.validation_index, again.validation_index)
    assert not np.array_equal(first.validation_index, other.validation_index)
    assert [numbers(r) for r in first.rows] == [numbers(r) for r in again.rows]
    assert first.rows[0]["val_loss"] != other.rows[0]["val_loss"]
    # Validation is a part of x: its loss is x's, far from the test loss.
    model = first.models[0.0]
    val = x[first.validation_index]
    logs = model.evaluate(val, batch_size=len(val), verbose=0, return_dict=True)
    assert first.rows[0]["val_loss"] == pytest.approx(logs["loss"], rel=1e-5)
    assert first.rows[0]["test_loss"] > 1.2 * first.rows[0]["val_loss"]  # 0.23, 0.16
    assert np.all(first.validation_index < len(x))


# === Divergence ===


def test_a_diverged_value_is_recorded_and_the_sweep_goes_on(digits, capsys):
    x, x_test = digits
    result = ksae.regularization_sweep(
        "l2_sae",
        "learning_rate",
        [DIVERGING_RATE, 1e-2],
        x,
        x_test=x_test,
        epochs=2,
        build_kwargs={"units": UNITS, "optimizer": "sgd"},
        verbose=1,
    )
    diverged, finite = result.rows
    assert diverged["diverged"] is True and finite["diverged"] is False
    assert diverged["epochs"] == 1 and diverged["best_epoch"] == 0
    for key in ("train_loss", "val_loss", "test_loss", "sparsity_fraction"):
        assert math.isnan(diverged[key]), key
        assert math.isfinite(finite[key]), key
    assert finite["epochs"] == 2
    assert result.best() is finite
    # The diverged model holds its last finite weights (restored).
    for weight in result.models[DIVERGING_RATE].weights:
        assert np.isfinite(keras.ops.convert_to_numpy(weight)).all()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Sweeping learning_rate over 2 values: 320 training")
    assert lines[1].startswith("learning_rate=1e+300: diverged in epoch 1")
    assert re.match(
        r"learning_rate=0\.01: 2 epochs \(best \d\), val loss [0-9.]+, "
        r"sparsity fraction [0-9.]+, [0-9.]+ s$",
        lines[2],
    )
    assert len(lines) == 3
    assert "| 1e+300 | 1 | diverged |" in result.table()


# === SweepResult ===


def make_row(value, val_loss, diverged=False, **extra):
    row = {key: 0.5 for key in ROW_KEYS}
    row.update(value=value, val_loss=val_loss, diverged=diverged, epochs=4)
    row.update(best_epoch=2, seconds=1.25, test_loss=math.nan)
    row.update(extra)
    return row


def manual_result():
    rows = [
        make_row(0.0, 0.3),
        make_row(1e-3, 0.1, train_loss=0.9),
        # A diverged row whose (stale) val_loss would otherwise win.
        make_row(1e-2, 0.01, diverged=True),
        make_row(1e-1, 0.2, train_loss=0.05),
    ]
    return SweepResult("kernel_weight", rows, {}, {}, np.arange(3))


def test_best_skips_diverged_rows():
    result = manual_result()
    assert result.best()["value"] == 1e-3
    assert result.best("val_loss")["value"] == 1e-3
    assert result.best("train_loss")["value"] == 1e-1
    with pytest.raises(ValueError, match=r"argument `metric`.*Received: metric='acc'"):
        result.best("acc")
    with pytest.raises(ValueError, match="finite `test_loss`.*no x_test"):
        result.best("test_loss")
    everything_diverged = SweepResult("w", [make_row(0.0, 0.1, True)], {}, {}, None)
    with pytest.raises(ValueError, match="every fit diverged"):
        everything_diverged.best()


def test_table_has_a_header_and_one_line_per_value():
    result = manual_result()
    lines = result.table().splitlines()
    assert len(lines) == 2 + 4
    assert lines[0].startswith("| kernel_weight | epochs | best epoch | train loss")
    assert set(lines[1]) == {"|", "-"}
    assert lines[2].startswith("| 0 | 4 | 2 | 0.5 | 0.3 | n/a |")
    assert lines[3].startswith("| 0.001 | 4 | 2 | 0.9 | 0.1 |")
    assert lines[4] == "| 0.01 | 4 | diverged |  |  |  |  |  |  | 1.2 |"
    assert lines[5].startswith("| 0.1 |")
    assert all(line.count("|") == 11 for line in lines)
    assert len(result) == 4 and [r["value"] for r in result][0] == 0.0
    assert repr(result) == (
        "SweepResult(parameter='kernel_weight', values=[0, 0.001, 0.01, 0.1])"
    )


def test_keep_models_false_keeps_none(digits):
    x, _ = digits
    result = sweep(x, values=[0.0], epochs=1, keep_models=False)
    assert result.models == {} and list(result.histories) == [0.0]


# === Models ===


def test_a_callable_model_gets_the_value_and_build_kwargs(digits):
    x, _ = digits
    calls = []

    def make(beta, code_size, learning_rate=None):
        calls.append((beta, code_size))
        return ksae.build_l1_sae(
            input_dim=64,
            code_size=code_size,
            beta=beta,
            seed=0,
            learning_rate=learning_rate,
        )

    result = ksae.regularization_sweep(
        make, "beta", [0.0, 0.5], x, epochs=2, build_kwargs={"code_size": 8}
    )
    assert calls == [(0.0, 8), (0.5, 8)]
    assert [row["value"] for row in result.rows] == [0.0, 0.5]
    assert all(not row["diverged"] for row in result.rows)
    assert result.models[0.5].encoder.output_shape == (None, 8)
    # beta=0.5 penalises the mean code heavily: fewer active units.
    assert result.rows[1]["sparsity_fraction"] > result.rows[0]["sparsity_fraction"]


def test_code_layer_is_the_encoders_last_hidden_layer():
    assert code_layer_name(ksae.build_l2_sae(input_dim=8, units=4)) == "code"
    assert code_layer_name(ksae.build_plain(input_dim=8, hidden=(6, 3))) == "h2"
    assert code_layer_name(ksae.build_deep_sae(input_dim=8, hidden=(6, 3))) == "h2"
    assert code_layer_name(ksae.build_l1_sae(input_dim=8, code_size=3)) == "code"


def test_a_callable_must_return_a_compiled_autoencoder(digits):
    x, _ = digits

    def not_an_autoencoder(weight):
        return keras.Sequential([keras.Input((64,)), keras.layers.Dense(64)])

    with pytest.raises(TypeError, match="compiled keras_sparse_ae Autoencoder"):
        ksae.regularization_sweep(not_an_autoencoder, "weight", [0.1], x, epochs=1)

    def uncompiled(weight):
        encoder = keras.Sequential([keras.Input((64,)), keras.layers.Dense(4)])
        decoder = keras.Sequential([keras.Input((4,)), keras.layers.Dense(64)])
        return ksae.Autoencoder(encoder, decoder)

    with pytest.raises(ValueError, match="uncompiled model"):
        ksae.regularization_sweep(uncompiled, "weight", [0.1], x, epochs=1)


# === Argument errors ===


@pytest.fixture
def no_build(monkeypatch):
    """Every check must fail before a model is built."""

    @functools.wraps(ksae.build_l2_sae)
    def refuse(**kwargs):
        raise AssertionError("a model was built before the arguments were checked")

    monkeypatch.setitem(registry._BUILDERS, "l2_sae", refuse)


X = np.random.default_rng(0).random((20, 6)).astype("float32")
GOOD = dict(model="l2_sae", parameter="activity_weight", values=[0.0, 1e-3], x=X)


def with_(**changes):
    return {**GOOD, **changes}


def call(model, parameter, values, x, **kwargs):
    return ksae.regularization_sweep(model, parameter, values, x, **kwargs)


ERRORS = [
    # The model and its arguments.
    (with_(model="resnet"), ValueError, "argument `model`. Expected one of"),
    (with_(model=42), TypeError, "argument `model`. Expected a registered"),
    (
        with_(parameter="alpha"),
        ValueError,
        "argument `parameter`. Expected an argument of the builder of model "
        "'l2_sae': one of units, activity_weight, kernel_weight, learning_rate, "
        "optimizer. Received: parameter='alpha'",
    ),
    (with_(parameter=None), TypeError, "argument `parameter`"),
    (with_(parameter="input_dim"), ValueError, "other than 'input_dim'"),
    (
        with_(build_kwargs={"unit": 8}),
        ValueError,
        "argument `build_kwargs`. Expected arguments of the builder of model "
        "'l2_sae': units, activity_weight, kernel_weight, learning_rate, "
        "optimizer. Received: unknown argument 'unit'",
    ),
    (with_(build_kwargs={"activity_weight": 1.0}), ValueError, "swept parameter"),
    (with_(build_kwargs={"seed": 1}), ValueError, "no 'seed'"),
    (with_(build_kwargs={"input_dim": 6}), ValueError, "no 'input_dim'"),
    (with_(build_kwargs=[("units", 8)]), TypeError, "argument `build_kwargs`"),
    # The values.
    (with_(values=[]), ValueError, "argument `values`. Expected a non-empty"),
    (with_(values=[0.0, float("nan")]), ValueError, "Received: values=nan"),
    (with_(values=[float("inf")]), ValueError, "Received: values=inf"),
    (with_(values=[0.0, "1e-3"]), TypeError, "Received: values='1e-3'"),
    (with_(values=[True]), TypeError, "argument `values`"),
    (with_(values=0.001), TypeError, "argument `values`"),
    (with_(values=[1e-3, 1e-3]), ValueError, "Received: 0.001 twice"),
    # The data.
    (with_(x=X[:, 0]), ValueError, "argument `x`"),
    (with_(x=np.where(X > 0.5, np.nan, X)), ValueError, "argument `x`"),
    (with_(x=[["a", "b"]]), TypeError, "argument `x`"),
    (with_(x_test=X[:, :4]), ValueError, "argument `x_test`"),
    # Fit settings.
    (with_(validation_split=0.0), ValueError, "argument `validation_split`"),
    (with_(validation_split=1.0), ValueError, "argument `validation_split`"),
    (with_(validation_split=0.01), ValueError, "at least one training and one"),
    (with_(validation_split="0.2"), TypeError, "argument `validation_split`"),
    (with_(epochs=0), ValueError, "argument `epochs`. Expected an integer >= 1"),
    (with_(epochs=2.5), TypeError, "argument `epochs`"),
    (with_(patience=-1), ValueError, "argument `patience`. Expected an integer >= 0"),
    (with_(patience=1.0), TypeError, "argument `patience`"),
    (with_(min_delta=-1e-4), ValueError, "argument `min_delta`"),
    (with_(batch_size=0), ValueError, "argument `batch_size`"),
    (with_(seed=-1), ValueError, "argument `seed`"),
    (with_(threshold=float("nan")), ValueError, "argument `threshold`"),
    (with_(keep_models="yes"), TypeError, "argument `keep_models`"),
    (with_(verbose=-1), ValueError, "argument `verbose`"),
]


@pytest.mark.parametrize(
    "kwargs, error, message", ERRORS, ids=[str(i) for i in range(len(ERRORS))]
)
def test_argument_errors(no_build, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        call(**kwargs)


def test_callable_signature_is_checked_and_kwargs_accepted(no_build, digits):
    def builder(beta, code_size=4):
        raise AssertionError("built")

    with pytest.raises(
        ValueError,
        match=re.escape(
            "argument `parameter`. Expected an argument of the builder of model "
            "builder: one of beta, code_size. Received: parameter='gamma'"
        ),
    ):
        call(builder, "gamma", [0.1], X)

    def open_builder(**kwargs):
        raise RuntimeError(f"built with {sorted(kwargs)}")

    # **kwargs: nothing to check; the builder is called with the value.
    with pytest.raises(RuntimeError, match=r"built with \['gamma', 'size'\]"):
        call(open_builder, "gamma", [0.1], X, build_kwargs={"size": 3})


# === Plot (plotting.plot_sweep) ===


def test_plot_draws_the_sweep():
    from matplotlib.figure import Figure

    figure = manual_result().plot()
    assert isinstance(figure, Figure)
    loss_ax, sparsity_ax = figure.axes
    assert loss_ax.get_xlabel() == "kernel_weight"
    # 0 among the values and a span over 10x: symlog.
    assert loss_ax.get_xscale() == "symlog"
    assert manual_result().plot(scale="linear").axes[0].get_xscale() == "linear"
