"""Atomic file output: write to a temporary name, then rename."""

import contextlib
import json
import os
import stat
import tempfile

import keras
import numpy as np


@contextlib.contextmanager
def atomic_path(path, suffix=""):
    """Yields a temporary path beside `path`; renames it to `path` on success.

    If the body raises, the temporary file is removed and `path` is left as
    it was (an existing file is never half-overwritten).

    The final file gets ordinary permissions, not the owner-only mode of a
    temporary file: those of the file it replaces, else `0o666` less the
    process umask (what `open(path, "w")` would give).

    Args:
        path: the final path.
        suffix: ending of the temporary name (Keras wants `.keras`).
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, tmp = tempfile.mkstemp(
        prefix=f".{os.path.basename(path)}.", suffix=suffix or ".tmp", dir=folder
    )
    os.close(handle)
    try:
        yield tmp
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def _final_mode(path):
    """Permission bits for a file written to `path` (see `atomic_path`)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask():
    """The process umask, read without changing it where Linux allows."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    # Elsewhere: set and restore (not atomic between threads).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_json(path, data):
    """Writes `data` as indented JSON, atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=False)
        f.write("\n")


def check_finite_weights(model):
    """Raises `ValueError` if a variable of `model` holds NaN or inf."""
    for variable in model.variables:
        value = np.asarray(keras.ops.convert_to_numpy(variable))
        if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
            bad = int(np.count_nonzero(~np.isfinite(value)))
            raise ValueError(
                f"Cannot save model '{model.name}': its variable "
                f"`{variable.path}` holds {bad} non-finite values (NaN or "
                "inf), so training diverged. Nothing was written. Retrain with "
                "a lower learning rate or lower penalty weights."
            )


def save_model(model, path):
    """Saves a Keras model to a `.keras` file, atomically.

    A model whose weights hold NaN or inf is refused with a `ValueError`
    and nothing is written.
    """
    check_finite_weights(model)
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def save_figure(figure, path, dpi=100):
    """Saves a matplotlib figure as PNG, atomically."""
    with atomic_path(path, suffix=".png") as tmp:
        figure.savefig(tmp, dpi=dpi, bbox_inches="tight")
