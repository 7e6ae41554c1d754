"""Stylize collections of image files, on one machine or on a Dask distributed cluster.

    from distributed import Client
    from adain_dcs.batch import stylize_files, list_images
    report = stylize_files(list_images("photos/"), ["style.jpg"], "bundle/", "out/",
                           client=Client("tcp://scheduler:8786"), alpha=0.8)
    print(report.summary())              # "40 done, 0 skipped, 0 failed"

or ``python3 -m adain_dcs.batch --models DIR --content-dir DIR --style FILE[,FILE..] --out-dir DIR
[--scheduler tcp://host:port | --local-workers N]`` (``--help`` lists the options).

How the work is split:

- **One task per content image**, rendering every style of that content.  The content is read,
  resized and checked once instead of once per style; Dask's own cost per task (about a
  millisecond on an idle machine, tens of ms on a loaded one) is paid once per content; and a
  retried task skips the outputs its dead worker had already finished, because a task first skips
  complete outputs.  (Dask also reruns finished tasks whose results lived on the dead worker: those
  find everything complete.)  One task per (content, style) pair would balance better only when
  there are fewer contents than worker threads; then split the styles over several runs.
- **One model per worker process**, loaded on the first task that needs it and kept in a
  per-process cache keyed by the bundle's real path, its files' size and mtime, and the load
  options; **each style is encoded once per process** into a cache keyed the same way.  Models and
  styles are read-only and shared by the worker's threads; each thread has its own
  :class:`~adain_dcs.Context`.  A rerun on the same workers loads nothing again.
- **Outputs are written by the worker** through the library's atomic ``adn_image_write`` (a
  temporary file in the same folder, renamed to the final name), so a file under an output name is
  always complete, even when a worker is killed; Dask reruns the tasks of a dead worker elsewhere.
  (A worker killed in the middle of a write leaves its hidden ``.adn-PID-N.tmp`` file behind.)
- **Idempotent**: an output that exists, decodes, and has the content's (resized) size is skipped,
  whatever run or tool (``adn-stylize``) made it.  Settings are not recorded in the files: delete
  the outputs to render them again with other settings.
- Paths are opened by the workers: on a cluster, contents, styles, bundle and output folder must
  be at the same paths on every worker (a shared filesystem).

Without a client the same task function runs in this process, one content after the other, and
dask is not needed.  In a process started with ``MALLOC_TRIM_THRESHOLD_`` set (every Dask worker)
the first task raises glibc's mmap threshold, see :func:`_unfreeze_mmap_threshold`.  Output names are those of ``adn-stylize --out-dir``
(``CONTENT_stylized_STYLE.EXT``), so both tools can fill one folder.
"""
from __future__ import annotations

import argparse
import os
import stat
import sys
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import (Any, Dict, Iterable, List, NamedTuple, NoReturn, Optional, Sequence, Tuple,
                    Union)

from .errors import AdnError, Status, binding_error
from .files import read_image, write_image
from .model import Context, Model, Style

PathLike = Union[str, "os.PathLike[str]"]

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
_IMAGE_EXTENSIONS = ("png", "jpg", "jpeg")
_BUNDLE_FILES = ("encoder.pt", "decoder.pt", "depth.pt", "bundle.json", "manifest.txt")
_MAX_LONG_SIDE = 16384   # adn-stylize's CLI_MAX_LONG_SIDE
_MAX_THREADS = 1024      # ADN_MAX_THREADS
_STYLE_CACHE_SIZE = 64   # encoded styles kept per worker process


# --- the report ---------------------------------------------------------------------------------

class FileResult(NamedTuple):
    """What happened to one output file."""

    output: str    #: the output path
    content: str   #: its content image
    style: str     #: its style image
    status: str    #: "done" (written), "skipped" (already complete) or "failed"
    message: str = ""  #: for "failed": the library's message, prefixed with what failed


