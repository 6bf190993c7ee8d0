//! The hostile-senders attacks on the scanner itself (issue 17): each
//! message here once kept a scan busy for seconds to minutes. Now each
//! ends in a verdict that says what was skipped (INSPECT_BUDGET).

use outwork_core::{Config, Context, Verdict};
use outwork_engine::{Envelope, Scanner};
use outwork_redteam::hostile;
use std::sync::Arc;

fn scanner() -> Scanner {
    Scanner::offline(Arc::new(Context::new(Config::default())))
}

fn evidence(v: &Verdict, name: &str) -> Vec<String> {
    v.symbols
        .iter()
        .filter(|s| s.name == name)
        .flat_map(|s| s.evidence.clone())
        .collect()
}

fn urls_decoded(v: &Verdict) -> bool {
    v.symbols
        .iter()
        .flat_map(|s| &s.evidence)
        .any(|e| e.contains("q.example"))
}

#[test]
fn qr_bomb_zip_is_refused_from_the_image_header() {
    // 600 copies of a 4096×4096 PNG: minutes of decoding before.
    let v = scanner()
        .scan(
            &hostile::qr_bomb_zip(600),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    let ev = evidence(&v, "INSPECT_BUDGET");
    assert_eq!(ev.len(), 1, "one finding for all copies: {ev:?}");
    assert!(ev[0].contains("4096×4096"), "{ev:?}");
}

#[test]
fn inline_images_stop_at_the_pixel_budget() {
    // No time budget here: a slow debug build must reach the pixel budget.
    let mut config = Config::default();
    config.limits.max_inspect_ms = 600_000;
    let s = Scanner::offline(Arc::new(Context::new(config)));
    let v = s
        .scan(
            &hostile::inline_images(24, 2048),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    let ev = evidence(&v, "INSPECT_BUDGET");
    assert!(
        ev.iter().any(|e| e.contains("max_decoded_pixels")),
        "{ev:?}"
    );
}

#[test]
fn image_count_budget_and_copies_counted_once() {
    let mut config = Config::default();
    config.limits.max_images = 3;
    let s = Scanner::offline(Arc::new(Context::new(config)));
    // Ten copies of one small image count once: no budget symbol.
    let png = hostile::blank_png(64, 7);
    let copies: Vec<(&str, String, Vec<u8>)> = (0..10)
        .map(|i| ("image/png", format!("c{i}.png"), png.clone()))
        .collect();
    let v = s
        .scan(
            &hostile::message_with(&copies),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    assert!(evidence(&v, "INSPECT_BUDGET").is_empty(), "{:?}", v.symbols);
    // Five different ones exceed max_images = 3.
    let v = s
        .scan(
            &hostile::inline_images(5, 64),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    let ev = evidence(&v, "INSPECT_BUDGET");
    assert!(ev.iter().any(|e| e.contains("max_images")), "{ev:?}");
}

#[test]
fn a_qr_code_is_still_read_beside_decoy_images() {
    let qr = hostile::qr_png("https://q.example/login");
    let mut parts = vec![("image/png", "code.png".to_string(), qr)];
    for i in 0..5 {
        parts.push(("image/png", format!("d{i}.png"), hostile::blank_png(256, i)));
    }
    let v = scanner()
        .scan(
            &hostile::message_with(&parts),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    assert!(urls_decoded(&v), "QR link not found: {:?}", v.symbols);
    assert!(evidence(&v, "INSPECT_BUDGET").is_empty());
}

#[test]
fn a_passed_deadline_stops_inspection_with_a_verdict() {
    let qr = hostile::qr_png("https://q.example/login");
    let m = hostile::message_with(&[("image/png", "code.png".to_string(), qr)]);
    let s = scanner();
    let past = std::time::Instant::now();
    let opts = outwork_engine::Options {
        deadline: Some(past),
        ..Default::default()
    };
    let v = s.scan(&m, &Envelope::default(), &opts).verdict;
    let ev = evidence(&v, "INSPECT_BUDGET");
    assert!(ev.iter().any(|e| e.contains("time budget")), "{ev:?}");
    assert!(!urls_decoded(&v));
    // The same message with time to spare is read.
    assert!(urls_decoded(
        &s.scan(&m, &Default::default(), &Default::default()).verdict
    ));
}
