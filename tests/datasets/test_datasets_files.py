"""Tests of `load_array` and `load_idx` on files written to tmp_path."""

import gzip
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_sparse_ae.datasets import load_array, load_idx

# ---------------------------------------------------------------- .npy / .npz


def test_npy_float_round_trip(tmp_path):
    X = np.random.default_rng(0).random((7, 5))
    np.save(tmp_path / "x.npy", X)
    out = load_array(tmp_path / "x.npy")
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X, rtol=1e-6)


def test_npy_uint8_images_are_flattened_and_scaled(tmp_path):
    images = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    path = str(tmp_path / "images.npy")
    np.save(path, images)
    out = load_array(path, input_dim=784)
    assert out.shape == (4, 784)
    np.testing.assert_array_equal(out, images.reshape(4, -1) / np.float32(255))


def test_wrong_width_names_the_file(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 64), dtype=np.float32))
    with pytest.raises(
        ValueError,
        match=r"Expected X with 784 features \(columns\)"
        r"\. Received: X with 64 features.*x\.npy",
    ):
        load_array(tmp_path / "x.npy", input_dim=784)


def test_npy_with_nan_is_rejected_with_location(tmp_path):
    X = np.zeros((3, 3))
    X[2, 1] = np.nan
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(ValueError, match=r"1 non-finite value.*row 2, column 1"):
        load_array(tmp_path / "x.npy")


def test_npy_of_strings_raises_type_error(tmp_path):
    np.save(tmp_path / "s.npy", np.array([["a", "b"]]))
    with pytest.raises(TypeError, match=r"numeric array.*s\.npy"):
        load_array(tmp_path / "s.npy")


def test_1d_npy_is_rejected(tmp_path):
    np.save(tmp_path / "v.npy", np.arange(5.0))
    with pytest.raises(ValueError, match=r"2-D array.*shape \(5,\)"):
        load_array(tmp_path / "v.npy")


def test_corrupt_npy_raises_value_error_naming_the_file(tmp_path):
    path = tmp_path / "bad.npy"
    path.write_bytes(b"this is not a numpy file at all")
    with pytest.raises(ValueError, match=r"Could not read '.*bad\.npy' as a \.npy"):
        load_array(path)


def test_truncated_npy_raises_value_error(tmp_path):
    path = tmp_path / "cut.npy"
    np.save(path, np.zeros((100, 10)))
    path.write_bytes(path.read_bytes()[:500])
    with pytest.raises(ValueError, match=r"Could not read '.*cut\.npy'"):
        load_array(path)


