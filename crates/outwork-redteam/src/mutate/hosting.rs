//! Link operators that remove traces: `reputable-host` (the page moves to a
//! platform with a good name) and `fresh-domain` (a clean new domain), and
//! the innocuous domain names they and `esp-send` make up.

use super::*;

/// Plain words for made-up names: no brand, no phishing vocabulary.
const FIRST_WORDS: &[&str] = &[
    "amber", "birch", "bright", "calm", "cedar", "clear", "coral", "crisp", "golden", "hazel",
    "ivory", "maple", "meadow", "misty", "noble", "quiet", "silver", "sunny", "willow", "north",
    "harbor", "summit", "copper", "linden", "rowan", "aspen", "juniper", "heather", "bramble",
    "tidal",
];
const SECOND_WORDS: &[&str] = &[
    "brook", "field", "grove", "hill", "lane", "leaf", "path", "peak", "pine", "ridge", "shore",
    "vale", "works", "studio", "craft", "point", "haven", "trail", "garden", "bridge", "yard",
    "house", "stone", "river", "wood", "bay", "crest", "mill", "gate", "row",
];
/// Common TLDs only: none of them is in `outwork_core::ABUSED_TLDS`.
pub(super) const COMMON_TLDS: &[&str] = &["com", "com", "com", "net", "org", "co"];

/// Two plain words, sometimes hyphenated: `willowbrook`, `cedar-lane`.
fn plain_name(rng: &mut Rng) -> String {
    let (a, b) = (rng.pick(FIRST_WORDS), rng.pick(SECOND_WORDS));
    if rng.chance(25) {
        format!("{a}-{b}")
    } else {
        format!("{a}{b}")
    }
}

/// True when the catalogue's brand matcher reads a brand in `name`.
pub(super) fn names_a_brand(name: &str) -> bool {
    let spaced = name.replace(['-', '.'], " ");
    let m = &catalogue_context().brand_matcher;
    !m.counts(name, 256).is_empty() || !m.counts(&spaced, 256).is_empty()
}

/// A plausible, innocuous, newly made registrable domain: two plain words
/// under a common TLD, no digits, no brand (drawn again while the brand
/// matcher reads one), not `avoid`.
pub(super) fn fresh_domain_name(rng: &mut Rng, avoid: &[String]) -> String {
    let mut last = String::new();
    for _ in 0..16 {
        let name = format!("{}.{}", plain_name(rng), rng.pick(COMMON_TLDS));
        if !names_a_brand(&name) && !avoid.contains(&name) {
            return name;
        }
        last = name;
    }
    last
}

/// The one domain the attacker owns for this message (`esp-send` mails
/// from it, `fresh-domain` puts the first link on it): the same for every
/// operator given the same seed, so the two agree when combined.
pub(super) fn attacker_domain(seed: u64) -> String {
    fresh_domain_name(&mut Rng::new(mix(seed ^ fnv(b"attacker-domain"))), &[])
}

pub(super) fn op_fresh_domain(m: &mut Model, ctx: &MutateCtx, notes: &mut Vec<String>) {
    let mut rng = Rng::new(mix(ctx.seed ^ fnv(b"fresh-domain")));
    let first = attacker_domain(ctx.seed);
    // One new domain per registrable domain, in order of appearance.
    let mut memo: HashMap<String, String> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    let changed = change_links(m, "fresh-domain", notes, |url| {
        let range = url_host_range(url)?;
        let parts = domain_parts(url.get(range.clone())?)?;
        let reg = parts.registrable();
        let new = match memo.get(&reg) {
            Some(n) => n.clone(),
            None => {
                let used: Vec<String> = memo.values().cloned().collect();
                let n = if memo.is_empty() {
                    first.clone()
                } else {
                    fresh_domain_name(&mut rng, &used)
                };
                memo.insert(reg.clone(), n.clone());
                order.push((reg.clone(), n.clone()));
                n
            }
        };
        // Subdomains go too: `secure-paypal.login.evil.example` would keep
        // the brand; a fresh site is served from its bare name or `www.`.
        let host = if parts.prefix == "www." {
            format!("www.{new}")
        } else {
            new.clone()
        };
        let old_host = url.get(range.clone()).unwrap_or("").to_string();
        let href = with_host(url, &range, &host);
        let mut visible = vec![(old_host.clone(), host.clone()), (reg.clone(), new.clone())];
        let unicode = idna::domain_to_unicode(&old_host).0;
        if unicode != old_host {
            visible.push((unicode, host.clone()));
        }
        Some(Change {
            text: href.clone(),
            href,
            visible,
        })
    });
    for (old, new) in &order {
        notes.push(format!("fresh-domain: {old} -> {new}"));
    }
    if changed > 0 {
        notes.push(format!("fresh-domain: {changed} link(s) moved"));
    } else if !notes.iter().any(|n| n.starts_with("fresh-domain:")) {
        notes.push("fresh-domain: no link with a usable domain, message unchanged".into());
    }
}

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn code(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| {
            char::from(
                alphabet
                    .get(rng.below(alphabet.len()))
                    .copied()
                    .unwrap_or(b'a'),
            )
        })
        .collect()
}

