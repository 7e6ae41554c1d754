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