class BatchReport:
    """The outcome of :func:`stylize_files`: one :class:`FileResult` per planned output, in the
    order content by content, style by style."""

    def __init__(self, files: Iterable[FileResult]):
        self.files: List[FileResult] = list(files)

    def _with(self, status: str) -> List[FileResult]:
        return [f for f in self.files if f.status == status]

    @property
    def done(self) -> List[FileResult]:
        return self._with(DONE)

    @property
    def skipped(self) -> List[FileResult]:
        return self._with(SKIPPED)

    @property
    def failed(self) -> List[FileResult]:
        return self._with(FAILED)

    @property
    def ok(self) -> bool:
        """True when no output failed."""
        return not self.failed

    def summary(self) -> str:
        return f"{len(self.done)} done, {len(self.skipped)} skipped, {len(self.failed)} failed"

    def __repr__(self) -> str:
        return f"BatchReport({self.summary()})"


# --- output names, exactly as adn-stylize makes them (examples/adn-stylize.c) ---------------------

def _base_name(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _extension(path: str) -> str:
    """After the last dot of the last component, "" without one (".png" -> "png", as in C)."""
    name = _base_name(path)
    return name.rsplit(".", 1)[1] if "." in name else ""


def _stem(path: str) -> str:
    """The last component without its extension; a leading dot is no extension (".x" stays)."""
    name = _base_name(path)
    dot = name.rfind(".")
    return name[:dot] if dot > 0 else name


def _is_image_extension(ext: str) -> bool:
    return ext.lower() in _IMAGE_EXTENSIONS


def _join(folder: str, name: str) -> str:
    return folder + ("" if folder.endswith("/") else "/") + name


def output_name(content: PathLike, style: PathLike, out_ext: Optional[str] = None) -> str:
    """``CONTENT_stylized_STYLE.EXT`` of adn-stylize: the stems of both files, and out_ext or else
    the content's own extension (as written, e.g. "JPG") when it is png/jpg/jpeg, else png."""
    content, style = os.fspath(content), os.fspath(style)
    ext = out_ext if out_ext else (_extension(content) if _is_image_extension(_extension(content))
                                   else "png")
    return f"{_stem(content)}_stylized_{_stem(style)}.{ext}"


def output_path(out_dir: PathLike, content: PathLike, style: PathLike,
                out_ext: Optional[str] = None) -> str:
    """out_dir joined with :func:`output_name`, the way adn-stylize joins them."""
    return _join(os.fspath(out_dir), output_name(content, style, out_ext))


def list_images(folder: PathLike) -> List[str]:
    """Every regular .png/.jpg/.jpeg file of folder (not hidden; case-insensitive extension),
    sorted by name as bytes: the files ``adn-stylize --content-dir`` / ``--style-dir`` take."""
    folder = os.fspath(folder)
    found = []
    for name in os.listdir(folder):
        path = _join(folder, name)
        if name.startswith(".") or not _is_image_extension(_extension(name)):
            continue
        try:
            if stat.S_ISREG(os.stat(path).st_mode):
                found.append(path)
        except OSError:
            continue
    return sorted(found, key=os.fsencode)


# --- settings -----------------------------------------------------------------------------------

def _invalid(message: str) -> AdnError:
    return binding_error(Status.INVALID_ARGUMENT, message)


@dataclass(frozen=True)
class Settings:
    """The per-image options of a run (adn-stylize's option of the same name in brackets)."""

    models: str                                  #: bundle folder [--models]
    device: str = "auto"                         #: "auto", "cpu", "cuda", "cuda:N" [--device]
    threads: int = 0                             #: torch CPU threads per worker process, 0 = all
    alpha: float = 1.0                           #: global strength in [0,1] [--alpha]
    depth_range: Tuple[float, float] = (0.0, 1.0)  #: (lo, hi), each in [0,1] [--depth-range]
    no_depth: bool = False                       #: plain AdaIN, depth.pt not loaded [--no-depth]
    preserve_color: bool = False                 #: CORAL onto each style [--preserve-color]
    content_size: int = 0                        #: short side of each content, 0 = keep [--content-size]
    style_size: int = 0                          #: short side of each style, 0 = keep [--style-size]
    max_side: int = 0                            #: then long side at most this, 0 = no limit [--max-side]

    def __post_init__(self) -> None:
        lo, hi = (float(v) for v in self.depth_range)
        object.__setattr__(self, "depth_range", (lo, hi))
        if not 0.0 <= self.alpha <= 1.0:
            raise _invalid(f"alpha must be in [0, 1], is {self.alpha}")
        if not (0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0):
            raise _invalid(f"depth_range must be (lo, hi) with both in [0, 1], is {(lo, hi)}")
        for name in ("content_size", "style_size", "max_side"):
            if not 0 <= getattr(self, name) <= _MAX_LONG_SIDE:
                raise _invalid(f"{name} must be in 0..{_MAX_LONG_SIDE}, is {getattr(self, name)}")
        if not 0 <= self.threads <= _MAX_THREADS:
            raise _invalid(f"threads must be in 0..{_MAX_THREADS}, is {self.threads}")


@dataclass(frozen=True)
class _Job:
    """One task: a content image and its outputs, one per style."""

    content: str
    outputs: Tuple[Tuple[str, str], ...]  # (style path, output path)
    settings: Settings


# --- the worker side: per-process caches and the task ---------------------------------------------

_cache_lock = threading.Lock()  # guards the two caches; held while loading / encoding
_models: Dict[Any, Union[Model, AdnError]] = {}
_styles: "OrderedDict[Any, Union[Style, AdnError]]" = OrderedDict()
_thread_state = threading.local()  # .contexts: {model key: Context} of this thread


_M_MMAP_THRESHOLD = -3              # glibc <malloc.h>
_MMAP_THRESHOLD_BYTES = 32 << 20    # glibc's largest on 64-bit (DEFAULT_MMAP_THRESHOLD_MAX)
_malloc_checked = False


def _unfreeze_mmap_threshold() -> None:
    """Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, to hand freed memory back to
    the OS.  Setting any malloc threshold also freezes glibc's mmap threshold at 128 KiB, so every
    image-sized buffer of a stylize call becomes a fresh mmap, zero-filled page by page: stylize
    calls took twice as long (256 x 256, analytic bundle: 16 -> 35 ms).  A 32 MiB mmap threshold
    serves them from the heap again, and the trim threshold still returns freed memory.  Done once
    per process, only when that variable is set and no mmap threshold was chosen; glibc only."""
    global _malloc_checked
    if _malloc_checked:
        return
    _malloc_checked = True
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return
    try:
        import ctypes

        ctypes.CDLL(None).mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)
    except (OSError, AttributeError):  # not glibc: nothing to undo
        pass


