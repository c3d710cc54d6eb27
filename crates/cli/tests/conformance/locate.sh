#!/usr/bin/env bash
# Finds packetdrill and google/packetdrill's test suite for the conformance runs, without
# needing this machine's layout. Sourced by gtests.sh and kernel.sh; each function prints a
# path on success, or one line saying why not on stderr and returns 1.
#
# packetdrill (a built binary), in this order:
#   1. $PACKETDRILL, a binary;
#   2. an optional local copy beside the clone (a sibling folder `shared` with
#      tools/packetdrill/build.sh), if a machine keeps one; nothing depends on it;
#   3. google/packetdrill fetched with git at the pinned commit, its source checked file by
#      file against packetdrill-source.sha256, and built (needs internet, gcc, make, bison,
#      flex).
# The suite (google/packetdrill's gtests/net: common/ and tcp/), in the same order:
#   $SYNACK_GTESTS, that local copy's suites/packetdrill-gtests/, or the same fetch, checked against
#   packetdrill-gtests.sha256. The scripts are GPL-2.0 and never committed here.

conformance_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$conformance_dir/../../../.." && pwd)
# The optional local copy: a fallback only, looked for and never required.
shared=$(cd "$repo_root/.." && pwd)/shared
# google/packetdrill at the commit whose source and scripts the hash lists were made from.
PACKETDRILL_REPO=https://github.com/google/packetdrill.git
PACKETDRILL_COMMIT=2c4001c
cache=${SYNACK_CONFORMANCE_CACHE:-/tmp/synack-conformance}

# Checks the files of DIR against a sha256sum list made relative to it.
checked() { (cd "$1" && sha256sum --quiet --strict -c "$2" >/dev/null 2>&1); }

# Clones google/packetdrill at the pinned commit into $cache/upstream, once.
fetch_upstream() {
  local dir=$cache/upstream
  if [ -d "$dir/.git" ]; then echo "$dir"; return 0; fi
  command -v git >/dev/null || { echo "no git to fetch google/packetdrill" >&2; return 1; }
  rm -rf "$dir" && mkdir -p "$cache"
  if ! timeout 600 git clone -q "$PACKETDRILL_REPO" "$dir" 2>/dev/null; then
    rm -rf "$dir"; echo "cannot fetch google/packetdrill (no internet?)" >&2; return 1
  fi
  if ! git -C "$dir" checkout -q "$PACKETDRILL_COMMIT" 2>/dev/null; then
    echo "google/packetdrill has no commit $PACKETDRILL_COMMIT" >&2; return 1
  fi
  echo "$dir"
}

packetdrill_binary() {
  if [ -n "${PACKETDRILL:-}" ]; then
    [ -x "$PACKETDRILL" ] && { echo "$PACKETDRILL"; return 0; }
    echo "PACKETDRILL=$PACKETDRILL is not an executable" >&2; return 1
  fi
  if [ -x "$shared/tools/packetdrill/build.sh" ]; then
    "$shared/tools/packetdrill/build.sh" "$cache/build" 2>/dev/null && return 0
    echo "packetdrill from $shared/tools/packetdrill did not build" >&2; return 1
  fi
  local bin=$cache/upstream-build/packetdrill
  if [ -x "$bin" ]; then echo "$bin"; return 0; fi
  local up; up=$(fetch_upstream) || return 1
  local src=$up/gtests/net/packetdrill
  checked "$src" "$conformance_dir/packetdrill-source.sha256" || {
    echo "google/packetdrill's source at $PACKETDRILL_COMMIT does not match packetdrill-source.sha256" >&2; return 1; }
  for tool in gcc make bison flex; do
    command -v "$tool" >/dev/null || { echo "building packetdrill needs $tool" >&2; return 1; }
  done
  mkdir -p "$cache/upstream-build" && cp -r "$src/." "$cache/upstream-build/"
  (cd "$cache/upstream-build" && ./configure >/dev/null && make -j"$(nproc)" packetdrill >/dev/null 2>&1) || {
    echo "packetdrill did not build" >&2; return 1; }
  echo "$bin"
}

