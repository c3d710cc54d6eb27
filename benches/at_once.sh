#!/usr/bin/env bash
# All connections open at once (rate 10^7/s, MSL 10 s, 1,000 bytes): lifecycles per wall
# second and peak memory per connection pair, as the README's "Performance at scale" table
# reports them. Runs are interleaved (seven of 1,000 connections, three of 15,000 and one of
# 10^6, REPS times, then three of one connection for the baseline), and each size's medians
# are printed. Per pair = (median peak RSS - the 1-connection median) / connections.
#
# Usage: benches/at_once.sh [REPS]   (default 3; needs GNU time at /usr/bin/time)
set -euo pipefail
reps=${1:-3}
case "$reps" in
  '' | *[!0-9]* | 0)
    echo "at_once.sh: REPS must be a positive integer, got '$reps'" >&2
    exit 2
    ;;
esac
if [ ! -x /usr/bin/time ]; then
  echo "at_once.sh: needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install time)" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --quiet -p synack-cli --manifest-path "$root/Cargo.toml"
synack=$root/target/release/synack
runs=$(mktemp)
trap 'rm -f "$runs"' EXIT

# run N: one line "N lifecycles_per_wall_s peak_rss_kb"
run() {
  local line
  line=$(/usr/bin/time -f "rss=%M" "$synack" bench lifecycle --connections "$1" \
    --rate 10000000 --msl 10 --bytes 1000 2>&1)
  echo "$1 $(grep -o 'lifecycles_per_wall_s=[0-9.]*' <<<"$line" | cut -d= -f2)" \
    "$(grep -o 'rss=[0-9]*' <<<"$line" | cut -d= -f2)" >>"$runs"
}

for _ in $(seq "$reps"); do
  for _ in 1 2 3 4 5 6 7; do run 1000; done
  for _ in 1 2 3; do run 15000; done
  run 1000000
done
for _ in 1 2 3; do run 1; done

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
base=$(awk '$1 == 1 {print $3}' "$runs" | median)
echo "all at once, rate 10^7/s, MSL 10 s: medians ($(nproc) cores); 1-connection peak RSS ${base} KB"
for n in 1000 15000 1000000; do
  rate=$(awk -v n="$n" '$1 == n {print $2}' "$runs" | median)
  rss=$(awk -v n="$n" '$1 == n {print $3}' "$runs" | median)
  awk -v n="$n" -v r="$rate" -v m="$rss" -v b="$base" 'BEGIN {
    printf "%9d connections  %9.0f lifecycles/s  peak RSS %9d KB  %6.0f B a pair\n",
      n, r, m, (m - b) * 1024 / n }'
done
