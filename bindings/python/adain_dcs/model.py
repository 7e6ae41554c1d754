"""Models, encoded styles, contexts and the stylization call (needs a library built with the torch
backend).

Threads follow the C API (include/adain_dcs.h):

- :class:`Model` and :class:`Style` are read-only once made.  Share them among any number of threads;
  the binding takes no lock around their use.
- :class:`Context` is per-thread (or per-video-stream) state: the depth range, the last depth and
  strength maps, timings, temporal smoothing, an optional progress callback.  It serves one thread at
  a time.  A second thread that calls into a busy context gets :class:`~adain_dcs.ContextBusyError`
  at once (a non-blocking lock): it is neither queued nor silently serialised.
- :meth:`Model.stylize` is a convenience that runs on a private context of the calling thread (made
  on first use, dropped with the thread), with the depth range given to that call (default 0, 1) and
  no other state carried between calls.  Use an explicit Context for progress callbacks, timings, the
  last depth / strength maps, temporal smoothing, or to keep one depth range.
- ``close()`` never blocks and never frees memory a running call is using: the C objects are
  reference counted by the binding and freed when the last running call that uses them returns
  (styles and contexts first, then their model, as the C API requires).  Calls that start after a
  close raise InvalidArgument ("... is closed").
"""
from __future__ import annotations

import ctypes
import enum
import os
import threading
import weakref
from contextlib import contextmanager
from typing import (Any, Callable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union)

from . import _lib, _ranges
from ._lib import C, adn_model_info, adn_timings
from .errors import ContextBusyError, Status, binding_error, check, new_params
from .image import (HAVE_NUMPY, ImageLike, Planar, check_out, is_uint8, np, planar_to_user,
                    to_planar, to_planar_stack, wants_numpy)

_DEVICE_CODES = {"auto": _lib.ADN_DEVICE_AUTO, "cpu": _lib.ADN_DEVICE_CPU, "cuda": _lib.ADN_DEVICE_CUDA}
_DEVICE_NAMES = {v: k for k, v in _DEVICE_CODES.items()}
_PRECISION_CODES = {"fp32": _lib.ADN_PRECISION_FP32, "bf16": _lib.ADN_PRECISION_BF16,
                    "fp16": _lib.ADN_PRECISION_FP16}
_PRECISION_NAMES = {v: k for k, v in _PRECISION_CODES.items()}
_DEPTH_KIND_NAMES = {_lib.ADN_DEPTH_KIND_NONE: "none", _lib.ADN_DEPTH_KIND_DEPTH: "depth",
                     _lib.ADN_DEPTH_KIND_DISPARITY: "disparity"}
_DEPTH_SOURCES = {"auto": _lib.ADN_DEPTH_AUTO, "network": _lib.ADN_DEPTH_NETWORK,
                  "none": _lib.ADN_DEPTH_NONE}

PathLike = Union[str, "os.PathLike[str]"]


class Stage(enum.IntEnum):
    """The stages of a call, in order, as passed to a progress callback (adn_stage)."""

    ENCODE_CONTENT = _lib.ADN_STAGE_ENCODE_CONTENT  #: padding + encoder on the content
    ENCODE_STYLE = _lib.ADN_STAGE_ENCODE_STYLE      #: style statistics (re-encoding with preserve_color)
    DEPTH = _lib.ADN_STAGE_DEPTH                    #: depth network or caller map, normalisation, range
    ADAIN_BLEND = _lib.ADN_STAGE_ADAIN_BLEND        #: AdaIN, masks, strength map, blend
    DECODE = _lib.ADN_STAGE_DECODE                  #: decoder + crop into the output


class ModelInfo(NamedTuple):
    """adn_model_info in Python terms."""

    feature_channels: int   #: encoder output channels (512 VGG, 192 analytic)
    downsample: int         #: encoder downsampling factor (8)
    depth_kind: str         #: "none", "depth" (larger = farther) or "disparity" (larger = nearer)
    device: str             #: "cpu" or "cuda", as actually used
    cuda_device_index: int  #: the GPU used when device is "cuda", else -1
    precision: str          #: "fp32", "bf16" or "fp16": arithmetic of the networks
    backend: str            #: name of the model backend, e.g. "torch"


