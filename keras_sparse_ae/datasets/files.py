"""`load_array` and `load_idx`: read a local data file without a network."""

import errno
import gzip
import os
import re
import warnings
import zipfile
import zlib

import numpy as np

from keras_sparse_ae import _validation
from keras_sparse_ae.datasets.validation import _check_path, check_data

SUPPORTED_FORMATS = (
    ".npy, .npz, .csv, .csv.gz, or IDX (.idx, -idx3-ubyte, .idx3-ubyte, "
    "-idx1-ubyte, ..., each optionally gzipped with .gz)"
)

# IDX type codes (third byte of the magic number) -> big-endian dtypes.
IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_IDX_NAME = re.compile(r"(\.idx\d*|[-.]idx\d+-ubyte)$")

# Errors that NumPy, zipfile, zlib and gzip raise on a damaged file.
_READ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


def _existing_file(path):
    """Checks `path` and returns it as a `str` naming an existing file."""
    path = os.path.expanduser(_check_path("path", path))
    if not os.path.exists(path):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
    if os.path.isdir(path):
        raise IsADirectoryError(errno.EISDIR, "Is a directory, not a file", path)
    return path


def _file_format(path):
    """Returns ("npy" | "npz" | "csv" | "idx", gzipped) from the file name."""
    name = os.path.basename(path).lower()
    gzipped = name.endswith(".gz")
    if gzipped:
        name = name[: -len(".gz")]
    if name.endswith(".npy") and not gzipped:
        return "npy", False
    if name.endswith(".npz") and not gzipped:
        return "npz", False
    if name.endswith(".csv"):
        return "csv", gzipped
    if _IDX_NAME.search(name):
        return "idx", gzipped
    raise _validation.invalid_value(
        "path", f"a file with a supported extension: {SUPPORTED_FORMATS}", path
    )


def _read_error(path, what, err):
    """ValueError naming the file that could not be read."""
    return ValueError(
        f"Could not read {path!r} as {what}: the file is corrupt or not in "
        f"this format ({type(err).__name__}: {err})"
    )


def _load_npy(path):
    with open(path, "rb") as f:
        try:
            # `read_array` checks the .npy magic and header itself, and
            # never unpickles object arrays with allow_pickle=False.
            return np.lib.format.read_array(f, allow_pickle=False)
        except _READ_ERRORS as err:
            raise _read_error(path, "a .npy file", err) from None


def _load_npz(path, key):
    try:
        archive = np.load(path, allow_pickle=False)
    except _READ_ERRORS as err:
        raise _read_error(path, "a .npz file", err) from None
    if isinstance(archive, np.ndarray):
        # A .npy file saved under a .npz name: one array, no names.
        if key is not None:
            raise _validation.invalid_value(
                "key", f"None: {path!r} holds a single unnamed array", key
            )
        return archive
    with archive:
        keys = list(archive.files)
        if key is None:
            if len(keys) != 1:
                raise _validation.invalid_value(
                    "key",
                    f"the name of the array to load from {path!r}, which "
                    f"holds {len(keys)} arrays: {', '.join(keys) or '(none)'}",
                    key,
                )
            key = keys[0]
        elif key not in keys:
            raise _validation.invalid_value(
                "key", f"one of the arrays in {path!r}: {', '.join(keys)}", key
            )
        try:
            return archive[key]
        except _READ_ERRORS as err:
            raise _read_error(path, f"a .npz file (array {key!r})", err) from None


def _open_text(path, gzipped):
    if gzipped:
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, encoding="utf-8-sig")


def _is_number(field):
    try:
        float(field)
    except ValueError:
        return False
    return True


def _load_csv(path, gzipped):
    try:
        with _open_text(path, gzipped) as f:
            first = f.readline()
        fields = [field.strip().strip("\"'") for field in first.split(",")]
        header = bool(first.strip()) and not all(map(_is_number, fields))
        with _open_text(path, gzipped) as f, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # "no data" warning
            data = np.loadtxt(
                f, delimiter=",", dtype=np.float64, ndmin=2, skiprows=int(header)
            )
    except _READ_ERRORS as err:
        raise _read_error(path, "a numeric CSV file", err) from None
    if data.size == 0:
        raise ValueError(f"The CSV file {path!r} contains no data rows.")
    return data


