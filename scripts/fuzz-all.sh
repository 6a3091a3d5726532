#!/usr/bin/env bash
# Runs every fuzz target in turn, each for its share of time, and appends
# libFuzzer's closing figures to fuzz/runs.tsv:
#   date  target  seconds  runs  cov  ft  corpus-units  corpus-size  result
#
#   bash scripts/fuzz-all.sh [SCALE]
#
# SCALE multiplies every target's time (default 1: about two hours in all);
# PLAN="target:minutes ..." replaces the list below.
# Seeds come from scripts/fuzz-seeds.sh when fuzz/corpus is missing. Needs
# cargo-fuzz; on a stable toolchain RUSTC_BOOTSTRAP=1 is set here. Runs at
# low priority (nice) so other work on the machine goes first. Builds are
# optimised but keep overflow checks and debug assertions (-O -a).
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
scale="${1:-1}"
[[ -d "$root/fuzz/corpus" ]] || bash "$root/scripts/fuzz-seeds.sh"
cd "$root/fuzz"
export RUSTC_BOOTSTRAP=1
nice -n 15 cargo fuzz build -O -a || exit 1

# target:minutes
plan="${PLAN:-open_walk:25 writer:12 modify:10 filters:10 object_header:8 fractal_heap:6
btree_v2:6 extensible_array:6 fixed_array:6 btree_v1:5 datatype:5 layout:5
global_heap:5 symbol_table_node:5 local_heap:4 dataspace:4 superblock:4}"
log="$root/fuzz/runs.tsv"
for item in $plan; do
    t="${item%%:*}"
    secs=$(awk -v m="${item##*:}" -v s="$scale" 'BEGIN { printf "%d", m * 60 * s }')
    out="$root/fuzz/artifacts/$t.log"
    mkdir -p "$root/fuzz/artifacts/$t"
    nice -n 15 cargo fuzz run -O -a "$t" -- -rss_limit_mb=2048 -timeout=10 \
        -max_total_time="$secs" -dict="$root/fuzz/hdf5.dict" \
        -print_final_stats=1 > "$out" 2>&1
    rc=$?
    last=$(grep -E '^#[0-9]+' "$out" | tail -n 1)
    runs=$(sed -n 's/^#\([0-9]*\).*/\1/p' <<< "$last")
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.*ft: \([0-9]*\).*/\1/p' <<< "$last")
    corp=$(sed -n 's/.*corp: \([0-9]*\/[0-9A-Za-z]*\).*/\1/p' <<< "$last")
    if [[ $rc -eq 0 ]]; then result=ok; else result="crash (rc $rc, see fuzz/artifacts/$t)"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$secs" \
        "$runs" "$cov" "$ft" "$corp" "$result" >> "$log"
done
