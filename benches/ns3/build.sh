#!/usr/bin/env bash
# Builds the two ns-3 programs that run the same work as `synack bench hold` and
# `synack bench lifecycle`, against Debian's ns-3 (libns3-dev, installed if missing, as root).
# Usage: benches/ns3/build.sh [OUTDIR]   (default /tmp/ns3-anchors); prints the binaries' paths.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/ns3-anchors}
if ! pkg-config --exists ns3-core 2>/dev/null || [ ! -e /usr/lib/x86_64-linux-gnu/libgsl.so ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "build.sh: needs ns-3 (apt-get install libns3-dev libgsl-dev pkg-config g++), or run as root to install it" >&2
    exit 2
  fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libns3-dev libgsl-dev pkg-config g++) >/dev/null
fi
mkdir -p "$out"
# shellcheck disable=SC2046
g++ -O2 -o "$out/ns3_lifecycle" "$here/ns3_lifecycle.cc" $(pkg-config --cflags --libs ns3-core ns3-network ns3-internet ns3-point-to-point)
# shellcheck disable=SC2046
g++ -O2 -o "$out/ns3_hold" "$here/ns3_hold.cc" $(pkg-config --cflags --libs ns3-core)
echo "$out/ns3_lifecycle"
echo "$out/ns3_hold"
