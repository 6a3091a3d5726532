"""Makes the filter fixtures: raw stored chunks and the bytes they decode to.

Run from this folder with a Python that has h5py and numpy:

    python make.py

For each case a one-chunk dataset is written with h5py (libhdf5) into a
scratch file, then two files are saved here:

    <name>.chunk  the chunk exactly as stored (read_direct_chunk)
    <name>.out    the chunk after the filters, in the file's datatype
                  (read with the file type as memory type: no conversion)

and one line is added to cases.tsv:

    name  dtype  chunk_bytes  filter_mask  pipeline  expect

dtype is class:size:order:sign (class int, float or other; order < or >;
sign s or u). pipeline lists the filters in write order, separated by ';',
each as id/flags/cd0,cd1,... . expect is "ok" or "error:<text>" when the
decoder must refuse the chunk with a message containing <text>.
"""

import os
import tempfile
import zlib

import h5py
import numpy as np
from h5py import h5d, h5p, h5s, h5t, h5z

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240611)
rows = []


def dtype_text(tid):
    cls = tid.get_class()
    size = tid.get_size()
    order, sign = "<", "u"
    if cls == h5t.INTEGER:
        c = "int"
        order = "<" if tid.get_order() == h5t.ORDER_LE else ">"
        sign = "s" if tid.get_sign() == h5t.SGN_2 else "u"
    elif cls == h5t.FLOAT:
        c = "float"
        order = "<" if tid.get_order() == h5t.ORDER_LE else ">"
        sign = "s"
    else:
        c = "other"
    return f"{c}:{size}:{order}:{sign}"


def pipeline_text(dcpl):
    parts = []
    for i in range(dcpl.get_nfilters()):
        fid, flags, cd, _name = dcpl.get_filter(i)
        parts.append(f"{fid}/{flags}/" + ",".join(str(v) for v in cd))
    return ";".join(parts)


def save(name, raw, out, dtype, chunk_bytes, mask, pipeline, expect="ok"):
    with open(os.path.join(HERE, name + ".chunk"), "wb") as fh:
        fh.write(raw)
    with open(os.path.join(HERE, name + ".out"), "wb") as fh:
        fh.write(out)
    rows.append("\t".join([name, dtype, str(chunk_bytes), str(mask), pipeline, expect]))


def case(f, name, data, tid=None, **kw):
    """High-level h5py dataset with the keywords of create_dataset."""
    data = np.asarray(data)
    if tid is None:
        ds = f.create_dataset(name, data=data, chunks=data.shape, **kw)
    else:
        shape = kw.pop("shape", data.shape)
        dcpl = h5p.create(h5p.DATASET_CREATE)
        dcpl.set_chunk(shape)
        for fid, flags, cd in kw.pop("filters"):
            dcpl.set_filter(fid, flags, cd)
        space = h5s.create_simple(shape)
        ds = h5py.Dataset(h5d.create(f.id, name.encode(), tid, space, dcpl=dcpl))
        ds[...] = data
    finish(name, ds)


def finish(name, ds):
    f = ds.file
    f.flush()
    mask, raw = ds.id.read_direct_chunk((0,) * ds.ndim)
    ftype = ds.id.get_type()
    size = ftype.get_size()
    n = int(np.prod(ds.shape))
    out = np.empty(n, dtype=f"V{size}")
    ds.id.read(h5s.ALL, h5s.ALL, out, mtype=ftype)
    save(name, raw, out.tobytes(), dtype_text(ftype), n * size, mask,
         pipeline_text(ds.id.get_create_plist()))


def with_precision(base, precision, offset):
    t = base.copy()
    t.set_precision(precision)
    t.set_offset(offset)
    return t


NBIT = (h5z.FILTER_NBIT, h5z.FLAG_OPTIONAL, ())


