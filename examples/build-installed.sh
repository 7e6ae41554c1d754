#!/bin/sh
# build-installed.sh PREFIX — builds examples/simple.c and examples/simple.cpp against an INSTALLED
# libadain_dcs, the way a user would (pkg-config adain_dcs), and runs them on the analytic model
# bundle.  PREFIX is where the install tree lies: the --prefix given to meson, or DESTDIR/prefix
# after `meson install --destdir DESTDIR` (the .pc file's prefix is then redefined to PREFIX).
#
# Needs a C and a C++ compiler, pkg-config, and a python with torch for tools/adn-export
# ($PYTHON, default /usr/bin/python3).  Content and style images come from $ADN_SHARED_DATA (default
# ../../shared/data next to the source tree) or, where absent, are generated.
# Exit status: 0 when both examples built, ran and produced the expected outputs.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 PREFIX" >&2
    exit 1
fi
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
python=${PYTHON:-/usr/bin/python3}
data=${ADN_SHARED_DATA:-$root/../shared/data}

pc=$(find "$prefix" -name adain_dcs.pc -path '*pkgconfig*' | head -n 1)
if [ -z "$pc" ]; then
    echo "$0: no adain_dcs.pc under $prefix" >&2
    exit 1
fi
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
pkg() { pkg-config --define-variable=prefix="$prefix" "$@" adain_dcs; }
libdir=$(pkg --variable=libdir)

work=$(mktemp -d "${TMPDIR:-/tmp}/adn-installed.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

echo "== building against $(pkg --modversion) in $prefix"
# shellcheck disable=SC2046  # pkg-config output is meant to be split into words
${CC:-cc} -std=c11 -Wall -Wextra -Werror -o "$work/simple" "$here/simple.c" $(pkg --cflags --libs) -Wl,-rpath,"$libdir"
# shellcheck disable=SC2046
${CXX:-c++} -std=c++11 -Wall -Wextra -Werror -o "$work/simple_cpp" "$here/simple.cpp" $(pkg --cflags --libs) -Wl,-rpath,"$libdir"

echo "== analytic bundle"
"$python" "$root/tools/adn-export" --analytic --out "$work/bundle"

if [ -f "$data/content/sailboat.jpg" ] && [ -f "$data/style/sketch.png" ]; then
    content=$data/content/sailboat.jpg
    style=$data/style/sketch.png
else
    echo "(no shared test data in $data: using generated images)"
    "$python" - "$work" <<'PY'
import struct, sys, zlib
def png(path, w, h, pixel):
    rows = b"".join(b"\0" + bytes(v for x in range(w) for v in pixel(x, y)) for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
png(sys.argv[1] + "/content.png", 61, 45, lambda x, y: (4 * x % 256, 5 * y % 256, (x * y) % 256))
png(sys.argv[1] + "/style.png", 40, 32, lambda x, y: (255 * ((x // 4 + y // 4) % 2), 90, 200 - 5 * y))
PY
    content=$work/content.png
    style=$work/style.png
fi

echo "== running"
"$work/simple" "$work/bundle" "$content" "$style" "$work/out_c.png"
"$work/simple_cpp" "$work/bundle" "$content" "$style" "$work/out_cpp.png"
# With alpha 0 the analytic pair returns the content exactly, so stylizing an alpha-0 output again
# must give the same pixels, hence (same encoder, same settings) the same bytes.
"$work/simple_cpp" "$work/bundle" "$content" "$style" "$work/zero1.png" 0
"$work/simple_cpp" "$work/bundle" "$work/zero1.png" "$style" "$work/zero2.png" 0

for f in out_c.png out_cpp.png zero1.png; do
    if [ "$(head -c 8 "$work/$f" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
        echo "$0: $f is not a PNG file" >&2
        exit 1
    fi
done
cmp "$work/zero1.png" "$work/zero2.png"
# The C and C++ examples stylize the same way, so their outputs must be identical too.
cmp "$work/out_c.png" "$work/out_cpp.png"
echo "== ok: simple and simple_cpp built with pkg-config and ran"
