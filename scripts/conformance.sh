#!/usr/bin/env bash
# Builds the release binary and runs the conformance check (run.py) over the
# fixtures and over the corpus, printing one summary line for each; extra
# arguments go to run.py (e.g. -v, --only SUBSTR). Exits non-zero when a
# fixture does not pass. The conformance kit and corpus are expected in
# ../shared beside the repository (or $H5RS_SHARED).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SHARED=${H5RS_SHARED:-$ROOT/../shared}

cargo build --release || exit 1
cmd="'$ROOT/target/release/h5rs' canon {}"

fixtures_out=$(python3 "$SHARED/conformance/run.py" --cmd "$cmd" --corpus fixtures --timeout 20 "$@")
fixtures_rc=$?
corpus_out=$(python3 "$SHARED/conformance/run.py" --cmd "$cmd" --corpus "$SHARED/corpus" --timeout 20 "$@")
corpus_rc=$?

if [ "$fixtures_rc" -ne 0 ]; then
    printf '%s\n' "$fixtures_out" | head -n -1
fi
echo "fixtures: $(printf '%s\n' "$fixtures_out" | tail -n 1)"
echo "corpus:   $(printf '%s\n' "$corpus_out" | tail -n 1)"
[ "$corpus_rc" -le 1 ] || { echo "run.py failed on the corpus (exit status $corpus_rc)" >&2; exit "$corpus_rc"; }
exit "$fixtures_rc"
