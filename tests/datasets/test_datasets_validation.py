"""Tests of `check_data`."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from keras_sparse_ae.datasets import check_data


def test_float32_c_contiguous_input_is_returned_unchanged():
    X = np.random.default_rng(0).random((5, 3), dtype=np.float32)
    out = check_data(X)
    assert out is X


def test_float64_and_fortran_input_become_float32_c_contiguous():
    X = np.asfortranarray(np.random.default_rng(1).random((4, 6)))
    out = check_data(X)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    np.testing.assert_allclose(out, X, rtol=1e-6)


def test_nested_list_is_accepted():
    out = check_data([[0.0, 0.5], [1.0, 0.25]])
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[0.0, 0.5], [1.0, 0.25]])


def test_object_with_to_numpy_is_accepted():
    class Frame:
        def to_numpy(self):
            return np.array([[0.1, 0.2, 0.3]])

    out = check_data(Frame())
    assert out.shape == (1, 3)
    assert out.dtype == np.float32


def test_pandas_dataframe_is_accepted():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [0.0, 1.0], "b": [0.5, 0.25]})
    np.testing.assert_array_equal(check_data(frame), [[0.0, 0.5], [1.0, 0.25]])


@pytest.mark.parametrize("shape", [(3, 28, 28), (3, 28, 28, 1), (3, 2, 2, 2, 2)])
def test_images_are_flattened_per_sample(shape):
    X = np.random.default_rng(2).random(shape).astype(np.float32)
    out = check_data(X)
    assert out.shape == (3, int(np.prod(shape[1:])))
    np.testing.assert_array_equal(out, X.reshape(3, -1))


def test_1d_input_is_rejected_with_keras_message():
    with pytest.raises(
        ValueError,
        match=r"Invalid value for argument `X`\. Expected a 2-D array of finite "
        r"numbers\. Received: X=array of shape \(3,\)",
    ) as info:
        check_data(np.array([0.1, 0.2, 0.3]))
    assert "reshape(-1, 1)" in str(info.value)


def test_0d_input_is_rejected():
    with pytest.raises(ValueError, match=r"Expected a 2-D array.*shape \(\)"):
        check_data(np.float32(0.5))


def test_name_is_used_in_messages():
    with pytest.raises(ValueError, match=r"argument `X_val`.*X_val=array"):
        check_data([1.0, 2.0], name="X_val")


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 28, 28), (4, 0, 3)])
def test_empty_input_is_rejected(shape):
    with pytest.raises(ValueError, match=r"non-empty.*empty array of shape"):
        check_data(np.zeros(shape, dtype=np.float32))


def test_nan_and_inf_are_counted_and_located():
    X = np.zeros((3, 4))
    X[1, 2] = np.nan
    X[2, 0] = np.inf
    X[2, 3] = np.nan
    with pytest.raises(
        ValueError,
        match=r"finite numbers.*3 non-finite values \(2 NaN, 1 inf\); the "
        r"first is nan at row 1, column 2",
    ):
        check_data(X)


def test_single_inf_is_reported():
    X = np.zeros((2, 2), dtype=np.float32)
    X[0, 1] = -np.inf
    with pytest.raises(
        ValueError,
        match=r"1 non-finite value \(0 NaN, 1 inf\).*"
        r"-inf at row 0, column 1",
    ):
        check_data(X)


def test_nan_in_images_reports_original_index():
    X = np.zeros((2, 3, 3), dtype=np.float32)
    X[1, 2, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"row 1, column 7 \(index \(1, 2, 1\) "
        r"before flattening\)",
    ):
        check_data(X)


def test_float64_values_too_large_for_float32_are_rejected():
    X = np.array([[1e300, 0.0]])
    with pytest.raises(ValueError, match=r"fit in float32.*1 values too large"):
        check_data(X)


@pytest.mark.parametrize(
    "X, dtype_text",
    [
        (np.array([["a", "b"], ["c", "d"]]), "<U1"),
        ([["0.1", "0.2"]], "<U3"),
        (np.array([[1.0, None]], dtype=object), "object"),
        (np.array([[True, False]]), "bool"),
        (np.array([[1 + 2j, 0j]]), "complex128"),
        (np.array([["2020-01-01"]], dtype="datetime64[D]"), "datetime64"),
    ],
)
def test_non_numeric_dtypes_raise_type_error(X, dtype_text):
    with pytest.raises(
        TypeError,
        match=r"Invalid type for argument `X`\. Expected a numeric array "
        rf"\(integer or float dtype\)\. Received: X=array of shape .* and "
        rf"dtype {dtype_text}",
    ):
        check_data(X)


def test_a_string_raises_type_error():
    with pytest.raises(TypeError, match=r"argument `X`.*numeric array"):
        check_data("not data")


def test_ragged_list_is_rejected():
    with pytest.raises(ValueError, match=r"argument `X`.*not rectangular"):
        check_data([[1.0, 2.0], [3.0]])


def test_wrong_width_uses_keras_wording():
    X = np.zeros((10, 64), dtype=np.float32)
    with pytest.raises(
        ValueError,
        match=r"Expected X with 784 features \(columns\)\. Received: X with 64 "
        r"features",
    ):
        check_data(X, input_dim=784)


def test_input_dim_applies_after_flattening():
    X = np.zeros((2, 28, 28), dtype=np.float32)
    assert check_data(X, input_dim=784).shape == (2, 784)


@pytest.mark.parametrize(
    "bad, error",
    [
        (0, ValueError),
        (-3, ValueError),
        ("784", TypeError),
        (True, TypeError),
        (784.0, TypeError),
    ],
)
def test_invalid_input_dim(bad, error):
    with pytest.raises(error, match=r"argument `input_dim`.*integer >= 1"):
        check_data(np.zeros((1, 784)), input_dim=bad)


@pytest.mark.parametrize("argument", ["allow_uint8", "require_unit_interval"])
def test_flags_must_be_booleans(argument):
    with pytest.raises(TypeError, match=rf"argument `{argument}`.*a boolean"):
        check_data(np.zeros((1, 2)), **{argument: "yes"})


def test_name_must_be_a_string():
    with pytest.raises(TypeError, match=r"argument `name`"):
        check_data(np.zeros((1, 2)), name=3)


def test_uint8_is_scaled_by_1_over_255():
    X = np.array([[0, 51, 255], [1, 128, 254]], dtype=np.uint8)
    out = check_data(X)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, X.astype(np.float32) / np.float32(255))
    assert out.max() == 1.0
    assert out.min() == 0.0


def test_uint8_binary_images_are_scaled_too():
    out = check_data(np.array([[0, 1]], dtype=np.uint8))
    np.testing.assert_allclose(out, [[0.0, 1 / 255]])


@pytest.mark.parametrize("dtype", [np.int16, np.int32, np.int64, np.uint16])
def test_integer_pixels_in_0_255_are_scaled(dtype):
    X = np.array([[0, 17, 255]], dtype=dtype)
    np.testing.assert_allclose(check_data(X), [[0.0, 17 / 255, 1.0]], rtol=1e-6)


@pytest.mark.parametrize(
    "values", [[[0, 1], [1, 0]], [[0, 300], [2, 5]], [[-1, 3], [4, 5]]]
)
def test_other_integers_are_cast_without_scaling(values):
    X = np.array(values, dtype=np.int64)
    np.testing.assert_array_equal(check_data(X), np.array(values, dtype=np.float32))


def test_pixels_rejected_when_allow_uint8_is_false():
    X = np.array([[0, 200]], dtype=np.uint8)
    with pytest.raises(
        ValueError,
        match=r"argument `X`.*allow_uint8=False.*"
        r"dtype uint8 with values in \[0, 200\].*divide it by 255",
    ):
        check_data(X, allow_uint8=False)


def test_binary_integers_pass_when_allow_uint8_is_false():
    out = check_data(np.array([[0, 1]], dtype=np.int32), allow_uint8=False)
    np.testing.assert_array_equal(out, [[0.0, 1.0]])


def test_standardised_floats_are_accepted_by_default():
    X = np.random.default_rng(3).standard_normal((20, 5))
    out = check_data(X)
    assert out.min() < 0 < 1 < out.max()


def test_require_unit_interval_names_min_max_and_suggests_255():
    X = np.array([[0.0, 12.0], [255.0, 3.0]])
    with pytest.raises(
        ValueError,
        match=r"values in \[0, 1\].*min=0 and "
        r"max=255; divide by 255",
    ):
        check_data(X, require_unit_interval=True)


def test_require_unit_interval_with_negative_values_suggests_rescaling():
    X = np.array([[-1.5, 0.5], [2.0, 0.0]])
    with pytest.raises(ValueError, match=r"min=-1\.5 and max=2; rescale"):
        check_data(X, require_unit_interval=True)


def test_require_unit_interval_accepts_unit_data_and_scaled_pixels():
    assert check_data(np.array([[0.0, 1.0]]), require_unit_interval=True).max() == 1
    pixels = np.array([[0, 255]], dtype=np.uint8)
    assert check_data(pixels, require_unit_interval=True).max() == 1.0


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float32, np.float64]),
        shape=hnp.array_shapes(min_dims=2, max_dims=4, min_side=1, max_side=5),
        elements=st.floats(0.0, 1.0, width=32),
    )
)
def test_unit_float_data_round_trips(X):
    out = check_data(X, require_unit_interval=True)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    assert out.shape == (X.shape[0], int(np.prod(X.shape[1:])))
    np.testing.assert_array_equal(out, X.reshape(X.shape[0], -1).astype(np.float32))


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        dtype=np.uint8,
        shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6),
    )
)
def test_uint8_data_always_lands_in_unit_interval(X):
    out = check_data(X, require_unit_interval=True)
    assert 0.0 <= out.min() <= out.max() <= 1.0
    np.testing.assert_array_equal(
        np.rint(out * 255).astype(np.uint8), X.reshape(X.shape[0], -1)
    )
