#!/usr/bin/env bash
# ABI check: builds the C library with debug info (torch off: the exported ABI is the same) and
# compares it with the committed baseline abi/adain_dcs.abi.  Fails on any incompatible change to
# the stable part of include/adain_dcs.h.  After an intended, compatible addition, refresh the
# baseline with `abi/check.sh --update` and commit it; an incompatible change also needs a new
# soversion in meson.build.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${ADN_ABI_BUILD:-build-abi}
rm -rf "$build"
meson setup "$build" -Dtorch=disabled -Dtests=false -Dexamples=false -Dbindings=false \
  -Ddebug=true -Doptimization=2 >/dev/null
ninja -C "$build" >/dev/null
current="$build/adain_dcs.abi"
abidw --headers-dir include --headers-dir "$build" --no-corpus-path --drop-private-types \
  "$build/libadain_dcs.so" > "$current"
if [ "${1:-}" = "--update" ]; then
  cp "$current" abi/adain_dcs.abi
  echo "abi: baseline updated"
  exit 0
fi
# The check itself must be able to fail: a baseline with one more function than the library
# reads as a removed function.
sed "0,/<elf-symbol name='adn_version'/s//<elf-symbol name='adn_removed_function' type='func-type' binding='global-binding' visibility='default-visibility' is-defined='yes'\/>\n    <elf-symbol name='adn_version'/" \
  abi/adain_dcs.abi > "$build/broken.abi"
if abidiff --suppressions abi/suppressions.ini "$build/broken.abi" "$current" >/dev/null; then
  echo "abi: abidiff did not notice a removed function; the check is broken" >&2
  exit 1
fi
if ! abidiff --suppressions abi/suppressions.ini abi/adain_dcs.abi "$current"; then
  echo "abi: libadain_dcs differs from abi/adain_dcs.abi (see above)" >&2
  exit 1
fi
echo "abi: matches abi/adain_dcs.abi"
