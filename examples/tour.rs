//! A tour of h5rs: the steps of an h5py introduction, in Rust.
//!
//! Makes `tmp/my_first_hdf5.hdf5` and `tmp/my_second_hdf5.hdf5` (plus
//! `tmp/my_compressed_hdf5.hdf5`) in the current directory and prints what
//! each step shows. Run with `cargo run --release --example tour`; pass a
//! directory to write somewhere else than `tmp`.

use h5rs::{Attribute, Datatype, File, Result};
use ndarray::{Array2, Array3, Ix1, Ix2, Ix3, s};

fn main() -> Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "tmp".to_string());
    std::fs::create_dir_all(&dir)?;
    let first = format!("{dir}/my_first_hdf5.hdf5");

    // Step 1: make a file (h5py.File(filename, 'w')), then close it
    let f = File::create(&first)?;
    f.close()?;
    println!(
        "Step 1: made {first} ({} bytes)",
        std::fs::metadata(&first)?.len()
    );

    // Step 2: put something in it: a list of 1000 integers
    let f = File::create(&first)?;
    let data: Vec<i64> = (0..1000).collect();
    f.write_dataset("dataset1", &data)?;
    f.close()?;
    println!("Step 2: wrote dataset1 = list(range(1000))");

    // Step 3: opening a dataset reads nothing: the handle is lazy
    let f = File::open(&first)?;
    let data2 = f.dataset("dataset1")?;
    println!("Step 3: {data2:?}");

    // Step 3a: read it all
    let values = data2.read::<i64, Ix1>()?;
    println!(
        "Step 3a: an ndarray of {} values; the first 10: {}",
        values.len(),
        values.slice(s![..10])
    );
    drop((data2, f));

    // Step 4: groups, nested groups, groups under groups
    let f = File::create(&first)?;
    let g1 = f.create_group("first")?;
    f.create_group("second/third/fourth")?;
    g1.create_group("nestedfirst")?;
    g1.create_group("nestedsecond")?;
    f.create_group("first/nestedthird")?;
    f.close()?;
    let f = File::open(&first)?;
    let mut list_of_groups = Vec::new();
    f.root()?.visit(|p| {
        list_of_groups.push(p.to_string());
        None::<()>
    })?;
    println!("Step 4: {list_of_groups:?}");
    drop(f);

    // Step 5: groups and datasets together
    let second = format!("{dir}/my_second_hdf5.hdf5");
    let d1 = Array2::from_shape_fn((100, 10), |(j, i)| (i + j * 10) as i64);
    let d2 = Array3::from_shape_fn((10, 20, 5), |(a, b, c)| (a * 100 + b * 5 + c) as i64);
    let f = File::create(&second)?;
    let g = f.create_group("data")?;
    g.new_dataset::<i64>()?
        .shape((100, 10))
        .with_data(&d1)
        .create("dataset1")?;
    // created with a shape only: nothing written yet
    g.new_dataset::<f32>()?
        .shape((10, 20, 5))
        .create("dataset2")?;
    f.close()?;
    let f = File::open(&second)?;
    let r1 = f.dataset("data/dataset1")?.read::<i64, Ix2>()?;
    let r2 = f.dataset("data/dataset2")?.read::<f32, Ix3>()?;
    println!(
        "Step 5: dataset1 {:?}\n{}",
        r1.shape(),
        r1.slice(s![..1, ..])
    );
    println!(
        "        dataset2 {:?}\n{}",
        r2.shape(),
        r2.slice(s![..1, .., ..])
    );
    println!("        (dataset2 is all zeros: it was created but never written)");
    drop(f);

    // ... so write it: dset2[:] = data2
    let f = File::create(&second)?;
    let g = f.create_group("data")?;
    let dset2 = g
        .new_dataset::<i64>()?
        .shape((10, 20, 5))
        .create("dataset2")?;
    dset2.write(&d2)?;
    f.close()?;
    let f = File::open(&second)?;
    let r2 = f.dataset("data/dataset2")?.read::<i64, Ix3>()?;
    println!(
        "Step 5: dataset2 {:?}\n{}",
        r2.shape(),
        r2.slice(s![..1, .., ..])
    );

    // iterating over a dataset yields its rows
    println!("Step 5: the rows of data/dataset2:");
    for row in f.dataset("data/dataset2")?.iter_rows::<i64>()? {
        println!("{}", row?);
    }
    drop(f);

    // Step 6: deleting a dataset
    let third = format!("{dir}/my_third_hdf5.hdf5");
    let size = |p: &str| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let f = File::create(&third)?;
    f.write_dataset(
        "data/dataset1",
        &Array2::from_shape_fn((10, 10000), |(i, j)| (i * 10000 + j) as i64),
    )?;
    f.close()?;
    println!("Step 6: {third}: {} bytes", size(&third));
    let f = File::open_rw(&third)?;
    f.unlink("data/dataset1")?;
    f.close()?;
    println!(
        "Step 6: after deleting data/dataset1: {} bytes (h5py's file would not shrink)",
        size(&third)
    );
    let f = File::open_rw(&third)?;
    if let Err(e) = f.unlink("data/dataset1") {
        println!("Step 6: trying to delete a dataset that doesn't exist: {e}");
    }
    f.close()?;

    // Step 6a: deleting a whole group
    let f = File::create(&third)?;
    for k in 0..3i64 {
        let a = Array2::from_shape_fn((10, 10000), |(i, j)| k * 100_000 + (i * 10000 + j) as i64);
        f.write_dataset(&format!("data/dataset{}", k + 1), &a)?;
    }
    f.close()?;
    println!("Step 6a: three datasets: {} bytes", size(&third));
    let f = File::open_rw(&third)?;
    f.unlink("data")?;
    f.close()?;
    let f = File::open(&third)?;
    let mut left = Vec::new();
    f.root()?.visit(|p| {
        left.push(p.to_string());
        None::<()>
    })?;
    println!(
        "Step 6a: after deleting data: {} bytes, objects left: {left:?}",
        size(&third)
    );
    drop(f);
    // space freed in the middle of a file is reused by later writes, and
    // a repacked copy holds only what is in use
    let f = File::create(&third)?;
    for k in 0..3i64 {
        let a = Array2::from_shape_fn((10, 10000), |(i, j)| k * 100_000 + (i * 10000 + j) as i64);
        f.write_dataset(&format!("data/dataset{}", k + 1), &a)?;
    }
    f.close()?;
    let f = File::open_rw(&third)?;
    f.unlink("data/dataset1")?;
    f.flush()?;
    f.write_dataset("data/dataset4", &Array2::from_elem((10, 10000), 4i64))?;
    f.close()?;
    println!(
        "Step 6a: three datasets, the first deleted, a fourth of its size written: {} bytes (the freed space was reused)",
        size(&third)
    );
    let f = File::open_rw(&third)?;
    f.unlink("data/dataset4")?;
    f.close()?;
    let repacked = format!("{dir}/my_third_repacked.hdf5");
    let src = File::open(&third)?;
    let dst = File::create(&repacked)?;
    dst.copy_from(&src)?;
    dst.close()?;
    println!(
        "Step 6a: with the fourth deleted too: {} bytes; repacked (h5rs repack): {} bytes",
        size(&third),
        size(&repacked)
    );
    drop(src);

    // Step 7: updating an existing dataset
    let fourth = format!("{dir}/my_fourth_hdf5.hdf5");
    let f = File::create(&fourth)?;
    for k in 0..3i64 {
        let a = Array2::from_shape_fn((10000, 10), |(i, j)| k * 100_000 + (i * 10 + j) as i64);
        f.write_dataset(&format!("data/dataset{}", k + 1), &a)?;
    }
    f.close()?;
    let f = File::open_rw(&fourth)?;
    let d = f.dataset("data/dataset1")?;
    println!(
        "Step 7: before:\n{}",
        d.read_slice::<i64, _, Ix2>(s![..10, ..])?
    );
    d.write_slice(&Array2::from_elem((5, 10), -1i64), s![..5, ..])?;
    f.close()?;
    let f = File::open(&fourth)?;
    let d = f.dataset("data/dataset1")?;
    println!(
        "Step 7: after:\n{}",
        d.read_slice::<i64, _, Ix2>(s![..10, ..])?
    );
    drop(f);

    // Step 8: resizing a dataset (created with h5py's default type, f4)
    let rows = Array2::from_shape_fn((10000, 10), |(i, j)| (i * 10 + j) as f32);
    let f = File::create(&fourth)?;
    let dset1 = f
        .new_dataset::<f32>()?
        .shape((10000, 10))
        .maxshape((100000, 10))
        .create("resizable/dataset1")?;
    dset1.write(&rows)?;
    f.close()?;
    println!("Step 8: {fourth}: {} bytes", size(&fourth));
    let f = File::open_rw(&fourth)?;
    let dset1 = f.dataset("resizable/dataset1")?;
    println!(
        "Step 8: shape {:?}, maxshape {:?}",
        dset1.shape(),
        dset1.maxshape()
    );
    dset1.resize((20000, 10))?;
    println!("Step 8: resized to {:?}", dset1.shape());
    dset1.write_slice(&rows, s![10000.., ..])?;
    f.close()?;
    println!("Step 8: {fourth}: {} bytes", size(&fourth));
    let f = File::open_rw(&fourth)?;
    let dset1 = f.dataset("resizable/dataset1")?;
    let all = dset1.read::<f32, Ix2>()?;
    println!(
        "Step 8: read {:?}, last row {}",
        all.shape(),
        all.row(all.nrows() - 1)
    );
    println!(
        "Step 8: shape {:?}, maxshape {:?}",
        dset1.shape(),
        dset1.maxshape()
    );
    match dset1.resize((dset1.shape()[0] * 6, 10)) {
        Ok(()) => println!("Step 8: resized past maxshape?!"),
        Err(e) => println!("Step 8: resizing to 6 times the rows fails: {e}"),
    }
    println!("Step 8: shape still {:?}", dset1.shape());
    f.close()?;

    // Step 9: attributes on groups and datasets
    let f = File::builder().create(&second)?;
    f.write_attr("title", "h5rs tour")?;
    let g = f.create_group("data")?;
    g.write_attr("instrument", "none: made up numbers")?;
    let dset1 = g.write_dataset("dataset1", &d1)?;
    dset1.write_attr("units", "counts")?;
    dset1.write_attr("scale", &[1.0f64, 0.5, 0.25])?;
    dset1.write_attr("valid_max", &99i64)?;
    f.close()?;
    let f = File::open(&second)?;
    println!("Step 9: attributes");
    println!(
        "  / title = {:?}",
        f.attr("title")?.read_scalar::<String>()?
    );
    let g = f.group("data")?;
    println!(
        "  /data instrument = {:?}",
        g.attr("instrument")?.read_scalar::<String>()?
    );
    let ds = g.dataset("dataset1")?;
    for name in ds.attr_names()? {
        println!("  /data/dataset1 {name} = {}", show(&ds.attr(&name)?)?);
    }
    drop(f);

    // Step 10: transparent compression
    let comp = format!("{dir}/my_compressed_hdf5.hdf5");
    let big = Array2::from_shape_fn((10000, 10), |(j, i)| ((i + j * 10) % 1000) as i64);
    let f = File::create(&comp)?;
    f.write_dataset("plain", &big)?;
    f.new_dataset::<i64>()?
        .deflate(4)
        .shuffle()
        .with_data(&big)
        .create("compressed")?;
    f.close()?;
    let f = File::open(&comp)?;
    let plain = f.dataset("plain")?;
    let packed = f.dataset("compressed")?;
    println!(
        "Step 10: the same {:?} int64 data: {} bytes plain, {} bytes with shuffle + gzip (chunks {:?}); reads back equal: {}",
        plain.shape(),
        plain.storage_size()?,
        packed.storage_size()?,
        packed.chunks().unwrap_or_default(),
        packed.read::<i64, Ix2>()? == big
    );
    Ok(())
}

/// An attribute's values as text: strings quoted, numbers as numbers.
fn show(a: &Attribute) -> Result<String> {
    let items: Vec<String> = match a.dtype() {
        Datatype::String { .. } | Datatype::VarLenString { .. } => a
            .read_raw::<String>()?
            .into_iter()
            .map(|s| format!("{s:?}"))
            .collect(),
        Datatype::Float { .. } => a
            .read_raw::<f64>()?
            .into_iter()
            .map(|v| v.to_string())
            .collect(),
        _ => a
            .read_raw::<i64>()?
            .into_iter()
            .map(|v| v.to_string())
            .collect(),
    };
    Ok(if a.shape().is_empty() {
        items.join(", ")
    } else {
        format!("[{}]", items.join(", "))
    })
}
