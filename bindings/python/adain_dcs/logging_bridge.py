"""The library's log callback (adn_set_log_callback) as a Python function or the `logging` module."""
from __future__ import annotations

import logging
import threading
from typing import Callable, Optional

from . import _lib
from ._lib import C

#: Levels of adn_log_level, and the `logging` levels they map to.
DEBUG, INFO, WARN, ERROR = 0, 1, 2, 3
_TO_LOGGING = {DEBUG: logging.DEBUG, INFO: logging.INFO, WARN: logging.WARNING, ERROR: logging.ERROR}

_lock = threading.Lock()
_installed = None  # the ctypes thunk must stay alive as long as the library may call it


def set_log_callback(callback: Optional[Callable[[int, str], None]], min_level: int = INFO) -> None:
    """Routes the library's messages to callback(level, message) (levels DEBUG..ERROR of this
    module); None restores silence.  The callback may run on any thread that calls the library;
    exceptions it raises are swallowed (they cannot cross the C library)."""
    global _installed

    def bridge(level: int, message: bytes, _user: object) -> None:
        try:
            callback(int(level), message.decode(errors="replace"))
        except Exception:  # noqa: BLE001 - nothing may propagate into C
            pass

    with _lock:
        thunk = _lib.adn_log_callback(bridge) if callback is not None else _lib.adn_log_callback()
        C.adn_set_log_callback(thunk, None, min_level)
        _installed = thunk


def log_to_logging(logger: Optional[logging.Logger] = None, min_level: int = INFO) -> None:
    """Sends the library's messages to a `logging` logger (default: "adain_dcs")."""
    target = logger or logging.getLogger("adain_dcs")
    set_log_callback(lambda level, message: target.log(_TO_LOGGING.get(level, logging.INFO), message), min_level)
