"""Reference figures for examples/explore.rs, computed with h5py and numpy.

Usage: explore_reference.py FILE

Prints the keyword lines the example prints (`item`, `input`, `group`,
`member`, `real`, `rain`, `window`, `row`, `between`, `attr`, `kv`), by the
same rules (see the module docs of examples/explore.rs), without the
commentary and without column padding.
"""

import sys

import h5py
import numpy as np

SENTINEL = -9999.0


def shape_str(shape):
    if shape is None:
        return "null"
    if len(shape) == 0:
        return "scalar"
    return "x".join(str(n) for n in shape)


def dtype_str(dt):
    if h5py.check_enum_dtype(dt) is not None:
        return "other"
    if dt.kind in "iuf":
        return dt.name
    if dt.kind == "S":
        return "S%d" % dt.itemsize
    if h5py.check_string_dtype(dt) is not None and dt.kind == "O":
        return "vlen-str"
    return "other"


def is_string(dt):
    return dt.kind == "S" or (
        dt.kind == "O" and h5py.check_string_dtype(dt) is not None
    )


def numeric(ds):
    return ds.dtype.kind in "iuf" and h5py.check_enum_dtype(ds.dtype) is None


def hard_members(g):
    """(name, object) of the hard links of g, in h5py's iteration order."""
    out = []
    for name in g:
        if isinstance(g.get(name, getlink=True), h5py.HardLink):
            out.append((name, g[name]))
    return out


def describe(obj):
    if isinstance(obj, h5py.Group):
        return "group"
    if isinstance(obj, h5py.Dataset):
        return "dataset %s %s" % (shape_str(obj.shape), dtype_str(obj.dtype))
    return "datatype"


def datasets(g):
    return [(n, o) for n, o in hard_members(g) if isinstance(o, h5py.Dataset)]


def groups(g):
    return [(n, o) for n, o in hard_members(g) if isinstance(o, h5py.Group)]


def main_group(root):
    grid = root.get("Grid")
    if isinstance(grid, h5py.Group):
        return grid
    subgroups = groups(root)
    for _, g in subgroups:
        if any(n == "Latitude" for n, _ in datasets(g)):
            return g
    for _, g in subgroups:
        if datasets(g):
            return g
    return root


def text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    return str(v)


def fill_value(ds):
    for name in ("_FillValue", "missing_value", "CodeMissingValue"):
        if name not in ds.attrs:
            continue
        try:
            a = ds.attrs[name]
            dt = ds.attrs.get_id(name).dtype
            flat = np.asarray(a, dtype=object if is_string(dt) else None).ravel()
            if flat.size == 0:
                continue
            if is_string(dt):
                v = float(text(flat[0]).strip())
            else:
                v = float(np.float64(flat[0]))
        except (ValueError, TypeError, OSError):
            continue
        if ds.dtype.kind == "f" and ds.dtype.itemsize == 4:
            v = float(np.float32(v))
        return v
    return None


def values(ds):
    if ds.shape is None:
        return np.zeros(0)
    return np.asarray(ds[()]).astype(np.float64).ravel()


def precip_rank(name):
    n = name.lower()
    if n == "precipitation":
        return 0
    if "surfaceprecip" in n or ("precip" in n and "nearsurface" in n):
        return 1
    if "precip" in n:
        return 2
    return 3


def rain_dataset(g):
    def usable(d):
        return numeric(d) and d.shape is not None and len(d.shape) >= 2

    candidates = list(datasets(g))
    for sub, sg in groups(g):
        candidates += [("%s/%s" % (sub, n), d) for n, d in datasets(sg)]
    best = None
    for path, d in candidates:
        rank = precip_rank(path.rsplit("/", 1)[-1])
        if rank < 3 and usable(d) and (best is None or rank < best[0]):
            best = (rank, path, d)
    if best is not None:
        return best[1], best[2]
    for n, d in datasets(g):
        if usable(d):
            return n, d
    return None


def fit(start, size, length):
    size = min(size, length)
    start = min(start, length - size)
    return start, start + size


def fmt_value(v):
    if np.isnan(v):
        return "nan"
    if np.isinf(v):
        return "inf" if v > 0 else "-inf"
    return "%.4f" % v


def window(ds, r0, c0, rows, cols):
    shape = ds.shape
    n = len(shape)
    r0, r1 = fit(r0, rows, shape[n - 2])
    c0, c1 = fit(c0, cols, shape[n - 1])
    print("window %d:%d,%d:%d" % (r0, r1, c0, c1))
    sel = (0,) * (n - 2) + (slice(r0, r1), slice(c0, c1))
    a = np.asarray(ds[sel]).astype(np.float64)
    if a.size == 0:
        return
    for row in a:
        print("row " + " ".join(fmt_value(v) for v in row))


def key_values(t):
    out = []
    for line in t.split("\n"):
        line = line.strip()
        if line.endswith(";"):
            line = line[:-1]
        if "=" in line:
            k, v = line.split("=", 1)
            out.append((k.strip(), v.strip()))
    return out


def main(path):
    f = h5py.File(path, "r")
    for name, obj in hard_members(f):
        print("item %s %s" % (name, describe(obj)))

    attr_names = sorted(f.attrs.keys())
    pairs = []
    for name in attr_names:
        aid = f.attrs.get_id(name)
        if is_string(aid.dtype) and aid.shape == ():
            kv = key_values(text(f.attrs[name]))
            if kv:
                pairs.append((name, kv))

    grid = main_group(f)
    inputs = None
    for g in (f, grid):
        if inputs is not None:
            break
        d = g.get("InputFileNames")
        if isinstance(d, h5py.Dataset) and is_string(d.dtype):
            flat = np.asarray(d[()], dtype=object).ravel()
            if flat.size:
                inputs = text(flat[0])
    if inputs is None:
        for a, kv in pairs:
            if a == "InputRecord":
                for k, v in kv:
                    if k == "InputFileNames":
                        inputs = v
                        break
                if inputs is not None:
                    break
    if inputs is not None:
        for n in inputs.split(","):
            n = n.strip()
            if n:
                print("input " + n)

    print("group " + grid.name)
    for name, obj in hard_members(grid):
        print("member %s %s" % (name, describe(obj)))

    for name, d in datasets(grid):
        if not numeric(d):
            continue
        fill = fill_value(d)
        v = values(d)
        if fill is None:
            missing = v < SENTINEL
        elif np.isnan(fill):
            missing = np.isnan(v)
        else:
            missing = v == fill
        print("real %s %d %d" % (name, v.size - int(missing.sum()), v.size))

    found = rain_dataset(grid)
    if found is not None:
        name, rain = found
        print("rain %s %s" % (name, shape_str(rain.shape)))
        window(rain, 0, 0, 10, 10)
        window(rain, 705, 400, 11, 11)
        v = values(rain)
        print("between %d" % int(((0.1 < v) & (v < 0.9)).sum()))

    for name in attr_names:
        print("attr " + name)
    for name, kv in pairs:
        for k, v in kv:
            print("kv %s %s %s" % (name, k, v))


if __name__ == "__main__":
    main(sys.argv[1])
