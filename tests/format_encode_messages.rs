//! Byte-exactness of the message encoders against what libhdf5 wrote: every
//! header message of an encodable kind in every fixture is decoded, encoded
//! again with the same version, and compared with the original bytes (the
//! header may add trailing zero padding, nothing else may differ).

use h5rs::format::object_header::{ObjectHeader, msg};
use h5rs::format::superblock::Superblock;
use h5rs::format::{FileCtx, Sizes};
use h5rs::{File, Limits};

/// One header message as stored.
struct Stored {
    file: String,
    kind: u16,
    flags: u8,
    addr: u64,
    data: Vec<u8>,
    sizes: Sizes,
}

fn fixture_messages() -> Vec<Stored> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "h5"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for path in names {
        let bytes = std::fs::read(&path).unwrap();
        let sb = Superblock::read(&bytes).unwrap();
        let file = File::from_bytes(bytes.clone()).unwrap();
        let mut addrs = vec![sb.root];
        file.root()
            .unwrap()
            .visit_items(|_, obj| {
                addrs.push(obj.addr());
                None::<()>
            })
            .unwrap();
        if let Some(ext) = sb.extension {
            addrs.push(ext);
        }
        addrs.sort();
        addrs.dedup();
        let ctx = FileCtx {
            data: &bytes,
            base: sb.base_address,
            sizes: sb.sizes,
            limits: Limits::default(),
        };
        for a in addrs {
            let oh = ObjectHeader::read(&ctx, a).unwrap();
            for m in oh.messages {
                out.push(Stored {
                    file: path.file_name().unwrap().to_string_lossy().into_owned(),
                    kind: m.kind,
                    flags: m.flags,
                    addr: m.addr,
                    data: m.data.clone(),
                    sizes: sb.sizes,
                });
            }
        }
    }
    out
}

fn cur(m: &Stored) -> h5rs::format::Cursor<'_> {
    h5rs::format::Cursor::new(&m.data, m.addr, m.sizes)
}

/// Compares a re-encoding with the stored bytes: equal, or equal up to
/// trailing zeros the header added.
fn same(stored: &[u8], encoded: &[u8]) -> bool {
    stored.len() >= encoded.len()
        && &stored[..encoded.len()] == encoded
        && stored[encoded.len()..].iter().all(|&b| b == 0)
}

/// Runs `enc` over every stored message of `kind`, returns (exact, total)
/// and prints the first differences.
fn check(kind: u16, enc: impl Fn(&Stored) -> Option<Vec<u8>>) -> (usize, usize) {
    let mut exact = 0;
    let mut total = 0;
    for m in fixture_messages().iter().filter(|m| m.kind == kind) {
        if m.flags & 0x02 != 0 {
            continue; // a shared-message reference, checked with `shared`
        }
        total += 1;
        match enc(m) {
            Some(b) if same(&m.data, &b) => exact += 1,
            other => {
                if total - exact <= 5 {
                    eprintln!(
                        "kind {kind:#x} {} @{:#x}\n  stored  {:02x?}\n  encoded {:02x?}",
                        m.file, m.addr, m.data, other
                    );
                }
            }
        }
    }
    eprintln!("kind {kind:#x}: {exact}/{total} byte-exact");
    (exact, total)
}

#[test]
fn dataspace_exact() {
    use h5rs::format::dataspace::Dataspace;
    let (exact, total) = check(msg::DATASPACE, |m| {
        let s = Dataspace::from_message(&m.data, m.addr, m.sizes).ok()?;
        Some(s.encode(m.data[0], m.sizes))
    });
    assert_eq!(exact, total);
}

#[test]
fn small_messages_exact() {
    use h5rs::format::messages::{AttributeInfo, GroupInfo, LinkInfo, SymbolTableMessage};
    let r = [
        check(msg::LINK_INFO, |m| {
            Some(LinkInfo::decode(&mut cur(m)).ok()?.encode(m.sizes))
        }),
        check(msg::ATTRIBUTE_INFO, |m| {
            Some(AttributeInfo::decode(&mut cur(m)).ok()?.encode(m.sizes))
        }),
        check(msg::GROUP_INFO, |m| {
            Some(GroupInfo::decode(&mut cur(m)).ok()?.encode())
        }),
        check(msg::SYMBOL_TABLE, |m| {
            Some(
                SymbolTableMessage::decode(&mut cur(m))
                    .ok()?
                    .encode(m.sizes),
            )
        }),
    ];
    for (exact, total) in r {
        assert_eq!(exact, total);
    }
}

