//! PhishTank JSON (an array of objects, or JSON lines).

use super::*;

#[derive(serde::Deserialize)]
struct PhishtankObject<'a> {
    #[serde(default, borrow)]
    url: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    submission_time: Option<Cow<'a, str>>,
}

struct JsonScan<'a> {
    b: &'a [u8],
    i: usize,
    line: usize,
}

impl JsonScan<'_> {
    fn ws(&mut self) {
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'\n' => self.line += 1,
                b' ' | b'\t' | b'\r' => {}
                _ => return,
            }
            self.i += 1;
        }
    }

    /// Moves past one JSON value (without checking it, serde does that);
    /// `Err` when it runs off the end.
    fn skip_value(&mut self) -> Result<(), &'static str> {
        let b = self.b;
        match b.get(self.i) {
            Some(b'{' | b'[') => {
                let mut depth = 0usize;
                let mut in_str = false;
                while let Some(&c) = b.get(self.i) {
                    self.i += 1;
                    if in_str {
                        match c {
                            b'\\' => self.i += 1,
                            b'"' => in_str = false,
                            b'\n' => self.line += 1,
                            _ => {}
                        }
                        continue;
                    }
                    match c {
                        b'"' => in_str = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Ok(());
                            }
                        }
                        b'\n' => self.line += 1,
                        _ => {}
                    }
                }
                Err("unterminated JSON value")
            }
            Some(b'"') => {
                self.i += 1;
                while let Some(&c) = b.get(self.i) {
                    self.i += 1;
                    match c {
                        b'\\' => self.i += 1,
                        b'"' => return Ok(()),
                        b'\n' => self.line += 1,
                        _ => {}
                    }
                }
                Err("unterminated JSON string")
            }
            Some(_) => {
                while let Some(&c) = b.get(self.i) {
                    if matches!(c, b',' | b']' | b'}' | b' ' | b'\t' | b'\r' | b'\n') {
                        break;
                    }
                    self.i += 1;
                }
                Ok(())
            }
            None => Err("unexpected end of JSON"),
        }
    }
}

pub(super) fn json_object(out: &mut Parsed, line: usize, obj: &[u8]) {
    if obj.first() != Some(&b'{') {
        malformed(out, line, obj, "not a JSON object");
        return;
    }
    match serde_json::from_slice::<PhishtankObject>(obj) {
        Ok(o) => {
            let Some(url) = o.url else {
                malformed(out, line, obj, "object without a url");
                return;
            };
            let first_seen = o.submission_time.as_deref().and_then(parse_time);
            let u = url.trim();
            match check_url(u) {
                Ok(()) => {
                    let u = if u.len() == url.len() {
                        url.into_owned()
                    } else {
                        u.to_string()
                    };
                    push(out, Value::Url(u), first_seen, line);
                }
                Err(e) => malformed(out, line, obj, e),
            }
        }
        Err(e) => malformed(out, line, obj, &format!("invalid JSON object: {e}")),
    }
}

/// A JSON array of objects, or objects one after another (JSON lines).
pub(super) fn parse_json(data: &[u8]) -> Parsed {
    let mut out = Parsed {
        lines: Lines::new(data).count(),
        ..Parsed::default()
    };
    let mut p = JsonScan {
        b: data,
        i: 0,
        line: 1,
    };
    p.ws();
    let Some(&first) = data.get(p.i) else {
        return out;
    };
    let in_array = first == b'[';
    if in_array {
        p.i += 1;
    } else if first != b'{' {
        let end = data[p.i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(data.len(), |e| p.i + e);
        malformed(
            &mut out,
            p.line,
            &data[p.i..end],
            "not a JSON array or object",
        );
        return out;
    }
    loop {
        p.ws();
        let Some(&c) = data.get(p.i) else {
            if in_array {
                malformed(&mut out, p.line, b"", "unterminated JSON array");
            }
            break;
        };
        if in_array && c == b']' {
            p.i += 1;
            p.ws();
            if p.i < data.len() {
                malformed(
                    &mut out,
                    p.line,
                    &data[p.i..data.len().min(p.i + 120)],
                    "text after the JSON array",
                );
            }
            break;
        }
        if c == b',' {
            p.i += 1;
            continue;
        }
        let (start, line) = (p.i, p.line);
        match p.skip_value() {
            Ok(()) => {
                let end = p.i.min(data.len());
                if p.i == start {
                    // a stray `}` or `]`: step over it
                    p.i += 1;
                    malformed(
                        &mut out,
                        line,
                        &data[start..start + 1],
                        "unexpected character",
                    );
                } else {
                    json_object(&mut out, line, &data[start..end]);
                }
            }
            Err(e) => {
                malformed(&mut out, line, &data[start..data.len().min(start + 120)], e);
                break;
            }
        }
    }
    out
}
