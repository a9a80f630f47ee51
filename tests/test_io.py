"""`keras_sparse_ae.io`: atomic writes leave files with ordinary permissions."""

import os
import stat

import numpy as np
import pytest

import keras_sparse_ae as ksae
from keras_sparse_ae import io, plotting


@pytest.fixture
def umask():
    """Sets the process umask for a test, then restores it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o027, 0o640)])
def test_new_files_get_0o666_less_the_umask(tmp_path, umask, mask, expected):
    umask(mask)
    io.write_json(tmp_path / "a.json", {"a": 1})
    with io.atomic_path(tmp_path / "b.md", suffix=".md") as tmp:
        with open(tmp, "w") as f:
            f.write("text")
    figure = plotting.plot_images(np.zeros((2, 4)))
    io.save_figure(figure, tmp_path / "c.png")
    for name in ("a.json", "b.md", "c.png"):
        assert _mode(tmp_path / name) == expected, name
    assert sorted(os.listdir(tmp_path)) == ["a.json", "b.md", "c.png"]


def test_saved_models_are_readable_by_others(tmp_path, umask):
    umask(0o022)
    model = ksae.build_plain(input_dim=4, hidden=(2,), seed=0)
    io.save_model(model, tmp_path / "model.keras")
    assert _mode(tmp_path / "model.keras") == 0o644


def test_a_replaced_file_keeps_its_permissions(tmp_path, umask):
    umask(0o022)
    path = tmp_path / "a.json"
    path.write_text("{}")
    os.chmod(path, 0o604)
    io.write_json(path, {"a": 2})
    assert _mode(path) == 0o604
    assert path.read_text() == '{\n  "a": 2\n}\n'


def test_a_failed_write_leaves_the_old_file_and_mode(tmp_path, umask):
    path = tmp_path / "a.json"
    path.write_text("{}")
    os.chmod(path, 0o640)
    with pytest.raises(RuntimeError):
        with io.atomic_path(path) as tmp:
            with open(tmp, "w") as f:
                f.write("half")
            raise RuntimeError("boom")
    assert path.read_text() == "{}" and _mode(path) == 0o640
    assert os.listdir(tmp_path) == ["a.json"]