class _Exploit:
    """Unpickling it would create the file `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickled_npy_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "objects.npy"
    array = np.empty((1, 1), dtype=object)
    array[0, 0] = _Exploit(str(marker))
    np.save(path, array, allow_pickle=True)
    assert not marker.exists()
    with pytest.raises(ValueError, match=r"objects\.npy"):
        load_array(path)
    assert not marker.exists()


def test_raw_pickle_under_npy_name_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "raw.npy"
    path.write_bytes(pickle.dumps(_Exploit(str(marker))))
    with pytest.raises(ValueError, match=r"raw\.npy"):
        load_array(path)
    assert not marker.exists()


def test_npz_with_a_single_array(tmp_path):
    X = np.random.default_rng(2).random((3, 4)).astype(np.float32)
    np.savez(tmp_path / "one.npz", data=X)
    np.testing.assert_array_equal(load_array(tmp_path / "one.npz"), X)


def test_compressed_npz_with_key(tmp_path):
    a = np.ones((2, 3))
    b = np.full((4, 5), 0.5)
    np.savez_compressed(tmp_path / "two.npz", a=a, b=b)
    np.testing.assert_array_equal(load_array(tmp_path / "two.npz", key="b"), b)


def test_npz_with_several_arrays_and_no_key_lists_them(tmp_path):
    np.savez(tmp_path / "two.npz", x_train=np.ones((2, 2)), y_train=np.ones(2))
    with pytest.raises(
        ValueError,
        match=r"argument `key`.*holds 2 arrays: "
        r"x_train, y_train\. Received: key=None",
    ):
        load_array(tmp_path / "two.npz")


def test_npz_with_unknown_key_lists_the_keys(tmp_path):
    np.savez(tmp_path / "two.npz", a=np.ones((2, 2)), b=np.ones((2, 2)))
    with pytest.raises(
        ValueError,
        match=r"one of the arrays in .*: a, b\. "
        r"Received: key='c'",
    ):
        load_array(tmp_path / "two.npz", key="c")


def test_empty_npz_is_rejected(tmp_path):
    np.savez(tmp_path / "none.npz")
    with pytest.raises(ValueError, match=r"holds 0 arrays"):
        load_array(tmp_path / "none.npz")


def test_key_must_be_a_string(tmp_path):
    np.savez(tmp_path / "one.npz", a=np.ones((2, 2)))
    with pytest.raises(TypeError, match=r"argument `key`"):
        load_array(tmp_path / "one.npz", key=0)


def test_key_with_a_non_npz_file_is_rejected(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"argument `key`.*non-\.npz file"):
        load_array(tmp_path / "x.npy", key="a")


def test_corrupt_npz_raises_value_error_naming_the_file(tmp_path):
    path = tmp_path / "bad.npz"
    path.write_bytes(b"PK\x03\x04 but then garbage")
    with pytest.raises(ValueError, match=r"Could not read '.*bad\.npz' as a \.npz"):
        load_array(path)


def test_npz_with_a_corrupt_member_names_the_file(tmp_path):
    path = tmp_path / "member.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.npy", b"\x93NUMPY garbage")
    with pytest.raises(ValueError, match=r"member\.npz.*array 'a'"):
        load_array(path)


def test_npz_with_pickled_member_is_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    array = np.empty((1, 1), dtype=object)
    array[0, 0] = _Exploit(str(marker))
    np.savez(tmp_path / "obj.npz", a=array)
    with pytest.raises(ValueError, match=r"obj\.npz"):
        load_array(tmp_path / "obj.npz")
    assert not marker.exists()


# ---------------------------------------------------------------------- CSV


def test_csv_without_header(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("0,0.5,1\n0.25,0.75,0\n")
    np.testing.assert_array_equal(load_array(path), [[0, 0.5, 1], [0.25, 0.75, 0]])


def test_csv_with_header_skips_it(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('"a","b"\n1,2\n3,4\n')
    np.testing.assert_array_equal(load_array(path), [[1, 2], [3, 4]])


def test_csv_gz_with_header(tmp_path):
    path = tmp_path / "x.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("p0,p1,p2\n0.1,0.2,0.3\n")
    out = load_array(path)
    assert out.shape == (1, 3)
    np.testing.assert_allclose(out, [[0.1, 0.2, 0.3]], rtol=1e-6)


def test_csv_single_column_stays_2d(tmp_path):
    path = tmp_path / "col.csv"
    path.write_text("0.1\n0.2\n0.3\n")
    assert load_array(path).shape == (3, 1)


def test_csv_of_pixel_values_is_not_scaled(tmp_path):
    path = tmp_path / "pixels.csv"
    path.write_text("0,255\n51,102\n")
    # Read as floats, so not scaled: pixel CSVs must be divided by the user.
    out = load_array(path)
    np.testing.assert_array_equal(out, [[0, 255], [51, 102]])


def test_csv_with_non_numeric_value_names_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2\n3,x\n")
    with pytest.raises(
        ValueError,
        match=r"Could not read '.*bad\.csv' as a numeric"
        r" CSV.*'x'",
    ):
        load_array(path)


def test_csv_with_ragged_rows_names_the_file(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("1,2,3\n4,5\n")
    with pytest.raises(ValueError, match=r"ragged\.csv"):
        load_array(path)


def test_csv_with_nan_is_rejected(tmp_path):
    path = tmp_path / "nan.csv"
    path.write_text("1,2\nnan,4\n")
    with pytest.raises(ValueError, match=r"non-finite.*row 1, column 0.*nan\.csv"):
        load_array(path)


@pytest.mark.parametrize("content", ["", "a,b,c\n"])
def test_csv_without_data_rows_is_rejected(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"empty\.csv' contains no data rows"):
        load_array(path)


def test_corrupt_csv_gz_names_the_file(tmp_path):
    path = tmp_path / "bad.csv.gz"
    path.write_bytes(b"not gzip")
    with pytest.raises(ValueError, match=r"bad\.csv\.gz"):
        load_array(path)


# ---------------------------------------------------------------------- IDX


@pytest.mark.parametrize(
    "name, gz",
    [
        ("train-images-idx3-ubyte", False),
        ("t10k-images-idx3-ubyte.gz", True),
        ("images.idx3-ubyte", False),
        ("images.idx", False),
        ("images.idx3.gz", True),
    ],
)
def test_idx_images_are_flattened_and_scaled(tmp_path, idx_writer, name, gz):
    images = np.random.default_rng(3).integers(0, 256, (5, 28, 28), dtype=np.uint8)
    path = idx_writer(tmp_path / name, images, 0x08, gz=gz)
    out = load_array(path, input_dim=784)
    assert out.shape == (5, 784)
    np.testing.assert_array_equal(out, images.reshape(5, -1) / np.float32(255))


@pytest.mark.parametrize("gz", [False, True])
def test_load_idx_returns_raw_labels(tmp_path, idx_writer, gz):
    labels = np.array([7, 2, 1, 0, 4], dtype=np.uint8)
    suffix = ".gz" if gz else ""
    path = idx_writer(tmp_path / f"labels-idx1-ubyte{suffix}", labels, gz=gz)
    out = load_idx(path)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, labels)


def test_load_array_on_idx_labels_points_to_load_idx(tmp_path, idx_writer):
    path = idx_writer(tmp_path / "labels-idx1-ubyte", np.arange(4, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"2-D array.*load_idx\(path\)"):
        load_array(path)


@pytest.mark.parametrize(
    "code, dtype",
    [
        (0x08, np.uint8),
        (0x09, np.int8),
        (0x0B, np.int16),
        (0x0C, np.int32),
        (0x0D, np.float32),
        (0x0E, np.float64),
    ],
)
def test_load_idx_decodes_every_type_code(tmp_path, idx_writer, code, dtype):
    rng = np.random.default_rng(code)
    data = (rng.random((3, 2, 4)) * 100 - 50).astype(dtype)
    path = idx_writer(tmp_path / "data.idx", data, code)
    out = load_idx(path)
    assert out.dtype == np.dtype(dtype)
    assert out.dtype.isnative
    assert out.flags.writeable
    np.testing.assert_array_equal(out, data)


def test_load_idx_big_endian_values_are_read_correctly(tmp_path):
    path = tmp_path / "x.idx"
    path.write_bytes(
        bytes([0, 0, 0x0C, 1, 0, 0, 0, 2])
        + bytes([0, 0, 1, 0])
        + bytes([255, 255, 255, 255])
    )
    np.testing.assert_array_equal(load_idx(path), [256, -1])


@pytest.mark.parametrize(
    "content",
    [
        b"\x01\x00\x08\x01\x00\x00\x00\x01\x07",  # first byte not zero
        b"\x00\x00\x07\x01\x00\x00\x00\x01\x07",  # unknown type code
        b"\x00\x00\x08\x00",  # zero dimensions
        b"\x00\x00",  # shorter than the magic number
        b"\x93NUMPY\x01\x00",  # another format
    ],
)
def test_bad_magic_number(tmp_path, content):
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(content)
    with pytest.raises(
        ValueError,
        match=r"bad-idx3-ubyte' is not an IDX file "
        r"\(bad magic number 0x",
    ):
        load_array(path)


def test_truncated_idx_names_expected_and_found_bytes(tmp_path, idx_writer):
    path = idx_writer(tmp_path / "x-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(
        ValueError,
        match=r"x-idx3-ubyte' is truncated: expected 12 "
        r"bytes of uint8 data for shape \(3, 2, 2\), found 10 bytes",
    ):
        load_idx(path)


def test_truncated_idx_header(tmp_path):
    path = tmp_path / "x-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 8, 3, 0, 0, 0, 3]))
    with pytest.raises(
        ValueError,
        match=r"truncated: expected 16 bytes of header "
        r"for 3 dimensions, found 8 bytes",
    ):
        load_idx(path)


def test_truncated_idx_gz(tmp_path, idx_writer):
    data = np.zeros((4, 5, 5), dtype=np.float32)
    path = idx_writer(tmp_path / "x.idx.gz", data, 0x0D, gz=True)
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-8]))
    with pytest.raises(
        ValueError,
        match=r"expected 400 bytes of float32 data for "
        r"shape \(4, 5, 5\), found 392 bytes",
    ):
        load_array(path)


def test_damaged_gzip_stream_names_the_file(tmp_path, idx_writer):
    path = idx_writer(
        tmp_path / "x-idx3-ubyte.gz", np.ones((2, 3, 3), np.uint8), gz=True
    )
    path.write_bytes(path.read_bytes()[:-12])  # cut the gzip stream
    with pytest.raises(ValueError, match=r"x-idx3-ubyte\.gz' as a gzipped IDX"):
        load_array(path)


def test_idx_with_trailing_bytes_is_rejected(tmp_path, idx_writer):
    path = idx_writer(tmp_path / "x.idx", np.zeros((2, 2), np.uint8))
    path.write_bytes(path.read_bytes() + b"\x00")
    with pytest.raises(
        ValueError,
        match=r"longer than its header says: expected 4 "
        r"bytes.*found 5",
    ):
        load_idx(path)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    data=st.data(),
    code=st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]),
    gz=st.booleans(),
)
def test_idx_round_trip_property(tmp_path, idx_writer, data, code, gz):
    dtype = {
        0x08: np.uint8,
        0x09: np.int8,
        0x0B: np.int16,
        0x0C: np.int32,
        0x0D: np.float32,
        0x0E: np.float64,
    }[code]
    array = data.draw(
        hnp.arrays(
            dtype=dtype,
            shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4),
            elements=None
            if np.dtype(dtype).kind != "f"
            else st.floats(-1e6, 1e6, width=8 * np.dtype(dtype).itemsize),
        )
    )
    path = idx_writer(
        tmp_path / f"p-{code}.idx{'.gz' if gz else ''}", array, code, gz=gz
    )
    out = load_idx(path)
    assert out.shape == array.shape
    np.testing.assert_array_equal(out, array)


# ------------------------------------------------------------ paths, formats


def test_missing_file_raises_file_not_found_naming_the_path(tmp_path):
    path = tmp_path / "nowhere" / "x.npy"
    with pytest.raises(FileNotFoundError, match=r"nowhere/x\.npy") as info:
        load_array(path)
    assert info.value.filename == str(path)


def test_missing_idx_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"gone-idx1-ubyte"):
        load_idx(tmp_path / "gone-idx1-ubyte")


def test_directory_is_rejected(tmp_path):
    (tmp_path / "dir.npy").mkdir()
    with pytest.raises(IsADirectoryError, match=r"dir\.npy"):
        load_array(tmp_path / "dir.npy")


@pytest.mark.parametrize("name", ["x.txt", "x.npy.gz", "x.parquet", "x"])
def test_unknown_extension_lists_the_supported_ones(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"0")
    with pytest.raises(
        ValueError,
        match=r"argument `path`.*\.npy, \.npz, \.csv, "
        r"\.csv\.gz, or IDX \(\.idx, -idx3-ubyte",
    ):
        load_array(path)


def test_path_must_be_a_path(tmp_path):
    with pytest.raises(TypeError, match=r"argument `path`.*file path"):
        load_array(42)
    with pytest.raises(ValueError, match=r"argument `path`"):
        load_array("")
