"""The library's pure math (METHOD.md §2, §3, §5, §6) as thin wrappers.

These work on the library's own layout: planar, channel-major float32.  A feature map is C x N (or
C x H x W; N = H * W), an image C x H x W, a map H x W (or N values).  With numpy, pass arrays and get
float32 arrays of the natural shape back.  Without numpy, pass flat sequences of floats (row-major,
channel-major) plus ``shape=`` where a shape is needed, and get ``array('f')`` back.

Every function raises the library's errors (InvalidArgument, NonFinite, ...) for bad input.
"""
from __future__ import annotations

import ctypes
from array import array
from typing import Any, Optional, Sequence, Tuple

from . import _lib, _ranges
from ._lib import C, adn_depth_norm_params
from .errors import Status, binding_error, check
from .image import HAVE_NUMPY, np

ADAIN_EPS: float = _lib.ADN_ADAIN_EPS
Floats = Any  # numpy array or sequence of floats


class _In:
    """A read-only float32 view of a user argument, with its shape and a C pointer."""

    def __init__(self, value: Floats, what: str, shape: Optional[Sequence[int]] = None):
        if value is None:
            raise binding_error(Status.INVALID_ARGUMENT, f"{what} is None")
        self.numpy = HAVE_NUMPY and not isinstance(value, array)
        if self.numpy:
            self.keep = np.ascontiguousarray(value, dtype=np.float32)
            if shape is not None:
                self.keep = self.keep.reshape(shape)
            self.shape: Tuple[int, ...] = tuple(self.keep.shape)
            self.ptr = self.keep.ctypes.data_as(_lib.F32P)
        else:
            flat = value if isinstance(value, array) and value.typecode == "f" else array("f", value)
            self.shape = tuple(shape) if shape is not None else (len(flat),)
            if _product(self.shape) != len(flat):
                raise binding_error(Status.INVALID_ARGUMENT,
                                    f"{what} has {len(flat)} values, shape {self.shape} needs "
                                    f"{_product(self.shape)}")
            self.keep = (ctypes.c_float * max(len(flat), 1)).from_buffer(flat) if len(flat) else None
            self._flat = flat
            self.ptr = ctypes.cast(self.keep, _lib.F32P) if self.keep is not None else None
        self.size = _product(self.shape)

    def split(self, what: str) -> Tuple[int, int]:
        """(channels, pixels) of a C x N or C x H x W map."""
        if len(self.shape) < 2:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"{what} must be C x N or C x H x W, has shape {self.shape}")
        return self.shape[0], _product(self.shape[1:])

    def chw(self, what: str) -> Tuple[int, int, int]:
        """(C, H, W) of an H x W or C x H x W image."""
        if len(self.shape) == 2:
            return 1, self.shape[0], self.shape[1]
        if len(self.shape) != 3:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"{what} must be H x W or C x H x W, has shape {self.shape}")
        return self.shape  # type: ignore[return-value]


class _Out:
    """A float32 output buffer of a given shape (numpy array or array('f'))."""

    def __init__(self, shape: Sequence[int], use_numpy: bool, dtype: str = "f"):
        self.shape = tuple(shape)
        count = _product(self.shape)
        if use_numpy:
            self.value = np.zeros(self.shape, dtype=np.float32 if dtype == "f" else np.uint8)
            self.ptr = self.value.ctypes.data_as(_lib.F32P if dtype == "f" else _lib.U8P)
        else:
            self.value = array(dtype, bytes(count * (4 if dtype == "f" else 1)))
            ctype = ctypes.c_float if dtype == "f" else ctypes.c_uint8
            self._c = (ctype * max(count, 1)).from_buffer(self.value) if count else None
            self.ptr = ctypes.cast(self._c, _lib.F32P if dtype == "f" else _lib.U8P)


def _product(shape: Sequence[int]) -> int:
    total = 1
    for s in shape:
        total *= int(s)
    return total


def _use_numpy(*inputs: _In) -> bool:
    return any(i.numpy for i in inputs)


def _same_size(a: _In, n: int, what: str) -> None:
    if a.size != n:
        raise binding_error(Status.INVALID_ARGUMENT, f"{what} has {a.size} values, expected {n}")


# --- AdaIN (§2) -------------------------------------------------------------------------------------

def channel_stats(x: Floats, eps: float = ADAIN_EPS, *, shape: Optional[Sequence[int]] = None,
                  mask: Optional[Floats] = None) -> Tuple[Floats, Floats]:
    """Per-channel mean and std (unbiased variance + eps under the root) of a C x N map; with
    ``mask`` (N values) only over the pixels where mask > 0.5.  Returns (mean, std), C values each."""
    xi = _In(x, "x", shape)
    channels, n = xi.split("x")
    mean, std = _Out((channels,), xi.numpy), _Out((channels,), xi.numpy)
    if mask is None:
        check(C.adn_channel_stats(xi.ptr, channels, n, eps, mean.ptr, std.ptr))
    else:
        mi = _In(mask, "mask")
        _same_size(mi, n, "mask")
        check(C.adn_channel_stats_masked(xi.ptr, channels, n, mi.ptr, eps, mean.ptr, std.ptr))
    return mean.value, std.value