# The suite, copied to $cache/gtests with its helper scripts executable (upstream keeps them
# so; a read-only copy may not), checked against the hash list.
gtests_dir() {
  local src=""
  if [ -n "${SYNACK_GTESTS:-}" ]; then src=$SYNACK_GTESTS
  elif [ -d "$shared/suites/packetdrill-gtests/tcp" ]; then src=$shared/suites/packetdrill-gtests
  else
    local up; up=$(fetch_upstream) || return 1
    src=$up/gtests/net
  fi
  checked "$src" "$conformance_dir/packetdrill-gtests.sha256" || {
    echo "the suite in $src does not match packetdrill-gtests.sha256" >&2; return 1; }
  local dst=$cache/gtests
  rm -rf "$dst" && mkdir -p "$dst"
  cp -r "$src/common" "$src/tcp" "$dst/"
  chmod -R u+w "$dst"
  # Upstream's tcp/common/defaults.sh is a symlink to ../../common/defaults.sh; a copy made
  # without symlinks holds the target's name as text, which sh then runs relative to the
  # script's directory, itself again from two levels down: a fork bomb. Make it a link again.
  local f target
  for f in "$dst"/tcp/common/*.sh; do
    target=$(head -c 200 "$f")
    if [ "$(wc -l <"$f")" -le 1 ] && [[ $target != *' '* ]] && [ -f "$(dirname "$f")/$target" ]; then
      ln -sf "$target" "$f"
    fi
  done
  chmod +x "$dst"/common/*.sh "$dst"/tcp/common/*.py
  echo "$dst"
}

# FreeBSD's state-event suite (freebsd-net/tcp-testsuite, BSD-2-Clause): the folder holding
# state-event-engine/, from $SYNACK_FREEBSD_SUITE, the local copy's
# suites/freebsd-tcp-testsuite/, or a clone at the pinned commit; its IPv4 scripts are checked
# against freebsd-tcp-testsuite.sha256.
FREEBSD_SUITE_REPO=https://github.com/freebsd-net/tcp-testsuite.git
FREEBSD_SUITE_COMMIT=04b8c73
freebsd_suite_dir() {
  local src=""
  if [ -n "${SYNACK_FREEBSD_SUITE:-}" ]; then src=$SYNACK_FREEBSD_SUITE
  elif [ -d "$shared/suites/freebsd-tcp-testsuite/state-event-engine" ]; then
    src=$shared/suites/freebsd-tcp-testsuite
  else
    src=$cache/freebsd-tcp-testsuite
    if [ ! -d "$src/.git" ]; then
      command -v git >/dev/null || { echo "no git to fetch freebsd-net/tcp-testsuite" >&2; return 1; }
      rm -rf "$src" && mkdir -p "$cache"
      if ! timeout 600 git clone -q "$FREEBSD_SUITE_REPO" "$src" 2>/dev/null; then
        rm -rf "$src"; echo "cannot fetch freebsd-net/tcp-testsuite (no internet?)" >&2; return 1
      fi
      git -C "$src" checkout -q "$FREEBSD_SUITE_COMMIT" 2>/dev/null || {
        echo "freebsd-net/tcp-testsuite has no commit $FREEBSD_SUITE_COMMIT" >&2; return 1; }
    fi
  fi
  [ -d "$src/state-event-engine" ] || { echo "$src has no state-event-engine/" >&2; return 1; }
  checked "$src" "$conformance_dir/freebsd-tcp-testsuite.sha256" || {
    echo "the suite in $src does not match freebsd-tcp-testsuite.sha256" >&2; return 1; }
  echo "$src"
}

# Why the kernel phase cannot run here, if it cannot: root, Linux namespaces, a tun device.
kernel_unavailable() {
  [ -z "${SYNACK_SKIP_KERNEL:-}" ] || { echo "SYNACK_SKIP_KERNEL is set"; return 0; }
  [ "$(uname -s)" = Linux ] || { echo "not Linux"; return 0; }
  [ "$(id -u)" = 0 ] || { echo "not root"; return 0; }
  unshare -n true 2>/dev/null || { echo "cannot make a network namespace (unshare -n)"; return 0; }
  [ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return 0; }
  return 1
}
