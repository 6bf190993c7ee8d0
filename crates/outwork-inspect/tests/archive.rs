//! Archive extraction: findings, paths, hashes, and that every limit holds.
//! Fixtures are built in code (zip's ZipWriter, flate2, tar::Builder).

// Test helpers (outside #[test] functions) may unwrap too: a panic is
// the failure report.
#![allow(clippy::unwrap_used)]

use std::io::{Cursor, Write};
use std::time::{Duration, Instant};

use outwork_inspect::{Finding, Limits, inspect, is_archive};
use sha2::{Digest, Sha256};
use zip::unstable::write::FileOptionsExt;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

fn sha(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

fn opts(method: CompressionMethod) -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(method)
}

fn zip_with(entries: &[(&str, &[u8])], options: SimpleFileOptions) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data) in entries {
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, opts(CompressionMethod::Deflated))
}

fn run(name: &str, data: &[u8], passwords: &[&str]) -> Vec<Finding> {
    run_with(name, data, passwords, &Limits::default())
}

fn run_with(name: &str, data: &[u8], passwords: &[&str], limits: &Limits) -> Vec<Finding> {
    let pw: Vec<String> = passwords.iter().map(|s| s.to_string()).collect();
    inspect(name, data, &pw, limits)
}

fn members(f: &[Finding]) -> Vec<(&str, u64)> {
    f.iter()
        .filter_map(|f| match f {
            Finding::Member { path, size, .. } => Some((path.as_str(), *size)),
            _ => None,
        })
        .collect()
}

fn limits_of(f: &[Finding]) -> Vec<(&str, &str)> {
    f.iter()
        .filter_map(|f| match f {
            Finding::Limit { path, what } => Some((path.as_str(), what.as_str())),
            _ => None,
        })
        .collect()
}

fn malformed(f: &[Finding]) -> usize {
    f.iter()
        .filter(|f| matches!(f, Finding::Malformed { .. }))
        .count()
}

fn timed<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    let took = t.elapsed();
    assert!(took < Duration::from_secs(10), "{what} took {took:?}");
    r
}

#[test]
fn detects_archive_magics() {
    assert!(is_archive(b"PK\x03\x04rest"));
    assert!(is_archive(
        b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
    ));
    assert!(is_archive(b"PK\x07\x08PK\x03\x04"));
    assert!(is_archive(&[0x1f, 0x8b, 8, 0]));
    assert!(is_archive(b"Rar!\x1a\x07\x00"));
    assert!(is_archive(b"Rar!\x1a\x07\x01\x00"));
    assert!(is_archive(&[0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4]));
    let mut tar = vec![0u8; 512];
    tar[257..263].copy_from_slice(b"ustar\0");
    assert!(is_archive(&tar));
    for off in [0x8001usize, 0x8801, 0x9001] {
        let mut iso = vec![0u8; off + 5];
        iso[off..off + 5].copy_from_slice(b"CD001");
        assert!(is_archive(&iso), "iso at {off:#x}");
    }
    assert!(!is_archive(b""));
    assert!(!is_archive(b"PK"));
    assert!(!is_archive(b"MZ\x90\0"));
    assert!(!is_archive(b"%PDF-1.7"));
}

#[test]
fn zip_with_exe_and_nested_zip() {
    let exe = b"MZ\x90\0this program cannot be run in DOS mode".repeat(10);
    let txt = b"hello from inside".to_vec();
    let inner = zip_of(&[("a.txt", &txt)]);
    let outer = zip_of(&[
        ("docs/", b""),
        ("docs/invoice.pdf.exe", &exe),
        ("inner.zip", &inner),
    ]);
    let f = run("mail.zip", &outer, &[]);

    assert!(
        f.contains(&Finding::Member {
            path: "mail.zip!docs/invoice.pdf.exe".into(),
            size: exe.len() as u64,
            sha256: sha(&exe)
        }),
        "{f:#?}"
    );
    assert!(f.contains(&Finding::Member {
        path: "mail.zip!inner.zip".into(),
        size: inner.len() as u64,
        sha256: sha(&inner)
    }));
    assert!(f.contains(&Finding::NestedArchive {
        path: "mail.zip!inner.zip".into(),
        depth: 2
    }));
    assert!(f.contains(&Finding::Member {
        path: "mail.zip!inner.zip!a.txt".into(),
        size: txt.len() as u64,
        sha256: sha(&txt)
    }));
    // Directories are not members; nothing else is reported.
    assert_eq!(members(&f).len(), 3, "{f:#?}");
    assert!(limits_of(&f).is_empty() && malformed(&f) == 0, "{f:#?}");
}

