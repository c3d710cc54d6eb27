#!/usr/bin/env bash
# FreeBSD's own state-event suite (freebsd-net/tcp-testsuite, the 307 IPv4 scripts of
# state-event-engine/, unmodified) on the model's freebsd profile.
# Usage: freebsd.sh SYNACK_BINARY
# Prints every script that does not pass and the per-directory table, and fails unless at
# least $FREEBSD_EXPECTED_PASS pass (crates/cli/README.md lists the ones that do not, with
# the reason). Without the suite it says why in one line and succeeds.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=locate.sh
source "$here/locate.sh"
synack=${1:?usage: freebsd.sh SYNACK_BINARY}
synack=$(cd "$(dirname "$synack")" && pwd)/$(basename "$synack")
# How many pass today; a change that passes fewer fails CI.
FREEBSD_EXPECTED_PASS=307
FREEBSD_SCRIPTS=307

log=$(mktemp); why=$(mktemp); trap 'rm -f "$log" "$why"' EXIT
if ! suite=$(freebsd_suite_dir 2>"$why"); then
  echo "FreeBSD's suite: skipped: $(head -1 "$why")"; exit 0
fi
(cd "$suite/state-event-engine" && "$synack" drill --profile freebsd ./*/*-ipv4.pkt) >"$log" 2>&1
if [ $? -gt 1 ]; then
  echo "freebsd: synack drill could not run the suite:"; cat "$log"; exit 1
fi
grep -E '^(FAIL|NOT MODELLED)' "$log" | cut -c1-240
sed -n '/^directory/,$p' "$log"
passed=$(grep -c '^PASS ' "$log")
total=$(grep -cE '^(PASS|FAIL|NOT MODELLED) ' "$log")
if [ "$total" != "$FREEBSD_SCRIPTS" ]; then
  echo "freebsd: $total scripts ran, expected $FREEBSD_SCRIPTS"; exit 1
fi
if [ "$passed" -lt "$FREEBSD_EXPECTED_PASS" ]; then
  echo "freebsd: $passed of $total pass on the freebsd profile, expected at least $FREEBSD_EXPECTED_PASS"; exit 1
fi
echo "FreeBSD's suite on the freebsd profile: $passed of $total pass"
