"""`keras_sparse_ae.callbacks.TraceRecorder`: what it records, when, errors."""

import keras
import numpy as np
import pytest

import keras_sparse_ae as ksae
from keras_sparse_ae import callbacks, config
from keras_sparse_ae.layers.participation_trace import ParticipationTrace


def _model(**kwargs):
    return ksae.build_deep_sae(input_dim=16, hidden=(8, 4), seed=0, **kwargs)


def _data(samples=64):
    return np.random.default_rng(0).random((samples, 16)).astype("float32")


def _trace(model, name):
    layer = next(
        layer
        for part in (model.encoder, model.decoder)
        for layer in part.layers
        if layer.name == name
    )
    return keras.ops.convert_to_numpy(layer.trace)


def _compiled_model(steps_per_execution):
    model = _model()
    model.compile(
        optimizer="adam",
        steps_per_execution=steps_per_execution,
        jit_compile=config.jit_compile(model),
    )
    return model


def _assert_recorded_after_steps_3_and_6(recorder, truth):
    """Records 1 and 2 hold the traces after the 3rd and 6th batches."""
    for name in ("h1", "h2", "h3"):
        np.testing.assert_array_equal(recorder.traces[name][1], truth.seen[2][name])
        np.testing.assert_array_equal(recorder.traces[name][2], truth.seen[5][name])


class _Truth(keras.callbacks.Callback):
    """Copies the traces at every batch hook: what the recorder should see."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_train_batch_end(self, batch, logs=None):
        model = self.model
        self.seen.append(
            {name: _trace(model, name).copy() for name in ("h1", "h2", "h3")}
        )


def test_exported_next_to_divergence_guard():
    assert ksae.TraceRecorder is callbacks.TraceRecorder
    assert "TraceRecorder" in ksae.__all__ and "TraceRecorder" in callbacks.__all__


def test_records_before_training_and_at_each_epoch_end():
    model = _model(sparsity=0.8)
    initial = {name: _trace(model, name) for name in ("h1", "h2", "h3")}
    recorder = ksae.TraceRecorder()
    model.fit(_data(), epochs=3, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.steps == [0, 4, 8, 12]
    traces = recorder.traces
    assert list(traces) == ["h1", "h2", "h3"]
    assert recorder.targets == {"h1": 0.8, "h2": 0.8, "h3": 0.8}
    for name, values in traces.items():
        assert values.dtype == np.float32
        assert values.shape == (4, len(initial[name]))
        # Step 0 is the initial trace (1 - sparsity); the last is the layer's.
        np.testing.assert_array_equal(values[0], initial[name])
        np.testing.assert_allclose(values[0], 0.2, rtol=1e-6)
        np.testing.assert_array_equal(values[-1], _trace(model, name))
        # Copies, not views: the traces moved during training.
        assert np.abs(values[-1] - values[0]).max() > 1e-3


def test_epoch_records_equal_the_traces_at_each_epoch_end():
    model = _compiled_model(steps_per_execution=1)
    recorder, truth = ksae.TraceRecorder(), _Truth()
    model.fit(
        _data(48), epochs=2, batch_size=16, verbose=0, callbacks=[truth, recorder]
    )
    assert recorder.steps == [0, 3, 6]
    _assert_recorded_after_steps_3_and_6(recorder, truth)


def test_every_n_batches_records_every_n_steps():
    model = _compiled_model(steps_per_execution=1)
    recorder, truth = ksae.TraceRecorder(every_n_batches=3), _Truth()
    model.fit(
        _data(64), epochs=2, batch_size=16, verbose=0, callbacks=[truth, recorder]
    )
    # 8 steps: recorded after steps 3 and 6, not at the epoch ends (4, 8).
    assert recorder.steps == [0, 3, 6]
    _assert_recorded_after_steps_3_and_6(recorder, truth)


def test_steps_are_exact_with_steps_per_execution():
    # 5 steps an epoch, 3 per execution: hooks after steps 3, 5, 8, 10 (Keras
    # reports the last, partial execution as ending at step 6 of the epoch).
    model = _compiled_model(steps_per_execution=3)
    recorder = ksae.TraceRecorder(every_n_batches=2)
    model.fit(_data(80), epochs=2, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.steps == [0, 3, 5, 8, 10]
    by_epoch = ksae.TraceRecorder()
    model.fit(_data(80), epochs=2, batch_size=16, verbose=0, callbacks=[by_epoch])
    assert by_epoch.steps == [0, 5, 10]  # a new fit starts a new record
    assert by_epoch.traces["h1"].shape == (3, 8)


def test_default_builder_with_ten_steps_per_execution():
    model = _model()
    assert model.steps_per_execution in (1, 10)  # 1 on torch
    recorder = ksae.TraceRecorder()
    model.fit(_data(72), epochs=2, batch_size=16, verbose=0, callbacks=[recorder])
    assert recorder.steps == [0, 5, 10]


def test_finds_traces_in_any_model():
    inputs = keras.Input((6,))
    hidden = keras.layers.Dense(4, activation="sigmoid")(inputs)
    traced = ParticipationTrace(sparsity=0.5, name="inner_trace")(hidden)
    inner = keras.Model(inputs, traced, name="inner")
    outer = keras.Sequential([keras.Input((6,)), inner, keras.layers.Dense(6)])
    assert [layer.name for layer in callbacks.trace_layers(outer)] == ["inner_trace"]


def test_rejects_a_model_without_traces_before_training():
    model = ksae.build_plain(input_dim=16, hidden=(8, 4), seed=0)
    before = [keras.ops.convert_to_numpy(w) for w in model.weights]
    with pytest.raises(
        ValueError,
        match=r"argument `model`. Expected a model with at least one "
        r"`ParticipationTrace` layer.*Received: model '.*' without one",
    ):
        model.fit(_data(), epochs=1, verbose=0, callbacks=[ksae.TraceRecorder()])
    for old, new in zip(before, model.weights):
        np.testing.assert_array_equal(old, keras.ops.convert_to_numpy(new))


@pytest.mark.parametrize(
    "value, error",
    [(0, ValueError), (-2, ValueError), (1.5, TypeError), ("2", TypeError)],
)
def test_rejects_a_bad_every_n_batches(value, error):
    with pytest.raises(error, match="argument `every_n_batches`. Expected an integer"):
        ksae.TraceRecorder(every_n_batches=value)


def test_empty_before_training():
    recorder = ksae.TraceRecorder()
    assert recorder.steps == [] and recorder.traces == {} and recorder.targets == {}
