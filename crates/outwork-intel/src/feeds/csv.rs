//! CSV and TSV feeds (PhishTank, URLhaus, Splunk-style exports).

use super::*;

/// A field of a CSV line: byte range inside the line, and whether it was
/// quoted with `""` escapes inside.
#[derive(Clone, Copy)]
pub(super) struct Span {
    start: usize,
    end: usize,
    escaped: bool,
}

pub(super) fn split_csv(line: &str, out: &mut Vec<Span>) -> Result<(), &'static str> {
    out.clear();
    let b = line.as_bytes();
    let mut i = 0;
    loop {
        while i < b.len() && b[i] == b' ' {
            i += 1;
        }
        if i < b.len() && b[i] == b'"' {
            i += 1;
            let start = i;
            let mut escaped = false;
            loop {
                match b[i..].iter().position(|&c| c == b'"') {
                    None => return Err("unterminated quoted field"),
                    Some(p) => {
                        i += p;
                        if b.get(i + 1) == Some(&b'"') {
                            escaped = true;
                            i += 2;
                        } else {
                            break;
                        }
                    }
                }
            }
            out.push(Span {
                start,
                end: i,
                escaped,
            });
            i += 1;
            while i < b.len() && matches!(b[i], b' ' | b'\t') {
                i += 1;
            }
            if i == b.len() {
                return Ok(());
            }
            if b[i] != b',' {
                return Err("text after a closing quote");
            }
            i += 1;
        } else {
            let start = i;
            match b[i..].iter().position(|&c| c == b',') {
                None => {
                    out.push(Span {
                        start,
                        end: b.len(),
                        escaped: false,
                    });
                    return Ok(());
                }
                Some(p) => {
                    out.push(Span {
                        start,
                        end: start + p,
                        escaped: false,
                    });
                    i = start + p + 1;
                }
            }
        }
    }
}

pub(super) fn field(line: &str, sp: Span) -> Cow<'_, str> {
    let f = &line[sp.start..sp.end];
    if sp.escaped {
        Cow::Owned(f.replace("\"\"", "\"").trim().to_string())
    } else {
        Cow::Borrowed(f.trim())
    }
}

/// Which CSV columns hold what.
#[derive(Clone, Copy, Default)]
pub(super) struct Cols {
    url: Option<usize>,
    time: Option<usize>,
    host: Option<usize>,
    path: Option<usize>,
}

pub(super) fn default_cols(format: Format) -> Cols {
    match format {
        Format::PhishtankCsv => Cols {
            url: Some(1),
            time: Some(3),
            ..Cols::default()
        },
        _ => Cols {
            url: Some(2),
            time: Some(1),
            ..Cols::default()
        },
    }
}

/// The columns named by a header row, if `spans` is one.
pub(super) fn header_cols(line: &str, spans: &[Span]) -> Option<Cols> {
    let mut c = Cols::default();
    for (i, &sp) in spans.iter().enumerate() {
        let f = field(line, sp);
        let f = f.trim_matches(|c: char| c == '#' || c.is_whitespace());
        if f.eq_ignore_ascii_case("url") {
            c.url = Some(i);
        } else if f.eq_ignore_ascii_case("host") {
            c.host = Some(i);
        } else if f.eq_ignore_ascii_case("path") {
            c.path = Some(i);
        } else if [
            "dateadded",
            "date_added",
            "submission_time",
            "first_seen",
            "first_seen_utc",
        ]
        .iter()
        .any(|n| f.eq_ignore_ascii_case(n))
        {
            c.time = Some(i);
        }
    }
    (c.url.is_some() || c.host.is_some()).then_some(c)
}

pub(super) struct Csv {
    pub(super) cols: Cols,
    pub(super) spans: Vec<Span>,
    pub(super) seen_data: bool,
}

pub(super) fn csv_line(out: &mut Parsed, st: &mut Csv, no: usize, t: &[u8]) {
    let s = lossy(t);
    if let Some(body) = s.strip_prefix('#') {
        // URLhaus puts its header in a comment: `# id,dateadded,url,...`
        if !st.seen_data
            && body.contains(',')
            && split_csv(body, &mut st.spans).is_ok()
            && let Some(c) = header_cols(body, &st.spans)
        {
            st.cols = c;
        }
        return;
    }
    if let Err(e) = split_csv(&s, &mut st.spans) {
        malformed(out, no, t, e);
        return;
    }
    if !st.seen_data
        && let Some(c) = header_cols(&s, &st.spans)
    {
        st.cols = c;
        out.skipped += 1;
        return;
    }
    st.seen_data = true;
    let cols = st.cols;
    let time = cols
        .time
        .and_then(|i| st.spans.get(i))
        .and_then(|&sp| parse_time(&field(&s, sp)));
    if let Some(ui) = cols.url {
        let Some(&sp) = st.spans.get(ui) else {
            malformed(out, no, t, "too few columns: no url");
            return;
        };
        let u = field(&s, sp);
        match check_url(&u) {
            Ok(()) => push(out, Value::Url(u.into_owned()), time, no),
            Err(e) => malformed(out, no, t, e),
        }
    } else if let Some(hi) = cols.host {
        let Some(&sp) = st.spans.get(hi) else {
            malformed(out, no, t, "too few columns: no host");
            return;
        };
        let host = field(&s, sp);
        let path = cols
            .path
            .and_then(|i| st.spans.get(i))
            .map(|&sp| field(&s, sp));
        match path.as_deref() {
            Some(p) if !p.is_empty() => {
                let sep = if p.starts_with(['/', '?', '#']) {
                    ""
                } else {
                    "/"
                };
                let u = format!("{host}{sep}{p}");
                match check_url(&u) {
                    Ok(()) => push(out, Value::Url(u), time, no),
                    Err(e) => malformed(out, no, t, e),
                }
            }
            _ => match domain_value(&host) {
                Ok(d) => push(out, Value::Domain(d), time, no),
                Err(e) => malformed(out, no, t, e),
            },
        }
    }
}
