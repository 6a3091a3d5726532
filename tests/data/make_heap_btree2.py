"""Writes the fixtures of tests/format_heap_btree2.rs with h5py (libhdf5).

Run from this folder: python make_heap_btree2.py

heap_btree2.h5 (libver latest: layout message version 5 for the filtered
                dataset; libhdf5 2.0 keeps version 4 for the unfiltered one)
  /                 30 int32 attributes a00..a29 (value = index) and "big",
                    16500 int32 (66000 bytes > 64 KiB): dense attributes,
                    "big" a huge fractal-heap object (v2 B-tree type 1)
  /dense            100 empty groups g000..g099 (name index, type 5)
  /ordered          creation order tracked and indexed: 40 soft links
                    o00..o39 -> /dense/gNNN (types 5 and 6) and 25 int16
                    attributes c00..c24 (types 8 and 9)
  /zlinks           link heap filtered with deflate: 200 soft links
                    s000..s199 -> /dense/g(i % 100), and "huge" -> "/" plus
                    60000 "x" (a filtered huge object, type 2;
                    longer targets overflow the 2-byte length in the link
                    message)
  /chunked/plain    int32 10x12, chunks 4x5, maxshape (None, None):
                    v2 B-tree chunk index, type 10
  /chunked/gzip     the same with gzip: type 11
heap_btree2_v110.h5 (libver v110: layout message version 4)
  /chunked/plain, /chunked/gzip as above
deep_btree2.h5
  /deep             1300 soft links l0000..l1299 -> "/": a name index
                    of depth 2
"""
import ctypes
import glob
import os

import h5py
import numpy as np


def hdf5_library():
    """The libhdf5 that h5py itself loaded, to reach H5Pset_deflate."""
    libs = os.path.join(os.path.dirname(h5py.__file__), "..", "h5py.libs")
    found = glob.glob(os.path.join(libs, "libhdf5-*.so*"))
    if not found:
        raise SystemExit("libhdf5 of h5py not found")
    return ctypes.CDLL(found[0])


def chunked(f):
    g = f.create_group("chunked")
    a = np.arange(120, dtype="<i4").reshape(10, 12)
    g.create_dataset("plain", data=a, chunks=(4, 5), maxshape=(None, None))
    g.create_dataset("gzip", data=a, chunks=(4, 5), maxshape=(None, None),
                     compression="gzip")


def main():
    with h5py.File("heap_btree2.h5", "w", libver="latest") as f:
        for i in range(30):
            f.attrs["a%02d" % i] = np.int32(i)
        f.attrs["big"] = np.arange(16500, dtype="<i4")
        d = f.create_group("dense")
        for i in range(100):
            d.create_group("g%03d" % i)
        o = f.create_group("ordered", track_order=True)
        for i in range(40):
            o["o%02d" % i] = h5py.SoftLink("/dense/g%03d" % i)
        for i in range(25):
            o.attrs["c%02d" % i] = np.int16(100 + i)
        lib = hdf5_library()
        gcpl = h5py.h5p.create(h5py.h5p.GROUP_CREATE)
        if lib.H5Pset_deflate(ctypes.c_int64(gcpl.id), ctypes.c_uint(6)) < 0:
            raise SystemExit("H5Pset_deflate failed")
        h5py.h5g.create(f.id, b"zlinks", gcpl=gcpl)
        z = f["zlinks"]
        for i in range(200):
            z["s%03d" % i] = h5py.SoftLink("/dense/g%03d" % (i % 100))
        z["huge"] = h5py.SoftLink("/" + "x" * 60000)
        chunked(f)
    with h5py.File("heap_btree2_v110.h5", "w", libver=("v110", "v110")) as f:
        chunked(f)
    with h5py.File("deep_btree2.h5", "w", libver="latest") as f:
        g = f.create_group("deep")
        for i in range(1300):
            g["l%04d" % i] = h5py.SoftLink("/")


if __name__ == "__main__":
    main()