def adain(x: Floats, style_mean: Floats, style_std: Floats, eps: float = ADAIN_EPS, *,
          shape: Optional[Sequence[int]] = None) -> Floats:
    """AdaIN of a C x N (or C x H x W) map to the given style statistics (C values each)."""
    xi = _In(x, "x", shape)
    channels, n = xi.split("x")
    mi, si = _In(style_mean, "style_mean"), _In(style_std, "style_std")
    _same_size(mi, channels, "style_mean")
    _same_size(si, channels, "style_std")
    out = _Out(xi.shape, xi.numpy)
    check(C.adn_adain(xi.ptr, channels, n, mi.ptr, si.ptr, eps, out.ptr))
    return out.value


def _style_table(values: Floats, k: int, channels: int, what: str) -> _In:
    table = _In(values, what)
    _same_size(table, k * channels, what)
    return table


def adain_interpolate(x: Floats, weights: Floats, style_means: Floats, style_stds: Floats,
                      eps: float = ADAIN_EPS, *, shape: Optional[Sequence[int]] = None) -> Floats:
    """sum_k w_k AdaIN(x, style_k) with weights normalised to sum 1; style_means / style_stds are
    K x C."""
    xi = _In(x, "x", shape)
    channels, n = xi.split("x")
    wi = _In(weights, "weights")
    k = wi.size
    means = _style_table(style_means, k, channels, "style_means")
    stds = _style_table(style_stds, k, channels, "style_stds")
    out = _Out(xi.shape, xi.numpy)
    check(C.adn_adain_interpolate(xi.ptr, channels, n, k, wi.ptr, means.ptr, stds.ptr, eps, out.ptr))
    return out.value


def adain_regions(x: Floats, masks: Floats, style_means: Floats, style_stds: Floats,
                  eps: float = ADAIN_EPS, *, shape: Optional[Sequence[int]] = None) -> Floats:
    """sum_k m_k AdaIN_k(x, style_k), region k's content statistics over pixels with m_k > 0.5.
    masks is K x N (or K x H x W); style_means / style_stds are K x C."""
    xi = _In(x, "x", shape)
    channels, n = xi.split("x")
    if n < 1:  # K = size / N below needs N >= 1
        raise binding_error(Status.INVALID_ARGUMENT, f"x has no pixels (shape {xi.shape})")
    mi = _In(masks, "masks")
    if mi.size % n:
        raise binding_error(Status.INVALID_ARGUMENT, f"masks has {mi.size} values, not K x {n}")
    k = mi.size // n
    means = _style_table(style_means, k, channels, "style_means")
    stds = _style_table(style_stds, k, channels, "style_stds")
    out = _Out(xi.shape, xi.numpy)
    check(C.adn_adain_regions(xi.ptr, channels, n, k, mi.ptr, means.ptr, stds.ptr, eps, out.ptr))
    return out.value


# --- depth and strength (§1, §3) ------------------------------------------------------------------

def depth_normalize(depth: Floats, *, is_disparity: bool = False, invalid: Optional[float] = None,
                    return_valid: bool = False) -> Any:
    """D = (d - min) / (max - min) over valid pixels (constant -> 0), 1 - D for disparity; pixels
    equal to ``invalid`` are left out and get D = 1.  Returns D (same shape), or (D, valid) with
    ``return_valid`` (valid: 1/0 per pixel, uint8)."""
    di = _In(depth, "depth")
    params = adn_depth_norm_params(1 if is_disparity else 0, 0 if invalid is None else 1,
                                   0.0 if invalid is None else float(invalid))
    out = _Out(di.shape, di.numpy)
    valid = _Out(di.shape, di.numpy, dtype="B")
    check(C.adn_depth_normalize(di.ptr, di.size, ctypes.byref(params), out.ptr, valid.ptr))
    if not return_valid:
        return out.value
    if invalid is None:  # the library leaves `valid` alone then: every pixel counts
        for_all = np.ones(di.shape, np.uint8) if di.numpy else array("B", b"\x01" * di.size)
        return out.value, for_all
    return out.value, valid.value


def depth_range_map(d: Floats, lo: float, hi: float) -> Floats:
    """R(D) = lo + (hi - lo) D."""
    di = _In(d, "d")
    out = _Out(di.shape, di.numpy)
    check(C.adn_depth_range_map(di.ptr, di.size, lo, hi, out.ptr))
    return out.value


