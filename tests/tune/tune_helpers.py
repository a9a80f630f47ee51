"""Helpers of the tuning tests: tiny searches on sklearn's digits."""

import keras

#: A tiny deep_sae (64-16-4-16-64), one epoch on the 8x8 digits.
TINY_SET = {"size_h1": 16, "size_h2": 4}
TINY_ARGS = ["--data", "digits", "--epochs", "1"]
TINY_ARGS += ["--set", "size_h1=16", "--set", "size_h2=4"]
#: A learning rate that overflows float32 on the first step: a sure NaN.
DIVERGING_RATE = 1e300


def tiny_search(directory, **kwargs):
    """`run_search` keyword arguments of a tiny search in `directory`."""
    settings = dict(
        tuner="random",
        data="digits",
        epochs=1,
        directory=str(directory),
        progress=None,
    )
    overrides = dict(TINY_SET)
    overrides.update(kwargs.pop("overrides", {}))
    settings["overrides"] = overrides
    settings.update(kwargs)
    return settings


def is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == b"\x89PNG\r\n\x1a\n"


def tensorflow_backend():
    return keras.backend.backend() == "tensorflow"
