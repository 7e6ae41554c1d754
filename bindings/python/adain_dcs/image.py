"""Pixels in and out of the library.

Users hand images over the way Python image code usually holds them: interleaved H x W x C, either
numpy arrays or, where numpy is not installed, the small :class:`Image` type below.  The library works on planar C x H x W float32 (``adn_image``); the helpers
here convert between the two and own the memory that a C call reads or writes.

The dtype decides the scale.  uint8 pixels are 0..255 and are converted by the library itself
(``adn_image_from_u8`` / ``adn_image_to_u8``: divide by 255; clamp to [0,1] and round to nearest), so
an 8-bit result of this binding is bit-identical to what the C API gives.  uint16 pixels are
0..65535 (divided by 65535 here), float32 and float64 are taken as [0,1].  Every other dtype (signed
or wider integers, bool, float16, complex, object) is refused with a TypeError naming it, rather
than guessed at.  Caller depth maps are measurements, not pixels: any integer or floating dtype,
values kept as they are.
"""
from __future__ import annotations

import ctypes
from array import array
from typing import Any, Optional, Sequence, Tuple, Union

from . import _lib
from ._lib import C, adn_image, adn_image_u8
from .errors import Status, binding_error, check

try:  # numpy is optional: without it the Image type is used
    import numpy as np
except ImportError:  # pragma: no cover - exercised by a subprocess test
    np = None  # type: ignore[assignment]

HAVE_NUMPY = np is not None

BytesLike = Union[bytes, bytearray, memoryview]


class Image:
    """A minimal interleaved image for use without numpy.

    ``data`` holds ``height * width * channels`` values in row-major H x W x C order (the layout of a
    numpy ``(H, W, C)`` array): a bytes-like object means 8-bit values 0..255, anything else is a
    sequence of floats (stored as ``array('f')``), nominally in [0,1].
    """

    __slots__ = ("width", "height", "channels", "data")

    def __init__(self, width: int, height: int, channels: int,
                 data: Union[BytesLike, Sequence[float], None] = None, *, uint8: bool = False):
        if width < 1 or height < 1 or channels < 1:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"invalid image size {width}x{height}x{channels} (WxHxC)")
        count = width * height * channels
        if data is None:
            data = bytes(count) if uint8 else array("f", bytes(4 * count))
        elif isinstance(data, (bytes, bytearray, memoryview)):
            data = bytes(data)
        elif not (isinstance(data, array) and data.typecode == "f"):
            data = array("f", data)
        if len(data) != count:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"image data has {len(data)} values, {width}x{height}x{channels} "
                                f"needs {count}")
        self.width = int(width)
        self.height = int(height)
        self.channels = int(channels)
        self.data: Union[bytes, array] = data

    @property
    def is_uint8(self) -> bool:
        """True for 8-bit data (bytes), False for float data (array('f'))."""
        return isinstance(self.data, bytes)

    @property
    def shape(self) -> Tuple[int, int, int]:
        """(height, width, channels), as numpy would say."""
        return (self.height, self.width, self.channels)

    def pixel(self, x: int, y: int) -> Tuple[Union[int, float], ...]:
        """The channel values of pixel (x, y)."""
        start = (y * self.width + x) * self.channels
        return tuple(self.data[start:start + self.channels])

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Image) and self.shape == other.shape
                and self.is_uint8 == other.is_uint8 and self.data == other.data)

    def __repr__(self) -> str:
        kind = "uint8" if self.is_uint8 else "float32"
        return f"Image(width={self.width}, height={self.height}, channels={self.channels}, {kind})"


ImageLike = Any  # numpy.ndarray (H x W [x C]) or Image


