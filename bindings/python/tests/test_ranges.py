"""Integers that C cannot hold are refused, not wrapped.

ctypes drops the high bits of a Python int passed as c_int32 / c_int64 / c_uint64 (argument or
Structure field), so ``2**32 + 2`` used to reach the library as 2 while the binding had sized the
output from the Python value: a heap overflow.  Each case below used to be accepted.
"""
import ctypes

import pytest

import adain_dcs as adn
from adain_dcs import _lib
from adain_dcs._lib import C

np = pytest.importorskip("numpy")

WRAPS_TO_2 = 2**32 + 2


def test_block_average_refuses_a_block_that_wraps_in_int32():
    x = np.ones((8, 8), np.float32)
    with pytest.raises(adn.InvalidArgument, match="block"):
        adn.block_average(x, block=WRAPS_TO_2)
    with pytest.raises(adn.InvalidArgument, match="block"):
        adn.block_average(x, block=2.0)  # not an integer: refused rather than truncated


def test_block_average_still_takes_numpy_integers():
    x = np.arange(64, dtype=np.float32).reshape(8, 8)
    out = adn.block_average(x, block=np.int64(2))
    assert np.array_equal(out, x.reshape(4, 2, 4, 2).mean(axis=(1, 3)))


@pytest.mark.parametrize("fn", [adn.resize_bilinear, adn.pad_reflect, adn.crop])
def test_output_sizes_must_fit_int32(fn):
    x = np.ones((2, 3, 3), np.float32)
    with pytest.raises(adn.InvalidArgument, match="height"):
        fn(x, 2**32 + 3, 3)
    with pytest.raises(adn.InvalidArgument, match="width"):
        fn(x, 3, -2**32 + 3)  # wraps to 3 as well


def test_round_up_and_strength_map_sizes():
    with pytest.raises(adn.InvalidArgument, match="size"):
        adn.round_up(2**32 + 1, 8)
    with pytest.raises(adn.InvalidArgument, match="n"):
        adn.strength_map(0.5, n=2**64 + 4)
    with pytest.raises(adn.InvalidArgument, match="n"):
        adn.strength_map(0.5, n=-3)


def test_model_threads_that_wrap_are_refused_before_loading(tmp_path):
    # The bundle does not exist: a wrapped value (threads = 1) would reach adn_model_load and fail
    # there with another status; the range check must come first and name the parameter.
    with pytest.raises(adn.InvalidArgument, match="threads"):
        adn.Model(tmp_path / "missing", device="cpu", threads=2**32 + 1)
    with pytest.raises(adn.InvalidArgument, match="CUDA device index"):
        adn.Model(tmp_path / "missing", device=f"cuda:{2**32}")


def test_jpeg_quality_that_wraps_is_refused_and_writes_nothing(tmp_path):
    image = np.full((4, 4, 3), 128, np.uint8)
    target = tmp_path / "out.jpg"
    with pytest.raises(adn.InvalidArgument, match="jpeg_quality"):
        adn.write_image(target, image, jpeg_quality=2**32 + 50)
    with pytest.raises(adn.InvalidArgument, match="png_bit_depth"):
        adn.write_image(tmp_path / "out.png", image, png_bit_depth=2**32 + 8)
    assert list(tmp_path.iterdir()) == []


def test_max_pixels_that_wraps_in_uint64_is_refused(tmp_path):
    # A wrapped limit (5) would reach the library, which then reports the missing file instead.
    with pytest.raises(adn.InvalidArgument, match="max_pixels"):
        adn.read_image(tmp_path / "missing.png", max_pixels=2**64 + 5)


def test_read_image_bytes_max_pixels_that_wraps_is_refused():
    with pytest.raises(adn.InvalidArgument, match="max_pixels"):
        adn.read_image_bytes(b"\x89PNG", max_pixels=2**64 + 5)


def test_params_init_struct_size_is_range_checked():
    params = _lib.adn_read_params()
    with pytest.raises(adn.InvalidArgument, match="adn_read_params_init: argument 2"):
        C.adn_read_params_init(ctypes.byref(params), 2**64 + ctypes.sizeof(params))


def test_adain_regions_without_pixels_is_invalid_argument():
    with pytest.raises(adn.InvalidArgument, match="no pixels"):
        adn.adain_regions(np.zeros((2, 0), np.float32), np.zeros((1, 0), np.float32),
                          np.zeros((1, 2), np.float32), np.ones((1, 2), np.float32))


def test_raw_prototypes_refuse_wrapping_arguments():
    """The check at the ctypes boundary covers every prototype, also those called directly."""
    assert C.adn_round_up(13, 8) == 16
    with pytest.raises(adn.InvalidArgument, match="adn_round_up: argument 1"):
        C.adn_round_up(2**32 + 13, 8)  # would silently be adn_round_up(13, 8)
    mean, std = (ctypes.c_float * 1)(), (ctypes.c_float * 1)()
    data = (ctypes.c_float * 2)(1.0, 3.0)
    with pytest.raises(adn.InvalidArgument, match="argument 3"):
        C.adn_channel_stats(data, 1, 2**64 + 2, 1e-5, mean, std)  # int64 n
    assert C.adn_channel_stats(data, 1, 2, 1e-5, mean, std) == adn.Status.OK
    assert mean[0] == 2.0


def test_struct_fields_refuse_wrapping_values():
    image = _lib.adn_image_u8()
    with pytest.raises(adn.InvalidArgument, match="adn_image_u8.width"):
        image.width = 2**31
    with pytest.raises(adn.InvalidArgument, match="adn_image_u8.stride"):
        image.stride = -1
    with pytest.raises(adn.InvalidArgument, match="adn_read_params.max_pixels"):
        _lib.adn_read_params(max_pixels=2**64)
    params = _lib.adn_stylize_params()
    with pytest.raises(adn.InvalidArgument, match="adn_depth_norm_params.has_invalid"):
        params.depth_norm.has_invalid = 2**32 + 1  # the embedded struct is checked too
    with pytest.raises(adn.InvalidArgument, match="adn_model_params.precision"):
        _lib.adn_model_params(precision=2**32)
    with pytest.raises(adn.InvalidArgument, match="struct_size"):
        _lib.adn_timings(struct_size=-1)
    image.width, image.stride = 2**31 - 1, 2**64 - 1  # the extremes still fit
    assert (image.width, image.stride) == (2**31 - 1, 2**64 - 1)
