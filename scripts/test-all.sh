#!/usr/bin/env bash
# Runs every test on a fresh machine that has Rust and Python 3:
# sets up the referees (h5py in .venv, Debian's h5dump), then the Rust tests
# (unit, integration, conformance) and prints the corpus conformance summary.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import h5py, numpy' 2>/dev/null; then
    echo "== creating .venv with h5py and numpy"
    python3 -m venv .venv
    .venv/bin/pip install --quiet h5py numpy
fi
if ! command -v h5dump >/dev/null 2>&1; then
    echo "== installing hdf5-tools (h5dump)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq hdf5-tools >/dev/null
fi
export H5RS_PYTHON="$PWD/.venv/bin/python"

echo "== cargo build --release"
cargo build --release
echo "== cargo test --release"
cargo test --release --all-targets
echo "== conformance over ../shared/corpus"
python3 ../shared/conformance/run.py --cmd "$PWD/target/release/h5rs canon {}" --timeout 30 \
    | tail -n 2 || true