class Planar:
    """An ``adn_image`` plus whatever keeps its memory alive.

    ``owned`` buffers were allocated by the library and are released with ``adn_image_free`` (on
    :meth:`free` or garbage collection); others point into a Python object kept in ``_keep``."""

    def __init__(self) -> None:
        self.struct = adn_image()
        self.owned = False
        self._keep: Any = None

    @classmethod
    def empty_output(cls) -> "Planar":
        """An empty adn_image for the library to allocate into (owned from then on)."""
        planar = cls()
        planar.owned = True
        return planar

    @classmethod
    def wrap(cls, keep: Any, pointer: Any, channels: int, height: int, width: int) -> "Planar":
        planar = cls()
        planar._keep = keep
        planar.struct.data = ctypes.cast(pointer, _lib.F32P)
        planar.struct.channels, planar.struct.height, planar.struct.width = channels, height, width
        return planar

    @property
    def ref(self) -> Any:
        return ctypes.byref(self.struct)

    @property
    def pointer(self) -> Any:
        return ctypes.pointer(self.struct)

    @property
    def shape(self) -> Tuple[int, int, int]:
        return (self.struct.channels, self.struct.height, self.struct.width)

    def free(self) -> None:
        if self.owned and self.struct.data:
            C.adn_image_free(ctypes.byref(self.struct))
        self._keep = None

    def __del__(self) -> None:
        try:
            self.free()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass


# --- user object -> planar float --------------------------------------------------------------------

#: numpy dtypes accepted as image pixels, and the scale that maps them to [0,1] (None: taken as is).
_IMAGE_SCALES = {"uint8": 255.0, "uint16": 65535.0, "float32": None, "float64": None}


def is_uint8(image: ImageLike) -> bool:
    """Whether an image is 8-bit (numpy uint8 or an Image with bytes)."""
    if isinstance(image, Image):
        return image.is_uint8
    return HAVE_NUMPY and isinstance(image, np.ndarray) and image.dtype == np.uint8


def _u8_to_planar_rgb(buffer: Any, pointer: Any, width: int, height: int, channels: int) -> Planar:
    """8-bit interleaved (1..4 channels) -> RGB float through the library's own conversion."""
    src = adn_image_u8()
    src.data = ctypes.cast(pointer, _lib.U8P)
    src.channels, src.height, src.width, src.stride = channels, height, width, width * channels
    out = Planar.empty_output()
    check(C.adn_image_from_u8(ctypes.byref(src), out.ref, None))
    del buffer  # only needed to stay alive during the call above
    return out


def _looks_chw(shape: Tuple[int, ...]) -> bool:
    """(3, H, W) or (1, H, W) with H, W > 4: planar channel-first data where H x W x C is wanted."""
    return len(shape) == 3 and shape[0] in (1, 3) and shape[1] > 4 and shape[2] > 4


def _chw_hint(shape: Tuple[int, ...]) -> str:
    if not _looks_chw(shape):
        return ""
    return ("; it looks channel-first (C x H x W): this binding takes H x W x C images, "
            "pass array.transpose(1, 2, 0)")


def check_image_dtype(arr: Any, what: str, raw: bool = False) -> None:
    """Refuses numpy dtypes that have no pixel meaning, with a TypeError naming the dtype.  Images
    take uint8 (0..255), uint16 (0..65535), float32 or float64 (0..1); raw maps (caller depth) take
    any integer or floating dtype, unscaled."""
    if raw:
        if arr.dtype.kind in "iuf":
            return
        raise TypeError(f"{what} has dtype {arr.dtype}: a depth map must have an integer or "
                        f"floating dtype")
    if arr.dtype.name not in _IMAGE_SCALES:
        raise TypeError(f"{what} has dtype {arr.dtype}: images must be uint8 (0..255), uint16 "
                        f"(0..65535), float32 or float64 (0..1); convert it first, e.g. "
                        f"array.astype(np.float32) / scale")


