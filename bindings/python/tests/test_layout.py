"""The ctypes Structures against the C compiler's own sizes and offsets for include/adain_dcs.h."""
import ctypes
import shutil
import subprocess

import pytest

from adain_dcs import _lib

STRUCTS = [_lib.adn_image, _lib.adn_image_u8, _lib.adn_read_params, _lib.adn_image_info,
           _lib.adn_write_params, _lib.adn_depth_norm_params, _lib.adn_model_params,
           _lib.adn_model_info, _lib.adn_stylize_params]
ENUMS = ["adn_status", "adn_log_level", "adn_file_format", "adn_pixel_mode", "adn_device",
         "adn_depth_kind", "adn_depth_source"]


def probe_source() -> str:
    lines = ['#include <stdio.h>', '#include <stddef.h>', '#include "adain_dcs.h"', 'int main(void) {']
    for struct in STRUCTS:
        name = struct.__name__
        lines.append(f'printf("{name} . %zu %zu\\n", sizeof({name}), (size_t)_Alignof({name}));')
        for field, _ in struct._fields_:
            lines.append(f'printf("{name} {field} %zu 0\\n", offsetof({name}, {field}));')
    for enum in ENUMS:
        lines.append(f'printf("{enum} . %zu 0\\n", sizeof({enum}));')
    lines += ['return 0;', '}']
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def c_layout(tmp_path_factory, source_dir):
    compiler = shutil.which("cc")
    header_dir = source_dir / "include"
    if compiler is None or not (header_dir / "adain_dcs.h").exists():
        pytest.skip("no C compiler or header: layout probe skipped")
    work = tmp_path_factory.mktemp("layout")
    (work / "probe.c").write_text(probe_source())
    subprocess.run([compiler, "-std=c11", "-I", str(header_dir), str(work / "probe.c"), "-o",
                    str(work / "probe")], check=True)
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
