//! Intel signals: blocklist hits the engine found, with the source and the
//! matching expression as evidence. Allow-lists win, and say so.

use crate::context::Context;
use crate::domain::is_same_or_subdomain;
use crate::evidence::{Evidence, IntelTarget};
use crate::symbol::Hits;

pub(crate) fn signals(ev: &Evidence, ctx: &Context, hits: &mut Hits) {
    if let Some(why) = &ev.intel_unavailable {
        hits.add("INTEL_UNAVAILABLE", why.clone());
    }
    for f in &ev.intel {
        let listed = format!(
            "{} listed by {} as {} (matched {})",
            f.subject, f.source, f.kind, f.expression
        );
        let allowed = f.registrable.as_deref().is_some_and(|r| {
            ctx.allow_domains.iter().any(|a| is_same_or_subdomain(r, a))
                || (f.target == IntelTarget::SenderDomain
                    && ctx.allow_senders.iter().any(|a| is_same_or_subdomain(r, a)))
        });
        if allowed {
            hits.add(
                "INTEL_ALLOWLISTED",
                format!("{listed}, but allow-listed by this deployment"),
            );
            continue;
        }
        let name = match f.target {
            IntelTarget::Url => "URL_BLOCKLISTED",
            IntelTarget::SenderDomain => "DOMAIN_BLOCKLISTED",
            IntelTarget::Ip => "IP_BLOCKLISTED",
            IntelTarget::FileHash => "FILE_HASH_BLOCKLISTED",
        };
        hits.add(name, listed);
    }
}
