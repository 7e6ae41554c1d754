"""Hostile or unusual files found by adversarial testing: each once made adn_image_read or
adn_image_write misbehave (silent data loss, a near-hang, a wrong status)."""
import struct
import zlib

import pytest

import adain_dcs as adn

np = pytest.importorskip("numpy")
needs_png = pytest.mark.skipif(not adn.has_feature("png"), reason="library built without PNG")
needs_jpeg = pytest.mark.skipif(not adn.has_feature("jpeg"), reason="library built without JPEG")


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _rgb_png_with_trns(width=4, height=3):
    raw = b"".join(b"\0" + bytes(range(3 * width)) for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"tRNS", struct.pack(">HHH", 0, 1, 2)) + _chunk(b"IDAT", zlib.compress(raw))
            + _chunk(b"IEND", b""))


@needs_png
def test_bad_crc_in_an_ancillary_chunk_is_corrupt_not_silently_dropped(tmp_path):
    good = _rgb_png_with_trns()
    path = tmp_path / "ok.png"
    path.write_bytes(good)
    assert adn.read_image(path, full=True).alpha is not None  # the tRNS chunk gives alpha
    trns_data = good.index(b"tRNS") + 4
    bad = bytearray(good)
    bad[trns_data + 1] ^= 0xFF  # data changed, CRC not
    path.write_bytes(bytes(bad))
    with pytest.raises(adn.FormatError):
        adn.read_image(path)


@needs_png
def test_longest_legal_file_name_can_be_written(tmp_path):
    path = tmp_path / ("n" * 251 + ".png")  # 255 bytes: NAME_MAX on Linux
    adn.write_image(path, np.zeros((2, 3, 3), dtype=np.uint8))
    assert path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary file left


@needs_jpeg
def test_jpeg_too_wide_for_the_format_is_too_large(tmp_path):
    with pytest.raises(adn.TooLarge):
        adn.write_image(tmp_path / "wide.jpg", np.zeros((1, 65501, 3), dtype=np.uint8))
    assert list(tmp_path.iterdir()) == []


@needs_jpeg
def test_progressive_jpeg_with_endless_scans_is_refused_quickly(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    source = tmp_path / "p.jpg"
    Image.new("RGB", (64, 64), (120, 30, 200)).save(source, progressive=True, quality=90)
    data = source.read_bytes()
    last_scan = data.rindex(b"\xff\xda")
    end = data.rindex(b"\xff\xd9")
    bomb = data[:end] + data[last_scan:end] * 600 + data[end:]  # 600 repeats of the last scan
    path = tmp_path / "bomb.jpg"
    path.write_bytes(bomb)
    with pytest.raises(adn.FormatError, match="progressive scans"):
        adn.read_image(path)  # without the scan cap this reads "fine", one pass per scan
    assert adn.read_image(source).shape == (64, 64, 3)  # the honest file still reads
