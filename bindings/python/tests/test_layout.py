"""The ctypes mirrors against include/adain_dcs.h: struct sizes and offsets from the C compiler
itself, and the set of prototyped functions (with their argument counts) against the declarations."""
import ctypes
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from adain_dcs import _lib

STRUCTS = [_lib.adn_image, _lib.adn_image_u8, _lib.adn_read_params, _lib.adn_image_info,
           _lib.adn_write_params, _lib.adn_depth_norm_params, _lib.adn_model_params,
           _lib.adn_model_info, _lib.adn_context_params, _lib.adn_stylize_params,
           _lib.adn_timings, _lib.adn_temporal_params]
SIZED = [s for s in STRUCTS if s._fields_[0][0] == "struct_size"]
ENUMS = ["adn_status", "adn_log_level", "adn_file_format", "adn_pixel_mode", "adn_device",
         "adn_precision", "adn_depth_kind", "adn_depth_source", "adn_stage"]
# enum constants whose values the binding hard-codes
CONSTANTS = ["ADN_ERR_CANCELLED", "ADN_ERR_INTERNAL", "ADN_PRECISION_FP16", "ADN_STAGE_DECODE",
             "ADN_STAGE_ENCODE_STYLE", "ADN_DEPTH_NONE", "ADN_DEPTH_KIND_DISPARITY", "ADN_DEVICE_CUDA",
             "ADN_PIXELS_GRAY", "ADN_FORMAT_JPEG", "ADN_LOG_ERROR", "ADN_MAX_THREADS"]

STUB_VERSION_HEADER = """#ifndef ADAIN_DCS_VERSION_H
#define ADAIN_DCS_VERSION_H
#define ADN_VERSION_MAJOR 0
#define ADN_VERSION_MINOR 0
#define ADN_VERSION_PATCH 0
#define ADN_VERSION_STRING "0.0.0"
#define ADN_VERSION_NUMBER 0
#define ADN_SOVERSION 0
#endif
"""


def probe_source() -> str:
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#define ADN_EXPERIMENTAL_API',
             '#include "adain_dcs.h"', 'int main(void) {']
    for struct in STRUCTS:
        name = struct.__name__
        lines.append(f'printf("{name} . %zu %zu\\n", sizeof({name}), (size_t)_Alignof({name}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{name} {field} %zu 0\\n", offsetof({name}, {field}));')
    for enum in ENUMS:
        lines.append(f'printf("{enum} . %zu 0\\n", sizeof({enum}));')
    for constant in CONSTANTS:
        lines.append(f'printf("{constant} . %lld 0\\n", (long long){constant});')
    lines += ['return 0;', '}']
    return "\n".join(lines) + "\n"


def _version_header_dir(work: Path) -> Path:
    """Where adain_dcs_version.h is: meson writes it into the build directory next to the library;
    without one a stub (only the macros) serves, as the probe needs no real version."""
    library = os.environ.get("ADN_LIBRARY")
    if library and (Path(library).parent / "adain_dcs_version.h").exists():
        return Path(library).parent
    (work / "adain_dcs_version.h").write_text(STUB_VERSION_HEADER)
    return work


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory, source_dir):
    compiler = shutil.which("cc")
    header_dir = source_dir / "include"
    if compiler is None or not (header_dir / "adain_dcs.h").exists():
        pytest.skip("no C compiler or header: layout probe skipped")
    work = tmp_path_factory.mktemp("layout")
    (work / "probe.c").write_text(probe_source())
    subprocess.run([compiler, "-std=c11", "-I", str(header_dir), "-I", str(_version_header_dir(work)),
                    str(work / "probe.c"), "-o", str(work / "probe")], check=True)
    out = subprocess.run([str(work / "probe")], check=True, capture_output=True, text=True).stdout
    table = {}
    for line in out.splitlines():
        name, field, a, b = line.split()
        table[(name, field)] = (int(a), int(b))
    return table


@pytest.mark.parametrize("struct", STRUCTS, ids=lambda s: s.__name__)
def test_struct_layout_matches_c(c_layout, struct):
    name = struct.__name__
    assert (ctypes.sizeof(struct), ctypes.alignment(struct)) == c_layout[(name, ".")]
    for field, _ in struct._fields_:
        assert getattr(struct, field).offset == c_layout[(name, field)][0], field


@pytest.mark.parametrize("enum", ENUMS)
def test_enums_are_c_int(c_layout, enum):
    assert c_layout[(enum, ".")][0] == ctypes.sizeof(_lib.c_enum)


@pytest.mark.parametrize("constant", CONSTANTS)
def test_enum_values_match_c(c_layout, constant):
    assert c_layout[(constant, ".")][0] == getattr(_lib, constant)


@pytest.mark.parametrize("struct", SIZED, ids=lambda s: s.__name__)
def test_sized_structs_carry_their_own_size(struct):
    assert struct().struct_size == ctypes.sizeof(struct)
    assert struct(struct_size=8).struct_size == 8  # explicit values win (for tests of old callers)


def _declarations(header: str):
    """name -> parameter count of every ADN_API function in the header."""
    text = re.sub(r"/\*.*?\*/", " ", header, flags=re.S)
    found = {}
    for match in re.finditer(r"\bADN_API\b[^;{]*?\b(adn_\w+)\s*\(([^;]*?)\)\s*;", text, flags=re.S):
        name, params = match.group(1), match.group(2).strip()
        found[name] = 0 if params in ("", "void") else params.count(",") + 1
    return found


def test_every_declared_function_has_a_prototype(source_dir):
    header = source_dir / "include" / "adain_dcs.h"
    if not header.exists():
        pytest.skip("header not found")
    declared = _declarations(header.read_text())
    assert len(declared) > 50, "the declaration parser found too little"
    assert set(declared) == set(_lib._PROTOTYPES), (
        "missing: %s, not in the header: %s" % (sorted(set(declared) - set(_lib._PROTOTYPES)),
                                                sorted(set(_lib._PROTOTYPES) - set(declared))))
    for name, count in declared.items():
        assert len(_lib._PROTOTYPES[name][1]) == count, name
    # the static inline initialisers are not symbols and must not be looked up
    assert not any(name.endswith("_default_params") for name in _lib._PROTOTYPES)


def test_every_prototype_is_exported_by_the_library():
    missing = [name for name in _lib._PROTOTYPES if isinstance(getattr(_lib.C, name),
                                                               _lib._MissingFunction)]
    assert missing == []
    for struct, init in _lib.PARAMS_INIT.items():
        params = struct()
        params.struct_size = 0
        assert getattr(_lib.C, init)(ctypes.byref(params), ctypes.sizeof(params)) == 0
        assert params.struct_size == ctypes.sizeof(struct), init
