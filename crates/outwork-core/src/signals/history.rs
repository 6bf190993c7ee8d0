//! First contact: judged from what the engine's history store said.

use super::auth::AuthView;
use crate::context::Context;
use crate::evidence::Evidence;
use crate::facts::Facts;
use crate::symbol::Hits;

fn day(t: i64) -> String {
    // Civil date from unix seconds (proleptic Gregorian), for evidence.
    let days = t.div_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

pub(crate) fn signals(
    facts: &Facts,
    ev: &Evidence,
    auth: &AuthView,
    ctx: &Context,
    hits: &mut Hits,
) {
    if let Some(why) = &ev.history_unavailable {
        hits.add("HISTORY_UNAVAILABLE", why.clone());
    }
    let Some(h) = &ev.history else { return };
    let Some(from) = &facts.from else { return };
    let from_domain = from.domain_ascii();
    let rcpts = h.recipient_domains.join(", ");
    if let Some((r, n, since)) = &h.lookalike_of_known {
        hits.add(
            "FIRST_CONTACT_LOOKALIKE",
            format!(
                "{from_domain} has never written to {r}, and is one edit or homoglyph away from a domain that has ({n} messages since {})",
                day(*since)
            ),
        );
    } else if h.first_contact_domain {
        hits.add(
            "FIRST_CONTACT",
            format!("{from_domain} has never written to {rcpts} before"),
        );
    }
    if h.first_contact_address
        && let Some(name) = &from.name
    {
        let lname = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        if let Some(vip) = ctx
            .vip_names
            .iter()
            .find(|v| super::sender::contains_word(&lname, v))
        {
            hits.add(
                "FIRST_CONTACT_VIP_NAME",
                format!(
                    "{} writes to {rcpts} for the first time as \"{name}\" (VIP {vip})",
                    from.address
                ),
            );
        }
    }
    // A forged From of a known correspondent must not earn the credit.
    let contradicted = matches!(auth.spf.as_deref(), Some("fail" | "softfail"))
        || matches!(auth.dmarc.as_deref(), Some("fail"))
        || matches!(auth.dkim.as_deref(), Some("fail"));
    if let Some((n, since)) = h.known_address
        && !contradicted
    {
        hits.add(
            "KNOWN_CORRESPONDENT",
            format!(
                "{} has written to {rcpts} {n} times since {}",
                from.address,
                day(since)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::day(0), "1970-01-01");
        assert_eq!(super::day(1_780_000_000), "2026-05-28");
        assert_eq!(super::day(951_782_400), "2000-02-29");
    }
}
