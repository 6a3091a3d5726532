"""Writes the fixtures of tests/revised_refs.rs: revised references (the
H5R_ref_t API of HDF5 1.12 and later, datatype H5T_STD_REF) made with the
libhdf5 that h5py bundles, called through ctypes (h5py wraps only the old
reference API).

Run from this folder: python make_revised_refs.py

revised_refs_ext.h5 (the external file)
  /target          int16 4x5, values 0..19; attribute "a" (int32 7)
  /g               group
revised_refs.h5
  /data/ds         int32 6x8, values 0..47; attribute "units" (string)
  /data/grp        group; attribute "note" (int32 1)
  /dtype           committed datatype (int64)
  /               attribute "root_attr" (float64 1.5)
  /refs/object     H5T_STD_REF (5): objects /data/ds, /data/grp, /,
                   /dtype, then a null reference
  /refs/region     H5T_STD_REF (7): regions of /data/ds:
                     0 hyperslab start (1,2) count (2,3)            (regular)
                     1 hyperslab start (0,1) stride (3,4) count (2,2)
                       block (2,2)                                  (regular)
                     2 union of blocks (0,0)-(1,1) and (4,5)-(5,7)  (irregular)
                     3 points (0,0) (3,4) (5,7) (2,1)               (in that order)
                     4 all
                     5 none
                     6 null
  /refs/attr       H5T_STD_REF (4): attributes (/data/ds, "units"),
                   (/data/grp, "note"), (/, "root_attr"), null
  /refs/external   H5T_STD_REF (4) into revised_refs_ext.h5: object /target,
                   region /target hyperslab start (1,1) count (2,3),
                   attribute (/target, "a"), object /g
  /refs/mixed      H5T_STD_REF (4): object /data/ds, region /data/ds points
                   (5,0) (0,7), attribute (/data/grp, "note"), null
  /refs/chunked    H5T_STD_REF (6), chunks of 4, gzip: the five object
                   references of /refs/object then a region of /data/ds
                   hyperslab start (5,0) count (1,8)
  /refs            attributes of H5T_STD_REF:
                     "scalar"  scalar: object /data/ds
                     "array"   (3,): attribute (/data/ds, "units"), region
                               /data/ds hyperslab start (1,2) count (2,3),
                               null
                     "ext"     scalar: object /target of revised_refs_ext.h5

revised_refs_latest.h5 (libver latest, 4-byte offsets and lengths:
                        14-byte elements, selections of version 2 and 3)
  /ds              int32 6x8, values 0..47; attribute "units" (int32 3)
  /refs            H5T_STD_REF (8):
                     0 object /ds
                     1 region /ds hyperslab start (1,2) count (2,3)
                     2 region /ds hyperslab start (0,1) stride (3,4)
                       count (2,2) block (2,2)
                     3 region /ds union of blocks (0,0)-(1,1) and (4,5)-(5,7)
                     4 region /ds points (0,0) (3,4)
                     5 region /ds all
                     6 attribute (/ds, "units")
                     7 null

The references to the external file store its name as given when it was
opened: "revised_refs_ext.h5".
"""
import ctypes
import os
import sys

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

_LIB = None


def lib():
    """The libhdf5 shared library h5py has loaded in this process."""
    global _LIB
    if _LIB is None:
        with open("/proc/self/maps") as fh:
            paths = [line.split()[-1] for line in fh if "/" in line]
        for p in paths:
            base = os.path.basename(p)
            if base.startswith("libhdf5") and "_hl" not in base and ".so" in base:
                _LIB = ctypes.CDLL(p)
                break
        else:
            raise SystemExit("libhdf5 shared library not found in this process")
        L = _LIB
        hid = ctypes.c_int64
        L.H5Rcreate_object.argtypes = [hid, ctypes.c_char_p, hid, ctypes.c_void_p]
        L.H5Rcreate_region.argtypes = [hid, ctypes.c_char_p, hid, hid, ctypes.c_void_p]
        L.H5Rcreate_attr.argtypes = [hid, ctypes.c_char_p, ctypes.c_char_p, hid, ctypes.c_void_p]
        L.H5Rdestroy.argtypes = [ctypes.c_void_p]
        L.H5Dcreate2.argtypes = [hid, ctypes.c_char_p, hid, hid, hid, hid, hid]
        L.H5Dcreate2.restype = hid
        L.H5Dwrite.argtypes = [hid, hid, hid, hid, hid, ctypes.c_void_p]
        L.H5Dclose.argtypes = [hid]
        L.H5Acreate2.argtypes = [hid, ctypes.c_char_p, hid, hid, hid, hid]
        L.H5Acreate2.restype = hid
        L.H5Awrite.argtypes = [hid, hid, ctypes.c_void_p]
        L.H5Aclose.argtypes = [hid]
        L.H5Screate_simple.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p]
        L.H5Screate_simple.restype = hid
        L.H5Screate.argtypes = [ctypes.c_int]
        L.H5Screate.restype = hid
        L.H5Sclose.argtypes = [hid]
        L.H5Pcreate.argtypes = [hid]
        L.H5Pcreate.restype = hid
        L.H5Pset_chunk.argtypes = [hid, ctypes.c_int, ctypes.c_void_p]
        L.H5Pset_deflate.argtypes = [hid, ctypes.c_uint]
        L.H5Pset_obj_track_times.argtypes = [hid, ctypes.c_uint]
        L.H5Pclose.argtypes = [hid]
    return _LIB


