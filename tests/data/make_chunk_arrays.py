#!/usr/bin/env python3
"""Writes the fixed-array and extensible-array chunk index fixtures.

Run from anywhere with h5py (built on HDF5 2.0 or later); the files land
next to this script:

    python tests/data/make_chunk_arrays.py

Every dataset holds unsigned 32-bit little-endian integers whose value is
the element's row-major flat index in the dataset's current shape, so a
test can recompute the contents of any chunk from its coordinates.
Datasets named `*_sparse` have only some chunks written: the test knows
which from the table at the bottom of this script (printed when it runs).

Files:
- chunk_arrays_latest.h5, chunk_arrays_latest_ea.h5: libver='latest'.
  Unfiltered datasets get layout message version 4, filtered ones version 5
  (chunk sizes in "size of lengths" bytes). Two files because a root group
  of more than 8 links would move them from link messages to dense
  storage.
- chunk_arrays_v110.h5: libver=('v110', 'v110'). Layout version 4 for all
  (filtered chunk sizes in 1 + bytes-for-the-unfiltered-size bytes).
- chunk_arrays_sizes48.h5: libver='latest' with 4-byte addresses and 8-byte
  lengths, to tell the two widths apart in version 5 filtered records.
"""

import os

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DT = "<u4"


def values(shape):
    n = int(np.prod(shape))
    return np.arange(n, dtype=DT).reshape(shape)


def filtered_sets(f):
    """Datasets made both as layout v4 (v110) and v5 (latest)."""
    # Fixed array, gzip, max dims larger than the current ones; one chunk
    # written raw with filter mask 1 (gzip skipped).
    d = f.create_dataset("fa_gzip", shape=(5, 7), maxshape=(9, 11), chunks=(2, 3),
                         dtype=DT, compression="gzip")
    d[...] = values((5, 7))
    raw = values((5, 7))[2:4, 3:6].copy()
    d.id.write_direct_chunk((2, 3), raw.tobytes(), filter_mask=1)
    # Extensible array, 1-D, grown in steps, gzip.
    d = f.create_dataset("ea_1d_gzip", shape=(0,), maxshape=(None,), chunks=(100,),
                         dtype=DT, compression="gzip")
    for n in (130, 260, 2950):
        d.resize((n,))
        d[...] = values((n,))
    # Extensible array, unlimited dimension second, gzip.
    d = f.create_dataset("ea_dim2_gzip", shape=(5, 0), maxshape=(5, None), chunks=(2, 4),
                         dtype=DT, compression="gzip")
    d.resize((5, 37))
    d[...] = values((5, 37))


def fixed_arrays(f):
    # Fixed array, unfiltered, max dims larger than the current ones.
    d = f.create_dataset("fa", shape=(5, 7), maxshape=(9, 11), chunks=(2, 3), dtype=DT)
    d[...] = values((5, 7))
    # Fixed array with a paged data block: 3500 chunks, pages of 1024 (the
    # last one of 428); pages 0, 1 and 3 are written, page 2 is not.
    d = f.create_dataset("fa_paged_sparse", shape=(FA_PAGED_LEN,), chunks=(1,), dtype=DT)
    v = values((FA_PAGED_LEN,))
    for lo, hi in FA_PAGED_RUNS:
        d[lo:hi] = v[lo:hi]


def extensible_arrays(f):
    # Extensible array, 1-D, grown in steps.
    d = f.create_dataset("ea_1d", shape=(0,), maxshape=(None,), chunks=(8,), dtype=DT)
    for n in (3, 40, 333):
        d.resize((n,))
        d[...] = values((n,))
    # Extensible array, unlimited dimension second.
    d = f.create_dataset("ea_dim2", shape=(5, 0), maxshape=(5, None), chunks=(2, 4), dtype=DT)
    d.resize((5, 37))
    d[...] = values((5, 37))
    # Extensible array, 3-D, unlimited dimension in the middle and a fixed
    # dimension whose maximum exceeds its current size.
    d = f.create_dataset("ea_3d", shape=(3, 0, 5), maxshape=(7, None, 5), chunks=(2, 4, 3),
                         dtype=DT)
    d.resize((3, 9, 5))
    d[...] = values((3, 9, 5))
    # Extensible array with several super blocks (dense start) and paged
    # data blocks in super block 13 (sparse far end).
    d = f.create_dataset("ea_many_sparse", shape=(0,), maxshape=(None,), chunks=(1,), dtype=DT)
    d.resize((EA_MANY_LEN,))
    v = values((EA_MANY_LEN,))
    for lo, hi in EA_MANY_RUNS:
        d[lo:hi] = v[lo:hi]


# Chunk-aligned written ranges of the sparse datasets (chunks of 1 element).
FA_PAGED_LEN = 3500
FA_PAGED_RUNS = [(0, 10), (2040, 2048), (3400, 3500)]
EA_MANY_LEN = 140000
# Element 131060 is the first of super block 13, whose data blocks hold 2048
# elements in two pages of 1024.
EA_MANY_RUNS = [(0, 700), (131060, 131062), (131060 + 3 * 1024 + 5, 131060 + 3 * 1024 + 9),
                (139990, 140000)]


def create(name, libver=None, sizes=None):
    path = os.path.join(HERE, name)
    if sizes is None:
        return h5py.File(path, "w", libver=libver)
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_sizes(*sizes)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    fid = h5py.h5f.create(path.encode(), h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    return h5py.File(fid)


def main():
    with create("chunk_arrays_latest.h5", libver="latest") as f:
        filtered_sets(f)
        fixed_arrays(f)
    with create("chunk_arrays_latest_ea.h5", libver="latest") as f:
        extensible_arrays(f)
    with create("chunk_arrays_v110.h5", libver=("v110", "v110")) as f:
        filtered_sets(f)
    with create("chunk_arrays_sizes48.h5", sizes=(4, 8)) as f:
        filtered_sets(f)
    total = 0
    for name in ("chunk_arrays_latest.h5", "chunk_arrays_latest_ea.h5", "chunk_arrays_v110.h5",
                 "chunk_arrays_sizes48.h5"):
        path = os.path.join(HERE, name)
        total += os.path.getsize(path)
        with h5py.File(path, "r") as f:
            for k in sorted(f):
                d = f[k]
                print(f"{name} {k} shape={d.shape} chunks={d.chunks} "
                      f"filters={d.compression} allocated={d.id.get_num_chunks()}")
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
