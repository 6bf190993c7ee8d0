//! The compiled deployment context: config plus bundled lists, ready for
//! fast lookups by the signals.

use crate::config::{Config, Limits, Thresholds};
use crate::domain::{registrable_label, skeleton};
use crate::lists;
use aho_corasick::AhoCorasick;
use std::collections::{HashMap, HashSet};

/// A brand as the signals use it (bundled catalogue or config).
pub type BrandEntry = crate::brand::Brand;

/// A registrable label to compare lookalikes against.
pub struct Target {
    /// The registrable domain's label without its suffix (`paypal` for `paypal.co.uk`), lower-case.
    pub label: String,
    /// `label`'s confusable skeleton ([`skeleton`](crate::skeleton)), for homoglyph lookalikes.
    pub skeleton: String,
    /// Index into `brands`, or None for a protected domain.
    pub brand: Option<usize>,
    /// The registrable domain this label comes from (or the protected domain as configured).
    pub domain: String,
}

/// The deployment compiled once for every scan: the config, the bundled lists merged with
/// `[lists]`, the brand catalogue merged with `[deployment.brands]`, the symbol weights, and
/// indexes for the per-message lookups. Build it with [`Context::new`] (or `default()` for the
/// stand-alone scanner); the signals only read it.
pub struct Context {
    /// The config it was built from, as given.
    pub config: Config,
    /// `deployment.protected_domains`, trimmed, lower-cased, trailing dot removed.
    pub protected: Vec<String>,
    /// The bundled brand catalogue, then one brand per `[deployment.brands]` entry (sector
    /// `deployment`).
    pub brands: Vec<BrandEntry>,
    /// Lookalike targets: every protected domain, then the registrable domains of lookalike-target
    /// brands whose label has 5+ characters and is not an ordinary word (each label once).
    pub targets: Vec<Target>,
    /// Every registrable domain a brand or the deployment owns.
    pub owned_domains: HashSet<String>,
    /// Bundled and `lists.shorteners` entries, lower-cased; matched against a link's host or its
    /// registrable domain.
    pub shorteners: HashSet<String>,
    /// Bundled and `lists.free_hosting` entries (`host` or `host/path-prefix`), for
    /// [`Context::host_listed`].
    pub free_hosting: Vec<String>,
    /// Bundled and `lists.form_services` entries (`host` or `host/path-prefix`).
    pub form_services: Vec<String>,
    /// Bundled and `lists.tunnels` entries (`host` or `host/path-prefix`).
    pub tunnels: Vec<String>,
    /// Bundled and `lists.ipfs_gateways` entries (`host` or `host/path-prefix`).
    pub ipfs: Vec<String>,
    /// Bundled and `lists.freemail` domains, lower-cased; matched as whole domains.
    pub freemail: HashSet<String>,
    /// Bundled and `lists.abused_tlds` TLDs, lower-case, without the dot.
    pub abused_tlds: HashSet<String>,
    /// `allow.domains`, lower-cased: link domains never flagged.
    pub allow_domains: HashSet<String>,
    /// `allow.senders` (domains or addresses), lower-cased: exempt from sender signals only under a
    /// trusted DMARC pass.
    pub allow_senders: HashSet<String>,
    /// `deployment.vip_names`, lower-cased with runs of white space made one space; empty names
    /// dropped.
    pub vip_names: Vec<String>,
    /// The learned model the policy scores with (`[model]`); None: hand-set
    /// weights only.
    pub model: Option<std::sync::Arc<crate::model::Model>>,
    weights: HashMap<&'static str, f64>,
    /// Indexes built once so per-message checks don't loop over every
    /// brand: domain (and its registrable) → first brand owning it.
    domain_brand: HashMap<String, usize>,
    /// Every brand keyword in one automaton over folded text.
    pub brand_matcher: crate::brand::Matcher,
    /// `.com` label of a most-impersonated brand's domain → brand ("UPS
    /// Support" names ups.com).
    com_label_brand: HashMap<String, usize>,
    /// Target labels of 6+ characters and target domains, pattern i →
    /// target index.
    target_label_ac: Option<AhoCorasick>,
    target_label_idx: Vec<usize>,
    target_domain_ac: Option<AhoCorasick>,
    /// Target label → first target with it.
    target_by_label: HashMap<String, usize>,
}

fn automaton(patterns: &[&str]) -> Option<AhoCorasick> {
    if patterns.is_empty() {
        return None;
    }
    // Bundled and configured patterns only: a build error means no index,
    // and the checks that use it then find nothing rather than fail.
    AhoCorasick::new(patterns).ok()
}

