//! Self-contained, offline HTML reports.
//!
//! One file, no external assets, no JavaScript: inline CSS and inline SVG
//! charts, guarded by a strict Content-Security-Policy meta tag. Every piece
//! of caller text is HTML-escaped; only the SVG produced by [`line_chart`] and
//! [`bar_chart`] (whose text is escaped too) is inserted verbatim.
//!
//! Accessibility: one `<h1>` (the title), `h2`/`h3` sections, tables with a
//! `<caption>` and `<th scope>`, charts with `role="img"`, `aria-label`,
//! `<title>` and a `<desc>` that lists the data; colours meet 3:1 contrast
//! against white and lines also differ by dash pattern (colour-blind safe).
//! The page reflows on a phone and prints without backgrounds.
//!
//! Chart SVG is meant to be embedded in HTML and so carries no `xmlns`;
//! a chart written to its own `.svg` file needs it added (the tests'
//! `standalone_svg` does that).

use std::fmt::{self, Write as _};

/// HTML-escape text (& < > " ') for element content and attribute values.
///
/// Control characters other than tab, newline and carriage return (and the
/// non-characters U+FFFE, U+FFFF) become U+FFFD, so the output is also valid
/// in XML (a standalone SVG file).
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The Content-Security-Policy every report carries: nothing may load, no
/// script may run; only inline styles and `data:` images are allowed.
pub(crate) const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const CSS: &str = "\
:root{color-scheme:light;--fg:#1a1a1a;--muted:#555;--line:#c8c8c8;--stripe:#f3f3f3}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--fg);font:16px/1.5 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}
header,main{max-width:100rem;margin:0 auto;padding:0 1rem}
header{padding-top:1rem;border-bottom:2px solid var(--fg)}
h1{font-size:1.75rem;line-height:1.2;margin:.5rem 0}
h2{font-size:1.35rem;margin:2rem 0 .5rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
h3{font-size:1.1rem;margin:1.5rem 0 .4rem}
p,ul{margin:.5rem 0;max-width:48rem}
.meta,.note{color:var(--muted);font-size:.875rem}
nav ol{margin:.25rem 0;padding-left:1.5rem}
a{color:#0b57a4}
pre{background:var(--stripe);border:1px solid var(--line);padding:.5rem .75rem;overflow-x:auto;font-size:.875rem;white-space:pre-wrap;overflow-wrap:anywhere}
.table-wrap{overflow-x:auto;margin:1rem 0;max-width:100%}
.table-wrap:focus{outline:2px solid #0b57a4;outline-offset:2px}
table{border-collapse:collapse;font-size:.9375rem}
caption{text-align:left;font-weight:600;padding:.25rem 0 .5rem;caption-side:top}
th,td{padding:.3rem .6rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{border-bottom:2px solid var(--fg);white-space:nowrap}
tbody th{font-weight:600}
tbody tr:nth-child(even){background:var(--stripe)}
table.details tbody tr:nth-child(even){background:none}
table.details tbody tr:nth-child(4n+1),table.details tbody tr:nth-child(4n+2){background:var(--stripe)}
table.details tr.row>*{border-bottom:none}
tr.detail td{padding-top:0;font-size:.875rem;color:var(--muted);overflow-wrap:anywhere}
tr.detail b{color:var(--fg);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
figure{margin:1rem 0}
figure svg{display:block;width:100%;max-width:40rem;height:auto}
@media (max-width:40rem){body{font-size:15px}header,main{padding:0 .6rem}th,td{padding:.25rem .4rem}}
@media print{
body{font-size:10pt;color:#000}
header,main{max-width:none;padding:0}
a{color:#000;text-decoration:none}
tbody tr:nth-child(even),pre{background:none}
.table-wrap{overflow:visible}
h2,h3{break-after:avoid}
figure,tr,pre{break-inside:avoid}
thead{display:table-header-group}
figure svg{max-width:16cm}
}
";

/// A report under construction: a title, an optional generation time, and
/// body blocks in insertion order.
#[derive(Debug, Clone, Default)]
pub struct Report {
    title: String,
    generated: Option<String>,
    blocks: Vec<String>,
    /// `(id, text)` of the h2 headings, for the contents list.
    toc: Vec<(String, String)>,
    next_id: usize,
}

impl Report {
    /// An empty report titled `title` (the page's `<title>` and `<h1>`).
    pub fn new(title: &str) -> Report {
        Report {
            title: title.to_string(),
            ..Report::default()
        }
    }

    /// When the report was generated, as the caller wants it shown
    /// (e.g. an RFC 3339 timestamp); the report never reads the clock.
    pub fn generated(&mut self, when: &str) {
        self.generated = Some(when.to_string());
    }

    fn id(&mut self, prefix: &str) -> String {
        self.next_id += 1;
        format!("{prefix}{}", self.next_id)
    }

    /// A section heading: level 2 or less gives `<h2>`, 3 or more `<h3>`
    /// (`<h1>` is the report title).
    pub fn heading(&mut self, level: u8, text: &str) {
        let level = level.clamp(2, 3);
        let id = self.id("s");
        if level == 2 {
            self.toc.push((id.clone(), text.to_string()));
        }
        self.blocks
            .push(format!("<h{level} id=\"{id}\">{}</h{level}>", escape(text)));
    }

    /// A paragraph of plain text (escaped).
    pub fn paragraph(&mut self, text: &str) {
        self.blocks.push(format!("<p>{}</p>", escape(text)));
    }

    /// A small, muted paragraph (caveats, method notes).
    pub fn note(&mut self, text: &str) {
        self.blocks
            .push(format!("<p class=\"note\">{}</p>", escape(text)));
    }

    /// A bulleted list of escaped items.
    pub fn list(&mut self, items: &[&str]) {
        let mut s = String::from("<ul>");
        for item in items {
            s.push_str("<li>");
            s.push_str(&escape(item));
            s.push_str("</li>");
        }
        s.push_str("</ul>");
        self.blocks.push(s);
    }

    /// Preformatted, escaped text (command lines, configuration).
    pub fn preformatted(&mut self, text: &str) {
        self.blocks.push(format!("<pre>{}</pre>", escape(text)));
    }

    /// A data table. All cells are escaped; numeric-looking cells (numbers,
    /// percentages, ratios like `3/10`, intervals, `n/a`) are right-aligned.
    /// The first cell of each row is its row header. Short rows are padded
    /// with empty cells.
    pub fn table(&mut self, caption: &str, header: &[&str], rows: &[Vec<String>]) {
        let id = self.id("t");
        let mut s = String::new();
        let _ = write_table(&mut s, &id, caption, header, rows, &[]);
        self.blocks.push(s);
    }

    /// [`Report::table`] whose rows each have long lists (`(label, text)`,
    /// e.g. the symbols that stopped firing) in a row of their own below,
    /// across the whole width, so they don't stretch every column.
    pub fn table_with_details(
        &mut self,
        caption: &str,
        header: &[&str],
        rows: &[Vec<String>],
        details: &[Vec<(&str, String)>],
    ) {
        let id = self.id("t");
        let mut s = String::new();
        let _ = write_table(&mut s, &id, caption, header, rows, details);
        self.blocks.push(s);
    }

    /// Trusted SVG, as returned by [`line_chart`] or [`bar_chart`]; inserted
    /// verbatim. Never pass SVG built from untrusted input.
    pub fn svg(&mut self, svg: String) {
        self.blocks.push(format!("<figure>{svg}</figure>"));
    }

    /// The full HTML document.
    pub fn render(&self) -> String {
        let mut s =
            String::with_capacity(4096 + self.blocks.iter().map(String::len).sum::<usize>());
        let _ = self.write_document(&mut s);
        s
    }

    fn write_document(&self, s: &mut String) -> fmt::Result {
        let title = escape(&self.title);
        s.push_str("<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        s.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        writeln!(
            s,
            "<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
        )?;
        s.push_str("<meta name=\"referrer\" content=\"no-referrer\">\n");
        s.push_str("<meta name=\"color-scheme\" content=\"light\">\n");
        writeln!(s, "<title>{title}</title>")?;
        writeln!(s, "<style>\n{CSS}</style>\n</head>\n<body>")?;
        writeln!(s, "<header>\n<h1>{title}</h1>")?;
        if let Some(when) = &self.generated {
            writeln!(s, "<p class=\"meta\">Generated {}</p>", escape(when))?;
        }
        s.push_str("</header>\n<main>\n");
        if self.toc.len() >= 3 {
            s.push_str("<nav aria-label=\"Contents\">\n<ol>\n");
            for (id, text) in &self.toc {
                writeln!(s, "<li><a href=\"#{id}\">{}</a></li>", escape(text))?;
            }
            s.push_str("</ol>\n</nav>\n");
        }
        for block in &self.blocks {
            s.push_str(block);
            s.push('\n');
        }
        s.push_str("</main>\n</body>\n</html>\n");
        Ok(())
    }
}

fn write_table(
    s: &mut String,
    id: &str,
    caption: &str,
    header: &[&str],
    rows: &[Vec<String>],
    details: &[Vec<(&str, String)>],
) -> fmt::Result {
    let cols = rows
        .iter()
        .map(Vec::len)
        .max()
        .unwrap_or(0)
        .max(header.len())
        .max(1);
    // A column is numeric when every non-empty body cell in it is.
    let numeric_col: Vec<bool> = (0..cols)
        .map(|c| {
            let mut cells = rows
                .iter()
                .filter_map(|r| r.get(c))
                .filter(|v| !v.trim().is_empty())
                .peekable();
            cells.peek().is_some() && cells.all(|v| looks_numeric(v))
        })
        .collect();
    let class = |numeric: bool| if numeric { " class=\"num\"" } else { "" };
    writeln!(
        s,
        "<div class=\"table-wrap\" role=\"region\" aria-labelledby=\"{id}\" tabindex=\"0\">"
    )?;
    let with_details = !details.is_empty();
    writeln!(
        s,
        "<table{}>\n<caption id=\"{id}\">{}</caption>",
        if with_details {
            " class=\"details\""
        } else {
            ""
        },
        escape(caption)
    )?;
    if !header.is_empty() {
        s.push_str("<thead><tr>");
        for c in 0..cols {
            let text = header.get(c).copied().unwrap_or("");
            let num = c > 0 && numeric_col.get(c).copied().unwrap_or(false);
            write!(s, "<th scope=\"col\"{}>{}</th>", class(num), escape(text))?;
        }
        s.push_str("</tr></thead>\n");
    }
    s.push_str("<tbody>\n");
    if rows.is_empty() {
        writeln!(
            s,
            "<tr><td colspan=\"{cols}\" class=\"note\">(no rows)</td></tr>"
        )?;
    }
    for (i, row) in rows.iter().enumerate() {
        s.push_str(if with_details {
            "<tr class=\"row\">"
        } else {
            "<tr>"
        });
        for c in 0..cols {
            let text = row.get(c).map(String::as_str).unwrap_or("");
            let num = looks_numeric(text);
            if c == 0 {
                write!(s, "<th scope=\"row\"{}>{}</th>", class(num), escape(text))?;
            } else {
                write!(s, "<td{}>{}</td>", class(num), escape(text))?;
            }
        }
        s.push_str("</tr>\n");
        if with_details {
            // Always there (empty when none), so row stripes stay paired.
            write!(s, "<tr class=\"detail\"><td colspan=\"{cols}\">")?;
            let parts = details.get(i).map(Vec::as_slice).unwrap_or(&[]);
            for (j, (label, text)) in parts.iter().enumerate() {
                if j > 0 {
                    s.push_str(" · ");
                }
                write!(s, "<b>{}:</b> {}", escape(label), escape(text))?;
            }
            s.push_str("</td></tr>\n");
        }
    }
    s.push_str("</tbody>\n</table>\n</div>");
    Ok(())
}

/// Whether a table cell reads as a number (so it is right-aligned): numbers
/// with separators, signs, exponents, `%`, ratios (`3/10`), intervals
/// (`12.5% (8.1–17.0%)`), an optional short unit (`12 ms`), or a missing
/// value marker (`n/a`, `—`, `NaN`, `inf`).
pub(crate) fn looks_numeric(s: &str) -> bool {
    let t = s.trim();
    if t.is_empty() {
        return false;
    }
    let lower = t.to_lowercase();
    if matches!(
        lower.as_str(),
        "n/a" | "na" | "nan" | "inf" | "+inf" | "-inf" | "∞" | "-∞" | "—" | "–" | "-"
    ) {
        return true;
    }
    // Strip a short trailing unit such as "ms", "s", "KiB", "µs".
    let core = t.trim_end_matches(|c: char| c.is_alphabetic());
    let unit = t.len() - core.len();
    let core = if unit > 0 && t[core.len()..].chars().count() <= 3 {
        core.trim_end()
    } else {
        t
    };
    let Some(first) = core.chars().next() else {
        return false;
    };
    let lead_ok = first.is_ascii_digit() || "+-−.<>≤≥~≈±([".contains(first);
    lead_ok
        && core.chars().any(|c| c.is_ascii_digit())
        && core.chars().all(|c| {
            c.is_ascii_digit() || c.is_whitespace() || ".,%‰+-−–—/()[]:×±<>≤≥~≈∞eE'_".contains(c)
        })
}

/// Adds the SVG namespace so a chart can be saved as its own `.svg` file.
#[cfg(test)]
fn standalone_svg(svg: &str) -> String {
    match svg.strip_prefix("<svg ") {
        Some(rest) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" {rest}"
        ),
        None => svg.to_string(),
    }
}

mod chart;
pub use chart::{Series, bar_chart, line_chart};

#[cfg(test)]
mod tests;