def _numpy_to_planar(arr: Any, channels: Optional[int], what: str, raw: bool) -> Planar:
    check_image_dtype(arr, what, raw)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[0] < 1 or arr.shape[1] < 1 or arr.shape[2] < 1:
        raise binding_error(Status.INVALID_ARGUMENT,
                            f"{what} must be an H x W or H x W x C array, has shape {arr.shape}"
                            f"{_chw_hint(arr.shape)}")
    height, width, have = arr.shape
    if channels is None and have not in (1, 3):
        raise binding_error(Status.INVALID_ARGUMENT,
                            f"{what} must have 1 or 3 channels (H x W x C), has shape "
                            f"{arr.shape}{_chw_hint(arr.shape)}")
    if channels is not None and have != channels and not (channels == 3 and have in (1, 4)):
        raise binding_error(Status.INVALID_ARGUMENT,
                            f"{what} must have {channels} channel(s) (H x W x C), has shape "
                            f"{arr.shape}{_chw_hint(arr.shape)}")
    if arr.dtype == np.uint8 and channels == 3 and not raw:
        arr = np.ascontiguousarray(arr)
        return _u8_to_planar_rgb(arr, arr.ctypes.data, width, height, have)
    scale = None if raw else _IMAGE_SCALES[arr.dtype.name]
    if scale is not None:
        floats = arr.astype(np.float32) / np.float32(scale)
    else:
        floats = arr.astype(np.float32, copy=False)
    floats = _fit_channels_numpy(floats, channels, what)
    planar = np.ascontiguousarray(floats.transpose(2, 0, 1))
    return Planar.wrap(planar, planar.ctypes.data, planar.shape[0], height, width)


def _fit_channels_numpy(floats: Any, channels: Optional[int], what: str) -> Any:
    have = floats.shape[2]
    if channels is None or have == channels:
        return floats
    if channels == 3 and have == 1:
        return np.repeat(floats, 3, axis=2)
    if channels == 3 and have == 4:
        return floats[:, :, :3]
    raise binding_error(Status.INVALID_ARGUMENT, f"{what} must have {channels} channel(s), has {have}")


def _image_to_planar(image: Image, channels: Optional[int], what: str, raw: bool) -> Planar:
    w, h, have = image.width, image.height, image.channels
    if image.is_uint8 and channels == 3 and not raw:
        buffer = (ctypes.c_uint8 * len(image.data)).from_buffer_copy(image.data)
        return _u8_to_planar_rgb(buffer, buffer, w, h, have)
    values = array("f", image.data) if image.is_uint8 else image.data
    planes = [values[c::have] for c in range(have)]
    if image.is_uint8 and not raw:
        planes = [array("f", (v / 255.0 for v in plane)) for plane in planes]
    if channels is not None and channels != have:
        if channels == 3 and have in (1, 4):
            planes = planes * 3 if have == 1 else planes[:3]
        else:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"{what} must have {channels} channel(s), has {have}")
    flat = array("f")
    for plane in planes:
        flat.extend(plane)
    buffer = (ctypes.c_float * len(flat)).from_buffer(flat)
    return Planar.wrap((flat, buffer), buffer, len(planes), h, w)


def to_planar(image: ImageLike, channels: Optional[int], what: str, raw: bool = False) -> Planar:
    """Converts a user image (H x W or H x W x C) to planar float32.  channels=3 makes RGB (grey
    replicated, alpha dropped), 1 requires one channel, None keeps what is there.  numpy images are
    uint8 (divided by 255), uint16 (divided by 65535), float32 or float64 (taken as [0,1]); other
    dtypes raise TypeError.  raw=True (caller depth maps) keeps the stored numbers of any integer or
    floating dtype."""
    if isinstance(image, Image):
        return _image_to_planar(image, channels, what, raw)
    if HAVE_NUMPY and isinstance(image, np.ndarray):
        return _numpy_to_planar(image, channels, what, raw)
    if image is None:
        raise binding_error(Status.INVALID_ARGUMENT, f"{what} is None")
    if HAVE_NUMPY:
        return _numpy_to_planar(np.asarray(image), channels, what, raw)
    raise binding_error(Status.INVALID_ARGUMENT,
                        f"{what} must be an adain_dcs.Image (numpy is not installed), "
                        f"got {type(image).__name__}")


def to_planar_stack(images: Sequence[ImageLike], what: str) -> Planar:
    """K single-channel images (or one K x H x W numpy array) -> one K x H x W planar image."""
    if HAVE_NUMPY and isinstance(images, np.ndarray):
        if images.ndim != 3:
            raise binding_error(Status.INVALID_ARGUMENT, f"{what} must be K x H x W, has shape "
                                f"{images.shape}")
        images = list(images)
    planes = [to_planar(image, 1, f"{what}[{k}]") for k, image in enumerate(images)]
    if not planes:
        raise binding_error(Status.INVALID_ARGUMENT, f"{what} is empty")
    _, height, width = planes[0].shape
    if any(p.shape[1:] != (height, width) for p in planes):
        raise binding_error(Status.INVALID_ARGUMENT, f"all {what} must have the same size")
    n = height * width
    stacked = (ctypes.c_float * (n * len(planes)))()
    for k, plane in enumerate(planes):
        ctypes.memmove(ctypes.byref(stacked, 4 * n * k), plane.struct.data, 4 * n)
    return Planar.wrap(stacked, stacked, len(planes), height, width)


