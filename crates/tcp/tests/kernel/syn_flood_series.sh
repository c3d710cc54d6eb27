#!/bin/sh
# The kernel series of the `syn_flood` experiment: its scenario (backlog 256, tcp_synack_retries
# 5, the flood ramped in over a half-open lifetime, 200 legitimate clients at Poisson times)
# run on this machine's Linux by listener_load.py, cookies off and when-full, one flood rate
# a run (about 3 minutes each, 25 in all). Rewrites experiments/data/linux_syn_flood.csv.
# Run as root from the repository's root: crates/tcp/tests/kernel/syn_flood_series.sh
set -eu
out=experiments/data/linux_syn_flood.csv
tmp=$out.tmp
trap 'rm -f "$tmp"' EXIT
rm -f "$tmp"
for point in 0:16 0:32 0:64 0:128 0:256 0:1024 1:256 1:1024; do
  cookies=${point%%:*}
  rate=${point#*:}
  python3 crates/tcp/tests/kernel/listener_load.py flood --backlog 256 --cookies "$cookies" \
    --rate "$rate" --clients 200 --seed 1 --csv "$tmp"
done
mv "$tmp" "$out"
trap - EXIT
