"""Raw ctypes view of include/adain_dcs.h: library loading, struct mirrors and prototypes.

Everything here mirrors the C header one to one; the friendly API lives in the other modules.
C enums are declared as ``c_int`` (their size and alignment with GCC/Clang on every supported ABI).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
from ctypes import (POINTER, CFUNCTYPE, c_char_p, c_double, c_float, c_int, c_int32, c_int64,
                    c_size_t, c_uint8, c_uint64, c_void_p)
from typing import Any, Callable, Optional, Tuple

from . import _ranges

SONAME = "libadain_dcs.so.1"  # soversion 1: contexts and size-prefixed structs

# --- enums (values from the header) ----------------------------------------------------------------
c_enum = c_int

ADN_OK = 0
ADN_ERR_INVALID_ARGUMENT = 1
ADN_ERR_OUT_OF_MEMORY = 2
ADN_ERR_IO = 3
ADN_ERR_FORMAT = 4
ADN_ERR_TOO_LARGE = 5
ADN_ERR_NON_FINITE = 6
ADN_ERR_MODEL = 7
ADN_ERR_DEVICE = 8
ADN_ERR_UNSUPPORTED = 9
ADN_ERR_INTERNAL = 10
ADN_ERR_CANCELLED = 11

ADN_FORMAT_UNKNOWN, ADN_FORMAT_PNG, ADN_FORMAT_JPEG = 0, 1, 2
ADN_PIXELS_RGB, ADN_PIXELS_GRAY = 0, 1
ADN_DEVICE_AUTO, ADN_DEVICE_CPU, ADN_DEVICE_CUDA = 0, 1, 2
ADN_PRECISION_FP32, ADN_PRECISION_BF16, ADN_PRECISION_FP16 = 0, 1, 2
ADN_DEPTH_KIND_NONE, ADN_DEPTH_KIND_DEPTH, ADN_DEPTH_KIND_DISPARITY = 0, 1, 2
ADN_DEPTH_AUTO, ADN_DEPTH_NETWORK, ADN_DEPTH_CALLER, ADN_DEPTH_NONE = 0, 1, 2, 3
ADN_LOG_DEBUG, ADN_LOG_INFO, ADN_LOG_WARN, ADN_LOG_ERROR = 0, 1, 2, 3
(ADN_STAGE_ENCODE_CONTENT, ADN_STAGE_ENCODE_STYLE, ADN_STAGE_DEPTH, ADN_STAGE_ADAIN_BLEND,
 ADN_STAGE_DECODE) = 0, 1, 2, 3, 4

ADN_ADAIN_EPS = 1e-5
ADN_MAX_THREADS = 1024
ADN_DEFAULT_MAX_PIXELS = 1 << 28


# --- structs ---------------------------------------------------------------------------------------
class _Struct(ctypes.Structure):
    """A Structure whose integer fields refuse values they cannot hold: ctypes would store
    ``2**32 + 1`` in a c_int32 field as 1 without a word (see _ranges)."""

    def __setattr__(self, name: str, value: Any) -> None:
        ctype = _ranges.field_type(self, name)
        if ctype is not None:
            value = _ranges.checked_if_integer(value, ctype, f"{type(self).__name__}.{name}")
        super().__setattr__(name, value)


class _Sized(_Struct):
    """A parameter or info struct of the growing kind: its first field is ``size_t struct_size``,
    the caller's sizeof, and the library reads and writes only that many bytes.  A new instance has
    struct_size = ctypes.sizeof(its type) unless struct_size is given explicitly."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not args and "struct_size" not in kwargs:
            self.struct_size = ctypes.sizeof(self)


# Frozen plain-data structs (no struct_size; they never grow).
class adn_image(_Struct):
    _fields_ = [("data", POINTER(c_float)), ("channels", c_int32), ("height", c_int32),
                ("width", c_int32)]