def strength_map(alpha: float, mask: Optional[Floats] = None, range_map: Optional[Floats] = None,
                 n: Optional[int] = None) -> Floats:
    """S = alpha * M * R clamped to [0,1]; mask and range_map may be None (1).  n is needed only when
    both are None."""
    mi = _In(mask, "mask") if mask is not None else None
    ri = _In(range_map, "range_map") if range_map is not None else None
    given = [i for i in (mi, ri) if i is not None]
    if given:
        shape = given[0].shape
        if mi is not None and ri is not None:
            _same_size(ri, mi.size, "range_map")
    elif n is not None:
        n = _ranges.int64(n, "n")  # sizes the output below, so it must be what C gets
        if n < 1:
            raise binding_error(Status.INVALID_ARGUMENT, f"n must be >= 1, is {n}")
        shape = (n,)
    else:
        raise binding_error(Status.INVALID_ARGUMENT, "strength_map needs mask, range_map or n")
    out = _Out(shape, _use_numpy(*given) if given else HAVE_NUMPY)
    check(C.adn_strength_map(alpha, mi.ptr if mi else None, ri.ptr if ri else None,
                             _product(shape), out.ptr))
    return out.value


def blend(stylized: Floats, content: Floats, strength: Floats, *,
          shape: Optional[Sequence[int]] = None) -> Floats:
    """f = S t + (1 - S) fc for C x N maps (or C x H x W), S with N values."""
    ti = _In(stylized, "stylized", shape)
    channels, n = ti.split("stylized")
    ci = _In(content, "content", ti.shape)
    si = _In(strength, "strength")
    _same_size(si, n, "strength")
    out = _Out(ti.shape, ti.numpy)
    check(C.adn_blend(ti.ptr, ci.ptr, si.ptr, channels, n, out.ptr))
    return out.value


# --- sizes (§5) ---------------------------------------------------------------------------------------

def round_up(size: int, multiple: int = 8) -> int:
    """Smallest multiple of `multiple` that is >= size."""
    size, multiple = _ranges.int32(size, "size"), _ranges.int32(multiple, "multiple")
    if size < 1 or multiple < 1:
        raise binding_error(Status.INVALID_ARGUMENT, f"round_up({size}, {multiple}): both must be >= 1")
    return int(C.adn_round_up(size, multiple))


def _resampled(fn: Any, x: Floats, height: int, width: int, shape: Optional[Sequence[int]],
               what: str) -> Floats:
    # The output is allocated from these before the library checks them: they must fit its int32.
    height, width = _ranges.size32(height, "height"), _ranges.size32(width, "width")
    xi = _In(x, "x", shape)
    channels, h, w = xi.chw("x")
    out_shape = (height, width) if len(xi.shape) == 2 else (channels, height, width)
    out = _Out(out_shape, xi.numpy)
    check(fn(xi.ptr, channels, h, w, out.ptr, height, width))
    return out.value


def resize_bilinear(x: Floats, height: int, width: int, *,
                    shape: Optional[Sequence[int]] = None) -> Floats:
    """Bilinear resize of C x H x W (or H x W) to height x width, like
    F.interpolate(mode='bilinear', align_corners=False)."""
    return _resampled(C.adn_resize_bilinear, x, height, width, shape, "resize_bilinear")


def pad_reflect(x: Floats, height: int, width: int, *, shape: Optional[Sequence[int]] = None) -> Floats:
    """Reflection padding at the bottom and right to height x width (periodic for large pads)."""
    return _resampled(C.adn_pad_reflect, x, height, width, shape, "pad_reflect")


def crop(x: Floats, height: int, width: int, *, shape: Optional[Sequence[int]] = None) -> Floats:
    """The top-left height x width of C x H x W (or H x W)."""
    return _resampled(C.adn_crop, x, height, width, shape, "crop")


def block_average(x: Floats, block: int = 8, *, valid: Optional[Floats] = None,
                  empty_value: float = 0.0, shape: Optional[Sequence[int]] = None) -> Floats:
    """Average of each block x block tile (F.avg_pool2d); with ``valid`` (H x W, nonzero = use) only
    valid pixels count and a tile without any gets empty_value."""
    xi = _In(x, "x", shape)
    channels, h, w = xi.chw("x")
    block = _ranges.size32(block, "block")  # sizes the output below, so it must be what C gets
    valid_c = None
    if valid is not None:
        flags = bytes(1 if v else 0 for v in (valid.ravel() if hasattr(valid, "ravel") else valid))
        if len(flags) != h * w:
            raise binding_error(Status.INVALID_ARGUMENT, f"valid has {len(flags)} values, expected {h * w}")
        valid_c = (ctypes.c_uint8 * len(flags)).from_buffer_copy(flags)
    out_hw = (h // block, w // block)
    out = _Out(out_hw if len(xi.shape) == 2 else (channels,) + out_hw, xi.numpy)
    check(C.adn_block_average(xi.ptr, valid_c, channels, h, w, block, empty_value, out.ptr))
    return out.value


# --- colour (§6) ----------------------------------------------------------------------------------------

def coral(style: Floats, content: Floats) -> Floats:
    """CORAL: the 3 x N style pixels re-coloured to the content's colour statistics (3 x M)."""
    si, ci = _In(style, "style"), _In(content, "content")
    if si.size % 3 or ci.size % 3:
        raise binding_error(Status.INVALID_ARGUMENT, "coral needs 3 x N style and content pixels")
    out = _Out(si.shape, si.numpy)
    check(C.adn_coral(si.ptr, si.size // 3, ci.ptr, ci.size // 3, out.ptr))
    return out.value
