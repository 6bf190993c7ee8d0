//! The learned verdict (issue 12) on real messages through the one scanner:
//! explained as symbols that sum to the score, blind to the collection
//! artefacts of the development corpus, and able to tell a phishing copy
//! from the brand's own message with the same words (the benign twin).

use outwork_core::{Action, Config, Context, Verdict};
use outwork_engine::Scanner;
use std::sync::Arc;

const PHISH: &[u8] = include_bytes!("fixtures/honeypot_phish.eml");

/// The built-in model, trusting the topmost Authentication-Results (as a
/// deployment behind its own edge does).
fn scanner() -> Scanner {
    let cfg = Config::from_toml("[auth]\ntrust_topmost = 1\n").expect("config");
    let ctx = Context::new(cfg);
    assert!(ctx.model.is_some(), "the built-in model must load");
    Scanner::offline(Arc::new(ctx))
}

fn score_sum(v: &Verdict) -> f64 {
    (v.symbols.iter().map(|s| s.score).sum::<f64>() * 100.0).round() / 100.0
}

#[test]
fn the_verdict_is_explained_by_its_symbols() {
    let v = scanner()
        .scan(PHISH, &Default::default(), &Default::default())
        .verdict;
    assert_ne!(v.action, Action::Accept, "{:?}", v.symbols);
    assert!((score_sum(&v) - v.score).abs() < 0.02, "{v:?}");
    let words = v
        .symbols
        .iter()
        .find(|s| s.name == "LEARNED_WORDS")
        .expect("LEARNED_WORDS");
    assert!(words.score > 0.0);
    // Evidence a person can check: a field, the words, a signed weight.
    assert!(
        words
            .evidence
            .iter()
            .all(|e| e.contains('\'') && (e.contains(" +") || e.contains(" -"))),
        "{:?}",
        words.evidence
    );
    // The honeypot's address is the recipient, never a word.
    assert!(
        v.symbols
            .iter()
            .flat_map(|s| &s.evidence)
            .filter(|e| e.contains("text '") || e.contains("subject '"))
            .all(|e| !e.contains("phishing") && !e.contains("pot'")),
        "{:?}",
        v.symbols
    );
}

/// The corpus README's two artefacts: `phishing@pot` and the receiving
/// tenant's headers. Rewritten, the verdict must not move.
#[test]
fn rewriting_the_collection_artefacts_changes_no_verdict() {
    let text = String::from_utf8_lossy(PHISH).into_owned();
    let rewritten: String = text
        .replace("phishing@pot", "dana.lee@example-corp.test")
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            !(l.starts_with("x-ms-")
                || l.starts_with("x-microsoft-")
                || l.starts_with("x-forefront-")
                || l.starts_with("x-eop")
                || l.starts_with("x-originatororg"))
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    // The tenant's own Received hop goes too (its two lines).
    let rewritten = rewritten.replacen(
        "Received: from AM9P191MB1234.EURP191.PROD.OUTLOOK.COM (2603:10a6:20b:3e1::9)\r\n by PH0PR11MB5678.namprd11.prod.outlook.com with HTTPS; Tue, 3 Sep 2024 08:12:44 +0000\r\n",
        "",
        1,
    );
    assert!(!rewritten.contains("phishing@pot") && !rewritten.contains("X-MS-"));
    let s = scanner();
    let a = s
        .scan(PHISH, &Default::default(), &Default::default())
        .verdict;
    let b = s
        .scan(
            rewritten.as_bytes(),
            &Default::default(),
            &Default::default(),
        )
        .verdict;
    assert_eq!(a.action, b.action);
    assert!(
        (a.score - b.score).abs() < 1e-9,
        "{} vs {}",
        a.score,
        b.score
    );
}

#[test]
fn the_benign_twin_is_accepted() {
    let s = scanner();
    let twin = outwork_redteam::benign_twin(PHISH).expect("MetaMask is a catalogued brand");
    let v = s
        .scan(&twin, &Default::default(), &Default::default())
        .verdict;
    assert_eq!(v.action, Action::Accept, "{:?}", v.symbols);
    assert!(
        v.symbols
            .iter()
            .any(|s| s.name == "FROM_BRAND_AUTHENTICATED")
    );
}

#[test]
fn model_off_is_the_hand_set_scoring() {
    let cfg =
        Config::from_toml("[auth]\ntrust_topmost = 1\n[model]\nenabled = false\n").expect("config");
    let s = Scanner::offline(Arc::new(Context::new(cfg)));
    let v = s
        .scan(PHISH, &Default::default(), &Default::default())
        .verdict;
    assert!(v.symbols.iter().all(|s| !s.name.starts_with("LEARNED_")));
    for sym in &v.symbols {
        let hand = outwork_core::lookup_symbol(sym.name).map_or(0.0, |d| d.weight);
        assert_eq!(sym.score, hand, "{}", sym.name);
    }
}
