"""Image files and the numpy / Image conversions."""
import os
import subprocess
import sys
from array import array
from pathlib import Path

import pytest

import adain_dcs as adn

np = pytest.importorskip("numpy")

needs_png = pytest.mark.skipif(not adn.has_feature("png"), reason="library built without PNG")
needs_jpeg = pytest.mark.skipif(not adn.has_feature("jpeg"), reason="library built without JPEG")


@needs_png
def test_resize_while_reading_equals_read_then_resize(tmp_path, rng):
    """short_side, then max_side (adn_read_params): the library's bilinear resize of the full image,
    bit for bit, in the file's own bytes and from memory alike."""
    image = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
    path = tmp_path / "big.png"
    adn.write_image(path, image)
    planar = np.ascontiguousarray(adn.read_image(path).transpose(2, 0, 1))
    for options, size in (({"short_side": 12}, (12, 20)), ({"short_side": 12, "max_side": 16}, (10, 16)),
                          ({"max_side": 80}, (24, 40)), ({"short_side": 48}, (48, 80))):
        want = adn.resize_bilinear(planar, *size).transpose(1, 2, 0)
        got = adn.read_image(path, **options)
        assert got.shape == (*size, 3), options
        assert np.array_equal(got, want), options
        assert np.array_equal(adn.read_image_bytes(path.read_bytes(), **options), want), options
    info = adn.read_image(path, short_side=12, full=True).info
    assert (info.height, info.width) == (24, 40)  # the file, not the result
    for bad in (-1, 2**31, 1.5, True):
        with pytest.raises(adn.InvalidArgument):
            adn.read_image(path, short_side=bad)


@needs_png
def test_png_uint8_round_trip_is_exact(tmp_path, rng):
    image = rng.integers(0, 256, size=(13, 21, 3), dtype=np.uint8)
    path = tmp_path / "rgb.png"
    adn.write_image(path, image)
    back = adn.read_image(path, uint8=True)
    assert back.dtype == np.uint8 and back.shape == image.shape
    assert np.array_equal(back, image)
    as_float = adn.read_image(path)
    assert as_float.dtype == np.float32 and as_float.shape == image.shape
    assert np.max(np.abs(as_float - image / 255.0)) < 1e-6


@needs_png
def test_float_write_clamps_and_rounds(tmp_path, rng):
    image = rng.uniform(-0.2, 1.2, size=(5, 6, 3)).astype(np.float32)
    path = tmp_path / "float.png"
    adn.write_image(path, image)
    back = adn.read_image(path, uint8=True)
    expected = np.floor(np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    assert np.array_equal(back, expected)


@needs_png
def test_png16_gray_keeps_raw_values(tmp_path, rng):
    values = rng.integers(0, 65536, size=(9, 7)).astype(np.float32) / 65535.0
    path = tmp_path / "depth16.png"
    adn.write_image(path, values, png_bit_depth=16)
    result = adn.read_image(path, gray=True, raw_values=True, full=True)
    assert result.info == adn.ImageInfo("png", 7, 9, 16, 1, False)
    assert result.pixels.shape == (9, 7, 1)
    assert np.array_equal(result.pixels[:, :, 0], np.round(values * 65535.0))


@needs_png
def test_alpha_round_trip(tmp_path, rng):
    rgb = rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, size=(4, 5), dtype=np.uint8)
    path = tmp_path / "rgba.png"
    adn.write_image(path, rgb, alpha=alpha)
    result = adn.read_image(path, uint8=True, full=True)
    assert result.info.has_alpha and result.info.file_channels == 4
    assert np.array_equal(result.pixels, rgb)
    assert np.max(np.abs(result.alpha - alpha / 255.0)) < 1e-6


@needs_jpeg
def test_jpeg_round_trip_is_close(tmp_path):
    y, x = np.mgrid[0:32, 0:48]
    image = np.stack([x / 47.0, y / 31.0, 0.5 + 0 * x], axis=2).astype(np.float32)
    path = tmp_path / "smooth.jpg"
    adn.write_image(path, image, jpeg_quality=95)
    back = adn.read_image(path)
    assert adn.read_image(path, full=True).info.format == "jpeg"
    assert np.mean(np.abs(back - image)) < 0.01


def test_corrupt_file_is_format_error(tmp_path):
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises((adn.FormatError, adn.Unsupported)):
        adn.read_image(path)