def _file_stamp(path: str) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _model_key(s: Settings) -> Tuple[Any, ...]:
    """Changes when the bundle's files change, so a long-lived worker never serves a stale model."""
    root = os.path.realpath(s.models)
    return (root, tuple(_file_stamp(os.path.join(root, f)) for f in _BUNDLE_FILES), s.device,
            s.threads, not s.no_depth)


def _load_model(s: Settings) -> Tuple[Any, Model]:
    """The process's model for these settings, loaded on first use (a failure is kept too, with
    its message, so a broken bundle is not reloaded by every task)."""
    key = _model_key(s)
    with _cache_lock:
        _unfreeze_mmap_threshold()
        if key not in _models:
            try:
                _models[key] = Model(s.models, device=s.device, threads=s.threads,
                                     load_depth=not s.no_depth)
            except AdnError as error:
                _models[key] = error
        found = _models[key]
    if isinstance(found, AdnError):
        raise _failure(f"cannot load the model bundle '{s.models}'", found)
    return key, found


def _read_style(path: str, s: "Settings") -> Any:
    """The style as adn-stylize reads it: short side --style-size, then long side --max-side."""
    return read_image(path, short_side=s.style_size, max_side=s.max_side)


def _encoded_style(model_key: Any, model: Model, path: str, s: Settings) -> Style:
    key = (model_key, os.path.realpath(path), _file_stamp(path), s.style_size, s.max_side)
    with _cache_lock:
        if key in _styles:
            _styles.move_to_end(key)
        else:
            try:
                _styles[key] = model.style(_read_style(path, s))
            except AdnError as error:
                _styles[key] = error
            while len(_styles) > _STYLE_CACHE_SIZE:
                # Dropped, not closed: a task of another thread may hold it; the last reference
                # frees it.
                _styles.popitem(last=False)
        found = _styles[key]
    if isinstance(found, AdnError):
        raise _failure(f"style '{path}'", found)
    return found


