#!/bin/sh
# Fails if the shared library exports any defined symbol that is not part of the adn_ API.
lib="$1"
bad=$(nm -D --defined-only "$lib" | awk '{print $NF}' | grep -v '^adn_' | grep -v '^ADN_' || true)
if [ -n "$bad" ]; then
  echo "non-API symbols exported from $lib:"
  echo "$bad" | head -20
  exit 1
fi
count=$(nm -D --defined-only "$lib" | grep -c ' adn_')
echo "exports: $count adn_ symbols and nothing else"