#[test]
fn shared_refs_exact() {
    use h5rs::format::Cursor;
    use h5rs::format::shared::SharedRef;
    let mut exact = 0;
    let mut total = 0;
    for m in fixture_messages() {
        if m.flags & 0x02 == 0 {
            continue;
        }
        total += 1;
        let r = SharedRef::decode(&mut Cursor::new(&m.data, m.addr, m.sizes)).unwrap();
        let b = r.encode(m.data[0], m.sizes);
        if same(&m.data, &b) {
            exact += 1;
        } else {
            eprintln!(
                "shared {} @{:#x}: {:02x?} vs {:02x?}",
                m.file, m.addr, m.data, b
            );
        }
    }
    eprintln!("shared references: {exact}/{total} byte-exact");
    assert_eq!(exact, total);
}

#[test]
fn fill_value_exact() {
    use h5rs::format::fill_value::FillValue;
    let (exact, total) = check(msg::FILL, |m| {
        Some(FillValue::decode(&mut cur(m)).ok()?.encode(m.data[0]))
    });
    assert_eq!(exact, total);
}

#[test]
fn filter_pipeline_exact() {
    use h5rs::format::filter_pipeline;
    let (exact, total) = check(msg::FILTER_PIPELINE, |m| {
        Some(filter_pipeline::encode(
            &filter_pipeline::decode(&mut cur(m)).ok()?,
            m.data[0],
        ))
    });
    assert_eq!(exact, total);
}

#[test]
fn link_exact() {
    use h5rs::format::link::Link;
    let (exact, total) = check(msg::LINK, |m| {
        Some(
            Link::from_message(&m.data, m.addr, m.sizes)
                .ok()?
                .encode(m.sizes),
        )
    });
    assert_eq!(exact, total);
}

#[test]
fn layout_exact() {
    use h5rs::format::layout::Layout;
    let (exact, total) = check(msg::LAYOUT, |m| {
        Some(
            Layout::from_message(&m.data, m.addr, m.sizes)
                .ok()?
                .encode(m.data[0], m.sizes),
        )
    });
    assert_eq!(exact, total);
}

#[test]
fn attribute_exact() {
    use h5rs::format::attribute::AttributeMessage;
    let (exact, total) = check(msg::ATTRIBUTE, |m| {
        Some(
            AttributeMessage::decode(&mut cur(m))
                .ok()?
                .encode(m.data[0]),
        )
    });
    assert_eq!(exact, total);
}

#[test]
fn datatype_exact() {
    use h5rs::format::datatype::Datatype;
    let (exact, total) = check(msg::DATATYPE, |m| {
        let dt = Datatype::from_message(&m.data, m.addr, m.sizes).ok()?;
        // what the file's format bounds asked for: 5 where libhdf5 2.0
        // wrote its latest versions, 1 otherwise
        let req = if m.data[0] >> 4 == 5 && m.data[0] & 0x0f != 11 {
            5
        } else {
            1
        };
        Some(dt.encode(req))
    });
    assert_eq!(exact, total);
}

/// The datatypes and dataspaces inside attribute messages re-encode too.
#[test]
fn attribute_parts_exact() {
    use h5rs::format::attribute::AttributeMessage;
    use h5rs::format::dataspace::Dataspace;
    use h5rs::format::datatype::Datatype;
    let mut exact = 0;
    let mut total = 0;
    for m in fixture_messages() {
        if m.kind != msg::ATTRIBUTE || m.flags & 0x02 != 0 {
            continue;
        }
        let a = AttributeMessage::decode(&mut cur(&m)).unwrap();
        if !a.shared_type {
            total += 1;
            let dt = Datatype::from_message(&a.dtype, m.addr, m.sizes).unwrap();
            let req = if a.dtype[0] >> 4 == 5 && a.dtype[0] & 0x0f != 11 {
                5
            } else {
                1
            };
            if dt.encode(req) == a.dtype {
                exact += 1;
            } else {
                eprintln!("attribute type {} {:02x?}", m.file, a.dtype);
            }
        }
        if !a.shared_space {
            total += 1;
            let s = Dataspace::from_message(&a.space, m.addr, m.sizes).unwrap();
            if s.encode(a.space[0], m.sizes) == a.space {
                exact += 1;
            } else {
                eprintln!("attribute space {} {:02x?}", m.file, a.space);
            }
        }
    }
    eprintln!("attribute parts: {exact}/{total} byte-exact");
    assert_eq!(exact, total);
}
