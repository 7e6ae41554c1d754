"""Models, encoded styles and the stylization call (needs a library built with the torch backend)."""
from __future__ import annotations

import ctypes
import os
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union

from . import _lib, _ranges
from ._lib import C, adn_model_info
from .errors import Status, binding_error, check
from .image import (HAVE_NUMPY, ImageLike, Planar, is_uint8, np, planar_to_user, to_planar,
                    to_planar_stack, wants_numpy)

_DEVICE_CODES = {"auto": _lib.ADN_DEVICE_AUTO, "cpu": _lib.ADN_DEVICE_CPU, "cuda": _lib.ADN_DEVICE_CUDA}
_DEVICE_NAMES = {v: k for k, v in _DEVICE_CODES.items()}
_DEPTH_KIND_NAMES = {_lib.ADN_DEPTH_KIND_NONE: "none", _lib.ADN_DEPTH_KIND_DEPTH: "depth",
                     _lib.ADN_DEPTH_KIND_DISPARITY: "disparity"}
_DEPTH_SOURCES = {"auto": _lib.ADN_DEPTH_AUTO, "network": _lib.ADN_DEPTH_NETWORK,
                  "none": _lib.ADN_DEPTH_NONE}


class ModelInfo(NamedTuple):
    """adn_model_info in Python terms."""

    feature_channels: int   #: encoder output channels (512 VGG, 192 analytic)
    downsample: int         #: encoder downsampling factor (8)
    depth_kind: str         #: "none", "depth" (larger = farther) or "disparity" (larger = nearer)
    device: str             #: "cpu" or "cuda", as actually used
    depth_lo: float
    depth_hi: float


def _parse_device(device: str) -> Tuple[int, int]:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> (adn_device, cuda index)."""
    name, _, index = device.partition(":")
    if name not in _DEVICE_CODES or (index and (name != "cuda" or not index.isdigit())):
        raise binding_error(Status.INVALID_ARGUMENT,
                            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', not {device!r}")
    return _DEVICE_CODES[name], _ranges.int32(int(index), "CUDA device index") if index else 0


class _SharedExclusiveLock:
    """Many readers or one writer.  adn_stylize may run on several threads at once, but
    adn_set_depth_range and adn_model_free must not overlap any of them (ctypes releases the GIL
    during C calls, so Python threads really do run them concurrently)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writing = False

    @contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing)
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._writing and self._readers == 0)
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class Model:
    """A loaded model bundle (encoder.pt, decoder.pt, optional depth.pt).

    Use as a context manager or call :meth:`close`; closing a model first closes the styles made
    with it (the C API requires that order).  Several threads may stylize with one model at once;
    set_depth_range and close wait for running calls to finish.
    """

    def __init__(self, path: Union[str, "os.PathLike[str]"], device: str = "auto", threads: int = 0,
                 load_depth: bool = True, *, optimize: bool = True):
        self._handle: Optional[int] = None
        self._lock = _SharedExclusiveLock()
        self._styles: "weakref.WeakSet[Style]" = weakref.WeakSet()
        params = C.adn_model_default_params()
        params.device, params.cuda_device_index = _parse_device(device)
        params.n_threads = _ranges.int32(threads, "threads")
        params.load_depth = 1 if load_depth else 0
        params.optimize = 1 if optimize else 0
        handle = _lib.adn_model_p()
        check(C.adn_model_load(os.fsencode(path), ctypes.byref(params), ctypes.byref(handle)))
        self._handle = handle.value
        self.path = os.fspath(path)

    @property
    def closed(self) -> bool:
        return self._handle is None

    @property
    def handle(self) -> int:
        """The raw adn_model pointer (raises InvalidArgument once closed)."""
        if self._handle is None:
            raise binding_error(Status.INVALID_ARGUMENT, "model is closed")
        return self._handle

    @property
    def info(self) -> ModelInfo:
        raw = adn_model_info()
        # Shared lock: close() must not free the model during the call, and set_depth_range (under
        # the exclusive lock) must not change depth_lo / depth_hi while they are copied.
        with self._lock.shared():
            check(C.adn_model_get_info(self.handle, ctypes.byref(raw)))
        return ModelInfo(raw.feature_channels, raw.downsample,
                         _DEPTH_KIND_NAMES.get(raw.depth_kind, str(raw.depth_kind)),
                         _DEVICE_NAMES.get(raw.device, str(raw.device)), raw.depth_lo, raw.depth_hi)

    def set_depth_range(self, lo: float, hi: float) -> None:
        """R(D) = lo + (hi - lo) D for later stylize calls; lo > hi reverses the effect.  Waits for
        running stylize calls on other threads to finish."""
        with self._lock.exclusive():
            check(C.adn_set_depth_range(self.handle, lo, hi))

    def style(self, image: ImageLike) -> "Style":
        """Encodes a style image once (see :class:`Style`)."""
        return Style(self, image)

    def stylize(self, content: ImageLike, styles: Any, **options: Any) -> Any:
        """Same as :func:`stylize` with this model."""
        return stylize(self, content, styles, **options)

    def _register(self, style: "Style") -> None:
        self._styles.add(style)

    def close(self) -> None:
        """Frees the model and every style still open on it, after running calls finish.  Safe to
        call twice."""
        if self._handle is None:
            return
        with self._lock.exclusive():
            self._free()

    def _free(self) -> None:
        for style in list(self._styles):
            style._free()
        if self._handle is not None:
            C.adn_model_free(self._handle)
            self._handle = None

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # No lock here: with no reference left no call can be running, and a collection may
        # happen on a thread that holds the lock already.
        try:
            self._free()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self) -> str:
        return f"Model({self.path!r}{', closed' if self.closed else ''})"


