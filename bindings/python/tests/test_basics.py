"""Version, status strings and the error path of the Python binding."""
import ctypes
import logging
import os
import re
import threading
from pathlib import Path

import pytest

import adain_dcs as adn
from adain_dcs._lib import C


def _built_version(source_dir):
    """(major, minor, patch) as meson wrote them into adain_dcs_version.h next to the library, else
    the project version in meson.build (the one source of both)."""
    library = os.environ.get("ADN_LIBRARY")
    header = Path(library).parent / "adain_dcs_version.h" if library else None
    if header is not None and header.exists():
        text = header.read_text()
        return tuple(int(re.search(rf"#define ADN_VERSION_{part} (\d+)", text).group(1))
                     for part in ("MAJOR", "MINOR", "PATCH"))
    text = (source_dir / "meson.build").read_text()
    return tuple(int(v) for v in re.search(r"version:\s*'(\d+)\.(\d+)\.(\d+)'", text).groups())


def test_version_matches_the_build(source_dir):
    major, minor, patch = _built_version(source_dir)
    assert adn.version() == f"{major}.{minor}.{patch}"
    assert adn.version_number() == major * 10000 + minor * 100 + patch


def test_has_feature_answers_booleans():
    assert adn.has_feature("png") in (True, False)
    assert adn.has_feature("no such feature") is False


def test_status_strings_cover_every_code():
    names = {status: adn.status_str(status) for status in adn.Status}
    assert names[adn.Status.OK] == "ok"
    assert names[adn.Status.INVALID_ARGUMENT] == "invalid argument"
    assert adn.Status.CANCELLED == 11 and names[adn.Status.CANCELLED] != "unknown status"
    assert len(set(names.values())) == len(names)  # every code has its own name
    assert adn.status_str(999) == "unknown status"


@pytest.mark.parametrize("status, cls, builtin", [
    (adn.Status.INVALID_ARGUMENT, adn.InvalidArgument, ValueError),
    (adn.Status.OUT_OF_MEMORY, adn.OutOfMemory, MemoryError),
    (adn.Status.IO, adn.FileIOError, OSError),
    (adn.Status.FORMAT, adn.FormatError, ValueError),
    (adn.Status.TOO_LARGE, adn.TooLarge, ValueError),
    (adn.Status.NON_FINITE, adn.NonFinite, ValueError),
    (adn.Status.MODEL, adn.ModelError, adn.AdnError),
    (adn.Status.DEVICE, adn.DeviceError, adn.AdnError),
    (adn.Status.UNSUPPORTED, adn.Unsupported, adn.AdnError),
    (adn.Status.INTERNAL, adn.InternalError, adn.AdnError),
    (adn.Status.CANCELLED, adn.Cancelled, adn.AdnError),
])
def test_error_classes_by_status(status, cls, builtin):
    from adain_dcs.errors import error_for
    err = error_for(int(status), "what happened")
    assert type(err) is cls and isinstance(err, builtin) and isinstance(err, adn.AdnError)
    assert err.status == status and err.message == "what happened"
    assert str(err) == f"{adn.status_str(status)}: what happened"


def test_model_load_of_missing_dir_is_a_model_error(tmp_path):
    missing = tmp_path / "no-bundle-here"
    with pytest.raises(adn.AdnError) as info:
        adn.Model(missing)
    err = info.value
    # Without torch the library says so (UNSUPPORTED); with it the bundle is missing (MODEL).
    expected = adn.Status.MODEL if adn.has_feature("torch") else adn.Status.UNSUPPORTED
    assert err.status == expected
    assert err.message  # the library explains itself
    if expected == adn.Status.MODEL:
        assert "no-bundle-here" in err.message


def test_read_of_missing_file_is_an_io_error(tmp_path):
    if not adn.has_feature("png"):
        pytest.skip("library built without PNG")
    with pytest.raises(adn.FileIOError) as info:
        adn.read_image(tmp_path / "missing.png")
    assert info.value.status == adn.Status.IO
    assert isinstance(info.value, OSError)
    assert "missing.png" in info.value.message


def test_null_buffers_reach_the_library_as_invalid_argument():
    mean, std = (ctypes.c_float * 2)(), (ctypes.c_float * 2)()
    status = C.adn_channel_stats(None, 2, 4, 1e-5, mean, std)
    assert status == adn.Status.INVALID_ARGUMENT
    assert adn.last_error() != ""
    status = C.adn_image_from_u8(None, None, None)
    assert status == adn.Status.INVALID_ARGUMENT


def test_none_and_empty_inputs_raise_invalid_argument():
    with pytest.raises(adn.InvalidArgument):
        adn.adain(None, [0.0], [1.0])
    with pytest.raises(adn.InvalidArgument):
        adn.channel_stats([], shape=(1, 0))
    with pytest.raises(adn.InvalidArgument):
        adn.round_up(0, 8)
    with pytest.raises(adn.InvalidArgument):
        adn.Image(0, 3, 3)


def test_nan_depth_is_non_finite_with_message():
    with pytest.raises(adn.NonFinite) as info:
        adn.depth_normalize([0.5, float("nan"), 0.25])
    assert info.value.status == adn.Status.NON_FINITE
    assert "nan" in info.value.message.lower()


def test_error_messages_are_per_thread():
    """A failure on another thread must not change this thread's message."""
    with pytest.raises(adn.NonFinite):
        adn.depth_normalize([float("inf")])
    here = adn.last_error()
    seen = {}

    def fail_elsewhere():
        try:
            adn.round_up(-1, 8)
        except adn.InvalidArgument:
            pass
        try:
            adn.depth_normalize([1.0, float("nan")])
        except adn.AdnError as err:
            seen["status"] = err.status
        seen["message"] = adn.last_error()

    thread = threading.Thread(target=fail_elsewhere)
    thread.start()
    thread.join()
    assert seen["status"] == adn.Status.NON_FINITE and seen["message"]
    assert adn.last_error() == here and here != seen["message"]


def test_log_callback_receives_error_messages(tmp_path):
    received = []
    adn.set_log_callback(lambda level, message: received.append((level, message)), min_level=0)
    try:
        with pytest.raises(adn.FileIOError):
            adn.read_image(tmp_path / "missing.png")
    finally:
        adn.set_log_callback(None)
    assert any(level == 3 and "missing.png" in message for level, message in received), received
    count = len(received)
    with pytest.raises(adn.FileIOError):
        adn.read_image(tmp_path / "missing.png")
    assert len(received) == count  # silenced again


def test_log_to_logging_routes_messages_to_a_logger(tmp_path, caplog):
    logger = logging.getLogger("adain_dcs.test")
    adn.log_to_logging(logger, min_level=0)
    try:
        with caplog.at_level(logging.DEBUG, logger="adain_dcs.test"):
            with pytest.raises(adn.FileIOError):
                adn.read_image(tmp_path / "absent.png")
    finally:
        adn.set_log_callback(None)
    assert any(r.levelno == logging.ERROR and "absent.png" in r.getMessage() for r in caplog.records)


def test_log_callback_exceptions_do_not_cross_the_library(tmp_path, capfd):
    def broken(level, message):
        raise RuntimeError("logger broke")

    adn.set_log_callback(broken, min_level=0)
    try:
        with pytest.raises(adn.FileIOError):  # the library's own error, not the callback's
            adn.read_image(tmp_path / "absent.png")
    finally:
        adn.set_log_callback(None)
    assert "Exception ignored" not in capfd.readouterr().err