#[test]
fn stored_entries_work_too() {
    let data = b"plain stored bytes".to_vec();
    let z = zip_with(&[("s.bin", &data)], opts(CompressionMethod::Stored));
    let f = run("s.zip", &z, &[]);
    assert_eq!(
        f,
        vec![Finding::Member {
            path: "s.zip!s.bin".into(),
            size: data.len() as u64,
            sha256: sha(&data)
        }]
    );
}

fn encrypted_zip(password: &[u8], entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(
        entries,
        opts(CompressionMethod::Deflated).with_deprecated_encryption(password),
    )
}

#[test]
fn zipcrypto_opened_with_password_from_message() {
    let a = b"MZ payload one".repeat(50);
    let b = b"second member".to_vec();
    let z = encrypted_zip(b"Inv2024!", &[("payload.exe", &a), ("readme.txt", &b)]);
    let f = run("secure.zip", &z, &["wrong", "alsowrong", "Inv2024!"]);

    let enc: Vec<_> = f
        .iter()
        .filter(|f| matches!(f, Finding::EncryptedArchive { .. }))
        .collect();
    assert_eq!(
        enc,
        vec![&Finding::EncryptedArchive {
            path: "secure.zip".into(),
            password: Some("Inv2024!".into())
        }],
        "{f:#?}"
    );
    assert!(f.contains(&Finding::Member {
        path: "secure.zip!payload.exe".into(),
        size: a.len() as u64,
        sha256: sha(&a)
    }));
    assert!(f.contains(&Finding::Member {
        path: "secure.zip!readme.txt".into(),
        size: b.len() as u64,
        sha256: sha(&b)
    }));
    assert!(
        !f.iter().any(|f| matches!(f, Finding::Listed { .. })),
        "{f:#?}"
    );
}

#[test]
fn zipcrypto_wrong_or_no_password_lists_names() {
    let z = encrypted_zip(
        b"right",
        &[("payload.exe", b"MZ secret"), ("dir/b.js", b"eval(1)")],
    );
    for pws in [&["wrong", "nope", "12345"][..], &[][..]] {
        let f = run("locked.zip", &z, pws);
        assert_eq!(
            f,
            vec![
                Finding::EncryptedArchive {
                    path: "locked.zip".into(),
                    password: None
                },
                Finding::Listed {
                    path: "locked.zip".into(),
                    format: "zip (encrypted)".into(),
                    members: vec!["payload.exe".into(), "dir/b.js".into()]
                },
            ],
            "passwords {pws:?}"
        );
    }
}

#[test]
fn passwords_are_bounded() {
    let z = encrypted_zip(b"late", &[("a.txt", b"x")]);
    // The right password is the 21st candidate: not tried.
    let mut many: Vec<String> = (0..20).map(|i| format!("wrong{i}")).collect();
    many.push("late".into());
    let pw: Vec<&str> = many.iter().map(String::as_str).collect();
    let f = run("p.zip", &z, &pw);
    assert!(
        f.contains(&Finding::EncryptedArchive {
            path: "p.zip".into(),
            password: None
        }),
        "{f:#?}"
    );
    // Overlong candidates are skipped without using up a slot.
    let long = "x".repeat(65);
    let z2 = encrypted_zip(long.as_bytes(), &[("a.txt", b"x")]);
    let f = run("p.zip", &z2, &[&long]);
    assert!(
        f.contains(&Finding::EncryptedArchive {
            path: "p.zip".into(),
            password: None
        }),
        "{f:#?}"
    );
}