class adn_image_u8(_Struct):
    _fields_ = [("data", POINTER(c_uint8)), ("channels", c_int32), ("height", c_int32),
                ("width", c_int32), ("stride", c_size_t)]


class adn_depth_norm_params(_Struct):
    _fields_ = [("is_disparity", c_int32), ("has_invalid", c_int32), ("invalid_value", c_float)]


# Size-prefixed structs.
class adn_read_params(_Sized):
    _fields_ = [("struct_size", c_size_t), ("max_pixels", c_uint64), ("mode", c_enum),
                ("raw_values", c_int32), ("short_side", c_int32), ("max_side", c_int32),
                ("decoder_scaling", c_int32)]


class adn_image_info(_Sized):
    _fields_ = [("struct_size", c_size_t), ("format", c_enum), ("height", c_int32),
                ("width", c_int32), ("bit_depth", c_int32), ("file_channels", c_int32),
                ("has_alpha", c_int32)]


class adn_write_params(_Sized):
    _fields_ = [("struct_size", c_size_t), ("jpeg_quality", c_int32), ("png_bit_depth", c_int32)]


class adn_model_params(_Sized):
    _fields_ = [("struct_size", c_size_t), ("device", c_enum), ("cuda_device_index", c_int32),
                ("n_threads", c_int32), ("load_depth", c_int32), ("optimize", c_int32),
                ("precision", c_enum), ("trust_unsealed", c_int32)]


class adn_model_info(_Sized):
    _fields_ = [("struct_size", c_size_t), ("feature_channels", c_int32), ("downsample", c_int32),
                ("depth_kind", c_enum), ("device", c_enum), ("cuda_device_index", c_int32),
                ("precision", c_enum), ("backend", c_char_p)]


adn_progress_callback = CFUNCTYPE(c_int, c_enum, c_void_p)


class adn_context_params(_Sized):
    _fields_ = [("struct_size", c_size_t), ("depth_lo", c_float), ("depth_hi", c_float),
                ("progress", adn_progress_callback), ("progress_user_data", c_void_p),
                ("memory_budget_bytes", c_uint64)]


class adn_stylize_params(_Sized):
    _fields_ = [("struct_size", c_size_t),
                ("alpha", c_float),
                ("mask", POINTER(adn_image)),
                ("style_weights", POINTER(c_float)),
                ("region_masks", POINTER(adn_image)),
                ("depth_source", c_enum),
                ("depth", POINTER(adn_image)),
                ("depth_norm", adn_depth_norm_params),
                ("preserve_color", c_int32)]


class adn_timings(_Sized):
    _fields_ = [("struct_size", c_size_t), ("style_encode_ms", c_double),
                ("content_encode_ms", c_double), ("depth_ms", c_double),
                ("adain_blend_ms", c_double), ("decode_ms", c_double), ("total_ms", c_double)]


# Experimental (ADN_EXPERIMENTAL_API): no compatibility promise.
class adn_temporal_params(_Sized):
    _fields_ = [("struct_size", c_size_t), ("depth_ema", c_float), ("range_ema", c_float),
                ("content_stats_ema", c_float), ("scene_cut_threshold", c_float)]


# Opaque handles: only ever passed back to the library.
adn_model_p = c_void_p
adn_style_p = c_void_p
adn_context_p = c_void_p

adn_log_callback = CFUNCTYPE(None, c_enum, c_char_p, c_void_p)

F32P = POINTER(c_float)
U8P = POINTER(c_uint8)
ImgP = POINTER(adn_image)
U8ImgP = POINTER(adn_image_u8)
status_t = c_enum


def _init_proto(struct: Any) -> Tuple[Any, list]:
    return (status_t, [POINTER(struct), c_size_t])


