#!/usr/bin/env bash
# Runs packetdrill scripts on this machine's Linux kernel, each in a fresh network namespace
# (`unshare -n`; packetdrill makes its own tun device there, so nothing leaves it).
# Usage: kernel.sh [-j N] SCRIPT...
#   -j N  up to N scripts at once, their starts 1 s apart (default 1). Scripts sleep most of
#         the time, but a loaded machine makes the kernel's timing drift past 4 ms
#         tolerances, so a script that fails runs once more, alone, at the end; it passes only
#         if that run passes, and the closing line counts such retries.
# Prints PASS/FAIL a script (a failure with packetdrill's message) and
# `real Linux <version>: N passed, M failed (R passed on a retry)`; exits 1 if any script
# fails, 3 with one line if the kernel phase cannot run here (see locate.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=locate.sh
source "$here/locate.sh"
jobs=1
if [ "${1:-}" = "-j" ]; then jobs=$2; shift 2; fi
[ $# -gt 0 ] || { echo "kernel.sh: no script given"; exit 2; }
if why=$(kernel_unavailable); then echo "kernel phase skipped: $why"; exit 3; fi
if ! why=$(packetdrill_binary 2>&1 >/dev/null); then echo "kernel phase skipped: $why"; exit 3; fi
pd=$(packetdrill_binary 2>/dev/null)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

one() { # SCRIPT OUTFILE: runs one script, writes "rc<TAB>message"
  local s=$1 out rc
  out=$(cd "$(dirname "$s")" && timeout 600 unshare -n sh -c "ip link set lo up && exec '$pd' '$(basename "$s")'" 2>&1); rc=$?
  printf '%s\t%s\n' "$rc" "$(printf '%s' "$out" | grep -v '^sysctl: setting key' | tr '\n' ' ' | cut -c1-400)" > "$2"
}

i=0
for s in "$@"; do
  i=$((i+1))
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do sleep 0.2; done
  one "$s" "$tmp/$i" &
  [ "$jobs" -gt 1 ] && sleep 1
done
wait

pass=0; retried=0; n=0; i=0
for s in "$@"; do
  i=$((i+1)); n=$((n+1))
  rc=$(cut -f1 "$tmp/$i"); last=$tmp/$i
  if [ "$rc" != 0 ]; then one "$s" "$tmp/$i.again"; last=$tmp/$i.again; rc=$(cut -f1 "$last"); [ "$rc" = 0 ] && retried=$((retried+1)); fi
  if [ "$rc" = 0 ]; then pass=$((pass+1)); echo "PASS $s"
  else echo "FAIL $s: $(cut -f2- "$last")"; fi
done
echo "real Linux $(uname -r): $pass passed, $((n-pass)) failed ($retried passed on a retry)"
[ $pass -eq $n ]
