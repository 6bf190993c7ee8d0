//! `esp-send`: the message goes out through a bulk-mail provider for a
//! domain the attacker registered, so SPF, DKIM and DMARC pass.
//!
//! The scanner is told the way a deployment tells it: a passing
//! Authentication-Results from the receiving edge on top, with the
//! [`TWIN_AUTHSERV_ID`] authserv-id (trusted by `[auth] trust_topmost` or by
//! listing it in `trusted_authserv_ids`). Engines that verify for
//! themselves (Rspamd, SpamAssassin) see the provider's Received hop and
//! bounce address, which is what they would check, but no DNS answers.

use super::*;

/// A bulk-mail provider: its name, outbound host pattern (`{n}` a number,
/// `{d}` the sender's domain), an address block of its outbound IPs, and
/// the bounce address pattern (`{h}` a hex token, `{l}` the recipient's
/// local part, `{r}` their domain).
struct Esp {
    name: &'static str,
    host: &'static str,
    net: &'static str,
    bounce: &'static str,
}

const ESPS: &[Esp] = &[
    Esp {
        name: "SendGrid",
        host: "o1.ptr{n}.{d}",
        net: "149.72",
        bounce: "bounces+{n}-{h}-{l}={r}@em{n}.{d}",
    },
    Esp {
        name: "Amazon SES",
        host: "a{n}-12.smtp-out.amazonses.com",
        net: "54.240",
        bounce: "0100018c{h}-000000@bounce.{d}",
    },
    Esp {
        name: "Mailgun",
        host: "m{n}.mailgun.net",
        net: "159.135",
        bounce: "bounce+{h}.{n}-{l}={r}@mg.{d}",
    },
    Esp {
        name: "Mailchimp Transactional",
        host: "mail{n}.suw41.mandrillapp.com",
        net: "198.2",
        bounce: "bounce-md_{n}.{h}@mc.{d}",
    },
];

/// The first address of the header `name` (lower-case), read from the
/// kept raw header line: (local part, domain).
pub(super) fn header_address(m: &Model, name: &str) -> Option<(String, String)> {
    let (_, line) = m.headers.iter().find(|(n, _)| n == name)?;
    let line = String::from_utf8_lossy(line);
    let value = line.split_once(':')?.1;
    let at = value.find('@')?;
    let ok = |c: char| c.is_ascii_alphanumeric() || "._+-".contains(c);
    let local: String = value
        .get(..at)?
        .chars()
        .rev()
        .take_while(|&c| ok(c))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let domain: String = value
        .get(at + 1..)?
        .chars()
        .take_while(|&c| ok(c))
        .collect::<String>()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    (!local.is_empty() && domain.contains('.')).then_some((local, domain))
}

/// The Date header's value, else a fixed date (Received needs one).
pub(super) fn date_value(m: &Model) -> String {
    m.headers
        .iter()
        .find(|(n, _)| n == "date")
        .and_then(|(_, l)| {
            let l = String::from_utf8_lossy(l);
            Some(l.split_once(':')?.1.trim().to_string())
        })
        .filter(|d| !d.is_empty() && d.chars().all(|c| !c.is_control()))
        .unwrap_or_else(|| "Mon, 6 Jan 2025 09:14:00 +0000".into())
}

pub(super) fn op_esp_send(m: &mut Model, ctx: &MutateCtx, rng: &mut Rng, notes: &mut Vec<String>) {
    let domain = attacker_domain(ctx.seed);
    let esp = ESPS.get(rng.below(ESPS.len())).unwrap_or(&ESPS[0]);
    let (rl, rd) = header_address(m, "to").unwrap_or(("user".into(), "example.com".into()));
    let n = (1000 + rng.below(9000)).to_string();
    let hex: String = (0..12)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
        .collect();
    let fill = |p: &str| {
        p.replace("{n}", &n)
            .replace("{d}", &domain)
            .replace("{h}", &hex)
            .replace("{l}", &rl)
            .replace("{r}", &rd)
    };
    let host = fill(esp.host);
    let ip = format!("{}.{}.{}", esp.net, 1 + rng.below(254), 1 + rng.below(254));
    let bounce = fill(esp.bounce);
    let bounce_domain = bounce
        .rsplit_once('@')
        .map_or(domain.clone(), |(_, d)| d.into());

    let current = m.new_from.clone().or_else(|| m.from.clone());
    let name = current
        .as_ref()
        .and_then(|f| f.name.clone())
        .filter(|n| !n.contains('@'));
    let local = current
        .as_ref()
        .map_or_else(|| "info".to_string(), |f| plain_local(&f.address, "info"));
    let from = Mailbox {
        name,
        address: format!("{local}@{domain}"),
    };
    notes.push(format!(
        "esp-send: From {} -> {} via {} ({host} [{ip}])",
        current.as_ref().map_or("none", |f| f.address.as_str()),
        from.address,
        esp.name
    ));
    m.new_from = Some(from);

    // The original relay chain and its verdicts go: the provider's hop to
    // the recipient's MX replaces them.
    let before = m.headers.len();
    m.headers
        .retain(|(name, _)| !auth_header(name) && name != "received" && name != "return-path");
    let dropped = before - m.headers.len();
    let date = date_value(m);
    let id: String = (0..16)
        .map(|_| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"[rng.below(36)]))
        .collect();
    let mut top: Vec<(String, Vec<u8>)> = vec![
        (
            "authentication-results".into(),
            format!(
                "Authentication-Results: {TWIN_AUTHSERV_ID}; spf=pass smtp.mailfrom={bounce_domain};\r\n dkim=pass header.d={domain}; dmarc=pass header.from={domain}\r\n"
            )
            .into_bytes(),
        ),
        (
            "return-path".into(),
            format!("Return-Path: <{bounce}>\r\n").into_bytes(),
        ),
        (
            "received".into(),
            format!(
                "Received: from {host} ({host} [{ip}])\r\n\tby mx.{rd} with ESMTPS id {id}\r\n\tfor <{rl}@{rd}>; {date}\r\n"
            )
            .into_bytes(),
        ),
    ];
    top.append(&mut m.headers);
    m.headers = top;
    if !m.headers.iter().any(|(n, _)| n == "list-unsubscribe") {
        m.headers.push((
            "list-unsubscribe".into(),
            format!("List-Unsubscribe: <https://{domain}/unsubscribe?u={hex}>\r\n").into_bytes(),
        ));
    }
    notes.push(format!(
        "esp-send: {dropped} relay/authentication header(s) replaced by the provider's hop, bounce <{bounce}>, SPF/DKIM/DMARC pass for {domain}"
    ));
}
