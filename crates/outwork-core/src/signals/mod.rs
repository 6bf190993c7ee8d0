//! Pure signals: `(&Facts, &Context) -> hits`, one module per family.

pub mod attachments;
pub mod auth;
pub mod brand;
pub mod history;
pub mod html;
pub mod intel;
pub mod links;
pub mod lookalike;
pub mod sender;

use crate::context::Context;
use crate::evidence::Evidence;
use crate::facts::Facts;
use crate::symbol::Hits;

/// Families a run can switch off (used by evaluation to measure each).
#[derive(Debug, Clone, Copy, Default)]
pub struct Disabled {
    pub links: bool,
    pub lookalike: bool,
    pub sender: bool,
    pub auth: bool,
    pub html: bool,
    pub attachments: bool,
    pub intel: bool,
}

pub fn run(facts: &Facts, ctx: &Context) -> Hits {
    run_with(facts, ctx, Disabled::default())
}

/// Without enrichment (no intel): the offline signals only.
pub fn run_with(facts: &Facts, ctx: &Context, off: Disabled) -> Hits {
    run_full(facts, &Evidence::default(), ctx, off)
}

pub fn run_full(facts: &Facts, evidence: &Evidence, ctx: &Context, off: Disabled) -> Hits {
    let mut hits = Hits::default();
    if !off.intel {
        intel::signals(evidence, ctx, &mut hits);
    }
    for (name, ev) in &facts.anomalies {
        hits.add(name, ev.clone());
    }
    let auth = match &evidence.verified_auth {
        Some(v) => auth::AuthView::from_verified(v),
        None => auth::read(facts, ctx),
    };
    if !off.auth {
        auth::signals(&auth, facts, ctx, &mut hits);
        auth::forged_signals(facts, ctx, &mut hits);
    }
    // The From domain DMARC authenticated: what it vouches for about itself
    // (its own link text, its own brand's other domains) is not a lie.
    let authenticated = if auth.dmarc_pass() && !off.auth {
        facts.from.as_ref().and_then(|f| f.registrable())
    } else {
        None
    };
    if !off.links {
        links::signals(facts, ctx, authenticated, &mut hits);
    }
    if !off.lookalike {
        lookalike::signals(facts, ctx, authenticated, &mut hits);
    }
    if !off.sender {
        // The brand claims, read once: the display name's is
        // FROM_DISPLAY_BRAND's, the rest BRAND_*'s.
        let claims = brand::claims(facts, ctx);
        sender::signals(facts, &auth, ctx, &claims, &mut hits);
        brand::signals(facts, &auth, ctx, &claims, &mut hits);
        history::signals(facts, evidence, &auth, ctx, &mut hits);
    }
    if !off.html {
        html::signals(facts, ctx, &mut hits);
    }
    if !off.attachments {
        attachments::signals(facts, evidence, ctx, &mut hits);
    }
    hits
}
