"""adain_dcs — Python bindings (ctypes) for libadain_dcs, depth-preserving real-time arbitrary style
transfer (AdaIN-DCS).

    import adain_dcs as adn
    with adn.Model("bundle/") as model, model.style(adn.read_image("style.jpg")) as style:
        content = adn.read_image("content.png", uint8=True)
        # one Context per thread (or video stream): depth range, progress, timings, last maps
        with model.context(depth_range=(0.2, 1.0)) as ctx:
            result = ctx.stylize(content, style, alpha=0.8, return_depth=True)
            adn.write_image("out.png", result.image)       # result.depth: H x W float32
            print(ctx.last_timings().total_ms)
        # or, statelessly, on a private context of the calling thread:
        out = model.stylize(content, style, alpha=0.8).image

Models and styles are read-only and may be shared by any number of threads; a Context serves one
thread at a time (a concurrent call raises ContextBusyError).  The library is found through the
environment variable ADN_LIBRARY (full path of libadain_dcs.so), else by the dynamic loader
(libadain_dcs.so.1).  numpy is optional; without it images are :class:`Image` objects.
"""
from __future__ import annotations

from . import _lib
from ._lib import C
from .errors import (AdnError, Cancelled, ContextBusyError, DeviceError, FileIOError, FormatError,
                     InternalError, InvalidArgument, ModelError, NonFinite, OutOfMemory, Status,
                     TooLarge, Unsupported, last_error, status_str)
from .files import ImageInfo, ReadResult, read_image, read_image_bytes, write_image
from .image import HAVE_NUMPY, Image
from .logging_bridge import log_to_logging, set_log_callback
from .metrics import DepthScore, depth_preservation, depth_scores
from .model import (Context, Model, ModelInfo, Stage, Style, StylizeResult, Timings, stylize)
from .ops import (ADAIN_EPS, adain, adain_interpolate, adain_regions, block_average, blend,
                  channel_stats, coral, crop, depth_normalize, depth_range_map, pad_reflect,
                  resize_bilinear, round_up, strength_map)

__all__ = [
    "AdnError", "Cancelled", "ContextBusyError", "DeviceError", "FileIOError", "FormatError",
    "InternalError", "InvalidArgument", "ModelError", "NonFinite", "OutOfMemory", "Status",
    "TooLarge", "Unsupported", "last_error", "status_str", "ImageInfo", "ReadResult", "read_image",
    "read_image_bytes", "write_image", "HAVE_NUMPY", "Image", "Context", "Model", "ModelInfo",
    "Stage", "Style", "StylizeResult", "Timings", "stylize", "ADAIN_EPS", "adain",
    "adain_interpolate", "adain_regions", "block_average", "blend", "channel_stats", "coral",
    "crop", "depth_normalize", "depth_range_map", "pad_reflect", "resize_bilinear", "round_up",
    "strength_map", "version", "version_number", "has_feature", "library_path",
    "set_log_callback", "log_to_logging", "DepthScore", "depth_scores", "depth_preservation",
]

#: Path or name the library was loaded from.
library_path = _lib.library_path


def version() -> str:
    """Version string of the loaded library, e.g. "0.1.0"."""
    return C.adn_version().decode()


def version_number() -> int:
    """major * 10000 + minor * 100 + patch of the loaded library."""
    return int(C.adn_version_number())


def has_feature(name: str) -> bool:
    """Whether the loaded library was built with "torch", "cuda", "png" or "jpeg"."""
    return bool(C.adn_has_feature(name.encode()))


__version__ = "0.3.0"