def main():
    for old in os.listdir(HERE):
        if old.endswith((".chunk", ".out")) or old == "cases.tsv":
            os.remove(os.path.join(HERE, old))
    tmp = tempfile.mkdtemp()
    f = h5py.File(os.path.join(tmp, "filters.h5"), "w")

    ramp = (np.arange(2048) * 7 % 1000).astype("<i4").reshape(64, 32)
    wave = np.sin(np.linspace(0, 20, 2000)).reshape(50, 40)

    # deflate
    case(f, "deflate_i32_l1", ramp, compression="gzip", compression_opts=1)
    case(f, "deflate_f64_l9", wave, compression="gzip", compression_opts=9)
    case(f, "deflate_u8_l0", (np.arange(3000) % 251).astype("u1"),
         compression="gzip", compression_opts=0)
    case(f, "deflate_random_u8", rng.integers(0, 256, 4000, dtype="u1"),
         compression="gzip", compression_opts=6)

    # shuffle, with and without deflate, element sizes 1 to 16
    case(f, "shuffle_i32", ramp[:16], shuffle=True)
    case(f, "shuffle_u8", (np.arange(100) % 7).astype("u1"), shuffle=True)
    case(f, "shuffle_deflate_i16", (np.arange(1500) * 3).astype("<i2"),
         shuffle=True, compression="gzip")
    case(f, "shuffle_deflate_f32", wave.astype("<f4"), shuffle=True, compression="gzip")
    case(f, "shuffle_deflate_f64", wave, shuffle=True, compression="gzip")
    case(f, "shuffle_deflate_be_i64", (np.arange(300) ** 3).astype(">i8"),
         shuffle=True, compression="gzip")
    for size in (3, 5, 7, 12, 16):
        strings = np.array([(b"%05d-abcdefghijkl" % i)[:size] for i in range(257)],
                           dtype=f"S{size}")
        case(f, f"shuffle_deflate_s{size}", strings, shuffle=True, compression="gzip")

    # fletcher32
    case(f, "fletcher32_i32", ramp[:8], fletcher32=True)
    case(f, "fletcher32_be_i32", ramp[:8].astype(">i4"), fletcher32=True)
    odd = np.array([b"ab%d" % (i % 10) for i in range(7)], dtype="S3")
    case(f, "fletcher32_odd_s3", odd, fletcher32=True)
    case(f, "fletcher32_u8_1", np.array([200], dtype="u1"), fletcher32=True)
    case(f, "shuffle_deflate_fletcher32_f64", wave, shuffle=True,
         compression="gzip", fletcher32=True)
    # a large chunk: the checksum folds its sums every 360 words
    case(f, "fletcher32_ff_u8", np.full(5001, 0xFF, dtype="u1"), fletcher32=True)

    # lzf (h5py's filter 32000)
    case(f, "lzf_i32", ramp, compression="lzf")
    case(f, "lzf_text", np.frombuffer(b"the quick brown fox jumps over the lazy dog; " * 60,
                                      dtype="u1"), compression="lzf")
    case(f, "shuffle_lzf_f64", wave, shuffle=True, compression="lzf")
    # incompressible: the filter fails, libhdf5 stores the chunk as is and
    # sets bit 0 of the filter mask
    case(f, "lzf_random_u8", rng.integers(0, 256, 3000, dtype="u1"), compression="lzf")

    # scale + offset, integers
    case(f, "so_i32", ramp, scaleoffset=0)
    case(f, "so_be_i32", (ramp - 400).astype(">i4"), scaleoffset=0)
    case(f, "so_u8", (np.arange(500) % 37 + 100).astype("u1"), scaleoffset=0)
    case(f, "so_i8", (np.arange(500) % 37 - 100).astype("i1"), scaleoffset=0)
    case(f, "so_i16_neg", (np.arange(1000) % 300 - 20000).astype("<i2"), scaleoffset=0)
    case(f, "so_i64", (np.arange(600) * 1000003 - 10**12).astype("<i8"), scaleoffset=0)
    case(f, "so_u64", (np.arange(600, dtype="u8") * np.uint64(977) + np.uint64(2**63)).astype("<u8"), scaleoffset=0)
    case(f, "so_be_u16", (np.arange(700) % 1000 + 5).astype(">u2"), scaleoffset=0)
    filled = (np.arange(400) % 50).astype("<i4")
    filled[::7] = -7
    case(f, "so_i32_fill", filled, scaleoffset=0, fillvalue=-7)
    case(f, "so_i32_full", rng.integers(-2**31, 2**31, 300, dtype="<i4"), scaleoffset=0)
    case(f, "so_i32_const", np.full(300, 123456, dtype="<i4"), scaleoffset=0)
    case(f, "so_i32_minbits10", (np.arange(1000) % 1000).astype("<i4"), scaleoffset=10)
    case(f, "so_i16_minbits16", (np.arange(300) * 111).astype("<i2"), scaleoffset=16)

    # scale + offset, floating point (D-scaling)
    case(f, "so_f32_d2", wave.astype("<f4") * 100, scaleoffset=2)
    case(f, "so_f64_d3", wave * 1000 + 5, scaleoffset=3)
    case(f, "so_be_f64_d1", (wave * 10).astype(">f8"), scaleoffset=1)
    case(f, "so_f64_d0", np.round(wave * 50), scaleoffset=0)
    case(f, "so_f32_fill", np.where(np.arange(2000).reshape(50, 40) % 9 == 0, -999.0,
                                    wave).astype("<f4"), scaleoffset=3, fillvalue=-999.0)
    case(f, "so_f64_wide", np.linspace(-1e12, 1e12, 200), scaleoffset=4)

    # n-bit (through the low-level API: h5py has no keyword for it)
    vals = np.arange(-500, 500, 3)
    case(f, "nbit_i32_p12o4", vals, tid=with_precision(h5t.STD_I32LE, 12, 4), filters=[NBIT])
    case(f, "nbit_be_i16_p10o3", vals % 1000, tid=with_precision(h5t.STD_U16BE, 10, 3),
         filters=[NBIT])
    case(f, "nbit_u8_p3o2", np.arange(200) % 8, tid=with_precision(h5t.STD_U8LE, 3, 2),
         filters=[NBIT])
    case(f, "nbit_u8_p7o1", np.arange(200) % 128, tid=with_precision(h5t.STD_U8LE, 7, 1),
         filters=[NBIT])
    case(f, "nbit_i64_p40o9", (np.arange(300) * 99991) - 2**30,
         tid=with_precision(h5t.STD_I64LE, 40, 9), filters=[NBIT])
    case(f, "nbit_i32_full", ramp, tid=h5t.STD_I32LE.copy(), filters=[NBIT])
    ft = h5t.IEEE_F32LE.copy()
    ft.set_fields(26, 18, 8, 0, 18)   # sign, exponent pos/size, mantissa pos/size
    ft.set_precision(27)
    ft.set_offset(5)
    ft.set_ebias(127)
    case(f, "nbit_f32_p27o5", np.linspace(-3, 3, 300).astype("f4"), tid=ft, filters=[NBIT])

    ct = h5t.create(h5t.COMPOUND, 12)
    ct.insert(b"a", 0, with_precision(h5t.STD_I32LE, 17, 3))
    ct.insert(b"b", 4, with_precision(h5t.STD_U16BE, 9, 0))
    ct.insert(b"c", 6, h5t.C_S1.copy())           # no-op member: copied whole
    at = h5t.array_create(with_precision(h5t.STD_U8LE, 5, 1), (4,))
    ct.insert(b"d", 7, at)
    cdata = np.zeros(100, dtype=[("a", "<i4"), ("b", ">u2"), ("c", "S1"), ("d", "u1", (4,))])
    cdata["a"] = np.arange(100) * 131 - 6000
    cdata["b"] = np.arange(100) * 5
    cdata["c"] = [b"%d" % (i % 10) for i in range(100)]
    cdata["d"] = (np.arange(400) % 32).reshape(100, 4)
    case(f, "nbit_compound", cdata, tid=ct, filters=[NBIT])
    arr = h5t.array_create(with_precision(h5t.STD_I16LE, 9, 2), (3,))
    case(f, "nbit_array_i16", (np.arange(300) % 200 - 100).reshape(100, 3), tid=arr,
         filters=[NBIT], shape=(100,))
    # n-bit, then deflate
    dcpl_filters = [NBIT, (h5z.FILTER_DEFLATE, h5z.FLAG_OPTIONAL, (6,))]
    case(f, "nbit_deflate_i32", vals, tid=with_precision(h5t.STD_I32LE, 12, 4),
         filters=dcpl_filters)

    # szip (libaec through libhdf5): nn = preprocessing, ec = none
    smooth16 = (1000 + 300 * np.sin(np.linspace(0, 30, 2048))).astype("<u2")
    case(f, "szip_u8_nn8", (np.arange(1024) // 3 % 256).astype("u1"),
         compression="szip", compression_opts=("nn", 8))
    case(f, "szip_u8_ec32", rng.integers(0, 4, 1024, dtype="u1"),
         compression="szip", compression_opts=("ec", 32))
    case(f, "szip_random_u8", rng.integers(0, 256, 1024, dtype="u1"),
         compression="szip", compression_opts=("nn", 16))
    mixed = np.zeros(1024, dtype="u1")
    mixed[600:700] = rng.integers(0, 256, 100, dtype="u1")
    case(f, "szip_mixed_u8", mixed, compression="szip", compression_opts=("nn", 8))
    case(f, "szip_u8_nn2", (np.arange(500) % 5).astype("u1"), compression="szip",
         compression_opts=("nn", 2))
    case(f, "szip_i16_nn4", (smooth16[:700].astype("<i2") - 1100), compression="szip",
         compression_opts=("nn", 4))
    case(f, "szip_u16_nn16", smooth16, compression="szip", compression_opts=("nn", 16))
    case(f, "szip_be_i16_ec8", (smooth16.astype("<i2") - 1000).astype(">i2"),
         compression="szip", compression_opts=("ec", 8))
    case(f, "szip_i32_nn32", (np.arange(1000) * 17 - 3000).astype("<i4"),
         compression="szip", compression_opts=("nn", 32))
    case(f, "szip_f64_nn8", wave, compression="szip", compression_opts=("nn", 8))
    case(f, "szip_be_f32_nn16", wave.astype(">f4"), compression="szip",
         compression_opts=("nn", 16))
    zeros = np.zeros(4096, dtype="<u2")
    zeros[1000:1010] = 7
    zeros[3000] = 65535
    case(f, "szip_zeros_u16", zeros, compression="szip", compression_opts=("nn", 8))
    case(f, "szip_zeros_ec_u8", np.zeros(3000, dtype="u1"), compression="szip",
         compression_opts=("ec", 8))
    # a scanline that is not a multiple of the block (padding per scanline)
    case(f, "szip_pad_u16", smooth16[:1001], compression="szip", compression_opts=("nn", 8))
    case(f, "szip_pad2d_u8", (np.arange(300) % 23).astype("u1").reshape(30, 10),
         compression="szip", compression_opts=("nn", 8))
    # more elements than one scanline of 128 blocks, last one partly used
    case(f, "szip_long_u16", np.tile(smooth16, 2)[:2501], compression="szip",
         compression_opts=("nn", 8))
    # bits per pixel below the element size
    dcpl_szip = [(h5z.FILTER_SZIP, h5z.FLAG_OPTIONAL, (h5z.SZIP_NN_OPTION_MASK, 16))]
    case(f, "szip_p12_u16", np.arange(1500) * 5 % 4096,
         tid=with_precision(h5t.STD_U16LE, 12, 0), filters=dcpl_szip)
    case(f, "szip_p20_u32", (np.arange(1200) * 811) % (1 << 20),
         tid=with_precision(h5t.STD_U32LE, 20, 0), filters=dcpl_szip)
    case(f, "szip_p5_u8", np.arange(800) % 32,
         tid=with_precision(h5t.STD_U8LE, 5, 0), filters=dcpl_szip)
    case(f, "szip_shuffle_fletcher_i32", (np.arange(777) * 3).astype("<i4"),
         compression="szip", compression_opts=("nn", 32), shuffle=True, fletcher32=True)

    f.close()

    # a deflate stream that inflates far past the chunk: must be refused
    # without allocating what the stream claims
    bomb = zlib.compress(bytes(16 << 20), 9)
    save("deflate_bomb", bomb, b"", "int:4:<:s", 4096, 0, "1/1/9", "error:deflate")
    # a chunk whose checksum does not match
    good = open(os.path.join(HERE, "fletcher32_i32.chunk"), "rb").read()
    bad = bytearray(good)
    bad[5] ^= 0x40
    save("fletcher32_corrupt", bytes(bad), b"", "int:4:<:s", len(good) - 4, 0, "3/0/",
         "error:fletcher32 checksum mismatch")
    # a filter h5rs does not have
    save("unknown_blosc", b"\x02\x01\x21\x04", b"", "int:4:<:s", 16, 0, "32001/1/2,2,4,16",
         "error:filter 32001 (blosc) is not available")

    with open(os.path.join(HERE, "cases.tsv"), "w") as fh:
        fh.write("# name\tdtype\tchunk_bytes\tfilter_mask\tpipeline\texpect\n")
        fh.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
