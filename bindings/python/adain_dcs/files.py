"""PNG / JPEG reading and writing through the library (libpng, libjpeg-turbo)."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Callable, NamedTuple, Optional, Union

from . import _lib, _ranges
from ._lib import C, adn_image_info
from .errors import Status, binding_error, check, new_params
from .image import (HAVE_NUMPY, BytesLike, ImageLike, Planar, is_uint8, planar_to_user,
                    to_planar)

PathLike = Union[str, bytes, "os.PathLike[str]"]

_FORMAT_NAMES = {_lib.ADN_FORMAT_UNKNOWN: "unknown", _lib.ADN_FORMAT_PNG: "png",
                 _lib.ADN_FORMAT_JPEG: "jpeg"}


class ImageInfo(NamedTuple):
    """What the file itself stores (adn_image_info)."""

    format: str          #: "png", "jpeg" or "unknown"
    width: int
    height: int
    bit_depth: int       #: 8 or 16
    file_channels: int   #: 1..4 (CMYK JPEG reports 4)
    has_alpha: bool


class ReadResult(NamedTuple):
    """Full result of :func:`read_image` with ``full=True``."""

    pixels: ImageLike
    alpha: Optional[ImageLike]   #: H x W floats in [0,1], or None when the file has no alpha
    info: ImageInfo


def _encode_path(path: PathLike) -> bytes:
    return os.fsencode(path)


def _read_params(gray: bool, raw_values: bool, max_pixels: Optional[int], short_side: int = 0,
                 max_side: int = 0) -> Any:
    params = new_params(_lib.adn_read_params)
    params.mode = _lib.ADN_PIXELS_GRAY if gray else _lib.ADN_PIXELS_RGB
    params.raw_values = 1 if raw_values else 0
    for name, value in (("short_side", short_side), ("max_side", max_side)):
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 2**31 - 1:
            raise binding_error(Status.INVALID_ARGUMENT, f"{name} must be an int in 0..2^31-1, is {value!r}")
        setattr(params, name, value)
    if max_pixels is not None:
        max_pixels = _ranges.uint64(max_pixels, "max_pixels")
        if max_pixels < 1:
            raise binding_error(Status.INVALID_ARGUMENT, f"max_pixels must be >= 1, is {max_pixels}")
        params.max_pixels = max_pixels
    return params


def _read(call: Callable[..., int], params: Any, uint8: bool, full: bool,
          use_numpy: Optional[bool]) -> Union[ImageLike, ReadResult]:
    """Runs adn_image_read / adn_image_read_memory (``call(params, pixels, alpha, info)``) and
    converts what it returns."""
    pixels, alpha, info = Planar.empty_output(), Planar.empty_output(), adn_image_info()
    check(call(ctypes.byref(params), pixels.ref, alpha.ref, ctypes.byref(info)))
    numpy_out = HAVE_NUMPY if use_numpy is None else (use_numpy and HAVE_NUMPY)
    image = planar_to_user(pixels, uint8, numpy_out)
    pixels.free()
    if not full:
        alpha.free()
        return image
    alpha_image = planar_to_user(alpha, False, numpy_out, squeeze=True) if alpha.struct.data else None
    alpha.free()
    return ReadResult(image, alpha_image, ImageInfo(
        _FORMAT_NAMES.get(info.format, "unknown"), info.width, info.height, info.bit_depth,
        info.file_channels, bool(info.has_alpha)))


def read_image(path: PathLike, *, gray: bool = False, raw_values: bool = False,
               max_pixels: Optional[int] = None, uint8: bool = False, full: bool = False,
               use_numpy: Optional[bool] = None, short_side: int = 0,
               max_side: int = 0) -> Union[ImageLike, ReadResult]:
    """Reads a PNG or JPEG (recognised by its signature, not its name).

    Returns H x W x 3 float32 RGB in [0,1] (H x W x 1 with ``gray=True``: colour files become luma);
    ``raw_values=True`` keeps the stored integers (0..255 or 0..65535, for depth maps); ``uint8=True``
    returns 8-bit pixels instead (clamped and rounded by the library).  The result is a numpy array
    when numpy is available (``use_numpy`` overrides), else an :class:`~adain_dcs.Image`.
    ``full=True`` returns a :class:`ReadResult` with the alpha channel and the file's
    :class:`ImageInfo`.  ``short_side`` > 0 resizes while reading so the shorter side has that
    many pixels, then ``max_side`` > 0 shrinks so the longer side has at most that many (as
    adn-stylize's --content-size and --max-side); the result equals reading the whole file and
    resizing bilinearly, bit for bit, without holding the full-size image.  Raises FileIOError,
    FormatError, TooLarge or Unsupported.
    """
    params = _read_params(gray, raw_values, max_pixels, short_side, max_side)
    encoded = _encode_path(path)
    return _read(lambda *rest: C.adn_image_read(encoded, *rest), params, uint8, full, use_numpy)


def read_image_bytes(data: BytesLike, *, gray: bool = False, raw_values: bool = False,
                     max_pixels: Optional[int] = None, uint8: bool = False, full: bool = False,
                     use_numpy: Optional[bool] = None, short_side: int = 0,
                     max_side: int = 0) -> Union[ImageLike, ReadResult]:
    """:func:`read_image` from an encoded PNG or JPEG file held in memory (``bytes``, ``bytearray``,
    ``memoryview`` or any contiguous buffer; adn_image_read_memory).  Same options, results and
    errors; messages name the buffer "<memory>"."""
    if isinstance(data, str):
        raise TypeError("read_image_bytes takes the encoded file's bytes, not a str (for a path use "
                        "read_image)")
    if not isinstance(data, bytes):
        try:
            view = memoryview(data)
        except TypeError:
            raise TypeError(f"read_image_bytes needs a bytes-like object, not "
                            f"{type(data).__name__}") from None
        if not view.contiguous:
            raise binding_error(Status.INVALID_ARGUMENT, "read_image_bytes needs a contiguous buffer")
        data = view.tobytes()
    keep: Any = data  # a bytes object: c_char_p points into it without copying
    size = _ranges.fit(len(data), ctypes.c_size_t, "data size")
    pointer = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p)
    params = _read_params(gray, raw_values, max_pixels, short_side, max_side)
    result = _read(lambda *rest: C.adn_image_read_memory(pointer, size, *rest), params, uint8, full,
                   use_numpy)
    del keep  # the buffer had to stay alive during the call
    return result


def write_image(path: PathLike, image: ImageLike, *, alpha: Optional[ImageLike] = None,
                jpeg_quality: Optional[int] = None, png_bit_depth: Optional[int] = None) -> None:
    """Writes 1- or 3-channel pixels (H x W or H x W x C; uint8 0..255, uint16 0..65535, or float32 /
    float64 in [0,1], clamped)
    with optional alpha (H x W) to a PNG or JPEG chosen by the extension.  The library writes a
    temporary file and renames it, so a failure leaves no partial output."""
    channels = None
    if is_uint8(image) and _channels_of(image) == 3:
        channels = 3  # let the library itself do the 8-bit -> float conversion
    pixels = to_planar(image, channels, "image")
    alpha_planar = to_planar(alpha, 1, "alpha") if alpha is not None else None
    params = new_params(_lib.adn_write_params)
    if jpeg_quality is not None:
        params.jpeg_quality = _ranges.int32(jpeg_quality, "jpeg_quality")
    if png_bit_depth is not None:
        params.png_bit_depth = _ranges.int32(png_bit_depth, "png_bit_depth")
    check(C.adn_image_write(_encode_path(path), pixels.ref,
                            alpha_planar.ref if alpha_planar else None, ctypes.byref(params)))


def _channels_of(image: ImageLike) -> int:
    shape = getattr(image, "shape", ())
    return shape[2] if len(shape) == 3 else 1