def check(fn, *args):
    r = getattr(lib(), fn)(*args)
    if r < 0:
        raise RuntimeError(f"{fn} failed")
    return r


REF_SIZE = 64  # sizeof(H5R_ref_t)
H5S_SCALAR = 0
H5S_SELECT_SET = 0


def std_ref():
    return ctypes.c_int64.in_dll(lib(), "H5T_STD_REF_g").value


def refs_buffer(n):
    return (ctypes.c_uint8 * (REF_SIZE * n))()


def slot(buf, i):
    return ctypes.byref(buf, REF_SIZE * i)


def obj_ref(buf, i, loc, path):
    check("H5Rcreate_object", loc.id.id, path.encode(), 0, slot(buf, i))


def attr_ref(buf, i, loc, path, attr):
    check("H5Rcreate_attr", loc.id.id, path.encode(), attr.encode(), 0, slot(buf, i))


def region_ref(buf, i, ds, select):
    space = ds.id.get_space()
    select(space)
    check("H5Rcreate_region", ds.file.id.id, ds.name.encode(), space.id, 0, slot(buf, i))


def hyperslab(start, count, stride=None, block=None):
    def sel(space):
        space.select_hyperslab(start, count, stride, block)
    return sel


def blocks(*bs):
    """Union of blocks given as (first, last) corner pairs."""
    def sel(space):
        op = h5py.h5s.SELECT_SET
        for lo, hi in bs:
            space.select_hyperslab(lo, (1,) * len(lo), None,
                                   tuple(h - l + 1 for l, h in zip(lo, hi)), op)
            op = h5py.h5s.SELECT_OR
    return sel


def points(*pts):
    def sel(space):
        space.select_elements(np.array(pts, dtype=np.uint64))
    return sel


def select_all(space):
    space.select_all()


def select_none(space):
    space.select_none()


def destroy(buf, n):
    """Releases the references in the first n slots (null slots included:
    H5Rdestroy refuses those, so only live ones are released)."""
    for i in range(n):
        if any(bytes(buf[REF_SIZE * i:REF_SIZE * (i + 1)])):
            check("H5Rdestroy", slot(buf, i))


def write_dataset(group, name, buf, n, chunk=None):
    L = lib()
    dims = (ctypes.c_uint64 * 1)(n)
    space = check("H5Screate_simple", 1, dims, None)
    # no modification times in the object header: the same bytes every run
    dcpl = L.H5Pcreate(ctypes.c_int64.in_dll(L, "H5P_CLS_DATASET_CREATE_ID_g").value)
    check("H5Pset_obj_track_times", dcpl, 0)
    if chunk:
        check("H5Pset_chunk", dcpl, 1, (ctypes.c_uint64 * 1)(chunk))
        check("H5Pset_deflate", dcpl, 6)
    d = L.H5Dcreate2(group.id.id, name.encode(), std_ref(), space, 0, dcpl, 0)
    if d < 0:
        raise RuntimeError("H5Dcreate2 failed")
    check("H5Dwrite", d, std_ref(), 0, 0, 0, buf)
    check("H5Dclose", d)
    check("H5Sclose", space)
    check("H5Pclose", dcpl)


def write_attr(obj, name, buf, n):
    L = lib()
    if n is None:
        space = check("H5Screate", H5S_SCALAR)
    else:
        space = check("H5Screate_simple", 1, (ctypes.c_uint64 * 1)(n), None)
    a = L.H5Acreate2(obj.id.id, name.encode(), std_ref(), space, 0, 0)
    if a < 0:
        raise RuntimeError("H5Acreate2 failed")
    check("H5Awrite", a, std_ref(), buf)
    check("H5Aclose", a)
    check("H5Sclose", space)


