"""Status codes and the exceptions that carry them.

Every failing library call raises an :class:`AdnError` subclass chosen by its status; the message is
the library's own one-line explanation (``adn_last_error()``).  Where a Python built-in exception
means the same thing the subclass also derives from it, so ``except ValueError`` or ``except OSError``
catch what one would expect.
"""
from __future__ import annotations

import ctypes
import enum
from typing import Any, Dict, Type

from . import _lib
from ._lib import C


class Status(enum.IntEnum):
    """The C ``adn_status`` codes."""

    OK = _lib.ADN_OK
    INVALID_ARGUMENT = _lib.ADN_ERR_INVALID_ARGUMENT
    OUT_OF_MEMORY = _lib.ADN_ERR_OUT_OF_MEMORY
    IO = _lib.ADN_ERR_IO
    FORMAT = _lib.ADN_ERR_FORMAT
    TOO_LARGE = _lib.ADN_ERR_TOO_LARGE
    NON_FINITE = _lib.ADN_ERR_NON_FINITE
    MODEL = _lib.ADN_ERR_MODEL
    DEVICE = _lib.ADN_ERR_DEVICE
    UNSUPPORTED = _lib.ADN_ERR_UNSUPPORTED
    INTERNAL = _lib.ADN_ERR_INTERNAL
    CANCELLED = _lib.ADN_ERR_CANCELLED


def status_str(status: int) -> str:
    """The library's English name of a status code (``"invalid argument"``, ...)."""
    return C.adn_status_str(int(status)).decode()


class AdnError(Exception):
    """A libadain_dcs call failed.  ``status`` is the :class:`Status` (or the raw int for a code this
    binding does not know), ``message`` the library's explanation."""

    def __init__(self, status: int, message: str):
        Exception.__init__(self, status, message)
        try:
            self.status = Status(status)
        except ValueError:
            self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{status_str(int(self.status))}: {self.message}" if self.message else status_str(
            int(self.status))

    def __reduce__(self):
        return (type(self), (int(self.status), self.message))


class InvalidArgument(AdnError, ValueError):
    """NULL pointer, bad size, value out of range or size mismatch."""


class OutOfMemory(AdnError, MemoryError):
    """An allocation failed (host or device)."""


class FileIOError(AdnError, OSError):
    """A file could not be opened, read, written or renamed."""

    def __init__(self, status: int, message: str):
        AdnError.__init__(self, status, message)

    def __str__(self) -> str:  # OSError formats its own way; keep ours
        return AdnError.__str__(self)


class FormatError(AdnError, ValueError):
    """Corrupt, truncated or unsupported file contents."""


class TooLarge(AdnError, ValueError):
    """Image above the pixel limit."""


class NonFinite(AdnError, ValueError):
    """NaN or infinity in an input buffer."""


class ModelError(AdnError):
    """Model bundle missing, malformed or inconsistent."""


class DeviceError(AdnError):
    """The requested device (CUDA) is not available."""


class Unsupported(AdnError):
    """Feature not compiled into the loaded library (torch, PNG, JPEG)."""


class InternalError(AdnError):
    """Unexpected failure inside a backend."""


class Cancelled(AdnError):
    """A progress callback asked the call to stop (it returned a true value); the call wrote no
    output.  When the callback raised instead, that exception is re-raised in place of this one."""


class ContextBusyError(RuntimeError):
    """A :class:`~adain_dcs.Context` was used by a second thread (or re-entered from one of its own
    callbacks) while a call on it was running.  A context belongs to one thread at a time: make one
    per thread.  Detected by the binding, never by the library, so it carries no status."""


_BY_STATUS: Dict[int, Type[AdnError]] = {
    Status.INVALID_ARGUMENT: InvalidArgument,
    Status.OUT_OF_MEMORY: OutOfMemory,
    Status.IO: FileIOError,
    Status.FORMAT: FormatError,
    Status.TOO_LARGE: TooLarge,
    Status.NON_FINITE: NonFinite,
    Status.MODEL: ModelError,
    Status.DEVICE: DeviceError,
    Status.UNSUPPORTED: Unsupported,
    Status.INTERNAL: InternalError,
    Status.CANCELLED: Cancelled,
}


def error_for(status: int, message: str) -> AdnError:
    """The exception object for a status code (AdnError itself for unknown codes)."""
    return _BY_STATUS.get(status, AdnError)(status, message)


def last_error() -> str:
    """This thread's last library error message ("" if none)."""
    raw = C.adn_last_error()
    return raw.decode("utf-8", "replace") if raw else ""


def check(status: int) -> None:
    """Raises the matching exception unless status is ADN_OK.  Must run on the thread that made the
    call, right after it, because the message is thread-local and overwritten by the next failure."""
    if status != _lib.ADN_OK:
        raise error_for(status, last_error())


def new_params(struct: Any) -> Any:
    """A parameter struct (adn_read_params, ...) filled with the library's defaults by its exported
    adn_X_params_init(p, sizeof *p), with struct_size = ctypes.sizeof(struct)."""
    params = struct()
    init = getattr(C, _lib.PARAMS_INIT[struct])
    check(init(ctypes.byref(params), ctypes.sizeof(params)))
    return params


def binding_error(status: Status, message: str) -> AdnError:
    """An error detected by this binding before calling the library (same classes, same shape)."""
    return error_for(int(status), message)
