#!/usr/bin/env bash
# Renders every app and tray icon from the one source image, mailvortex.svg, with
# rsvg-convert (librsvg2-bin). Run after changing the source; the PNGs are committed so
# that builds need no image tools.
set -euo pipefail
cd "$(dirname "$0")"
render() { rsvg-convert -w "$1" -h "$1" mailvortex.svg -o "$2"; }
render 32 32x32.png
render 64 64x64.png
render 128 128x128.png
render 256 128x128@2x.png
render 512 icon.png
# The tray: the same mark at the size panels ask for.
render 64 tray.png