/// Indexes of patterns found anywhere in `hay` (overlapping).
fn found(ac: &Option<AhoCorasick>, hay: &str) -> Vec<(usize, usize, usize)> {
    match ac {
        Some(ac) => ac
            .find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect(),
        None => Vec::new(),
    }
}

/// Brand domain labels that are ordinary words: lindows.com is not a typo
/// of windows.net, and outlook.vendor.biz is not Microsoft.
const GENERIC_LABELS: &[&str] = &[
    "windows", "office", "outlook", "target", "discover", "orange", "store", "visa", "square",
    "block", "crypto", "ledger", "chase", "delta", "ring", "mint", "audible",
];

fn lower_all<'a>(a: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    a.into_iter()
        .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|s| !s.is_empty())
        .collect()
}

impl Context {
    /// Compile a config. Never fails: a bad pattern leaves its index empty (the check finds
    /// nothing) rather than erroring. Loads the built-in model when `[model]` is enabled without a
    /// `path`; a model file named by `path` is not read here (`model` stays `None` until the caller
    /// loads it, as outwork-engine does).
    pub fn new(config: Config) -> Context {
        let protected = lower_all(
            config
                .deployment
                .protected_domains
                .iter()
                .map(String::as_str),
        );
        let mut brands: Vec<BrandEntry> = crate::brand::bundled().to_vec();
        for (name, domains) in &config.deployment.brands {
            brands.push(BrandEntry {
                name: name.clone(),
                keywords: vec![name.to_lowercase()],
                generic: Vec::new(),
                domains: lower_all(domains.iter().map(String::as_str)),
                country: "global".into(),
                sector: "deployment".into(),
                lookalike_target: true,
            });
        }
        let mut owned_domains: HashSet<String> = protected.iter().cloned().collect();
        let mut targets = Vec::new();
        for p in &protected {
            let label = registrable_label(p).to_string();
            targets.push(Target {
                skeleton: skeleton(&label),
                label,
                brand: None,
                domain: p.clone(),
            });
        }
        for (i, b) in brands.iter().enumerate() {
            for d in &b.domains {
                owned_domains.insert(d.clone());
                if !b.lookalike_target {
                    continue;
                }
                let Some(reg) = crate::domain::registrable_domain(d) else {
                    continue;
                };
                let label = registrable_label(reg).to_string();
                // Short labels (ups, dhl, fb) collide with too many real names.
                if label.len() < 5
                    || GENERIC_LABELS.contains(&label.as_str())
                    || targets.iter().any(|t: &Target| t.label == label)
                {
                    continue;
                }
                targets.push(Target {
                    skeleton: skeleton(&label),
                    label,
                    brand: Some(i),
                    domain: reg.to_string(),
                });
            }
        }
        let l = &config.lists;
        let set = |bundled: &[&str], extra: &[String]| -> HashSet<String> {
            lower_all(
                bundled
                    .iter()
                    .copied()
                    .chain(extra.iter().map(String::as_str)),
            )
            .into_iter()
            .collect()
        };
        let vec = |bundled: &[&str], extra: &[String]| -> Vec<String> {
            lower_all(
                bundled
                    .iter()
                    .copied()
                    .chain(extra.iter().map(String::as_str)),
            )
        };
        let mut weights = HashMap::new();
        for s in crate::symbol::SYMBOLS {
            weights.insert(
                s.name,
                config.weights.get(s.name).copied().unwrap_or(s.weight),
            );
        }
        let mut domain_brand: HashMap<String, usize> = HashMap::new();
        for (i, b) in brands.iter().enumerate() {
            for d in &b.domains {
                domain_brand.entry(d.clone()).or_insert(i);
                if let Some(r) = crate::domain::registrable_domain(d) {
                    domain_brand.entry(r.to_string()).or_insert(i);
                }
            }
        }
        let (mut label_pats, mut label_idx) = (Vec::new(), Vec::new());
        let mut target_by_label = HashMap::new();
        for (i, t) in targets.iter().enumerate() {
            if t.label.len() >= 6 {
                label_pats.push(t.label.as_str());
                label_idx.push(i);
            }
            target_by_label.entry(t.label.clone()).or_insert(i);
        }
        let domain_pats: Vec<&str> = targets.iter().map(|t| t.domain.as_str()).collect();
        let brand_matcher = crate::brand::Matcher::new(&brands);
        let mut com_label_brand = HashMap::new();
        for (i, b) in brands
            .iter()
            .enumerate()
            .filter(|(_, b)| b.lookalike_target)
        {
            for d in b.domains.iter().filter(|d| d.ends_with(".com")) {
                com_label_brand
                    .entry(registrable_label(d).to_string())
                    .or_insert(i);
            }
        }
        let target_label_ac = automaton(&label_pats);
        let target_domain_ac = automaton(&domain_pats);
        Context {
            domain_brand,
            brand_matcher,
            com_label_brand,
            target_label_ac,
            target_label_idx: label_idx,
            target_domain_ac,
            target_by_label,
            shorteners: set(lists::SHORTENERS, &l.shorteners),
            free_hosting: vec(lists::FREE_HOSTING, &l.free_hosting),
            form_services: vec(lists::FORM_SERVICES, &l.form_services),
            tunnels: vec(lists::TUNNELS, &l.tunnels),
            ipfs: vec(lists::IPFS_GATEWAYS, &l.ipfs_gateways),
            freemail: set(lists::FREEMAIL, &l.freemail),
            // `.xyz` and `xyz` both name the TLD.
            abused_tlds: set(lists::ABUSED_TLDS, &l.abused_tlds)
                .into_iter()
                .map(|t| t.trim_start_matches('.').to_string())
                .collect(),
            allow_domains: lower_all(config.allow.domains.iter().map(String::as_str))
                .into_iter()
                .collect(),
            allow_senders: lower_all(config.allow.senders.iter().map(String::as_str))
                .into_iter()
                .collect(),
            vip_names: config
                .deployment
                .vip_names
                .iter()
                .map(|n| {
                    n.split_whitespace()
                        .collect::<Vec<_>>()
                        .join(" ")
                        .to_lowercase()
                })
                .filter(|n| !n.is_empty())
                .collect(),
            model: if config.model.enabled && config.model.path.is_none() {
                crate::model::builtin()
            } else {
                None
            },
            protected,
            brands,
            targets,
            owned_domains,
            weights,
            config,
        }
    }