# name: (restype, argtypes).  Every function the header declares (tests/test_layout.py checks that
# the set and the argument counts match); the static inline adn_*_default_params() are not symbols.
_PROTOTYPES = {
    "adn_version": (c_char_p, []),
    "adn_version_number": (c_int, []),
    "adn_has_feature": (c_int, [c_char_p]),
    "adn_status_str": (c_char_p, [status_t]),
    "adn_last_error": (c_char_p, []),
    "adn_clear_error": (None, []),
    "adn_set_log_callback": (None, [adn_log_callback, c_void_p, c_enum]),
    "adn_image_alloc": (status_t, [ImgP, c_int32, c_int32, c_int32]),
    "adn_image_free": (None, [ImgP]),
    "adn_image_from_u8": (status_t, [U8ImgP, ImgP, ImgP]),
    "adn_image_to_u8": (status_t, [ImgP, ImgP, U8ImgP]),
    "adn_image_u8_free": (None, [U8ImgP]),
    "adn_read_params_init": _init_proto(adn_read_params),
    "adn_write_params_init": _init_proto(adn_write_params),
    "adn_image_read": (status_t, [c_char_p, POINTER(adn_read_params), ImgP, ImgP,
                                  POINTER(adn_image_info)]),
    "adn_image_read_memory": (status_t, [c_void_p, c_size_t, POINTER(adn_read_params), ImgP, ImgP,
                                         POINTER(adn_image_info)]),
    "adn_image_write": (status_t, [c_char_p, ImgP, ImgP, POINTER(adn_write_params)]),
    "adn_channel_stats": (status_t, [F32P, c_int32, c_int64, c_float, F32P, F32P]),
    "adn_channel_stats_masked": (status_t, [F32P, c_int32, c_int64, F32P, c_float, F32P, F32P]),
    "adn_adain": (status_t, [F32P, c_int32, c_int64, F32P, F32P, c_float, F32P]),
    "adn_adain_interpolate": (status_t, [F32P, c_int32, c_int64, c_int32, F32P, F32P, F32P, c_float,
                                         F32P]),
    "adn_adain_regions": (status_t, [F32P, c_int32, c_int64, c_int32, F32P, F32P, F32P, c_float,
                                     F32P]),
    "adn_depth_normalize": (status_t, [F32P, c_int64, POINTER(adn_depth_norm_params), F32P, U8P]),
    "adn_depth_range_map": (status_t, [F32P, c_int64, c_float, c_float, F32P]),
    "adn_resize_bilinear": (status_t, [F32P, c_int32, c_int32, c_int32, F32P, c_int32, c_int32]),
    "adn_round_up": (c_int32, [c_int32, c_int32]),
    "adn_pad_reflect": (status_t, [F32P, c_int32, c_int32, c_int32, F32P, c_int32, c_int32]),
    "adn_crop": (status_t, [F32P, c_int32, c_int32, c_int32, F32P, c_int32, c_int32]),
    "adn_block_average": (status_t, [F32P, U8P, c_int32, c_int32, c_int32, c_int32, c_float, F32P]),
    "adn_strength_map": (status_t, [c_float, F32P, F32P, c_int64, F32P]),
    "adn_blend": (status_t, [F32P, F32P, F32P, c_int32, c_int64, F32P]),
    "adn_coral": (status_t, [F32P, c_int64, F32P, c_int64, F32P]),
    "adn_model_params_init": _init_proto(adn_model_params),
    "adn_model_load": (status_t, [c_char_p, POINTER(adn_model_params), POINTER(adn_model_p)]),
    "adn_model_free": (None, [adn_model_p]),
    "adn_model_get_info": (status_t, [adn_model_p, POINTER(adn_model_info)]),
    "adn_style_create": (status_t, [adn_model_p, ImgP, POINTER(adn_style_p)]),
    "adn_style_free": (None, [adn_style_p]),
    "adn_style_get_stats": (status_t, [adn_style_p, F32P, F32P, POINTER(c_int32)]),
    "adn_context_params_init": _init_proto(adn_context_params),
    "adn_context_create": (status_t, [adn_model_p, POINTER(adn_context_params),
                                      POINTER(adn_context_p)]),
    "adn_context_free": (None, [adn_context_p]),
    "adn_context_get_model": (adn_model_p, [adn_context_p]),
    "adn_set_depth_range": (status_t, [adn_context_p, c_float, c_float]),
    "adn_context_get_depth_range": (status_t, [adn_context_p, F32P, F32P]),
    "adn_context_reset": (status_t, [adn_context_p]),
    "adn_stylize_params_init": _init_proto(adn_stylize_params),
    "adn_stylize": (status_t, [adn_context_p, ImgP, POINTER(adn_style_p), c_int32,
                               POINTER(adn_stylize_params), ImgP]),
    "adn_estimate_depth": (status_t, [adn_context_p, ImgP, ImgP]),
    "adn_context_get_depth": (status_t, [adn_context_p, ImgP]),
    "adn_context_get_strength": (status_t, [adn_context_p, ImgP]),
    "adn_context_get_timings": (status_t, [adn_context_p, POINTER(adn_timings)]),
    # experimental
    "adn_temporal_params_init": _init_proto(adn_temporal_params),
    "adn_context_set_temporal": (status_t, [adn_context_p, POINTER(adn_temporal_params)]),
}