def _thread_context(model_key: Any, model: Model) -> Context:
    contexts = getattr(_thread_state, "contexts", None)
    if contexts is None:
        contexts = _thread_state.contexts = {}
    ctx = contexts.get(model_key)
    if ctx is None or ctx.closed:
        ctx = contexts[model_key] = model.context()
    return ctx


class _Failed(Exception):
    """An output could not be made; ``message`` says why (what, then the library's message)."""

    def __init__(self, message: str):
        Exception.__init__(self, message)
        self.message = message


def _failure(what: str, error: BaseException) -> _Failed:
    detail = error.message if isinstance(error, AdnError) and error.message else str(error)
    return _Failed(f"{what}: {detail}")


def _read_content(path: str, s: Settings) -> Tuple[Any, Any]:
    """The content as adn-stylize reads it (short side --content-size, then long side --max-side,
    resized while reading): RGB float, and its alpha (or None) at the same size."""
    try:
        read = read_image(path, full=True, short_side=s.content_size, max_side=s.max_side)
    except AdnError as error:
        raise _failure(f"content '{path}'", error) from None
    return read.pixels, read.alpha


def is_complete(path: PathLike, height: int, width: int) -> bool:
    """Whether path holds an image the library decodes, of exactly height x width: a finished
    output, which a rerun skips."""
    if not os.path.isfile(path):
        return False
    try:
        image = read_image(path)
    except AdnError:
        return False
    return tuple(image.shape[:2]) == (height, width)


def _render_one(model_key: Any, model: Model, content: Any, alpha: Any, style_path: str,
                out_path: str, job: _Job) -> None:
    s = job.settings
    style = _encoded_style(model_key, model, style_path, s)
    ctx = _thread_context(model_key, model)
    ctx.set_depth_range(*s.depth_range)
    try:
        image = ctx.stylize(content, style, alpha=s.alpha, depth="none" if s.no_depth else "auto",
                            preserve_color=s.preserve_color).image
    except AdnError as error:
        raise _failure(f"content '{job.content}'", error) from None
    try:
        write_image(out_path, image, alpha=alpha)  # atomic: temporary file, then rename
    except AdnError as error:
        raise _failure(f"output '{out_path}'", error) from None


def render_content(job: _Job) -> List[FileResult]:
    """The task: every output of one content image.  Complete outputs are skipped first (so a
    retried task redoes only what its dead worker had not finished); the model and styles come
    from this process's caches.  Library errors become "failed" results, never exceptions."""
    def result(style: str, out: str, status: str, message: str = "") -> FileResult:
        return FileResult(out, job.content, style, status, message)

    try:
        content, alpha = _read_content(job.content, job.settings)
    except _Failed as failed:
        return [result(style, out, FAILED, failed.message) for style, out in job.outputs]
    height, width = content.shape[:2]
    results: List[FileResult] = []
    model: Optional[Tuple[Any, Model]] = None
    for style, out in job.outputs:
        if is_complete(out, height, width):
            results.append(result(style, out, SKIPPED))
            continue
        try:
            model = model or _load_model(job.settings)
            _render_one(model[0], model[1], content, alpha, style, out, job)
            results.append(result(style, out, DONE))
        except _Failed as failed:
            results.append(result(style, out, FAILED, failed.message))
    return results


# --- planning (client side): names, clashes, folder ------------------------------------------------

def _plan(contents: Sequence[str], styles: Sequence[str], out_dir: str,
          out_ext: Optional[str], settings: Settings) -> List[_Job]:
    jobs = [_Job(c, tuple((s, output_path(out_dir, c, s, out_ext)) for s in styles), settings)
            for c in contents]
    seen: Dict[str, str] = {}
    for job in jobs:
        for _, out in job.outputs:
            if out in seen:
                raise _invalid(f"two outputs would both be written to '{out}' (content "
                               f"'{seen[out]}' and '{job.content}'); rename an input or use "
                               f"out_ext")
            seen[out] = job.content
    return jobs


