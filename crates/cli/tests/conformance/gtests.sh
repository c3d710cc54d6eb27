#!/usr/bin/env bash
# google/packetdrill's own tests (gtests/net/tcp, unmodified) on the model, and those of the
# connection-management directories on this machine's kernel too.
# Usage: gtests.sh SYNACK_BINARY
# The model phase runs every script under `synack drill --profile linux` and prints the
# per-directory table. It fails if a script fails on the model that did not fail on
# Linux 6.18 here at the same line (linux-6.18-gtests.txt, measured with kernel.sh), or if a script of the
# directories below that passes on the kernel does not pass on the model (Fast Open's
# scripts may stop at `not modelled: Fast Open`: that is its own issue). The kernel phase
# runs those directories on this kernel and fails if one the record says passes fails.
# Either phase that cannot run says why in one line and the other still runs.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=locate.sh
source "$here/locate.sh"
synack=${1:?usage: gtests.sh SYNACK_BINARY}
synack=$(cd "$(dirname "$synack")" && pwd)/$(basename "$synack")
record=$here/linux-6.18-gtests.txt
in_scope="ts_recent tcp_info syscall_bad_arg inq ioctl"
status=0

if ! why=$(gtests_dir 2>&1 >/dev/null); then
  echo "google/packetdrill's suite: skipped: $why"; exit 0
fi
suite=$cache/gtests
log=$(mktemp); trap 'rm -f "$log"' EXIT
(cd "$suite/tcp" && "$synack" drill --profile linux .) >"$log" 2>&1
if [ $? -gt 1 ]; then
  echo "gtests: synack drill could not run the suite:"; cat "$log"; exit 1
fi
grep -E '^(FAIL|NOT MODELLED)' "$log" | cut -c1-240
sed -n '/^directory/,$p' "$log"
# Scripts by their path under tcp/, as the record names them.
verdict() { grep -E "^(PASS|FAIL|NOT MODELLED) \./$1(:|$)" "$log" | cut -d' ' -f1; }
# A model failure must be a Linux failure at the same line of the script (packetdrill
# names it `name.pkt:LINE:`; the model `line LINE`).
while read -r line; do
  script=${line#FAIL ./}; script=${script%%:*}
  model_line=$(sed -n 's/^[^:]*: line \([0-9]*\) .*/\1/p' <<<"$line")
  if ! kernel=$(grep "^FAIL $script:" "$record"); then
    echo "gtests: $script fails on the model but passes on Linux 6.18"; status=1
  elif ! grep -q "$(basename "$script"):$model_line:" <<<"$kernel"; then
    echo "gtests: $script fails on the model at line $model_line, on Linux 6.18 elsewhere"; status=1
  fi
done < <(grep '^FAIL ' "$log")
for dir in $in_scope; do
  for script in $(grep -oE "^PASS $dir/[^ ]+" "$record" | cut -d' ' -f2); do
    case $(verdict "$script") in
      PASS) ;;
      NOT) grep -q "^NOT MODELLED ./$script: not modelled: Fast Open" "$log" || {
             echo "gtests: $script passes on Linux 6.18 but is not modelled on the model"; status=1; } ;;
      *) echo "gtests: $script passes on Linux 6.18 but not on the model"; status=1 ;;
    esac
  done
done
[ $status = 0 ] && echo "gtests on the model: every failure also fails on Linux 6.18 at the same line, every in-scope script that passes there passes here"

if why=$(kernel_unavailable); then
  echo "gtests on the kernel: skipped: $why"
else
  kernel_log=$(mktemp)
  scripts=$(cd "$suite/tcp" && for d in $in_scope; do ls "$d"/*.pkt; done)
  (cd "$suite/tcp" && "$here/kernel.sh" -j 3 $scripts) >"$kernel_log" 2>&1
  rc=$?
  cat "$kernel_log"
  if [ $rc = 3 ]; then :; else
    for script in $scripts; do
      if grep -q "^PASS $script$" "$record" && ! grep -q "^PASS $script$" "$kernel_log"; then
        echo "gtests on the kernel: $script passed when recorded and fails now"; status=1
      fi
    done
  fi
  rm -f "$kernel_log"
fi
exit $status
