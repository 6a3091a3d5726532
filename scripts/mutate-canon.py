#!/usr/bin/env python3
"""Runs random mutations of the shared corpus through `h5rs canon`.

Each run takes one corpus file (`_bad/` included), changes it with one
to three structure-aware mutations (bit flips, boundary bytes, 2/4/8-byte
little-endian fields set to 0 / all ones / the top bit / small counts /
the file's length, near the format's signatures or anywhere; truncations
at signature offsets; blocks copied or swapped), writes it to a scratch
file and runs the release CLI's `canon` on it with a timeout.

An exit is clean when it is 0, or an error exit with a message on stderr.
A crash is a panic (exit code 101), death by a signal (an abort after a
failed allocation included: the child runs under an address-space limit
so that a runaway allocation cannot exhaust the machine) or an error
exit with no message. Every crashing or timing-out input is saved in the
output directory with a `.txt` beside it (the mutation and stderr).

Prints `N runs: C crashes, T timeouts`; exits 1 when C + T > 0.

    cargo build --release
    python3 scripts/mutate-canon.py --runs 10000 --seed 1 --jobs 1
"""

import argparse
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

SUPERBLOCK_SIG = b"\x89HDF\r\n\x1a\n"
SIGS = [
    b"OHDR", b"OCHK", b"TREE", b"HEAP", b"GCOL", b"FRHP", b"FHIB", b"FHDB",
    b"BTHD", b"BTIN", b"BTLF", b"FAHD", b"FADB", b"EAHD", b"EAIB", b"EASB",
    b"EADB", b"SNOD", b"SMTB", b"SMLI", b"FSHD", b"FSSE",
]
MAX_SIGS = 4096
BYTE_VALUES = [0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE]


def default_corpus():
    shared = os.environ.get("H5RS_SHARED")
    base = Path(shared) if shared else REPO.parent / "shared"
    return base / "corpus"