def _file_id(path: str) -> Optional[Tuple[int, int]]:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def _check_no_input_overwritten(jobs: Sequence[_Job], styles: Sequence[str], models: str) -> None:
    """No output may be one of the inputs (compared as files: links and './a' are caught)."""
    inputs: Dict[Tuple[int, int], str] = {}
    for path in [j.content for j in jobs] + list(styles) + [os.path.join(models, f)
                                                              for f in _BUNDLE_FILES]:
        ident = _file_id(path)
        if ident is not None:
            inputs.setdefault(ident, path)
    for job in jobs:
        for _, out in job.outputs:
            ident = _file_id(out)
            if ident is not None and ident in inputs:
                raise _invalid(f"output '{out}' is the input '{inputs[ident]}'")


def _prepare_out_dir(out_dir: str) -> None:
    """Creates out_dir if missing (not its parents, like adn-stylize); it must be writable."""
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise _invalid(f"out_dir '{out_dir}' is not a folder")
    if not os.path.isdir(out_dir):
        try:
            os.mkdir(out_dir)
        except OSError as error:
            raise binding_error(Status.IO, f"cannot create output folder '{out_dir}': "
                                           f"{error.strerror}") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise binding_error(Status.IO, f"output folder '{out_dir}' is not writable")


# --- running ---------------------------------------------------------------------------------

def _show_progress(progress: Optional[bool]) -> bool:
    return sys.stdout.isatty() if progress is None else bool(progress)


def _run_here(jobs: Sequence[_Job], progress: bool) -> List[FileResult]:
    results: List[FileResult] = []
    for n, job in enumerate(jobs, 1):
        results.extend(render_content(job))
        if progress:
            filled = 40 * n // len(jobs)
            sys.stdout.write(f"\r[{'#' * filled:<40}] | {100 * n // len(jobs)}% | {n}/{len(jobs)}")
            sys.stdout.flush()
    if progress and jobs:
        sys.stdout.write("\n")
    return results


def _run_on_client(client: Any, jobs: Sequence[_Job], progress: bool) -> List[FileResult]:
    import distributed

    token = uuid.uuid4().hex[:8]
    futures = [client.submit(render_content, job, key=f"adn-stylize-{token}-{i}", pure=False)
               for i, job in enumerate(jobs)]
    try:
        if progress:
            distributed.progress(futures)
            sys.stdout.write("\n")
        distributed.wait(futures)
        results: List[FileResult] = []
        for job, future in zip(jobs, futures):
            if future.status == "finished":
                results.extend(future.result())
            else:  # e.g. KilledWorker: the task killed its workers too often
                message = f"task for content '{job.content}' failed: {future.exception()!r}"
                results.extend(FileResult(out, job.content, style, FAILED, message)
                               for style, out in job.outputs)
        return results
    finally:
        client.cancel(futures)


def stylize_files(contents: Iterable[PathLike], styles: Union[PathLike, Iterable[PathLike]],
                  models: PathLike, out_dir: PathLike, client: Any = None, *,
                  out_ext: Optional[str] = None, progress: Optional[bool] = None,
                  **params: Any) -> BatchReport:
    """Renders every content image in every style into out_dir, named as ``adn-stylize
    --out-dir`` names them; returns a :class:`BatchReport`.

    contents: content image paths (:func:`list_images` lists a folder the way adn-stylize does).
    styles: one style path or several.  models: the bundle folder.  out_dir: created if missing.
    client: a ``distributed.Client``: one task per content runs on its workers; None: the same
      task function runs here, content after content (no dask needed).
    out_ext: "png", "jpg" or "jpeg" for every output (default: the content's own extension).
    progress: Dask's progress bar (or a text bar without a client) on stdout; None = when stdout
      is a terminal.
    params: the fields of :class:`Settings` but ``models``: device, threads, alpha, depth_range,
      no_depth, preserve_color, content_size, style_size, max_side.  threads is per worker process: with
      several worker processes on one host give cores / processes.

    Before any work, raises InvalidArgument (a ValueError) for bad settings, two outputs with one
    name, or an output that is one of the inputs.  Per-file problems (an unreadable content or
    style, a model that does not load, a failed write) are "failed" results with the library's
    message; complete outputs already there are "skipped".
    """
    settings = Settings(models=os.fspath(models), **params)
    if out_ext is not None:
        out_ext = out_ext[1:] if out_ext.startswith(".") else out_ext
        if not _is_image_extension(out_ext):
            raise _invalid(f"out_ext '{out_ext}' is not png, jpg or jpeg")
    style_list = ([os.fspath(styles)] if isinstance(styles, (str, os.PathLike))
                  else [os.fspath(s) for s in styles])
    if not style_list:
        raise _invalid("no style given")
    out_dir = os.fspath(out_dir)
    jobs = _plan([os.fspath(c) for c in contents], style_list, out_dir, out_ext, settings)
    if os.path.isdir(out_dir):
        _check_no_input_overwritten(jobs, style_list, settings.models)
    _prepare_out_dir(out_dir)
    show = _show_progress(progress)
    results = _run_here(jobs, show) if client is None else _run_on_client(client, jobs, show)
    return BatchReport(results)