#: The exported initialiser of each parameter struct (adn_X_params_init(p, sizeof *p)).
PARAMS_INIT = {
    adn_read_params: "adn_read_params_init",
    adn_write_params: "adn_write_params_init",
    adn_model_params: "adn_model_params_init",
    adn_context_params: "adn_context_params_init",
    adn_stylize_params: "adn_stylize_params_init",
    adn_temporal_params: "adn_temporal_params_init",
}

#: Functions outside every compatibility promise (ADN_EXPERIMENTAL_API in the header).
EXPERIMENTAL = frozenset({"adn_temporal_params_init", "adn_context_set_temporal"})


class _MissingFunction:
    """Stands in for a symbol the loaded library lacks, so that the rest still works and the
    caller learns precisely what is missing when (and only when) it is used."""

    def __init__(self, name: str):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise NotImplementedError(f"{self.name} is not exported by the loaded libadain_dcs")


def _range_checked(name: str, fn: Any, argtypes: list) -> Callable[..., Any]:
    """fn, refusing integer arguments its C types cannot hold (ctypes would silently wrap them)."""
    slots = [(i, t) for i, t in enumerate(argtypes) if t in _ranges.INTEGER_RANGES]
    if not slots:
        return fn

    def call(*args: Any) -> Any:
        for i, ctype in slots:
            if i < len(args):
                _ranges.checked_if_integer(args[i], ctype, f"{name}: argument {i + 1}")
        return fn(*args)

    call.__name__ = call.__qualname__ = name
    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


def _candidate_paths() -> list:
    explicit = os.environ.get("ADN_LIBRARY")
    if explicit:
        # An explicit path is a promise: do not silently fall back to another copy.
        return [explicit]
    found = ctypes.util.find_library("adain_dcs")
    return [SONAME] + ([found] if found else [])


def _open_library() -> ctypes.CDLL:
    errors = []
    for candidate in _candidate_paths():
        try:
            return ctypes.CDLL(candidate)
        except OSError as exc:
            errors.append(f"{candidate}: {exc}")
    raise ImportError("cannot load libadain_dcs (set ADN_LIBRARY to the full path of "
                      "libadain_dcs.so): " + "; ".join(errors))


class _Functions:
    """Namespace of the prototyped C functions: ``C.adn_version()`` and so on."""

    def __init__(self, cdll: ctypes.CDLL):
        for name, (restype, argtypes) in _PROTOTYPES.items():
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                setattr(self, name, _MissingFunction(name))
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, _range_checked(name, fn, argtypes))

    def __getattr__(self, name: str):  # only reached for names missing from _PROTOTYPES
        raise AttributeError(f"{name} has no prototype in adain_dcs._lib")


lib: ctypes.CDLL = _open_library()
library_path: Optional[str] = getattr(lib, "_name", None)
C = _Functions(lib)