def load_idx(path):
    """Reads an IDX file (the format of the original MNIST files) as is.

    IDX files start with a 4-byte magic number: two zero bytes, a type code
    (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
    0x0E float64) and the number of dimensions, followed by one big-endian
    int32 per dimension and the data. Gzipped files (`.gz`) are read
    transparently; the file name is not checked, only the content.

    Unlike `load_array`, the result is not validated nor scaled: an image
    file gives a `(n, rows, cols)` array and a label file (such as
    `train-labels-idx1-ubyte.gz`) a 1-D integer array.

    Args:
        path: path of the IDX file, optionally gzipped.

    Returns:
        A NumPy array in native byte order, with the dtype and shape
        stored in the file.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the file is not an IDX file (bad magic number), is
            truncated, has trailing bytes, or is a damaged gzip file.

    Example:

    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> header = bytes([0, 0, 0x08, 1]) + (3).to_bytes(4, "big")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(header + bytes([7, 2, 1]))
    >>> load_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    path = _existing_file(path)
    gzipped = path.lower().endswith(".gz")
    try:
        if gzipped:
            with gzip.open(path, "rb") as f:
                content = f.read()
        else:
            with open(path, "rb") as f:
                content = f.read()
    except (OSError, EOFError, zlib.error) as err:
        raise _read_error(path, "a gzipped IDX file", err) from None

    magic = content[:4]
    if (
        len(magic) < 4
        or magic[0] != 0
        or magic[1] != 0
        or magic[2] not in IDX_DTYPES
        or magic[3] == 0
    ):
        raise ValueError(
            f"{path!r} is not an IDX file (bad magic number 0x{magic.hex() or ''}"
            f"{'' if len(magic) == 4 else ' (file shorter than 4 bytes)'}: "
            "expected two zero bytes, a type code among 08, 09, 0b, 0c, 0d, "
            "0e and a number of dimensions >= 1)."
        )
    dtype = IDX_DTYPES[magic[2]]
    ndim = magic[3]
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise ValueError(
            f"The IDX file {path!r} is truncated: expected {header_size} bytes "
            f"of header for {ndim} dimensions, found {len(content)} bytes."
        )
    shape = tuple(
        int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)
    )
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    found = len(content) - header_size
    if found != expected:
        problem = "truncated" if found < expected else "longer than its header says"
        raise ValueError(
            f"The IDX file {path!r} is {problem}: expected {expected} bytes of "
            f"{dtype.newbyteorder('=').name} data for shape {shape}, found "
            f"{found} bytes."
        )
    data = np.frombuffer(content, dtype=dtype, offset=header_size)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def load_array(path, *, key=None, input_dim=None):
    """Loads a local data file as a float32 matrix ready for training.

    The format is chosen from the file name: `.npy`, `.npz` (one array, or
    the array named `key`), `.csv` and `.csv.gz` (comma-separated numbers;
    a first row that is not numeric is taken as a header and skipped), and
    IDX files, gzipped or not (`*.idx`, `*-idx3-ubyte`, `*.idx3-ubyte`,
    ...: the format of the original MNIST files). Pickled data is never
    loaded. The array is then passed through `check_data`: images are
    flattened and 8-bit pixel values are scaled to [0, 1].

    Use `load_idx` to read an IDX label file, which is 1-D.

    Args:
        path: path of the file (str or `os.PathLike`).
        key: for `.npz` files holding several arrays, the name of the array
            to load. Only valid with `.npz` files.
        input_dim: optional integer; if given, the number of features the
            data must have (784 for MNIST).

    Returns:
        A C-contiguous float32 NumPy array of shape `(samples, features)`.

    Raises:
        FileNotFoundError: if `path` does not exist.
        ValueError: if the extension is not supported, the file is corrupt
            or truncated, a `.npz` file holds several arrays and `key` is
            not given (the message lists them), or the data fails
            `check_data` (1-D, empty, NaN or inf, wrong width).
        TypeError: if the data is not numeric or an argument has the
            wrong type.

    Example:

    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "images.npy")
    >>> np.save(path, np.zeros((10, 28, 28), dtype="uint8"))
    >>> load_array(path, input_dim=784).shape
    (10, 784)
    """
    path = _existing_file(path)
    fmt, gzipped = _file_format(path)
    if key is not None:
        if not isinstance(key, str):
            raise _validation.invalid_type("key", "a string (array name)", key)
        if fmt != "npz":
            raise _validation.invalid_value(
                "key", f"None for a non-.npz file ({os.path.basename(path)})", key
            )
    if fmt == "npy":
        data = _load_npy(path)
    elif fmt == "npz":
        data = _load_npz(path, key)
    elif fmt == "csv":
        data = _load_csv(path, gzipped)
    else:
        data = load_idx(path)
    try:
        return check_data(data, name="X", input_dim=input_dim)
    except ValueError as err:
        if data.ndim == 1 and fmt == "idx":
            raise ValueError(
                f"{err} The IDX file {path!r} is 1-D (labels?): read it with "
                "load_idx(path) instead."
            ) from None
        raise ValueError(f"{err} (data loaded from {path!r})") from None
    except TypeError as err:
        raise TypeError(f"{err} (data loaded from {path!r})") from None


__all__ = ["load_array", "load_idx"]
