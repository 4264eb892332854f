#!/usr/bin/env bash
# Configure (once) and build Portico into build/ (or $PORTICO_BUILD_DIR).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${PORTICO_BUILD_DIR:-$root/build}
if [ ! -f "$build/build.ninja" ]; then
  meson setup "$build" "$root" -Dtests=enabled --buildtype=debugoptimized >/dev/null
fi
ninja -C "$build" ${PORTICO_NINJA_FLAGS:-}
