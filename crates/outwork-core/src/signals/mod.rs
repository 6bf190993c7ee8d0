//! Pure signals: `(&Facts, &Context) -> hits`, one module per family.

pub(crate) mod attachments;
pub(crate) mod auth;
pub(crate) mod brand;
pub(crate) mod history;
pub(crate) mod html;
pub(crate) mod intel;
pub(crate) mod links;
pub(crate) mod lookalike;
pub(crate) mod sender;

use crate::context::Context;
use crate::evidence::Evidence;
use crate::facts::Facts;
use crate::symbol::Hits;

/// A family of signals: what a scan can switch off as a whole (evaluation
/// measures each family's share by switching it off; a deployment can
/// leave one out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// Link signals: where links go and how they are written.
    Links,
    /// Lookalike domains of protected domains and brands.
    Lookalike,
    /// Sender, brand-claim and first-contact signals.
    Sender,
    /// SPF, DKIM, DMARC and ARC results, and forged Authentication-Results.
    Auth,
    /// HTML body signals: forms, hidden text, refreshes.
    Html,
    /// Attachment signals, inspection findings, YARA and ClamAV.
    Attachments,
    /// Blocklist hits.
    Intel,
}

impl Family {
    /// Every family, in report order.
    pub const ALL: [Family; 7] = [
        Family::Links,
        Family::Lookalike,
        Family::Sender,
        Family::Auth,
        Family::Html,
        Family::Attachments,
        Family::Intel,
    ];

    /// The lower-case name used on the command line and in reports (`links`, `auth`, …).
    pub const fn name(self) -> &'static str {
        match self {
            Family::Links => "links",
            Family::Lookalike => "lookalike",
            Family::Sender => "sender",
            Family::Auth => "auth",
            Family::Html => "html",
            Family::Attachments => "attachments",
            Family::Intel => "intel",
        }
    }

    /// The family with this [`Family::name`]; `None` for any other string.
    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of [`Family`]s (the families a run leaves out).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Families(u8);

impl Families {
    /// The empty set.
    pub const NONE: Families = Families(0);

    /// The set holding just `f`.
    pub fn only(f: Family) -> Families {
        Families(f.bit())
    }

    /// This set with `f` added.
    pub fn with(self, f: Family) -> Families {
        Families(self.0 | f.bit())
    }

    /// Is `f` in the set?
    pub fn contains(self, f: Family) -> bool {
        self.0 & f.bit() != 0
    }

    /// Is the set empty?
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The families in the set, in [`Family::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Family> {
        Family::ALL.into_iter().filter(move |f| self.contains(*f))
    }
}

impl FromIterator<Family> for Families {
    fn from_iter<I: IntoIterator<Item = Family>>(it: I) -> Self {
        it.into_iter().fold(Families::NONE, Families::with)
    }
}

/// Every signal of every family not in `off`, from the facts and what
/// enrichment found (intel, inspection, verified authentication, history).
pub fn run_full(facts: &Facts, evidence: &Evidence, ctx: &Context, off: Families) -> Hits {
    let mut hits = Hits::default();
    if !off.contains(Family::Intel) {
        intel::signals(evidence, ctx, &mut hits);
    }
    for (name, ev) in &facts.anomalies {
        hits.add(name, ev.clone());
    }
    let auth = match &evidence.verified_auth {
        Some(v) => auth::AuthView::from_verified(v),
        None => auth::read(facts, ctx),
    };
    if !off.contains(Family::Auth) {
        auth::signals(&auth, facts, ctx, &mut hits);
        auth::forged_signals(facts, ctx, &mut hits);
    }
    // The From domain DMARC authenticated: what it vouches for about itself
    // (its own link text, its own brand's other domains) is not a lie.
    let authenticated = if auth.dmarc_pass() && !off.contains(Family::Auth) {
        facts.from.as_ref().and_then(|f| f.registrable())
    } else {
        None
    };
    if !off.contains(Family::Links) {
        links::signals(facts, ctx, authenticated, &mut hits);
    }
    if !off.contains(Family::Lookalike) {
        lookalike::signals(facts, ctx, authenticated, &mut hits);
    }
    if !off.contains(Family::Sender) {
        // The brand claims, read once: the display name's is
        // FROM_DISPLAY_BRAND's, the rest BRAND_*'s.
        let claims = brand::claims(facts, ctx);
        sender::signals(facts, &auth, ctx, &claims, &mut hits);
        brand::signals(facts, &auth, ctx, &claims, &mut hits);
        history::signals(facts, evidence, &auth, ctx, &mut hits);
    }
    if !off.contains(Family::Html) {
        html::signals(facts, ctx, &mut hits);
    }
    if !off.contains(Family::Attachments) {
        attachments::signals(facts, evidence, ctx, &mut hits);
    }
    hits
}