/// A zip with one entry of `size` zeros, streamed into the writer.
fn zero_bomb(size: usize) -> Vec<u8> {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    w.start_file(
        "zeros.bin",
        opts(CompressionMethod::Deflated).compression_level(Some(9)),
    )
    .unwrap();
    let chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len());
        w.write_all(&chunk[..n]).unwrap();
        left -= n;
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn flat_zip_bomb_is_not_inflated() {
    let bomb = zero_bomb(100 << 20);
    assert!(bomb.len() < 2 << 20, "fixture is {} bytes", bomb.len());
    let f = timed("flat bomb", || run("bomb.zip", &bomb, &[]));
    let l = limits_of(&f);
    assert_eq!(l.len(), 1, "{f:#?}");
    assert_eq!(l[0].0, "bomb.zip!zeros.bin", "{l:?}");
    assert!(l[0].1.contains("zip bomb"), "{l:?}");
    assert!(members(&f).is_empty());
}

/// Patch every central-directory record's uncompressed size.
fn patch_central_sizes(z: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 46 <= z.len() {
        if &z[i..i + 4] == b"PK\x01\x02" {
            z[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
            i += 46;
        } else {
            i += 1;
        }
    }
}

#[test]
fn lying_declared_size_is_capped() {
    // 2 MiB of zeros declared as 1000 bytes: read stops at 1001.
    let mut z = zero_bomb(2 << 20);
    patch_central_sizes(&mut z, 1000);
    let f = timed("liar", || run("liar.zip", &z, &[]));
    let l = limits_of(&f);
    assert_eq!(l.len(), 1, "{f:#?}");
    assert!(l[0].1.contains("declared 1000 bytes"), "{l:?}");
    assert!(members(&f).is_empty());
}

#[test]
fn nested_zip_bomb_stops_at_max_depth() {
    let mut z = zip_of(&[("core.txt", b"bottom")]);
    for level in (1..10).rev() {
        z = zip_of(&[(&format!("level{level}.zip"), &z)]);
    }
    let f = timed("nested", || run("n.zip", &z, &[]));
    let max = Limits::default().max_depth;
    let nested: Vec<usize> = f
        .iter()
        .filter_map(|f| match f {
            Finding::NestedArchive { depth, .. } => Some(*depth),
            _ => None,
        })
        .collect();
    assert_eq!(nested, (2..=max + 1).collect::<Vec<_>>(), "{f:#?}");
    let l = limits_of(&f);
    assert_eq!(l.len(), 1, "{f:#?}");
    assert_eq!(l[0].0, "n.zip!level1.zip!level2.zip!level3.zip!level4.zip");
    assert!(l[0].1.contains("nesting deeper than 4"));
    assert!(!members(&f).iter().any(|(p, _)| p.ends_with("core.txt")));
}

#[test]
fn ten_thousand_entries_hit_entry_limit() {
    let mut w = ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..10_000 {
        w.start_file(format!("f{i}.txt"), opts(CompressionMethod::Stored))
            .unwrap();
        w.write_all(b"x").unwrap();
    }
    let z = w.finish().unwrap().into_inner();
    let f = timed("10k entries", || run("many.zip", &z, &[]));
    assert_eq!(members(&f).len(), Limits::default().max_entries);
    assert_eq!(limits_of(&f), vec![("many.zip", "more than 2000 entries")]);
}

#[test]
fn byte_budget_lists_what_it_skips() {
    let big = vec![7u8; 3000];
    let z = zip_of(&[("a.bin", &big), ("b.bin", &big), ("c.bin", &big)]);
    let limits = Limits {
        max_total_bytes: 5000,
        ..Limits::default()
    };
    let f = run_with("b.zip", &z, &[], &limits);
    assert_eq!(members(&f), vec![("b.zip!a.bin", 3000)]);
    assert_eq!(
        limits_of(&f),
        vec![("b.zip", "more than 5000 bytes extracted")]
    );
    assert!(f.contains(&Finding::Listed {
        path: "b.zip".into(),
        format: "zip (not extracted)".into(),
        members: vec!["b.bin".into(), "c.bin".into()]
    }));
}

#[test]
fn truncated_zips_never_panic_and_keep_early_members() {
    let a = b"first member content".repeat(20);
    let b = vec![0x55u8; 4000];
    let z = zip_with(
        &[("a.txt", &a), ("b.bin", &b)],
        opts(CompressionMethod::Stored),
    );
    for cut in [
        0,
        1,
        3,
        4,
        10,
        29,
        30,
        31,
        100,
        a.len() + 30,
        a.len() + 50,
        z.len() / 2,
        z.len() - 30,
        z.len() - 22,
        z.len() - 1,
    ] {
        let f = timed("truncated", || run("t.zip", &z[..cut.min(z.len())], &[]));
        if cut >= 4 {
            assert!(malformed(&f) >= 1, "cut {cut}: {f:#?}");
        }
        // The central directory is gone: local headers still give `a.txt`.
        if cut >= a.len() + 50 {
            assert!(
                f.contains(&Finding::Member {
                    path: "t.zip!a.txt".into(),
                    size: a.len() as u64,
                    sha256: sha(&a)
                }),
                "cut {cut}: {f:#?}"
            );
        }
    }
}

#[test]
fn local_header_magic_then_garbage() {
    let f = run("g.zip", b"PK\x03\x04", &[]);
    assert_eq!(malformed(&f), 1, "{f:#?}");
    let mut junk = b"PK\x03\x04".to_vec();
    junk.extend((0..5000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8));
    let f = timed("garbage", || run("g.zip", &junk, &[]));
    assert!(malformed(&f) >= 1, "{f:#?}");
    assert!(members(&f).is_empty());
}

#[test]
fn mutated_archives_never_panic() {
    let tgz = targz(&[("a.txt", b"alpha"), ("b/c.txt", b"charlie")], None);
    let zips = [
        zip_of(&[
            ("a.txt", b"alpha".as_slice()),
            ("n.zip", &zip_of(&[("x", b"y")])),
        ]),
        encrypted_zip(b"pw", &[("e.txt", b"enc")]),
        tgz,
    ];
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let t = Instant::now();
    for base in &zips {
        for _ in 0..300 {
            let mut m = base.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % m.len() as u64) as usize;
                m[i] = next() as u8;
            }
            let cut = m.len() - (next() % 8) as usize * (next() % 2) as usize;
            let _ = run("m.zip", &m[..cut], &["pw"]);
        }
    }
    assert!(t.elapsed() < Duration::from_secs(10));
}