@needs_png
def test_pixel_limit_is_too_large(tmp_path):
    path = tmp_path / "big.png"
    adn.write_image(path, np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(adn.TooLarge):
        adn.read_image(path, max_pixels=99)
    assert adn.read_image(path, max_pixels=100).shape == (10, 10, 3)


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(adn.AdnError) as info:
        adn.write_image(tmp_path / "picture.bmp", np.zeros((2, 2, 3), np.uint8))
    assert info.value.message
    assert not (tmp_path / "picture.bmp").exists()


def test_image_type_conversions_match_numpy(rng):
    """Image (interleaved, no numpy) and numpy inputs reach the library identically."""
    from adain_dcs.image import planar_to_user, to_planar
    pixels = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
    image = adn.Image(4, 3, 3, pixels.tobytes())
    assert image.pixel(2, 1) == tuple(int(v) for v in pixels[1, 2])
    a, b = to_planar(image, 3, "a"), to_planar(pixels, 3, "b")
    assert a.shape == b.shape == (3, 3, 4)
    assert planar_to_user(a, False, True).tolist() == planar_to_user(b, False, True).tolist()
    back = planar_to_user(a, True, False)
    assert isinstance(back, adn.Image) and back.data == pixels.tobytes()
    floats = adn.Image(4, 3, 3, array("f", (pixels / 255.0).astype(np.float32).ravel()))
    assert np.array_equal(planar_to_user(to_planar(floats, 3, "c"), False, True),
                          (pixels / 255.0).astype(np.float32))


@needs_png
def test_works_without_numpy(tmp_path):
    """The package imports and round-trips files with numpy blocked."""
    script = f"""
import sys
sys.modules['numpy'] = None
import adain_dcs as adn
assert not adn.HAVE_NUMPY
img = adn.Image(3, 2, 3, bytes(range(18)))
adn.write_image({str(tmp_path / 'n.png')!r}, img)
back = adn.read_image({str(tmp_path / 'n.png')!r}, uint8=True)
assert isinstance(back, adn.Image) and back == img, back
f = adn.read_image({str(tmp_path / 'n.png')!r})
assert not f.is_uint8 and abs(f.pixel(2, 1)[2] - 17 / 255.0) < 1e-6
d = adn.depth_normalize([2.0, 4.0, 3.0])
assert list(d) == [0.0, 1.0, 0.5], d
print("ok")
"""
    env = dict(os.environ, PYTHONPATH=str(Path(adn.__file__).parents[1]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# --- dtypes of images handed to the binding -----------------------------------------------------------

def _planar_values(image, channels=3):
    from adain_dcs.image import planar_to_user, to_planar
    return planar_to_user(to_planar(image, channels, "image"), False, True)


def test_uint8_and_uint16_are_scaled_floats_are_taken_as_is(rng):
    as_u8 = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    assert np.max(np.abs(_planar_values(as_u8) - as_u8 / 255.0)) < 1e-7
    as_u16 = rng.integers(0, 65536, size=(5, 7, 3)).astype(np.uint16)
    assert np.max(np.abs(_planar_values(as_u16) - as_u16 / 65535.0)) < 1e-7
    assert _planar_values(np.array([[[65535, 0, 32768]]], np.uint16)).tolist() == [[[
        1.0, 0.0, np.float32(32768 / 65535.0)]]]
    floats = rng.uniform(-0.5, 1.5, size=(5, 7, 3))
    for dtype in (np.float32, np.float64):
        assert np.array_equal(_planar_values(floats.astype(dtype)), floats.astype(np.float32))
    grey16 = as_u16[:, :, 0]  # H x W grey replicates to RGB
    assert np.array_equal(_planar_values(grey16), np.repeat((grey16 / np.float32(65535.0))
                                                            .astype(np.float32)[:, :, None], 3, 2))


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint32, np.uint64,
                                   np.bool_, np.float16, np.complex64])
def test_other_dtypes_are_refused_naming_the_dtype(dtype, tmp_path):
    from adain_dcs.image import to_planar
    image = np.zeros((4, 5, 3), dtype)
    name = np.dtype(dtype).name
    with pytest.raises(TypeError, match=name) as info:
        to_planar(image, 3, "content")
    assert "uint8" in str(info.value) and "float32" in str(info.value)  # says what is accepted
    with pytest.raises(TypeError, match=name):
        adn.write_image(tmp_path / "x.png", image)
    with pytest.raises(TypeError, match=name):
        to_planar(image[:, :, 0], 1, "mask")
    assert list(tmp_path.iterdir()) == []


def test_python_lists_of_ints_are_refused_too():
    from adain_dcs.image import to_planar
    with pytest.raises(TypeError, match="int64"):
        to_planar([[[1, 2, 3]]], 3, "content")
    assert to_planar([[[0.25, 0.5, 1.0]]], 3, "content").shape == (3, 1, 1)


@pytest.mark.parametrize("shape", [(3, 16, 20), (3, 5, 5), (1, 12, 9)])
def test_channel_first_arrays_get_a_transpose_hint(shape, tmp_path):
    from adain_dcs.image import to_planar
    chw = np.zeros(shape, np.float32)
    with pytest.raises(adn.InvalidArgument, match=r"transpose\(1, 2, 0\)"):
        to_planar(chw, 3, "content")
    with pytest.raises(adn.InvalidArgument, match=r"transpose\(1, 2, 0\)"):
        adn.write_image(tmp_path / "chw.png", chw)
    assert to_planar(chw.transpose(1, 2, 0), 3 if shape[0] == 3 else 1, "content").shape[0] in (1, 3)


@pytest.mark.parametrize("shape", [(3, 8, 3), (3, 4, 4), (3, 9, 1), (4, 4, 3)])
def test_small_or_valid_hwc_shapes_get_no_hint(shape):
    from adain_dcs.image import to_planar
    assert to_planar(np.zeros(shape, np.float32), 3, "content").shape == (3, shape[0], shape[1])


@needs_png
def test_uint16_image_writes_as_16_bit_png(tmp_path, rng):
    pixels = rng.integers(0, 65536, size=(6, 5, 3)).astype(np.uint16)
    path = tmp_path / "deep.png"
    adn.write_image(path, pixels, png_bit_depth=16)
    back = adn.read_image(path, raw_values=True, full=True)
    assert back.info.bit_depth == 16
    assert np.array_equal(back.pixels, pixels.astype(np.float32))


# --- reading encoded files from memory ----------------------------------------------------------------------

@needs_png
def test_read_image_bytes_equals_read_image(tmp_path, rng):
    rgb = rng.integers(0, 256, size=(9, 11, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, size=(9, 11), dtype=np.uint8)
    path = tmp_path / "rgba.png"
    adn.write_image(path, rgb, alpha=alpha)
    data = path.read_bytes()
    for buffer in (data, bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        assert np.array_equal(adn.read_image_bytes(buffer, uint8=True), rgb)
    from_file = adn.read_image(path, full=True)
    from_memory = adn.read_image_bytes(data, full=True)
    assert from_memory.info == from_file.info == adn.ImageInfo("png", 11, 9, 8, 4, True)
    assert np.array_equal(from_memory.pixels, from_file.pixels)
    assert np.array_equal(from_memory.alpha, from_file.alpha)
    grey = adn.read_image_bytes(data, gray=True)
    assert grey.shape == (9, 11, 1) and np.array_equal(grey, adn.read_image(path, gray=True))
    with pytest.raises(adn.TooLarge):
        adn.read_image_bytes(data, max_pixels=98)


@needs_jpeg
def test_read_image_bytes_jpeg(tmp_path):
    y, x = np.mgrid[0:16, 0:24]
    image = np.stack([x / 23.0, y / 15.0, 0.25 + 0 * x], axis=2).astype(np.float32)
    path = tmp_path / "smooth.jpg"
    adn.write_image(path, image)
    assert np.array_equal(adn.read_image_bytes(path.read_bytes()), adn.read_image(path))
    assert adn.read_image_bytes(path.read_bytes(), full=True).info.format == "jpeg"


def test_read_image_bytes_refuses_garbage():
    with pytest.raises((adn.FormatError, adn.Unsupported)) as info:
        adn.read_image_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    if isinstance(info.value, adn.FormatError):
        assert "<memory>" in info.value.message
    with pytest.raises(adn.AdnError):
        adn.read_image_bytes(b"")
    with pytest.raises(adn.FormatError):
        adn.read_image_bytes(b"not an image at all")
    with pytest.raises(TypeError, match="str"):
        adn.read_image_bytes("picture.png")
    with pytest.raises(TypeError):
        adn.read_image_bytes(12345)


def test_read_image_bytes_without_numpy(tmp_path):
    if not adn.has_feature("png"):
        pytest.skip("library built without PNG")
    script = f"""
import sys
sys.modules['numpy'] = None
import adain_dcs as adn
img = adn.Image(3, 2, 3, bytes(range(18)))
adn.write_image({str(tmp_path / 'n.png')!r}, img)
data = open({str(tmp_path / 'n.png')!r}, 'rb').read()
assert adn.read_image_bytes(data, uint8=True) == img
print("ok")
"""
    env = dict(os.environ, PYTHONPATH=str(Path(adn.__file__).parents[1]))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