# --- command line ------------------------------------------------------------------------------

_PROG = "adn-batch"
_EXIT_OK, _EXIT_USAGE, _EXIT_INPUT = 0, 1, 2  # as adn-stylize


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(_EXIT_USAGE, f"{_PROG}: {message}\nTry '{self.prog} --help' for more "
                               f"information.\n")


def _depth_range(text: str) -> Tuple[float, float]:
    parts = text.split(",")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        lo = hi = float("nan")
    if len(parts) != 2 or not (0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0):
        raise argparse.ArgumentTypeError(f"'{text}' is not LO,HI with both in [0, 1]")
    return lo, hi


def _number_in(kind: type, lo: float, hi: float) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            value = None
        if value is None or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"'{text}' is not a number in [{lo}, {hi}]")
        return value
    return parse


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python3 -m adain_dcs.batch",
                description="Renders every content image in every style (AdaIN-DCS), on this "
                            "machine or a Dask cluster.  Output names are adn-stylize's "
                            "(CONTENT_stylized_STYLE.EXT); complete outputs already there are "
                            "skipped, so a run can be repeated or shared with adn-stylize.",
                epilog="Exit status: 0 success, 1 usage error, 2 some output failed (listed).")
    io = p.add_argument_group("inputs and outputs")
    io.add_argument("--models", required=True, metavar="DIR", help="model bundle")
    content = io.add_mutually_exclusive_group(required=True)
    content.add_argument("--content-dir", metavar="DIR", help="every .png/.jpg/.jpeg in DIR")
    content.add_argument("--content", metavar="FILE", help="one content image")
    style = io.add_mutually_exclusive_group(required=True)
    style.add_argument("--style", metavar="FILE[,FILE..]", help="style image(s)")
    style.add_argument("--style-dir", metavar="DIR", help="every .png/.jpg/.jpeg in DIR as styles")
    io.add_argument("--out-dir", required=True, metavar="DIR", help="output folder (created)")
    io.add_argument("--out-ext", choices=["png", "jpg", "jpeg"],
                    help="extension of every output (default: the content's own)")
    run = p.add_argument_group("where to run (default: in this process)")
    where = run.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS", help="a Dask scheduler, tcp://host:port")
    where.add_argument("--local-workers", type=_number_in(int, 1, 1024), metavar="N",
                       help="start a LocalCluster of N worker processes on this machine")
    opt = p.add_argument_group("per-image options (as adn-stylize)")
    opt.add_argument("--alpha", type=_number_in(float, 0.0, 1.0), default=1.0, metavar="A",
                     help="global strength in [0,1] (default 1)")
    opt.add_argument("--depth-range", type=_depth_range, default=(0.0, 1.0), metavar="LO,HI",
                     help="strength at the nearest and farthest depth (default 0,1)")
    opt.add_argument("--no-depth", action="store_true", help="plain AdaIN, no depth module")
    opt.add_argument("--preserve-color", action="store_true", help="keep the content's colours")
    opt.add_argument("--content-size", type=_number_in(int, 0, _MAX_LONG_SIDE), default=0,
                     metavar="N", help="resize each content so its SHORT side is N, as "
                                       "adn-stylize and the peers (0 = keep)")
    opt.add_argument("--style-size", type=_number_in(int, 0, _MAX_LONG_SIDE), default=0,
                     metavar="N", help="the same for each style (0 = keep)")
    opt.add_argument("--max-side", type=_number_in(int, 0, _MAX_LONG_SIDE), default=0,
                     metavar="N", help="then shrink contents and styles so their long side is at "
                                       "most N (0 = no limit)")
    opt.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default auto)")
    opt.add_argument("--threads", type=_number_in(int, 0, _MAX_THREADS), default=None,
                     metavar="N", help="torch threads per worker process (default: all cores, or "
                                       "cores / N with --local-workers N)")
    opt.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _list_folder(folder: str) -> List[str]:
    """list_images, with adn-stylize's messages (FileIOError: exit status 2, as there)."""
    try:
        found = list_images(folder)
    except OSError as error:
        raise binding_error(Status.IO, f"cannot open folder '{folder}': {error.strerror}") from None
    if not found:
        raise binding_error(Status.IO, f"no .png, .jpg or .jpeg files in folder '{folder}'")
    return found


