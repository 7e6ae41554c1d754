#!/bin/sh
# The exported symbols are exactly the ADN_API functions of the header, each listed in the linker
# map (lib/adain_dcs.map), with the version node the header's section says (ADN_EXPERIMENTAL for
# the experimental section, ADN_1.x otherwise).
set -eu
lib="$1"
header="$2"
map="$3"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v '^adn_' | grep -v '^ADN_' || true)
if [ -n "$bad" ]; then
  echo "non-API symbols exported from $lib:"
  echo "$bad" | head -20
  exit 1
fi
# Declared: names after ADN_API ... up to the '('; split at the experimental section.
awk '/^#ifdef ADN_EXPERIMENTAL_API/ {in_exp = 1} /^ADN_API/ {
       line = $0; sub(/\(.*/, "", line); n = split(line, w, /[ *]+/); print (in_exp ? "exp " : "stable ") w[n] }' \
  "$header" | sort > "$tmp/declared"
# Exported, with the version node: nm -D prints name@@NODE.
nm -D --defined-only --with-symbol-versions "$lib" | awk '$NF ~ /^adn_/ {
       split($NF, p, "@"); node = p[length(p)]; print (node == "ADN_EXPERIMENTAL" ? "exp " : "stable ") p[1] }' \
  | sort > "$tmp/exported"
if ! diff -u "$tmp/declared" "$tmp/exported"; then
  echo "header declarations (-) and exported symbols with their version nodes (+) differ"
  exit 1
fi
for name in $(awk '{print $2}' "$tmp/declared"); do
  grep -q "^ *$name;" "$map" || { echo "$name is not listed in $map"; exit 1; }
done
echo "exports: $(wc -l < "$tmp/exported") adn_ functions, as declared, with their version nodes, nothing else"