class Style:
    """A style image encoded once for a model: its feature statistics (and a copy of the image for
    colour preservation).  Keeps its model alive; freed by :meth:`close`, the context manager, or
    when its model is closed."""

    def __init__(self, model: Model, image: ImageLike):
        self._handle: Optional[int] = None
        self.model = model
        planar = to_planar(image, 3, "style")
        handle = _lib.adn_style_p()
        with model._lock.shared():
            check(C.adn_style_create(model.handle, planar.ref, ctypes.byref(handle)))
            self._handle = handle.value
            model._register(self)

    @property
    def closed(self) -> bool:
        return self._handle is None

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise binding_error(Status.INVALID_ARGUMENT, "style is closed")
        return self._handle

    def stats(self) -> Tuple[Any, Any]:
        """The per-channel feature (mean, std): numpy float32 arrays, or lists without numpy."""
        channels = ctypes.c_int32()
        # The model's shared lock keeps close() (of this style or its model) from freeing the
        # handle between reading it and the C calls; self.handle raises once it has been closed.
        with self.model._lock.shared():
            handle = self.handle
            check(C.adn_style_get_stats(handle, None, None, ctypes.byref(channels)))
            mean, std = (ctypes.c_float * channels.value)(), (ctypes.c_float * channels.value)()
            check(C.adn_style_get_stats(handle, mean, std, ctypes.byref(channels)))
        if HAVE_NUMPY:
            return np.array(mean, dtype=np.float32), np.array(std, dtype=np.float32)
        return list(mean), list(std)

    def close(self) -> None:
        """Frees the style, after running calls on its model finish.  Safe to call twice."""
        if self._handle is None:
            return
        with self.model._lock.exclusive():
            self._free()

    def _free(self) -> None:
        if self._handle is not None:
            C.adn_style_free(self._handle)
            self._handle = None

    def __enter__(self) -> "Style":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:  # unlocked, as in Model.__del__
            self._free()
        except Exception:  # interpreter shutdown
            pass


class _StyleSet:
    """The styles of one call: given Style objects, plus temporary ones made from images (closed
    when the call ends)."""

    def __init__(self, model: Model, styles: Any):
        if isinstance(styles, Style) or not isinstance(styles, (list, tuple)):
            styles = [styles]
        if not styles:
            raise binding_error(Status.INVALID_ARGUMENT, "at least one style is needed")
        self.temporary: List[Style] = []
        self.styles: List[Style] = []
        for item in styles:
            if isinstance(item, Style):
                if item.model is not model:
                    raise binding_error(Status.INVALID_ARGUMENT, "a style was made with another model")
                self.styles.append(item)
            else:
                style = Style(model, item)
                self.temporary.append(style)
                self.styles.append(style)
        self.array = (_lib.adn_style_p * len(self.styles))(*[s.handle for s in self.styles])

    def check_open(self) -> None:
        """Raises if a style was closed since the call began (e.g. by its model's close())."""
        for style in self.styles:
            style.handle  # noqa: B018 - raises InvalidArgument once closed

    def close(self) -> None:
        for style in self.temporary:
            style.close()  # takes the model's lock: never called while holding it


