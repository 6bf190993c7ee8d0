//! `thread-hijack`: the lure arrives as the newest message of a thread the
//! recipient's organisation already had (the attacker read it in a
//! compromised mailbox and replies to it).

use super::*;

/// Earlier messages of ordinary business threads: (subject, body).
const THREADS: &[(&str, &str)] = &[
    (
        "Q3 supplier invoices",
        "Hi all,\n\nattached is the reconciliation for the Q3 supplier invoices. Two of them are still open; could you confirm the amounts before Friday so we can close the month?\n\nThanks",
    ),
    (
        "Project timeline update",
        "Hello team,\n\nthe kickoff moved to next Tuesday. Please review the updated timeline and let me know if the milestones still work for your side.\n\nBest",
    ),
    (
        "Contract renewal",
        "Hi,\n\nas discussed on the call, legal has reviewed the renewal terms. I'll circulate the final draft once finance signs off on the pricing.\n\nRegards",
    ),
    (
        "Shipment schedule",
        "Good morning,\n\nthe next two deliveries are planned for the 14th and the 21st. Let us know if the warehouse needs a different slot.\n\nKind regards",
    ),
    (
        "Meeting notes",
        "Hi everyone,\n\nthanks for joining today. Notes are below; action items are with the owners listed. We meet again in two weeks.\n\nCheers",
    ),
];
const COLLEAGUES: &[&str] = &[
    "Anna Keller",
    "David Moreau",
    "Sofia Lindqvist",
    "James Carter",
    "Priya Natarajan",
    "Tom Becker",
];

pub(super) fn op_thread_hijack(m: &mut Model, rng: &mut Rng, notes: &mut Vec<String>) {
    let org = header_address(m, "to")
        .map(|(_, d)| d)
        .unwrap_or_else(|| "example.com".into());
    let (topic, earlier) = THREADS
        .get(rng.below(THREADS.len()))
        .copied()
        .unwrap_or(THREADS[0]);
    let who = rng.pick(COLLEAGUES);
    let address = format!("{}@{org}", who.to_ascii_lowercase().replace(' ', "."));
    let subject = m.subject.clone().filter(|s| !s.trim().is_empty());
    let base = subject.unwrap_or_else(|| topic.to_string());
    let new_subject = if base.trim_start().to_ascii_lowercase().starts_with("re:") {
        base
    } else {
        format!("Re: {base}")
    };
    let parent = format!("<{:016x}.{}@{org}>", rng.next(), 1000 + rng.below(9000));
    let when = format!(
        "{}, {} {} 2025 at {:02}:{:02}",
        rng.pick(&["Mon", "Tue", "Wed", "Thu", "Fri"]),
        1 + rng.below(28),
        rng.pick(&[
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Sep", "Oct", "Nov"
        ]),
        8 + rng.below(9),
        rng.below(60)
    );
    let attribution = format!("On {when}, {who} <{address}> wrote:");

    set_subject(m, &new_subject);
    m.headers
        .retain(|(name, _)| name != "in-reply-to" && name != "references");
    m.headers.push((
        "in-reply-to".into(),
        format!("In-Reply-To: {parent}\r\n").into_bytes(),
    ));
    m.headers.push((
        "references".into(),
        format!("References: {parent}\r\n").into_bytes(),
    ));

    // Bodies: the lure first, the quoted conversation under it.
    let quoted_text: String = earlier
        .lines()
        .map(|l| {
            if l.is_empty() {
                ">".to_string()
            } else {
                format!("> {l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    if let Some(text) = &m.text {
        m.text = Some(format!(
            "{}\n\n{attribution}\n{quoted_text}\n> {who}\n",
            text.trim_end()
        ));
    }
    if let Some(html) = &m.html {
        let paras: String = earlier
            .split("\n\n")
            .map(|p| format!("<p>{}</p>", esc_text(p)))
            .collect();
        let block = format!(
            "<div class=\"gmail_quote\"><p>{}</p><blockquote style=\"margin:0 0 0 .8ex;border-left:1px solid #ccc;padding-left:1ex\">{paras}<p>{}</p></blockquote></div>",
            esc_text(&attribution),
            esc_text(who)
        );
        m.html = Some(insert_before_body_end(html, &block));
    }
    notes.push(format!(
        "thread-hijack: Subject {new_subject:?}, a reply to {parent} quoting {who} <{address}> on {topic:?}"
    ));
}

/// Insert `snippet` right before `</body>` (or at the end).
fn insert_before_body_end(html: &str, snippet: &str) -> String {
    let at = tokenize(html)
        .into_iter()
        .rfind(|s| s.kind == SegKind::Tag && s.name == "body" && s.closing)
        .map_or(html.len(), |s| s.start);
    format!(
        "{}{snippet}{}",
        html.get(..at).unwrap_or(""),
        html.get(at..).unwrap_or("")
    )
}

/// Set the Subject (encoded when it needs to be), in place of the old one.
pub(super) fn set_subject(m: &mut Model, subject: &str) {
    let mut line = b"Subject: ".to_vec();
    mail_builder::headers::text::Text::new(subject.to_string()).write_header(&mut line, 9);
    match m.headers.iter_mut().find(|(name, _)| name == "subject") {
        Some((_, raw)) => *raw = line,
        None => m.headers.push(("subject".into(), line)),
    }
    let mut first = true;
    m.headers.retain(|(name, _)| {
        if name != "subject" {
            return true;
        }
        std::mem::replace(&mut first, false)
    });
    m.subject = Some(subject.to_string());
}