    /// `[limits]` of the config.
    pub fn limits(&self) -> &Limits {
        &self.config.limits
    }

    /// `[thresholds]` of the config.
    pub fn thresholds(&self) -> &Thresholds {
        &self.config.thresholds
    }

    /// Give a run-time symbol (a YARA rule's) its weight: the config's
    /// `[weights]` entry when there is one, else `default`.
    pub fn register_symbol(&mut self, name: &'static str, default: f64) {
        let w = self.config.weights.get(name).copied().unwrap_or(default);
        self.weights.insert(name, w);
    }

    /// A symbol's weight: the `[weights]` override, else its default (or the weight given to
    /// [`Context::register_symbol`]); 0 for a name never registered.
    pub fn weight(&self, name: &str) -> f64 {
        self.weights.get(name).copied().unwrap_or(0.0)
    }

    /// Is this domain one of `protected_domains` or under one?
    pub fn is_protected(&self, registrable: &str) -> bool {
        self.protected
            .iter()
            .any(|p| crate::domain::is_same_or_subdomain(registrable, p))
    }

    /// Does `host` fall under one of `entries` ("host" or "host/path")?
    pub fn host_listed<'a>(entries: &'a [String], host: &str, path: &str) -> Option<&'a str> {
        entries.iter().find_map(|e| {
            let ok = match e.split_once('/') {
                Some((h, p)) => {
                    crate::domain::is_same_or_subdomain(host, h)
                        && path.trim_start_matches('/').starts_with(p)
                }
                None => crate::domain::is_same_or_subdomain(host, e),
            };
            ok.then_some(e.as_str())
        })
    }

    /// Brand owning this registrable domain (or a domain under it), if any.
    pub fn brand_of_domain(&self, registrable: &str) -> Option<usize> {
        let mut d = registrable;
        loop {
            if let Some(&b) = self.domain_brand.get(d) {
                return Some(b);
            }
            match d.split_once('.') {
                Some((_, rest)) if !rest.is_empty() => d = rest,
                _ => return None,
            }
        }
    }

    /// The most-impersonated brand whose `.com` domain has this label.
    pub fn brand_of_com_label(&self, label: &str) -> Option<usize> {
        self.com_label_brand.get(label).copied()
    }

    /// Targets whose label (6+ characters) occurs inside `label`.
    pub fn targets_with_label_in(&self, label: &str) -> Vec<usize> {
        found(&self.target_label_ac, label)
            .into_iter()
            .map(|(p, _, _)| self.target_label_idx[p])
            .collect()
    }

    /// Targets whose domain occurs inside `s`.
    pub fn targets_with_domain_in(&self, s: &str) -> Vec<usize> {
        found(&self.target_domain_ac, s)
            .into_iter()
            .map(|(p, _, _)| p)
            .collect()
    }

    /// The first target with exactly this label, if any.
    pub fn target_by_label(&self, label: &str) -> Option<usize> {
        self.target_by_label.get(label).copied()
    }
}

impl Default for Context {
    fn default() -> Self {
        Context::new(Config::default())
    }
}