def _inputs(args: argparse.Namespace) -> Tuple[List[str], List[str]]:
    styles = args.style.split(",") if args.style is not None else None
    if styles is not None and not all(styles):
        raise _invalid("--style: empty file name in the list")
    contents = [args.content] if args.content else _list_folder(args.content_dir)
    return contents, styles if styles is not None else _list_folder(args.style_dir)


def _print_failures(report: BatchReport) -> None:
    failed = report.failed
    print(f"{_PROG}: {len(failed)} problem{'s' if len(failed) != 1 else ''} "
          f"({len(report.files)} images planned):", file=sys.stderr)
    for f in failed:
        print(f"  {f.message}", file=sys.stderr)


def _run_cli(args: argparse.Namespace, contents: List[str], styles: List[str]) -> BatchReport:
    threads = args.threads
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // args.local_workers) if args.local_workers else 0
    options = dict(out_ext=args.out_ext, progress=False if args.quiet else None,
                   device=args.device, threads=threads, alpha=args.alpha,
                   depth_range=args.depth_range, no_depth=args.no_depth,
                   preserve_color=args.preserve_color, content_size=args.content_size,
                   style_size=args.style_size, max_side=args.max_side)
    Settings(models=args.models, **{k: v for k, v in options.items()
                                    if k not in ("out_ext", "progress")})  # usage errors first
    if not args.scheduler and not args.local_workers:
        return stylize_files(contents, styles, args.models, args.out_dir, **options)
    from distributed import Client, LocalCluster

    if args.scheduler:
        with Client(args.scheduler) as client:
            return stylize_files(contents, styles, args.models, args.out_dir, client, **options)
    with LocalCluster(n_workers=args.local_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        return stylize_files(contents, styles, args.models, args.out_dir, client, **options)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """The command line; returns the exit status (0 ok, 1 usage, 2 some output failed)."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already printed
        return int(stop.code or 0)
    try:
        contents, styles = _inputs(args)
        report = _run_cli(args, contents, styles)
    except ValueError as error:  # InvalidArgument: bad settings, clashing outputs
        print(f"{_PROG}: {getattr(error, 'message', error)}; nothing was done", file=sys.stderr)
        return _EXIT_USAGE
    except OSError as error:  # FileIOError: a missing folder, an output folder not made
        print(f"{_PROG}: {getattr(error, 'message', error)}", file=sys.stderr)
        return _EXIT_INPUT
    except ImportError as error:
        print(f"{_PROG}: --scheduler and --local-workers need dask distributed "
              f"(python3-distributed): {error}", file=sys.stderr)
        return _EXIT_USAGE
    if not args.quiet:
        print(f"{_PROG}: {report.summary()}", file=sys.stderr)
    if not report.ok:
        _print_failures(report)
        return _EXIT_INPUT
    return _EXIT_OK


if __name__ == "__main__":
    # Run as `python3 -m adain_dcs.batch`, this file is the module __main__, whose functions Dask
    # would pickle by value (with the caches and their lock).  The tasks must name the importable
    # adain_dcs.batch instead, so the command line runs from there.
    from adain_dcs.batch import main as _importable_main

    sys.exit(_importable_main())