class Timings(NamedTuple):
    """Wall-clock milliseconds of the stages of a context's last call (adn_timings); stages it did
    not run are 0."""

    style_encode_ms: float    #: re-encoding style images (colour preservation)
    content_encode_ms: float  #: padding + encoder on the content
    depth_ms: float           #: depth network, resize, normalisation, range map, 8x8 averages
    adain_blend_ms: float     #: AdaIN / interpolation / regions, masks, strength map, blend
    decode_ms: float          #: decoder + crop
    total_ms: float           #: the whole call


class StylizeResult(NamedTuple):
    """What :meth:`Context.stylize` returns.  ``depth`` and ``strength`` are None unless asked for
    (``return_depth`` / ``return_strength``)."""

    image: ImageLike           #: H x W x 3, uint8 for uint8 content, else float32 (not clamped)
    depth: Optional[ImageLike]     #: D, H x W float32, normalised, 0 = near
    strength: Optional[ImageLike]  #: S, h x w float32 at feature resolution (h = ceil(H / 8))


def _parse_device(device: str) -> Tuple[int, int]:
    """'auto' | 'cpu' | 'cuda' | 'cuda:N' -> (adn_device, cuda index)."""
    name, _, index = device.partition(":")
    if name not in _DEVICE_CODES or (index and (name != "cuda" or not index.isdigit())):
        raise binding_error(Status.INVALID_ARGUMENT,
                            f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', not {device!r}")
    return _DEVICE_CODES[name], _ranges.int32(int(index), "CUDA device index") if index else 0


class _Handle:
    """A C handle shared by calls on any number of threads, freed when it is closed and no call uses
    it any more.

    Each call brackets its use with :meth:`use` (or acquire/release); :meth:`close` marks the handle
    closed (later acquires raise InvalidArgument) and frees it at once if idle, else the last running
    call frees it on release.  A child (style, context) holds one use of its parent (model) from its
    creation until it is freed, so a model is always freed after its styles and contexts.  The lock
    only guards the counter and is never held across a C call: it serialises nothing."""

    def __init__(self, value: int, free: Callable[[int], None], what: str,
                 parent: Optional["_Handle"] = None, keep: Any = None):
        self._value: Optional[int] = value
        self._free = free
        self._what = what
        self._parent = parent
        self._keep = keep  # e.g. a ctypes callback the C object points to: alive until freed
        self._lock = threading.Lock()
        self._uses = 0
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def raw(self) -> int:
        """The pointer, for inspection (no use is taken); raises once closed."""
        if self._closed or self._value is None:
            raise binding_error(Status.INVALID_ARGUMENT, f"{self._what} is closed")
        return self._value

    def acquire(self) -> int:
        with self._lock:
            if self._closed or self._value is None:
                raise binding_error(Status.INVALID_ARGUMENT, f"{self._what} is closed")
            self._uses += 1
            return self._value

    def add_use(self) -> None:
        """One more use, taken by a caller that already holds one (so the handle is still alive,
        even if it was closed meanwhile): how a new child starts holding its parent."""
        with self._lock:
            self._uses += 1

    def release(self) -> None:
        with self._lock:
            self._uses -= 1
            value = self._take_if_done()
        self._finish(value)

    @contextmanager
    def use(self) -> Iterator[int]:
        value = self.acquire()
        try:
            yield value
        finally:
            self.release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            value = self._take_if_done()
        self._finish(value)

    def _take_if_done(self) -> Optional[int]:
        if self._closed and self._uses == 0 and self._value is not None:
            value, self._value = self._value, None
            return value
        return None

    def _finish(self, value: Optional[int]) -> None:
        if value is None:
            return
        try:
            self._free(value)
        finally:
            self._keep = None
            if self._parent is not None:
                self._parent.release()


class Model:
    """A loaded model bundle (encoder.pt, decoder.pt, optional depth.pt).  Read-only and
    thread-safe: share one among threads, each with its own :class:`Context`.

    device: "auto", "cpu", "cuda" or "cuda:N".  threads: torch CPU threads (0 = all cores; the pool
    is process-wide, sized by the first model loaded in the process).  load_depth: load depth.pt if
    present.  optimize: freeze the modules (and optimize them for the device).  precision: "fp32"
    (default, exact), "bf16" (CPUs with AVX512_BF16 or AMX-BF16, or CUDA; elsewhere Unsupported)
    or "fp16" (CUDA).
    trust_unsealed: also load a bundle without manifest.txt, after a structural check of its files
    (a bundle is code: load only bundles you trust; better, seal it with ``adn-export --seal``);
    by default such a bundle raises ModelError saying so.

    Use as a context manager or call :meth:`close`; closing a model also closes the styles and
    contexts made with it (see the module notes: nothing is freed under a running call).
    """

    def __init__(self, path: PathLike, device: str = "auto", threads: int = 0,
                 load_depth: bool = True, *, optimize: bool = True, precision: str = "fp32",
                 trust_unsealed: bool = False):
        params = new_params(_lib.adn_model_params)
        params.device, params.cuda_device_index = _parse_device(device)
        params.n_threads = _ranges.int32(threads, "threads")
        params.load_depth = 1 if load_depth else 0
        params.trust_unsealed = 1 if trust_unsealed else 0
        params.optimize = 1 if optimize else 0
        if precision not in _PRECISION_CODES:
            raise binding_error(Status.INVALID_ARGUMENT,
                                f"precision must be 'fp32', 'bf16' or 'fp16', not {precision!r}")
        params.precision = _PRECISION_CODES[precision]
        handle = _lib.adn_model_p()
        check(C.adn_model_load(os.fsencode(path), ctypes.byref(params), ctypes.byref(handle)))
        self._h = _Handle(handle.value, C.adn_model_free, "model")
        self._children: "weakref.WeakSet[Any]" = weakref.WeakSet()
        self._children_lock = threading.Lock()  # guards the set and _closing (close vs. a new child)
        self._closing = False
        self._local = threading.local()
        self.path = os.fspath(path)
        raw = adn_model_info()
        try:
            check(C.adn_model_get_info(handle.value, ctypes.byref(raw)))
        except BaseException:
            self._h.close()
            raise
        self._info = ModelInfo(raw.feature_channels, raw.downsample,
                               _DEPTH_KIND_NAMES.get(raw.depth_kind, str(raw.depth_kind)),
                               _DEVICE_NAMES.get(raw.device, str(raw.device)),
                               int(raw.cuda_device_index),
                               _PRECISION_NAMES.get(raw.precision, str(raw.precision)),
                               raw.backend.decode(errors="replace") if raw.backend else "")

    @property
    def closed(self) -> bool:
        return self._h.closed

    @property
    def handle(self) -> int:
        """The raw adn_model pointer (raises InvalidArgument once closed)."""
        return self._h.raw()

    @property
    def info(self) -> ModelInfo:
        """What the library says about the model (read once at load: the model is immutable)."""
        self._h.raw()  # raises once closed
        return self._info

    def style(self, image: ImageLike) -> "Style":
        """Encodes a style image once (see :class:`Style`)."""
        return Style(self, image)

    def context(self, **options: Any) -> "Context":
        """A new :class:`Context` of this model (``Context(model, **options)``)."""
        return Context(self, **options)

    def _thread_context(self) -> "Context":
        ctx = getattr(self._local, "context", None)
        if ctx is None or ctx.closed:
            ctx = Context(self, _internal=True)
            self._local.context = ctx
        return ctx

    def stylize(self, content: ImageLike, styles: Any, *,
                depth_range: Tuple[float, float] = (0.0, 1.0), **options: Any) -> StylizeResult:
        """:meth:`Context.stylize` on the calling thread's private context, with ``depth_range``
        for this call (default 0, 1).  Stateless from the caller's point of view, and safe to call
        from any number of threads at once."""
        ctx = self._thread_context()
        ctx.set_depth_range(*depth_range)
        return ctx.stylize(content, styles, **options)

    def estimate_depth(self, rgb: ImageLike, *, out: Any = None) -> ImageLike:
        """:meth:`Context.estimate_depth` on the calling thread's private context."""
        return self._thread_context().estimate_depth(rgb, out=out)

    def _register(self, child: Any) -> None:
        """Adds a new style or context to the set close() walks.  A child whose C object was made
        just before a close() on another thread, but registered after close() took the set, is
        closed here: else it would hold its use of the model forever and the model never be freed."""
        with self._children_lock:
            if not self._closing:
                self._children.add(child)
                return
        child.close()

    def close(self) -> None:
        """Closes every style and context still open on this model, then the model.  Does not wait:
        a call running on another thread finishes, and the C objects are freed as it returns.
        Safe to call twice."""
        with self._children_lock:
            self._closing = True
            children = list(self._children)
        for child in children:
            child.close()
        self._h.close()

    def __enter__(self) -> "Model":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            handle = self.__dict__.get("_h")
            if handle is not None:
                handle.close()
        except Exception:  # interpreter shutdown: the library may already be gone
            pass

    def __repr__(self) -> str:
        return f"Model({self.path!r}{', closed' if self.closed else ''})"


class Style:
    """A style image encoded once for a model: its feature statistics (and a copy of the image for
    colour preservation).  Read-only: use it from any thread and any context of its model.  Keeps
    its model alive; freed by :meth:`close`, the context manager, or when its model is closed."""

    def __init__(self, model: Model, image: ImageLike):
        self.model = model
        self._model_h = model._h
        planar = to_planar(image, 3, "style")
        handle = _lib.adn_style_p()
        with model._h.use() as model_handle:
            check(C.adn_style_create(model_handle, planar.ref, ctypes.byref(handle)))
            model._h.add_use()  # held by the style until it is freed
        self._h = _Handle(handle.value, C.adn_style_free, "style", parent=model._h)
        model._register(self)

    @property
    def closed(self) -> bool:
        return self._h.closed

    @property
    def handle(self) -> int:
        return self._h.raw()

    def stats(self) -> Tuple[Any, Any]:
        """The per-channel feature (mean, std): numpy float32 arrays, or lists without numpy."""
        channels = ctypes.c_int32()
        with self._h.use() as handle:
            check(C.adn_style_get_stats(handle, None, None, ctypes.byref(channels)))
            mean, std = (ctypes.c_float * channels.value)(), (ctypes.c_float * channels.value)()
            check(C.adn_style_get_stats(handle, mean, std, ctypes.byref(channels)))
        if HAVE_NUMPY:
            return np.array(mean, dtype=np.float32), np.array(std, dtype=np.float32)
        return list(mean), list(std)

    def close(self) -> None:
        """Frees the style (once no running call uses it).  Safe to call twice."""
        self._h.close()

    def __enter__(self) -> "Style":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            handle = self.__dict__.get("_h")
            if handle is not None:
                handle.close()
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
        try:
            for item in styles:
                if isinstance(item, Style):
                    if item._model_h is not model._h:
                        raise binding_error(Status.INVALID_ARGUMENT,
                                            "a style was made with another model")
                    self.styles.append(item)
                else:
                    style = Style(model, item)
                    self.temporary.append(style)
                    self.styles.append(style)
        except BaseException:
            self.close()
            raise
        self._held: List[Style] = []

    def __len__(self) -> int:
        return len(self.styles)

    def acquire(self) -> Any:
        """Takes a use of every style for the C call (raises if one is closed); returns the C
        array of handles."""
        handles = []
        try:
            for style in self.styles:
                handles.append(style._h.acquire())
                self._held.append(style)
        except BaseException:
            self.release()
            raise
        return (_lib.adn_style_p * len(handles))(*handles)

    def release(self) -> None:
        for style in self._held:
            style._h.release()
        self._held = []

    def close(self) -> None:
        for style in self.temporary:
            style.close()


class _Options:
    """Builds adn_stylize_params and keeps every buffer it points to alive for the call."""

    def __init__(self, n_styles: int, alpha: float, mask: Optional[ImageLike],
                 weights: Optional[Sequence[float]], regions: Optional[Any], depth: Any,
                 depth_is_disparity: bool, depth_invalid: Optional[float], preserve_color: bool):
        self.params = new_params(_lib.adn_stylize_params)
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
        self.params.depth = self._image(to_planar(depth, 1, "depth", raw=True))
        norm = self.params.depth_norm
        norm.is_disparity = 1 if is_disparity else 0
        if invalid is not None:
            norm.has_invalid = 1
            norm.invalid_value = float(invalid)

    def uses_depth(self, model_has_depth: bool) -> bool:
        source = self.params.depth_source
        return source in (_lib.ADN_DEPTH_NETWORK, _lib.ADN_DEPTH_CALLER) or (
            source == _lib.ADN_DEPTH_AUTO and model_has_depth)


class _Progress:
    """The ctypes thunk of a context's progress callback and the exception it caught, if any.
    Nothing may propagate through C, so an exception (KeyboardInterrupt included) is stored, the
    call is cancelled, and the binding re-raises it once the C call has returned."""

    def __init__(self, callback: Callable[[Stage], Any]):
        if not callable(callback):
            raise TypeError(f"progress must be callable, not {type(callback).__name__}")
        caught: List[Optional[BaseException]] = [None]  # a cell, not self: no reference cycle
        self._caught = caught

        def bridge(stage: int, _user: Any) -> int:
            try:
                try:
                    named: Any = Stage(stage)
                except ValueError:  # a stage newer than this binding
                    named = int(stage)
                return 1 if callback(named) else 0
            except BaseException as exc:  # noqa: BLE001 - nothing may cross the C library
                caught[0] = exc
                return 1

        self.thunk = _lib.adn_progress_callback(bridge)

    def clear(self) -> None:
        self._caught[0] = None

    def take_error(self) -> Optional[BaseException]:
        error, self._caught[0] = self._caught[0], None
        return error


class Context:
    """Per-thread / per-stream state for stylizing with a model (adn_context): work buffers reused
    between calls, the depth range, the last depth and strength maps, timings, temporal smoothing
    and an optional progress callback.

    One thread at a time: a call while another call on the same context runs (on another thread,
    or from inside its own progress callback) raises :class:`~adain_dcs.ContextBusyError` at once.
    Make one context per thread; they may all share one model and its styles.

    depth_range: the initial (lo, hi) of R(D) = lo + (hi - lo) D (default 0, 1).
    memory_budget: the most bytes one call's estimate may reach (adn_context_params
      .memory_budget_bytes): larger images run over tiles with the same result; 0 (default) = the
      library's default budget; a call that cannot fit raises TooLarge with the estimate.
    progress: optional ``progress(stage: Stage)``, called on the calling thread before each stage
      of :meth:`stylize` and :meth:`estimate_depth`; a true return value cancels the call, which
      then raises :class:`~adain_dcs.Cancelled` and writes no output (an ``out=`` buffer is left
      untouched).  An exception raised by the callback also cancels the call and is re-raised
      once it has returned (so Ctrl-C during a long call stops it at the next stage).  Installing
      a callback costs the call a return to the Python interpreter (and its GIL) per stage.
    """

    def __init__(self, model: Model, *, depth_range: Optional[Tuple[float, float]] = None,
                 progress: Optional[Callable[[Stage], Any]] = None, memory_budget: int = 0,
                 _internal: bool = False):
        params = new_params(_lib.adn_context_params)
        if depth_range is not None:
            params.depth_lo, params.depth_hi = (float(v) for v in depth_range)
        params.memory_budget_bytes = _ranges.uint64(memory_budget, "memory_budget")
        self._progress = _Progress(progress) if progress is not None else None
        if self._progress is not None:
            params.progress = self._progress.thunk
        # The per-thread contexts of Model.stylize live in the model's thread-local storage and
        # must not keep the Model object alive (that would be a reference cycle): weak reference.
        self._model: Any = weakref.ref(model) if _internal else model
        self._model_h = model._h
        self._has_depth = model._info.depth_kind != "none"
        self._busy = threading.Lock()
        self._scratch: Any = None
        handle = _lib.adn_context_p()
        with model._h.use() as model_handle:
            check(C.adn_context_create(model_handle, ctypes.byref(params), ctypes.byref(handle)))
            model._h.add_use()  # held by the context until it is freed
        self._h = _Handle(handle.value, C.adn_context_free, "context", parent=model._h,
                          keep=self._progress)
        model._register(self)

    # --- plumbing ---------------------------------------------------------------------------------

    @property
    def model(self) -> Model:
        model = self._model() if isinstance(self._model, weakref.ref) else self._model
        if model is None:
            raise binding_error(Status.INVALID_ARGUMENT, "the context's model is gone")
        return model

    @property
    def closed(self) -> bool:
        return self._h.closed

    @property
    def handle(self) -> int:
        """The raw adn_context pointer (raises InvalidArgument once closed)."""
        return self._h.raw()

    @contextmanager
    def _using(self) -> Iterator[int]:
        if not self._busy.acquire(blocking=False):
            raise ContextBusyError(
                "this Context is already in use by a running call (on another thread, or from "
                "one of its own callbacks); a Context serves one thread at a time: make one per "
                "thread")
        try:
            with self._h.use() as handle:
                yield handle
        finally:
            self._busy.release()

    def _run(self, call: Callable[[], int]) -> None:
        """Runs a C call that may invoke the progress callback; re-raises what the callback raised,
        else raises for a failed status."""
        if self._progress is not None:
            self._progress.clear()
        status = call()
        error = self._progress.take_error() if self._progress is not None else None
        if error is not None:
            raise error
        check(status)

    # --- depth range, state --------------------------------------------------------------------------

    def set_depth_range(self, lo: float, hi: float) -> None:
        """R(D) = lo + (hi - lo) D for this context's later calls; lo, hi in [0,1], lo > hi
        reverses the effect."""
        with self._using() as handle:
            check(C.adn_set_depth_range(handle, lo, hi))

    @property
    def depth_range(self) -> Tuple[float, float]:
        """The context's (lo, hi); assign a pair to change it."""
        lo, hi = ctypes.c_float(), ctypes.c_float()
        with self._using() as handle:
            check(C.adn_context_get_depth_range(handle, ctypes.byref(lo), ctypes.byref(hi)))
        return (lo.value, hi.value)

    @depth_range.setter
    def depth_range(self, value: Tuple[float, float]) -> None:
        lo, hi = value
        self.set_depth_range(lo, hi)

    def reset(self) -> None:
        """Forgets the temporal state (smoothed depth and depth range), e.g. at a scene cut, and the
        last depth / strength maps; the next frame is processed exactly as a first frame."""
        with self._using() as handle:
            check(C.adn_context_reset(handle))

    def set_temporal(self, depth_ema: float = 0.0, range_ema: float = 0.0,
                     content_stats_ema: float = 0.0, scene_cut_threshold: float = 0.0) -> None:
        """EXPERIMENTAL (adn_context_set_temporal, outside the library's compatibility promise):
        temporal smoothing for video (METHOD.md §8).  depth_ema a in [0,1):
        D'_t = a D'_{t-1} + (1 - a) D_t; range_ema b in [0,1): EMA of the raw depth's min and max;
        content_stats_ema c in [0,1): EMA of the content feature mean and std AdaIN normalises
        with; scene_cut_threshold >= 0: a frame whose mean |in_t - in_{t-1}| exceeds it restarts
        the state.  0 = off (the default).  Resets the temporal state."""
        params = new_params(_lib.adn_temporal_params)
        params.depth_ema, params.range_ema = float(depth_ema), float(range_ema)
        params.content_stats_ema = float(content_stats_ema)
        params.scene_cut_threshold = float(scene_cut_threshold)
        with self._using() as handle:
            check(C.adn_context_set_temporal(handle, ctypes.byref(params)))

    # --- the calls ------------------------------------------------------------------------------------

    def stylize(self, content: ImageLike, styles: Any, *, alpha: float = 1.0,
                mask: Optional[ImageLike] = None, weights: Optional[Sequence[float]] = None,
                regions: Optional[Any] = None, depth: Any = "auto", depth_is_disparity: bool = False,
                depth_invalid: Optional[float] = None, preserve_color: bool = False,
                return_depth: bool = False, return_strength: bool = False,
                out: Any = None) -> StylizeResult:
        """Renders ``content`` in the style of ``styles`` (METHOD.md §1); returns a
        :class:`StylizeResult` ``(image, depth, strength)``.

        content: H x W x 3 RGB (H x W or H x W x 1 grey, H x W x 4 drops alpha): a numpy array of
          uint8 (0..255), uint16 (0..65535), float32 or float64 (in [0,1]), or an :class:`Image`.
          ``image`` is uint8 (clamped, rounded) for uint8 content and float32 (not clamped)
          otherwise; numpy unless the content is an :class:`Image`.
        styles: a :class:`Style`, an image (encoded for this call only), or a list of them.
        alpha: global strength in [0,1].  mask: optional H x W user mask M in [0,1].
        weights: style interpolation weights (one per style; normalised).  regions: K x H x W
          region masks (one per style, summing to 1 per pixel); excludes weights.
        depth: "auto" (the model's depth module if it has one), "network", "none" (R(D) = 1), or a
          caller depth map (H' x W', any integer or float dtype, any size: resized); None means
          "none".  depth_is_disparity: the caller map is larger = nearer.  depth_invalid: value
          marking missing pixels in the caller map.
        preserve_color: CORAL-match the styles' colours to the content first.
        return_depth / return_strength: fill ``depth`` (D, H x W) / ``strength`` (S, h x w) of the
          result from the context (the same as :meth:`last_depth` / :meth:`last_strength`).
        out: optional numpy buffer for ``image``: H x W x 3, C-contiguous, writeable, float32
          (uint8 for uint8 content), sharing no memory with any input.  Written only when the
          call succeeds; returned as ``image``.
        """
        model = self.model
        use_numpy = wants_numpy(content)
        uint8 = is_uint8(content)
        content_planar = to_planar(content, 3, "content")
        _, height, width = content_planar.shape
        if out is not None:
            check_out(out, (height, width, 3), "uint8" if uint8 else "float32", "out",
                      [("content", content), ("styles", styles), ("mask", mask),
                       ("regions", regions), ("depth", depth)])
        style_set = _StyleSet(model, styles)
        try:
            options = _Options(len(style_set), alpha, mask, weights, regions, depth,
                               depth_is_disparity, depth_invalid, preserve_color)
            if return_depth and not options.uses_depth(self._has_depth):
                raise binding_error(Status.INVALID_ARGUMENT,
                                    "return_depth=True but this call uses no depth (depth='none', "
                                    "or 'auto' with a model without a depth network)")
            with self._using() as handle:
                target = self._output_planar(height, width) if HAVE_NUMPY else Planar.empty_output()
                style_array = style_set.acquire()
                try:
                    self._run(lambda: C.adn_stylize(handle, content_planar.ref, style_array,
                                                    len(style_set), ctypes.byref(options.params),
                                                    target.ref))
                finally:
                    style_set.release()
                depth_map = self._copy_map(C.adn_context_get_depth, handle, use_numpy) \
                    if return_depth else None
                strength_map = self._copy_map(C.adn_context_get_strength, handle, use_numpy) \
                    if return_strength else None
                image = planar_to_user(target, uint8, use_numpy or out is not None, out=out)
                target.free()
        finally:
            style_set.close()
        return StylizeResult(image, depth_map, strength_map)

    def _output_planar(self, height: int, width: int) -> Planar:
        """A 3 x H x W float32 buffer owned by this context and reused by its calls at that size."""
        if self._scratch is None or self._scratch.shape != (3, height, width):
            self._scratch = np.empty((3, height, width), np.float32)
        return Planar.wrap(self._scratch, self._scratch.ctypes.data, 3, height, width)

    @staticmethod
    def _copy_map(getter: Callable[..., int], handle: int, use_numpy: bool) -> ImageLike:
        planar = Planar.empty_output()
        check(getter(handle, planar.ref))
        try:
            return planar_to_user(planar, False, use_numpy, squeeze=True)
        finally:
            planar.free()

    def estimate_depth(self, rgb: ImageLike, *, out: Any = None) -> ImageLike:
        """The normalised depth D (0 = near) of ``rgb`` from the model's depth network, H x W
        float32 (an H x W x 1 :class:`Image` without numpy).  No stylization runs and the temporal
        state is neither used nor changed.  out: optional H x W float32 C-contiguous numpy buffer
        (left untouched if the call fails or is cancelled).  InvalidArgument if the model has no
        depth network."""
        use_numpy = wants_numpy(rgb) or out is not None
        planar = to_planar(rgb, 3, "rgb")
        _, height, width = planar.shape
        if out is not None:
            check_out(out, (height, width), "float32", "out", [("rgb", rgb)])
            result: Any = out
        elif use_numpy:
            result = np.empty((height, width), np.float32)
        else:
            result = None
        target = (Planar.wrap(result, result.ctypes.data, 1, height, width) if result is not None
                  else Planar.empty_output())
        with self._using() as handle:
            self._run(lambda: C.adn_estimate_depth(handle, planar.ref, target.ref))
        if result is not None:
            return result
        try:
            return planar_to_user(target, False, False, squeeze=True)
        finally:
            target.free()

    def last_depth(self) -> ImageLike:
        """D (H x W float32, normalised, 0 = near, after temporal smoothing) of the last successful
        :meth:`stylize`; InvalidArgument if it used no depth or there was none."""
        with self._using() as handle:
            return self._copy_map(C.adn_context_get_depth, handle, HAVE_NUMPY)

    def last_strength(self) -> ImageLike:
        """S (h x w float32, feature resolution) of the last successful :meth:`stylize`."""
        with self._using() as handle:
            return self._copy_map(C.adn_context_get_strength, handle, HAVE_NUMPY)

    def last_timings(self) -> Timings:
        """Milliseconds per stage of the last :meth:`stylize` or :meth:`estimate_depth`."""
        raw = adn_timings()
        with self._using() as handle:
            check(C.adn_context_get_timings(handle, ctypes.byref(raw)))
        return Timings(raw.style_encode_ms, raw.content_encode_ms, raw.depth_ms, raw.adain_blend_ms,
                       raw.decode_ms, raw.total_ms)

    # --- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the context (once a call running on it returns).  Safe to call twice."""
        self._h.close()

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            handle = self.__dict__.get("_h")
            if handle is not None:
                handle.close()
        except Exception:  # interpreter shutdown
            pass

    def __repr__(self) -> str:
        model = self._model() if isinstance(self._model, weakref.ref) else self._model
        where = repr(model.path) if model is not None else "<model gone>"
        return f"Context({where}{', closed' if self.closed else ''})"


def stylize(target: Union[Model, Context], content: ImageLike, styles: Any,
            **options: Any) -> StylizeResult:
    """``target.stylize(content, styles, **options)``: with a :class:`Context` its
    :meth:`Context.stylize`, with a :class:`Model` :meth:`Model.stylize` (the calling thread's
    private context; accepts ``depth_range=``)."""
    if not isinstance(target, (Model, Context)):
        raise TypeError(f"stylize needs a Model or a Context, not {type(target).__name__}")
    return target.stylize(content, styles, **options)
