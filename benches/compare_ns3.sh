#!/usr/bin/env bash
# Side-by-side speed against ns-3, in one run on one machine: the ratio is what we report,
# since absolute figures drift on shared machines. Runs are interleaved, and the median of
# each side is compared.
#
# Usage: benches/compare_ns3.sh [REPS]   (default 3; builds the ns-3 programs of benches/ns3 first,
# installing ns-3 from Debian as root if needed)
set -euo pipefail
reps=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
ns3_dir=${NS3_ANCHORS:-/tmp/ns3-anchors}
if [ ! -x "$ns3_dir/ns3_hold" ]; then
  bash "$root/benches/ns3/build.sh" "$ns3_dir" >/dev/null
fi
cargo build --release --quiet -p synack-cli --manifest-path "$root/Cargo.toml"
synack=$root/target/release/synack

median() { sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
rate() { grep -o 'events_per_s=[0-9.]*' | cut -d= -f2; }

# compare LABEL TARGET "SYNACK ARGS" "NS3 ARGS"
compare() {
  local label=$1 target=$2 ours=$3 theirs=$4 s=() n=()
  for _ in $(seq "$reps"); do
    # shellcheck disable=SC2086
    s+=("$("$synack" bench hold $ours | rate)")
    # shellcheck disable=SC2086
    n+=("$("$ns3_dir/ns3_hold" $theirs | rate)")
  done
  local sm nm
  sm=$(printf '%s\n' "${s[@]}" | median)
  nm=$(printf '%s\n' "${n[@]}" | median)
  awk -v l="$label" -v s="$sm" -v n="$nm" -v t="$target" 'BEGIN {
    printf "%-34s synack=%6.2fM/s  ns3=%6.2fM/s  ratio=%5.1fx  target>=%sx\n", l, s / 1e6, n / 1e6, s / n, t }'
}

# HOLD=0 or LIFECYCLE=0 skips that half.
if [ "${HOLD:-1}" = 1 ]; then
  echo "hold benchmark, $reps interleaved runs each, medians ($(nproc) cores)"
  compare "k=1000 wheel vs ns-3 Map" 10 "--pending 1000 --events 10000000" "--k=1000 --events=10000000 --sched=ns3::MapScheduler"
  compare "k=1000000 wheel vs ns-3 Heap" 20 "--pending 1000000 --events 10000000" "--k=1000000 --events=10000000 --sched=ns3::HeapScheduler"
  compare "k=1000000 wheel vs ns-3 Map" - "--pending 1000000 --events 10000000" "--k=1000000 --events=10000000 --sched=ns3::MapScheduler"
fi

lifecycles() { grep -o 'lifecycles_per_wall_s=[0-9.]*' | cut -d= -f2; }

# compare_lifecycle LABEL TARGET ARGS...: the same workload on both sides (flag names differ).
compare_lifecycle() {
  local label=$1 target=$2 n=$3 rate=$4 msl=$5 s=() t=()
  for _ in $(seq "$reps"); do
    s+=("$("$synack" bench lifecycle --connections "$n" --rate "$rate" --msl "$msl" --bytes 1000 | lifecycles)")
    t+=("$("$ns3_dir/ns3_lifecycle" --n="$n" --rate="$rate" --msl="$msl" --bytes=1000 | lifecycles)")
  done
  local sm nm
  sm=$(printf '%s\n' "${s[@]}" | median)
  nm=$(printf '%s\n' "${t[@]}" | median)
  awk -v l="$label" -v s="$sm" -v n="$nm" -v t="$target" 'BEGIN {
    printf "%-34s synack=%9.0f/s  ns3=%7.0f/s  ratio=%6.1fx  target>=%sx\n", l, s, n, s / n, t }'
}

if [ "${LIFECYCLE:-1}" = 1 ]; then
  echo "lifecycle benchmark (lifecycles per wall second), $reps interleaved runs each, medians"
  compare_lifecycle "n=100000 rate=10000 msl=0.05" 300 100000 10000 0.05
  compare_lifecycle "n=15000 all at once, msl=10" - 15000 10000000 10
fi