class _Options:
    """Builds adn_stylize_params and keeps every buffer it points to alive for the call."""

    def __init__(self, n_styles: int, alpha: float, mask: Optional[ImageLike],
                 weights: Optional[Sequence[float]], regions: Optional[Any], depth: Any,
                 depth_is_disparity: bool, depth_invalid: Optional[float], preserve_color: bool,
                 return_depth: bool, return_strength: bool):
        self.params = C.adn_stylize_default_params()
        self.params.alpha = alpha
        self._keep: List[Any] = []
        if mask is not None:
            self.params.mask = self._image(to_planar(mask, 1, "mask"))
        if weights is not None:
            self._set_weights(weights, n_styles)
        if regions is not None:
            self.params.region_masks = self._image(to_planar_stack(regions, "regions"))
        self._set_depth(depth, depth_is_disparity, depth_invalid)
        self.params.preserve_color = 1 if preserve_color else 0
        self.out_depth = Planar.empty_output() if return_depth else None
        self.out_strength = Planar.empty_output() if return_strength else None
        if self.out_depth:
            self.params.out_depth = self.out_depth.pointer
        if self.out_strength:
            self.params.out_strength = self.out_strength.pointer

    def _image(self, planar: Planar) -> Any:
        self._keep.append(planar)
        return planar.pointer

    def _set_weights(self, weights: Sequence[float], n_styles: int) -> None:
        values = [float(w) for w in (weights.ravel() if hasattr(weights, "ravel") else weights)]
        if len(values) != n_styles:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"{len(values)} weights for {n_styles} style(s)")
        array = (ctypes.c_float * n_styles)(*values)
        self._keep.append(array)
        self.params.style_weights = array

    def _set_depth(self, depth: Any, is_disparity: bool, invalid: Optional[float]) -> None:
        if isinstance(depth, str):
            if depth not in _DEPTH_SOURCES:
                raise binding_error(Status.INVALID_ARGUMENT,
                                    f"depth must be 'auto', 'network', 'none' or a depth map, not {depth!r}")
            self.params.depth_source = _DEPTH_SOURCES[depth]
            return
        if depth is None:
            self.params.depth_source = _lib.ADN_DEPTH_NONE
            return
        self.params.depth_source = _lib.ADN_DEPTH_CALLER
        self.params.depth = self._image(to_planar(depth, 1, "depth", scale_u8=False))
        self.params.depth_is_disparity = 1 if is_disparity else 0
        if invalid is not None:
            self.params.depth_has_invalid = 1
            self.params.depth_invalid_value = float(invalid)


def stylize(model: Model, content: ImageLike, styles: Any, alpha: float = 1.0,
            mask: Optional[ImageLike] = None, weights: Optional[Sequence[float]] = None,
            regions: Optional[Any] = None, depth: Any = "auto", depth_is_disparity: bool = False,
            depth_invalid: Optional[float] = None, preserve_color: bool = False,
            return_depth: bool = False, return_strength: bool = False) -> Any:
    """Renders ``content`` in the style of ``styles`` (METHOD.md §1).

    content: H x W x 3 RGB, numpy uint8 (0..255) or float (in [0,1]), or an :class:`Image`.  The
      result has the same size and kind: uint8 in -> uint8 out (clamped, rounded), float in ->
      float32 out (not clamped).
    styles: a :class:`Style`, an image (encoded for this call only), or a list of them.
    alpha: global strength in [0,1].  mask: optional H x W user mask M in [0,1] at content size.
    weights: style interpolation weights (one per style; normalised).  regions: K x H x W region
      masks (one per style, summing to 1 per pixel); excludes weights.
    depth: "auto" (the model's depth module if it has one), "network", "none" (R(D) = 1), or a
      caller depth map (H' x W', any size; resized); None means "none".  depth_is_disparity: the
      caller map is larger = nearer.  depth_invalid: value marking missing pixels in the caller map.
    preserve_color: CORAL-match the styles' colours to the content first.
    return_depth / return_strength: also return D (H x W, 0 = near) / S (h x w, feature resolution)
      as float32 maps: the result is then a tuple (image, [depth], [strength]).
    """
    style_set = _StyleSet(model, styles)
    try:
        content_planar = to_planar(content, 3, "content")
        options = _Options(len(style_set.styles), alpha, mask, weights, regions, depth,
                           depth_is_disparity, depth_invalid, preserve_color, return_depth,
                           return_strength)
        out = Planar.empty_output()
        with model._lock.shared():
            style_set.check_open()
            check(C.adn_stylize(model.handle, content_planar.ref, style_set.array,
                                len(style_set.styles), ctypes.byref(options.params), out.ref))
    finally:
        style_set.close()
    use_numpy = wants_numpy(content)
    result = planar_to_user(out, is_uint8(content), use_numpy)
    out.free()
    extras = [planar_to_user(p, False, use_numpy, squeeze=True)
              for p in (options.out_depth, options.out_strength) if p is not None]
    return (result, *extras) if extras else result