def main():
    os.chdir(HERE)
    with h5py.File("revised_refs_ext.h5", "w") as ext:
        t = ext.create_dataset("target", data=np.arange(20, dtype="<i2").reshape(4, 5))
        t.attrs.create("a", 7, dtype="<i4")
        ext.create_group("g")

    ext = h5py.File("revised_refs_ext.h5", "r")
    f = h5py.File("revised_refs.h5", "w")
    ds = f.create_dataset("data/ds", data=np.arange(48, dtype="<i4").reshape(6, 8))
    ds.attrs["units"] = "metres"
    grp = f.create_group("data/grp")
    grp.attrs.create("note", 1, dtype="<i4")
    f["dtype"] = np.dtype("<i8")
    f.attrs.create("root_attr", 1.5, dtype="<f8")
    refs = f.create_group("refs")

    b = refs_buffer(5)
    for i, p in enumerate(["/data/ds", "/data/grp", "/", "/dtype"]):
        obj_ref(b, i, f, p)
    write_dataset(refs, "object", b, 5)
    destroy(b, 5)

    b = refs_buffer(7)
    region_ref(b, 0, ds, hyperslab((1, 2), (2, 3)))
    region_ref(b, 1, ds, hyperslab((0, 1), (2, 2), (3, 4), (2, 2)))
    region_ref(b, 2, ds, blocks(((0, 0), (1, 1)), ((4, 5), (5, 7))))
    region_ref(b, 3, ds, points((0, 0), (3, 4), (5, 7), (2, 1)))
    region_ref(b, 4, ds, select_all)
    region_ref(b, 5, ds, select_none)
    write_dataset(refs, "region", b, 7)
    destroy(b, 7)

    b = refs_buffer(4)
    attr_ref(b, 0, f, "/data/ds", "units")
    attr_ref(b, 1, f, "/data/grp", "note")
    attr_ref(b, 2, f, "/", "root_attr")
    write_dataset(refs, "attr", b, 4)
    destroy(b, 4)

    b = refs_buffer(4)
    obj_ref(b, 0, ext, "/target")
    region_ref(b, 1, ext["target"], hyperslab((1, 1), (2, 3)))
    attr_ref(b, 2, ext, "/target", "a")
    obj_ref(b, 3, ext, "/g")
    write_dataset(refs, "external", b, 4)
    destroy(b, 4)

    b = refs_buffer(4)
    obj_ref(b, 0, f, "/data/ds")
    region_ref(b, 1, ds, points((5, 0), (0, 7)))
    attr_ref(b, 2, f, "/data/grp", "note")
    write_dataset(refs, "mixed", b, 4)
    destroy(b, 4)

    b = refs_buffer(6)
    for i, p in enumerate(["/data/ds", "/data/grp", "/", "/dtype"]):
        obj_ref(b, i, f, p)
    region_ref(b, 5, ds, hyperslab((5, 0), (1, 8)))
    write_dataset(refs, "chunked", b, 6, chunk=4)
    destroy(b, 6)

    b = refs_buffer(1)
    obj_ref(b, 0, f, "/data/ds")
    write_attr(refs, "scalar", b, None)
    destroy(b, 1)

    b = refs_buffer(3)
    attr_ref(b, 0, f, "/data/ds", "units")
    region_ref(b, 1, ds, hyperslab((1, 2), (2, 3)))
    write_attr(refs, "array", b, 3)
    destroy(b, 3)

    b = refs_buffer(1)
    obj_ref(b, 0, ext, "/target")
    write_attr(refs, "ext", b, None)
    destroy(b, 1)

    f.close()
    ext.close()
    make_latest()


def make_latest():
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    fcpl.set_sizes(4, 4)
    fcpl.set_obj_track_times(False)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_LATEST, h5py.h5f.LIBVER_LATEST)
    fid = h5py.h5f.create(b"revised_refs_latest.h5", h5py.h5f.ACC_TRUNC, fcpl=fcpl, fapl=fapl)
    with h5py.File(fid) as f:
        ds = f.create_dataset("ds", data=np.arange(48, dtype="<i4").reshape(6, 8))
        ds.attrs.create("units", 3, dtype="<i4")
        b = refs_buffer(8)
        obj_ref(b, 0, f, "/ds")
        region_ref(b, 1, ds, hyperslab((1, 2), (2, 3)))
        region_ref(b, 2, ds, hyperslab((0, 1), (2, 2), (3, 4), (2, 2)))
        region_ref(b, 3, ds, blocks(((0, 0), (1, 1)), ((4, 5), (5, 7))))
        region_ref(b, 4, ds, points((0, 0), (3, 4)))
        region_ref(b, 5, ds, select_all)
        attr_ref(b, 6, f, "/ds", "units")
        write_dataset(f, "refs", b, 8)
        destroy(b, 8)


if __name__ == "__main__":
    sys.exit(main())
