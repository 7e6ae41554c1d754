"""Range checks for integers handed to C.

ctypes converts a Python int to ``c_int32`` / ``c_int64`` / ``c_uint64`` by silently dropping the high
bits, for function arguments and Structure fields alike: ``2**32 + 2`` reaches C as 2.  The binding
sizes its output buffers from the Python value, so a wrapped value lets the library write past them.
Every integer that crosses into C is therefore checked here first and refused with InvalidArgument.

This module must not import :mod:`.errors` at load time: ``_lib`` uses it while ``errors`` (which
imports ``_lib``) may not exist yet, so the exception is built only when a check fails.
"""
from __future__ import annotations

import ctypes
import operator
from typing import Any, Dict, Optional, Tuple

# ctypes type -> (name, smallest, largest).  On the platforms this binding supports c_int is c_int32
# (the C enums too), c_long is c_int64 and c_size_t / c_ulong are c_uint64; the keys are the same
# objects, so every integer argument type in _lib's prototypes is covered.
INTEGER_RANGES: Dict[Any, Tuple[str, int, int]] = {
    ctypes.c_int32: ("int32", -2**31, 2**31 - 1),
    ctypes.c_int64: ("int64", -2**63, 2**63 - 1),
    ctypes.c_uint64: ("uint64", 0, 2**64 - 1),
    ctypes.c_size_t: ("size_t", 0, 2**(8 * ctypes.sizeof(ctypes.c_size_t)) - 1),
}


def _invalid(message: str) -> Exception:
    from .errors import Status, binding_error  # late: see the module docstring
    return binding_error(Status.INVALID_ARGUMENT, message)


def fit(value: Any, ctype: Any, what: str) -> int:
    """``value`` as a Python int that ``ctype`` holds exactly; InvalidArgument otherwise."""
    try:
        number = operator.index(value)  # int, bool, numpy integers; not floats
    except TypeError:
        raise _invalid(f"{what} must be an integer, not {type(value).__name__}") from None
    name, smallest, largest = INTEGER_RANGES[ctype]
    if not smallest <= number <= largest:
        raise _invalid(f"{what} = {number} is out of range for C {name} ({smallest}..{largest})")
    return number


def int32(value: Any, what: str) -> int:
    return fit(value, ctypes.c_int32, what)


def int64(value: Any, what: str) -> int:
    return fit(value, ctypes.c_int64, what)


def uint64(value: Any, what: str) -> int:
    return fit(value, ctypes.c_uint64, what)


def size32(value: Any, what: str) -> int:
    """An image dimension or block size: an int32 that is at least 1 (the binding allocates from
    it before the library sees it, so a negative or huge value must stop here)."""
    number = int32(value, what)
    if number < 1:
        raise _invalid(f"{what} must be >= 1, is {number}")
    return number


def checked_if_integer(value: Any, ctype: Any, what: str) -> Any:
    """For the automatic check at the ctypes boundary: ctypes objects (already of a C type) and
    values of slots that are not integers pass unchanged."""
    if ctype not in INTEGER_RANGES or isinstance(value, ctypes._SimpleCData):
        return value
    return fit(value, ctype, what)


def field_type(struct: Any, name: str) -> Optional[Any]:
    for field, ctype in type(struct)._fields_:
        if field == name:
            return ctype
    return None
