#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets under fuzz/corpus/<target>/
# from fixtures/*.h5 and the shared corpus (../shared/corpus).
#
#   bash scripts/fuzz-seeds.sh [CORPUS_DIR]
#
# open_walk, modify and superblock get whole small files. The decoder targets get
# the structures carved out of those files at their signatures, each
# prefixed with the 8 bytes the decoder harness expects (fuzz/src/harness.rs:
# configuration byte, u32 address, three parameter bytes):
#   - small files whole, with the structure's address (child addresses
#     stay valid);
#   - larger files: the 4 KiB from the signature, sizes given explicitly.
# Messages (datatype, dataspace, layout) are carved out of v2 object headers.
# filters and writer get a few hand-made inputs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
shared="${1:-$root/../shared/corpus}"
out="$root/fuzz/corpus"
mkdir -p "$out"

python3 - "$root/fixtures" "$shared" "$out" <<'PY'
import hashlib, os, struct, sys, zlib

fixtures, shared, out = sys.argv[1:4]
WHOLE_MAX = 128 * 1024   # files up to this size are used whole
CARVE = 4096             # bytes carved from larger files
PER_FILE = 4             # structures of one kind taken from one file

def save(target, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

def files():
    for top in (fixtures, shared):
        for dirpath, _, names in os.walk(top):
            if "/_canon" in dirpath:
                continue
            for n in sorted(names):
                if n.endswith((".h5", ".hdf5", ".he5", ".nc", ".HDF5")):
                    yield os.path.join(dirpath, n)

def superblock(b):
    """(position, base, offset size, length size) or None."""
    pos = 0
    while pos + 8 <= len(b):
        if b[pos:pos + 8] == b"\x89HDF\r\n\x1a\n":
            v = b[pos + 8]
            try:
                if v in (0, 1):
                    so, sl = b[pos + 13], b[pos + 14]
                    fixed = 24 if v == 0 else 28
                    base = int.from_bytes(b[pos + fixed:pos + fixed + so], "little")
                else:
                    so, sl = b[pos + 9], b[pos + 10]
                    base = int.from_bytes(b[pos + 12:pos + 12 + so], "little")
            except IndexError:
                return None
            return pos, base, so, sl
        pos = 512 if pos == 0 else pos * 2
    return None

def code(w):
    return {2: 1, 4: 2, 8: 3}.get(w, 3)

def prefix(cfg, addr, p=b"\0\0\0"):
    return bytes([cfg]) + struct.pack("<I", addr & 0xFFFFFFFF) + p

SIGS = {
    b"OHDR": "object_header", b"TREE": "btree_v1", b"BTHD": "btree_v2",
    b"FRHP": "fractal_heap", b"FAHD": "fixed_array", b"EAHD": "extensible_array",
    b"GCOL": "global_heap", b"HEAP": "local_heap", b"SNOD": "symbol_table_node",
}
MSG = {0x01: "dataspace", 0x03: "datatype", 0x08: "layout"}

def messages(b, at):
    """(type, data) of the messages of the first chunk of the OHDR at `at`."""
    try:
        flags = b[at + 5]
        p = at + 6
        if flags & 0x20: p += 16
        if flags & 0x10: p += 4
        w = 1 << (flags & 3)
        size = int.from_bytes(b[p:p + w], "little"); p += w
        end = min(p + size, len(b))
        while p + 4 <= end:
            t = b[p]; n = int.from_bytes(b[p + 1:p + 3], "little")
            p += 4 + (2 if flags & 4 else 0)
            yield t, b[p:p + n]
            p += n
    except IndexError:
        return

for path in files():
    b = open(path, "rb").read()
    sb = superblock(b)
    if sb is None:
        continue
    pos, base, so, sl = sb
    small = len(b) <= WHOLE_MAX
    if small:
        save("open_walk", b)
        save("modify", b)
    save("superblock", b if small else b[:pos + CARVE])
    sizes_cfg = code(so) | (code(sl) << 2)
    for sig, target in SIGS.items():
        start, n = 0, 0
        while n < PER_FILE:
            i = b.find(sig, start)
            if i < 0:
                break
            start = i + 1
            n += 1
            params = [0]
            if target == "btree_v1" and i + 4 < len(b) and b[i + 4] == 1:
                # chunk node: key dims unknown here, try ranks 1 to 3
                params = [1 | (kd - 1) << 1 for kd in (2, 3, 4)]
            for p in params:
                if small:
                    save(target, prefix(p << 4, i - base) + b)
                else:
                    save(target, prefix(sizes_cfg | p << 4, 0) + b[i:i + CARVE])
            if target == "object_header":
                for t, data in messages(b, i):
                    if t in MSG:
                        save(MSG[t], prefix(sizes_cfg, 0) + data)

# filters: the byte layout read by harness::filters
def filt(pipeline, mask, order, dtype, esize_sel, chunk_bytes, data):
    s = bytes([len(pipeline) - 1])
    ids = [1, 2, 3, 4, 5, 6, 32000, 32001]
    for fid, flags, params in pipeline:
        s += bytes([ids.index(fid), flags, len(params)])
        s += b"".join(struct.pack("<I", x) for x in params)
    s += bytes([mask, order, dtype, esize_sel])
    s += struct.pack("<I", chunk_bytes)[:3]
    return s + data

ramp = b"".join(struct.pack("<i", i * 3 - 500) for i in range(1024))
def shuffle(d, n):
    return bytes(d[j * n + k] for k in range(n) for j in range(len(d) // n))
save("filters", filt([(1, 0, [6])], 0, 0, 2, 0, len(ramp), zlib.compress(ramp)))
save("filters", filt([(2, 0, [4]), (1, 0, [4])], 0, 0, 2, 0, len(ramp),
                     zlib.compress(shuffle(ramp, 4))))
save("filters", filt([(1, 0, [9])], 0, 0, 0, 0, 1 << 19, zlib.compress(bytes(1 << 19))))
save("filters", filt([(3, 1, [])], 0, 0, 2, 0, 64, ramp[:64] + b"\0\0\0\0"))
save("filters", filt([(5, 0, [8, 0, 1024, 1, 4, 0, 24, 0])], 0, 0, 2, 0, len(ramp), ramp[:3000]))
save("filters", filt([(6, 0, [0, 0, 1024, 0, 4, 0, 0, 0])], 0, 0, 2, 0, len(ramp), ramp[:2000]))
save("filters", filt([(4, 0, [141, 32, 4, 1024])], 0, 0, 2, 0, len(ramp), ramp[:1500]))
save("filters", filt([(32000, 0, [0, 0, 4096])], 0, 0, 2, 0, len(ramp), b"\x1f" + ramp[:32] + b"\xe0\xff\x1f"))

# writer: operation sequences (see harness::writer)
for s in [b"\x00\x00\x01\x02\x01\x05\x07\x02\x00\x03\x02\x02\x00\x04\x03\x07",
          b"\x01\x01\x00\x02\x01\x01\x01\x0a\x03\x01\x00\x02\x04\x02\x02\x03\x00\x05\x00\x01",
          b"\x01\x00\x09\x03\x04\x04\x00\x05\x05\x02\x06\x00\x01\x08\x1d\x04\x07",
          b"\x00\x01\x01\x04\x02\x05\x03\x9f\x01\x00\x03\x01\x04\x02\x00\x02\x00\x00\x05\x01\x02\x00\x03\x03\x05"]:
    save("writer", s)

for t in sorted(os.listdir(out)):
    print(f"{t}: {len(os.listdir(os.path.join(out, t)))} seeds")
PY