fn targz(files: &[(&str, &[u8])], gz_name: Option<&str>) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, *data).unwrap();
    }
    let tar = b.into_inner().unwrap();
    let mut gb = flate2::GzBuilder::new();
    if let Some(n) = gz_name {
        gb = gb.filename(n);
    }
    let mut enc = gb.write(Vec::new(), flate2::Compression::default());
    enc.write_all(&tar).unwrap();
    enc.finish().unwrap()
}

#[test]
fn gzip_of_tar_with_two_files() {
    let (a, c) = (b"alpha".as_slice(), b"charlie, MZ".as_slice());
    let tgz = targz(&[("a.txt", a), ("b/c.exe", c)], None);
    let f = run("files.tar.gz", &tgz, &[]);
    let m = members(&f);
    assert_eq!(m.len(), 3, "{f:#?}");
    assert_eq!(m[0].0, "files.tar.gz!files.tar");
    assert!(f.contains(&Finding::Member {
        path: "files.tar.gz!files.tar!a.txt".into(),
        size: 5,
        sha256: sha(a)
    }));
    assert!(f.contains(&Finding::Member {
        path: "files.tar.gz!files.tar!b/c.exe".into(),
        size: c.len() as u64,
        sha256: sha(c)
    }));
    // A .tar.gz is one archive, not a nested one.
    assert!(
        !f.iter().any(|f| matches!(f, Finding::NestedArchive { .. })),
        "{f:#?}"
    );

    // The gzip header's name wins; .tgz maps to .tar otherwise.
    let named = targz(&[("a.txt", a)], Some("orig/backup.tar"));
    assert_eq!(members(&run("x.gz", &named, &[]))[0].0, "x.gz!backup.tar");
    assert_eq!(members(&run("y.tgz", &tgz, &[]))[0].0, "y.tgz!y.tar");
}

