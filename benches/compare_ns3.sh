#!/usr/bin/env bash
# Side-by-side speed against ns-3, in one run on one machine: the ratio is what we report,
# since absolute figures drift on shared machines. Runs are interleaved, and the median of
# each side is compared.
#
# Usage: benches/compare_ns3.sh [REPS]   (default 3; needs ../shared/anchors beside the repo)
set -euo pipefail
reps=${1:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
ns3_dir=${NS3_ANCHORS:-/tmp/ns3-anchors}
if [ ! -x "$ns3_dir/ns3_hold" ]; then
  bash "$root/../shared/anchors/build.sh" "$ns3_dir" >/dev/null
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

echo "hold benchmark, $reps interleaved runs each, medians ($(nproc) cores)"
compare "k=1000 wheel vs ns-3 Map" 10 "--pending 1000 --events 10000000" "--k=1000 --events=10000000 --sched=ns3::MapScheduler"
compare "k=1000000 wheel vs ns-3 Heap" 20 "--pending 1000000 --events 10000000" "--k=1000000 --events=10000000 --sched=ns3::HeapScheduler"
compare "k=1000000 wheel vs ns-3 Map" - "--pending 1000000 --events 10000000" "--k=1000000 --events=10000000 --sched=ns3::MapScheduler"