/// A project or bucket name as people make them: `cedar-lane-4821`.
fn project_name(rng: &mut Rng) -> String {
    format!(
        "{}-{}-{}",
        rng.pick(FIRST_WORDS),
        rng.pick(SECOND_WORDS),
        1000 + rng.below(9000)
    )
}

/// The platforms a hosted credential page moves to: (kind, URL maker).
/// Each is a real, widely used service whose domain has a good name.
pub(super) const PLATFORMS: &[&str] = &[
    "google-forms",
    "microsoft-forms",
    "firebase-hosting",
    "cloudflare-pages",
    "netlify",
    "vercel",
    "cloudflare-workers",
    "firebase-storage",
    "google-cloud-storage",
    "amazon-s3",
    "azure-blob",
    "dropbox",
    "ipfs",
    "github-pages",
    "google-sites",
    "notion",
];

/// A page on `platform` (an index into [`PLATFORMS`]).
pub(super) fn hosted_url(platform: usize, rng: &mut Rng) -> String {
    let lower = b"abcdefghijklmnopqrstuvwxyz234567";
    let hex = b"0123456789abcdef";
    let name = project_name(rng);
    match platform {
        0 => format!(
            "https://docs.google.com/forms/d/e/1FAIpQLS{}/viewform",
            code(rng, ALNUM, 44)
        ),
        1 => format!("https://forms.office.com/r/{}", code(rng, ALNUM, 10)),
        2 => format!("https://{name}.web.app/"),
        3 => format!("https://{name}.pages.dev/"),
        4 => format!("https://{name}.netlify.app/"),
        5 => format!("https://{name}.vercel.app/"),
        6 => format!(
            "https://{}.{}.workers.dev/",
            rng.pick(SECOND_WORDS),
            code(rng, &lower[..26], 8)
        ),
        7 => format!(
            "https://firebasestorage.googleapis.com/v0/b/{name}.appspot.com/o/index.html?alt=media&token={}-{}-{}-{}-{}",
            code(rng, hex, 8),
            code(rng, hex, 4),
            code(rng, hex, 4),
            code(rng, hex, 4),
            code(rng, hex, 12)
        ),
        8 => format!("https://storage.googleapis.com/{name}/index.html"),
        9 => format!("https://{name}.s3.us-east-1.amazonaws.com/index.html"),
        10 => format!(
            "https://{}.blob.core.windows.net/$web/index.html",
            name.replace('-', "")
        ),
        11 => format!(
            "https://www.dropbox.com/scl/fi/{}/Document.html?rlkey={}&dl=0",
            code(rng, &lower[..26], 21),
            code(rng, &lower[..26], 25)
        ),
        12 => format!(
            "https://ipfs.io/ipfs/bafybei{}/index.html",
            code(rng, lower, 52)
        ),
        13 => format!(
            "https://{}{}.github.io/{name}/",
            rng.pick(FIRST_WORDS),
            rng.pick(SECOND_WORDS)
        ),
        14 => format!("https://sites.google.com/view/{name}/home"),
        _ => format!(
            "https://{}.notion.site/Shared-Document-{}",
            name.replace('-', ""),
            code(rng, hex, 32)
        ),
    }
}

pub(super) fn op_reputable_host(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>) {
    // One platform per message (an attacker picks one), one page per
    // registrable domain the message links to.
    let platform = rng.below(PLATFORMS.len());
    let mut memo: HashMap<String, String> = HashMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    let changed = change_links(m, "reputable-host", notes, |url| {
        let range = url_host_range(url)?;
        let host = url.get(range)?;
        let key = domain_parts(host).map_or_else(|| host.to_ascii_lowercase(), |p| p.registrable());
        let page = memo
            .entry(key.clone())
            .or_insert_with(|| {
                let u = hosted_url(platform, rng);
                order.push((key.clone(), u.clone()));
                u
            })
            .clone();
        Some(Change {
            href: page.clone(),
            text: page.clone(),
            visible: vec![(url.to_string(), page.clone()), (host.to_string(), page)],
        })
    });
    if changed > 0 {
        notes.push(format!(
            "reputable-host: {changed} link(s) moved to pages on {}",
            PLATFORMS.get(platform).copied().unwrap_or("")
        ));
        for (old, new) in order {
            notes.push(format!("reputable-host: {old} -> {new}"));
        }
    }
}
