#!/bin/sh
# The million (docs/safety.md): docs' table over large clusters, run in chunks so that partial results
# survive. Each chunk is `sim_run batch` for every row of the table over seeds [first, first + size);
# chunk files already complete are skipped, so the run can be stopped and resumed.
#   million.sh SIM_RUN REPO OUT_DIR CHUNK_FROM CHUNK_TO [CHUNK_SIZE]   (chunk k: seeds 1000001 + k*size ...)
# combine_table.py OUT_DIR prints the table over every completed chunk.
set -u
sim=$1 repo=$2 out=$3 from=$4 to=$5 size=${6:-1000}
rows='shipped|
poll_2s|--set poll_interval=2000
poll_15s|--set poll_interval=15000
poll_30s|--set poll_interval=30000
probe_timeout_30s|--set probe_timeout=30000
hold_0|--set recovery_hold=0
kubelet_10x3|--set kubelet_period=10000 --set failure_threshold=3
kubelet_30x3|--set kubelet_period=30000 --set failure_threshold=3
ready_2s|--set broker_ready_after=2000
startup_2_5s|--set broker_startup_min=2000 --set broker_startup_max=5000
parallel_3|--set parallel_drains=3
no_gate|--set gate=0
unsafe|--set recovery_hold=0 --set kubelet_period=10000 --set failure_threshold=3 --set broker_ready_after=2000'
mkdir -p "$out"
k=$from
while [ "$k" -le "$to" ]; do
  first=$((1000001 + k * size))
  echo "$rows" | while IFS='|' read -r name sets; do
    f="$out/chunk$(printf %04d "$k")_$name.txt"
    grep -q '^seconds=' "$f" 2>/dev/null && continue
    # shellcheck disable=SC2086
    "$sim" batch --repo "$repo" --size large --first "$first" --count "$size" $sets > "$f.part" 2>&1
    mv "$f.part" "$f"
  done
  k=$((k + 1))
done
