#!/usr/bin/env bash
# h5rs repack against h5repack (Debian's hdf5-tools) on the benchmark's gzip
# file, side by side: REPS alternating runs of each, median seconds and the
# ratio. Two cases: the same filters as the input (shuffle + gzip 4) and a
# recompression (shuffle + gzip 6).
#
#   scripts/bench-repack.sh [GZIP_FILE]   (default /tmp/h5bench-data/gzip.h5,
#                                          made by ../shared/bench/gen.py)
set -euo pipefail
HERE="$(cd "$(dirname "$0")/.." && pwd)"
IN="${1:-/tmp/h5bench-data/gzip.h5}"
REPS="${REPS:-5}"
OUT="${TMPDIR:-/tmp}/h5rs-bench-repack"
mkdir -p "$OUT"
[[ -f "$IN" ]] || { echo "missing $IN (run ../shared/bench/gen.py)" >&2; exit 1; }
command -v h5repack >/dev/null || { echo "h5repack (hdf5-tools) is needed" >&2; exit 1; }
cargo build --release --quiet --manifest-path "$HERE/Cargo.toml"
H5RS="$HERE/target/release/h5rs"

secs() { # command... -> wall seconds
    local t0 t1
    t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
    echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for level in 4 6; do
    rs=(); c=()
    for _ in $(seq "$REPS"); do
        rm -f "$OUT"/*.h5
        rs+=("$(secs "$H5RS" repack -f SHUF -f "GZIP=$level" "$IN" "$OUT/rs.h5")")
        c+=("$(secs h5repack -f SHUF -f "GZIP=$level" "$IN" "$OUT/c.h5")")
    done
    mr=$(printf '%s\n' "${rs[@]}" | median)
    mc=$(printf '%s\n' "${c[@]}" | median)
    printf 'shuffle+gzip %s: h5rs repack %.2f s, h5repack %.2f s, ratio %.2f\n' \
        "$level" "$mr" "$mc" "$(echo "$mr / $mc" | bc -l)"
done
rm -rf "$OUT"