#[test]
fn gzip_of_exe_and_gzip_bomb() {
    let exe = b"MZ not really".to_vec();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&exe).unwrap();
    let gz = enc.finish().unwrap();
    let f = run("inv.exe.gz", &gz, &[]);
    assert_eq!(
        f,
        vec![Finding::Member {
            path: "inv.exe.gz!inv.exe".into(),
            size: exe.len() as u64,
            sha256: sha(&exe)
        }]
    );

    // 20 MiB of zeros at best compression (as bombs are made; every
    // flate2 backend then reaches a ratio ~1000) → stopped early.
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let chunk = vec![0u8; 1 << 20];
    for _ in 0..20 {
        enc.write_all(&chunk).unwrap();
    }
    let bomb = enc.finish().unwrap();
    let f = timed("gzip bomb", || run("z.gz", &bomb, &[]));
    let l = limits_of(&f);
    assert_eq!(l.len(), 1, "{f:#?}");
    assert!(l[0].1.contains("gzip bomb"), "{l:?}");

    // Truncated gzip: Malformed, no panic.
    let f = run("t.gz", &gz[..gz.len() / 2], &[]);
    assert_eq!(malformed(&f), 1, "{f:#?}");
}

#[test]
fn plain_tar_and_truncated_tar() {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in [("one.txt", b"1111".as_slice()), ("two.bin", &[2u8; 1500])] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    }
    let t = b.into_inner().unwrap();
    let f = run("a.tar", &t, &[]);
    assert_eq!(
        members(&f),
        vec![("a.tar!one.txt", 4), ("a.tar!two.bin", 1500)]
    );
    // Cut inside two.bin's data.
    let f = run("a.tar", &t[..1024 + 512 + 700], &[]);
    assert_eq!(members(&f), vec![("a.tar!one.txt", 4)]);
    assert_eq!(malformed(&f), 1, "{f:#?}");
}

#[test]
fn office_zip_is_also_given_to_content() {
    // Members are listed like any zip; content.rs gets the whole package too
    // (whatever it reports is its business; here we only check no panic and members).
    let z = zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("word/document.xml", b"<w:document/>"),
    ]);
    let f = run("a.docx", &z, &[]);
    let m = members(&f);
    assert!(
        m.contains(&("a.docx![Content_Types].xml", 8))
            && m.contains(&("a.docx!word/document.xml", 13)),
        "{f:#?}"
    );
}

/// A minimal RAR5 archive: main header, one file header, end header.
fn rar5(names: &[&str]) -> Vec<u8> {
    fn block(out: &mut Vec<u8>, body: &[u8]) {
        out.extend_from_slice(&[0, 0, 0, 0]); // CRC (not checked)
        out.push(body.len() as u8);
        out.extend_from_slice(body);
    }
    let mut r = b"Rar!\x1a\x07\x01\x00".to_vec();
    block(&mut r, &[1, 0, 0]); // main: type 1, flags 0, archive flags 0
    for n in names {
        // type 2, flags 2 (data area), data size 3, file flags 0, unpacked 3,
        // attrs 0, comp 0, os 0, name len, name
        let mut body = vec![2, 2, 3, 0, 3, 0, 0, 0, n.len() as u8];
        body.extend_from_slice(n.as_bytes());
        block(&mut r, &body);
        r.extend_from_slice(b"abc");
    }
    block(&mut r, &[5, 0, 0]);
    r
}

#[test]
fn rar_is_listed_by_name() {
    let r = rar5(&["invoice.exe", "docs/readme.txt"]);
    let f = run("x.rar", &r, &[]);
    assert_eq!(
        f,
        vec![Finding::Listed {
            path: "x.rar".into(),
            format: "rar".into(),
            members: vec!["invoice.exe".into(), "docs/readme.txt".into()]
        }]
    );
    // Truncated: names so far + Malformed.
    let f = run("x.rar", &r[..r.len() - 25], &[]);
    assert!(
        f.contains(&Finding::Listed {
            path: "x.rar".into(),
            format: "rar".into(),
            members: vec!["invoice.exe".into()]
        }),
        "{f:#?}"
    );
    assert_eq!(malformed(&f), 1);
    let f = run("x.rar", b"Rar!\x1a\x07\x00", &[]);
    assert!(
        f.iter()
            .any(|f| matches!(f, Finding::Listed { format, .. } if format == "rar"))
    );
}