def signatures(data):
    """Offsets of every format signature in `data` (at most MAX_SIGS,
    evenly thinned)."""
    out = []
    for sig in [SUPERBLOCK_SIG] + SIGS:
        i = data.find(sig)
        while i >= 0:
            out.append(i)
            i = data.find(sig, i + 1)
    out.sort()
    if len(out) > MAX_SIGS:
        n = len(out)
        out = [out[j * n // MAX_SIGS] for j in range(MAX_SIGS)]
    return out


class Input:
    def __init__(self, name, data):
        self.name = name
        self.data = data
        self.sigs = signatures(data)


def offset(rng, inp):
    """Mostly within the first bytes after a signature, else anywhere."""
    n = max(len(inp.data), 1)
    if inp.sigs and rng.randrange(4) != 0:
        s = rng.choice(inp.sigs)
        span = 128 if inp.data[s] == 0x89 else 64
        return min(s + rng.randrange(span), n - 1)
    return rng.randrange(n)


def field_value(rng, width, file_len):
    top = (1 << (8 * width)) - 1
    k = rng.randrange(7)
    if k == 0:
        return 0
    if k == 1:
        return top
    if k == 2:
        return top - 1
    if k == 3:
        return 1 << (8 * width - 1)
    if k == 4:
        return 1 + rng.randrange(16)
    if k == 5:
        return file_len & top
    return (file_len + rng.randrange(17) - 8) & top


def one_mutation(rng, inp):
    """A (description, function on a bytearray) pair."""
    n = max(len(inp.data), 1)
    k = rng.randrange(100)
    if k < 15:
        at, bit = offset(rng, inp), rng.randrange(8)

        def f(b):
            if at < len(b):
                b[at] ^= 1 << bit

        return f"bitflip at={at} bit={bit}", f
    if k < 35:
        at = offset(rng, inp)
        value = rng.randrange(256) if rng.randrange(5) == 0 else rng.choice(BYTE_VALUES)

        def f(b):
            if at < len(b):
                b[at] = value

        return f"byte at={at} value={value:#x}", f
    if k < 70:
        width = rng.choice([2, 4, 8, 8])
        at = offset(rng, inp)
        value = field_value(rng, width, n)

        def f(b):
            raw = value.to_bytes(width, "little")
            end = min(at + width, len(b))
            if at < end:
                b[at:end] = raw[: end - at]

        return f"field at={at} width={width} value={value:#x}", f
    if k < 78:
        if inp.sigs and rng.randrange(3) != 0:
            length = min(rng.choice(inp.sigs) + rng.choice([0, 0, 1, 4, 8, 16, 32]), n)
        else:
            length = rng.randrange(n)

        def f(b):
            del b[length:]

        return f"truncate len={length}", f
    if k < 89:
        src, dst, length = offset(rng, inp), offset(rng, inp), 4 + rng.randrange(512)

        def f(b):
            m = len(b)
            if src >= m or dst >= m:
                return
            ln = min(length, m - src, m - dst)
            b[dst:dst + ln] = bytes(b[src:src + ln])

        return f"duplicate from={src} to={dst} len={length}", f
    a, c, length = offset(rng, inp), offset(rng, inp), 4 + rng.randrange(256)

    def f(b):
        m = len(b)
        lo, hi = min(a, c), max(a, c)
        if hi >= m:
            return
        ln = min(length, hi - lo, m - hi)
        x, y = bytes(b[lo:lo + ln]), bytes(b[hi:hi + ln])
        b[lo:lo + ln] = y
        b[hi:hi + ln] = x

    return f"swap a={a} b={c} len={length}", f


def mutate(rng, inp):
    count = rng.choice([1] * 7 + [2] * 2 + [3])
    b = bytearray(inp.data)
    what = []
    for _ in range(count):
        desc, f = one_mutation(rng, inp)
        f(b)
        what.append(desc)
    return bytes(b), what


def limit_memory(mem_mb):
    def f():
        if mem_mb > 0:
            lim = mem_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (lim, lim))
    return f


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--jobs", type=int, default=1, help="parallel processes")
    ap.add_argument("--corpus", type=Path, default=default_corpus())
    ap.add_argument("--bin", type=Path, default=REPO / "target/release/h5rs")
    ap.add_argument("--out", type=Path, default=REPO / "tmp/mutate-canon",
                    help="where crashing and timing-out inputs are saved")
    ap.add_argument("--timeout", type=float, default=5.0, help="seconds per run")
    ap.add_argument("--mem-mb", type=int, default=4096,
                    help="address-space limit of each run, MiB (0: none)")
    args = ap.parse_args()

    if not args.bin.is_file():
        sys.exit(f"{args.bin}: not found (run `cargo build --release` first)")
    manifest = args.corpus / "MANIFEST.tsv"
    names = []
    for line in manifest.read_text().splitlines()[1:]:
        name = line.split("\t", 1)[0]
        if name:
            names.append(name)
    names.sort()
    inputs = [Input(n, (args.corpus / n).read_bytes()) for n in names]

    scratch = Path(tempfile.mkdtemp(prefix="h5rs-mutate-canon-",
                                    dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
    lock = threading.Lock()
    counts = {"clean": 0, "crash": 0, "timeout": 0}
    done = [0]
    start = time.monotonic()

    def save(kind, i, inp, data, what, detail):
        args.out.mkdir(parents=True, exist_ok=True)
        stem = f"{kind}-{args.seed}-{i}-{Path(inp.name).name}"
        (args.out / stem).write_bytes(data)
        (args.out / (stem + ".txt")).write_text(
            f"file: {inp.name}\nrun: {i} (seed {args.seed})\nmutations: {'; '.join(what)}\n"
            f"{detail}\n")
        return args.out / stem

    def run(i):
        rng = random.Random(args.seed * 1_000_003 + i)
        inp = inputs[rng.randrange(len(inputs))]
        data, what = mutate(rng, inp)
        path = scratch / f"run-{i}.h5"
        path.write_bytes(data)
        kind, detail = "clean", ""
        try:
            p = subprocess.run([str(args.bin), "canon", str(path)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               timeout=args.timeout, preexec_fn=limit_memory(args.mem_mb))
            err = p.stderr.decode("utf-8", "replace").strip()
            if p.returncode == 0:
                pass
            elif p.returncode == 101:
                kind, detail = "crash", f"panic (exit 101)\n{err[-3000:]}"
            elif p.returncode < 0:
                kind, detail = "crash", f"killed by signal {-p.returncode}\n{err[-3000:]}"
            elif not err:
                kind, detail = "crash", f"exit {p.returncode} with no message"
        except subprocess.TimeoutExpired:
            kind, detail = "timeout", f"ran over {args.timeout} s"
        finally:
            path.unlink(missing_ok=True)
        saved = save(kind, i, inp, data, what, detail) if kind != "clean" else None
        with lock:
            counts[kind] += 1
            done[0] += 1
            if saved:
                first = detail.splitlines()[0] if detail else ""
                print(f"{kind}: {inp.name} [{'; '.join(what)}]: {first} -> {saved}",
                      file=sys.stderr, flush=True)
            if done[0] % 1000 == 0:
                print(f"... {done[0]} runs in {time.monotonic() - start:.0f} s",
                      file=sys.stderr, flush=True)

    try:
        with ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
            list(pool.map(run, range(args.runs)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    took = time.monotonic() - start
    print(f"{args.runs} runs: {counts['crash']} crashes, {counts['timeout']} timeouts"
          f" ({took:.0f} s)")
    sys.exit(1 if counts["crash"] + counts["timeout"] else 0)


if __name__ == "__main__":
    main()