# --- planar float -> user object --------------------------------------------------------------------

def planar_to_user(planar: Planar, uint8: bool, use_numpy: bool, squeeze: bool = False,
                   out: Any = None) -> ImageLike:
    """Copies a planar image out as H x W x C (H x W when squeeze and C == 1): numpy when use_numpy,
    else Image.  uint8 clamps and rounds through adn_image_to_u8.  ``out`` (numpy, already checked
    with :func:`check_out` for that shape and dtype) receives the values and is returned."""
    channels, height, width = planar.shape
    if uint8:
        interleaved = _planar_to_u8_bytes(planar)
        if not use_numpy:
            return Image(width, height, channels, interleaved)
        result = np.frombuffer(interleaved, dtype=np.uint8).reshape(height, width, channels)
    else:
        count = channels * height * width
        if not use_numpy:
            flat = array("f")
            flat.frombytes(ctypes.string_at(planar.struct.data, 4 * count))
            plane = height * width
            interleaved_f = array("f", bytes(4 * count))
            for c in range(channels):
                interleaved_f[c::channels] = flat[c * plane:(c + 1) * plane]
            return Image(width, height, channels, interleaved_f)
        view = np.ctypeslib.as_array(planar.struct.data, shape=(count,))
        result = view.reshape(channels, height, width).transpose(1, 2, 0)
    if squeeze and channels == 1:
        result = result[:, :, 0]
    if out is not None:
        np.copyto(out, result.reshape(out.shape))
        return out
    return np.array(result, dtype=result.dtype, order="C")  # a copy: the planar memory may go


def _planar_to_u8_bytes(planar: Planar) -> bytes:
    dst = adn_image_u8()
    check(C.adn_image_to_u8(planar.ref, None, ctypes.byref(dst)))
    try:
        row = dst.stride or dst.width * dst.channels
        raw = ctypes.string_at(dst.data, row * dst.height)
        packed = dst.width * dst.channels
        if row == packed:
            return raw
        return b"".join(raw[y * row:y * row + packed] for y in range(dst.height))
    finally:
        C.adn_image_u8_free(ctypes.byref(dst))


def wants_numpy(image: ImageLike) -> bool:
    """Results come back as numpy when the input was numpy (or anything but an Image)."""
    return HAVE_NUMPY and not isinstance(image, Image)


# --- caller-supplied output buffers (out=) -----------------------------------------------------------

def check_out(out: Any, shape: Tuple[int, ...], dtype: str, what: str,
              inputs: Sequence[Tuple[str, Any]]) -> Any:
    """Validates a caller's ``out=`` buffer: a writeable, C-contiguous numpy array of exactly this
    shape and dtype that shares no memory with any of ``inputs`` ((name, value) pairs).  Wrong
    dtype: TypeError; anything else: InvalidArgument.  Returns out."""
    if not HAVE_NUMPY:
        raise TypeError(f"{what} needs numpy")
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{what} must be a numpy array, not {type(out).__name__}")
    if out.dtype != np.dtype(dtype):
        raise TypeError(f"{what} must have dtype {dtype}, has {out.dtype}")
    if out.shape != tuple(shape):
        raise binding_error(Status.INVALID_ARGUMENT,
                            f"{what} must have shape {tuple(shape)}, has {out.shape}")
    if not out.flags.c_contiguous:
        raise binding_error(Status.INVALID_ARGUMENT, f"{what} must be C-contiguous")
    if not out.flags.writeable:
        raise binding_error(Status.INVALID_ARGUMENT, f"{what} is read-only")
    for name, value in inputs:
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(item, np.ndarray) and np.may_share_memory(out, item):
                raise binding_error(Status.INVALID_ARGUMENT,
                                    f"{what} shares memory with {name}: outputs must not alias inputs")
    return out