#[test]
fn sevenz_is_listed() {
    let mut s = vec![0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4];
    s.extend_from_slice(&[0; 4]); // start header CRC
    s.extend_from_slice(&0u64.to_le_bytes()); // next header offset
    s.extend_from_slice(&4u64.to_le_bytes()); // next header size
    s.extend_from_slice(&[0; 4]);
    s.extend_from_slice(&[0x06, 0xf1, 0x07, 0x01]); // an AES coder id
    let f = run("x.7z", &s, &[]);
    assert_eq!(
        f,
        vec![
            Finding::EncryptedArchive {
                path: "x.7z".into(),
                password: None
            },
            Finding::Listed {
                path: "x.7z".into(),
                format: "7z".into(),
                members: vec![]
            },
            Finding::Limit {
                path: "x.7z".into(),
                what: "7z members are not listed or extracted: contents not inspected".into(),
            },
        ]
    );
}

/// A minimal ISO 9660 image: PVD at sector 16, root dir at sector 18
/// holding `files` and a subdirectory at sector 19 holding `sub/inner.exe`.
fn iso(files: &[&str]) -> Vec<u8> {
    fn record(lba: u32, size: u32, dir: bool, name: &[u8]) -> Vec<u8> {
        let len = 33 + name.len() + (name.len() + 1) % 2;
        let mut r = vec![0u8; len];
        r[0] = len as u8;
        r[2..6].copy_from_slice(&lba.to_le_bytes());
        r[10..14].copy_from_slice(&size.to_le_bytes());
        r[25] = if dir { 2 } else { 0 };
        r[32] = name.len() as u8;
        r[33..33 + name.len()].copy_from_slice(name);
        r
    }
    let mut img = vec![0u8; 2048 * 21];
    let pvd = 16 * 2048;
    img[pvd] = 1;
    img[pvd + 1..pvd + 6].copy_from_slice(b"CD001");
    img[pvd + 6] = 1;
    img[pvd + 128..pvd + 130].copy_from_slice(&2048u16.to_le_bytes());
    img[pvd + 156..pvd + 190].copy_from_slice(&record(18, 2048, true, &[0]));
    let term = 17 * 2048;
    img[term] = 255;
    img[term + 1..term + 6].copy_from_slice(b"CD001");
    let mut root = record(18, 2048, true, &[0]);
    root.extend(record(18, 2048, true, &[1]));
    for f in files {
        root.extend(record(20, 0, false, format!("{f};1").as_bytes()));
    }
    root.extend(record(19, 2048, true, b"SUB"));
    img[18 * 2048..18 * 2048 + root.len()].copy_from_slice(&root);
    let mut sub = record(19, 2048, true, &[0]);
    sub.extend(record(18, 2048, true, &[1]));
    sub.extend(record(20, 0, false, b"INNER.EXE;1"));
    img[19 * 2048..19 * 2048 + sub.len()].copy_from_slice(&sub);
    img
}

#[test]
fn iso_is_listed_by_name() {
    let img = iso(&["INVOICE.PDF", "SETUP.EXE"]);
    let f = run("x.iso", &img, &[]);
    assert_eq!(
        f,
        vec![Finding::Listed {
            path: "x.iso".into(),
            format: "iso".into(),
            members: vec![
                "INVOICE.PDF".into(),
                "SETUP.EXE".into(),
                "SUB/INNER.EXE".into()
            ]
        }]
    );
    // Cut the image inside the root directory: no panic, Malformed reported.
    let f = run("x.iso", &img[..18 * 2048 + 40], &[]);
    assert!(
        malformed(&f) >= 1 || f.iter().any(|f| matches!(f, Finding::Listed { .. })),
        "{f:#?}"
    );
    let f = run("x.iso", &img[..0x8001 + 5], &[]);
    assert_eq!(malformed(&f), 1, "{f:#?}");
}
