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
//! Chart SVG is meant to be embedded in HTML and so carries no `xmlns`; use
//! [`standalone_svg`] to write a chart to its own `.svg` file.

use std::fmt::{self, Write as _};

/// HTML-escape text (& < > " ') for element content and attribute values.
///
/// Control characters other than tab, newline and carriage return (and the
/// non-characters U+FFFE, U+FFFF) become U+FFFD, so the output is also valid
/// in XML (a standalone SVG file).
pub fn escape(s: &str) -> String {
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
pub const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

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
pub fn looks_numeric(s: &str) -> bool {
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
pub fn standalone_svg(svg: &str) -> String {
    match svg.strip_prefix("<svg ") {
        Some(rest) => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" {rest}"
        ),
        None => svg.to_string(),
    }
}

/// A named line for [`line_chart`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

impl Series {
    pub fn new(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            points,
        }
    }
}

/// Okabe–Ito-derived line colours, each at least 3:1 against white.
pub const PALETTE: [&str; 5] = ["#0072B2", "#D55E00", "#009E73", "#AA3377", "#000000"];
/// Dash patterns; with 5 colours and 6 patterns the first 30 series all differ.
pub const DASHES: [&str; 6] = ["", "8 4", "2 3", "10 3 2 3", "5 5", "12 3 2 3 2 3"];
/// Most points drawn per series.
pub const MAX_POINTS: usize = 500;

const FONT: &str = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";
const GRID: &str = "#d9d9d9";
const AXIS: &str = "#1a1a1a";
const MUTED: &str = "#595959";

/// Shortens to `max` characters with an ellipsis.
fn truncate(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        (s.to_string(), false)
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        (t, true)
    }
}

/// A step of 1, 2, 2.5 or 5 times a power of ten giving about `target` intervals.
fn nice_step(span: f64, target: f64) -> f64 {
    let raw = span / target;
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 2.5 {
        2.5
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// An axis: `[lo, hi]` covering 0..1 and the data, with tick step.
#[derive(Debug, Clone, Copy)]
struct Axis {
    lo: f64,
    hi: f64,
    step: f64,
}

impl Axis {
    fn fit(values: impl Iterator<Item = f64>) -> Axis {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if lo == 0.0 && hi == 1.0 {
            return Axis { lo, hi, step: 0.2 };
        }
        let step = nice_step(hi - lo, 5.0);
        let (lo, hi) = ((lo / step).floor() * step, (hi / step).ceil() * step);
        if lo.is_finite() && hi.is_finite() && hi > lo {
            Axis { lo, hi, step }
        } else {
            Axis {
                lo: 0.0,
                hi: 1.0,
                step: 0.2,
            }
        }
    }

    fn ticks(&self) -> Vec<f64> {
        let n = ((self.hi - self.lo) / self.step).round();
        if !(n.is_finite() && (1.0..=50.0).contains(&n)) {
            return vec![self.lo, self.hi];
        }
        (0..=n as usize)
            .map(|i| self.lo + i as f64 * self.step)
            .collect()
    }

    fn label(&self, v: f64) -> String {
        let decimals = (-self.step.log10().floor()).max(0.0) as usize
            + usize::from(((self.step / 10f64.powf(self.step.log10().floor())) - 2.5).abs() < 1e-9);
        let v = if v.abs() < self.step * 1e-9 { 0.0 } else { v };
        format!("{v:.decimals$}")
    }

    /// Fraction of the axis, 0..1 (clamped).
    fn frac(&self, v: f64) -> f64 {
        ((v - self.lo) / (self.hi - self.lo)).clamp(0.0, 1.0)
    }
}

/// Formats a coordinate with one decimal.
fn c(v: f64) -> String {
    format!("{v:.1}")
}

/// Line chart: several named series of (x, y) points, axes 0..1 by default with ticks and grid, legend, optional diagonal reference line (for ROC), distinct colours AND dash patterns (colour-blind safe). Returns an <svg> string with viewBox so it scales.
///
/// An axis grows past 0..1 (to round ticks) only if the data does.
/// Non-finite points break the line. Each series is downsampled to at most
/// [`MAX_POINTS`] points with [`downsample`]. The `<desc>` gives the axes'
/// ranges and each series' size and end points.
/// An accessible chart's opening: `<svg>` sized `w`×`h` with its title
/// (also its label) and long description, on a white background.
fn svg_open(s: &mut String, w: f64, h: f64, title: &str, desc: &str) -> fmt::Result {
    write!(
        s,
        "<svg viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{}\" font-family=\"{FONT}\" font-size=\"13\">",
        escape(title)
    )?;
    write!(
        s,
        "<title>{}</title><desc>{}</desc>",
        escape(title),
        escape(desc)
    )?;
    write!(s, "<rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>")
}

pub fn line_chart(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    diagonal: bool,
) -> String {
    let mut s = String::new();
    let _ = write_line_chart(&mut s, title, x_label, y_label, series, diagonal);
    s
}

fn write_line_chart(
    s: &mut String,
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    diagonal: bool,
) -> fmt::Result {
    const W: f64 = 480.0;
    const LEFT: f64 = 62.0;
    const TOP: f64 = 40.0;
    const PW: f64 = 396.0;
    const PH: f64 = 396.0;
    const LEGEND_ROW: f64 = 22.0;
    let finite = |p: &&(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let all = || series.iter().flat_map(|se| se.points.iter()).filter(finite);
    let xa = Axis::fit(all().map(|p| p.0));
    let ya = Axis::fit(all().map(|p| p.1));
    let px = |x: f64| LEFT + xa.frac(x) * PW;
    let py = |y: f64| TOP + PH - ya.frac(y) * PH;
    let legend_rows = series.len() + usize::from(diagonal);
    let legend_top = TOP + PH + 58.0;
    let h = legend_top + legend_rows as f64 * LEGEND_ROW + 6.0;

    // Description for screen readers.
    let mut desc = format!(
        "Line chart. Horizontal axis: {x_label}, {} to {}. Vertical axis: {y_label}, {} to {}.",
        xa.label(xa.lo),
        xa.label(xa.hi),
        ya.label(ya.lo),
        ya.label(ya.hi)
    );
    if series.is_empty() {
        desc.push_str(" No data.");
    }
    for se in series {
        let pts: Vec<&(f64, f64)> = se.points.iter().filter(finite).collect();
        let _ = write!(desc, " Series {}: {} points", se.name, pts.len());
        if let (Some(a), Some(b)) = (pts.first(), pts.last()) {
            let _ = write!(
                desc,
                ", from ({:.3}, {:.3}) to ({:.3}, {:.3})",
                a.0, a.1, b.0, b.1
            );
        }
        desc.push('.');
    }
    if diagonal {
        desc.push_str(" Dotted grey reference line y = x (chance).");
    }

    svg_open(s, W, h, title, &desc)?;
    write!(
        s,
        "<text x=\"{}\" y=\"24\" font-size=\"16\" font-weight=\"600\" fill=\"{AXIS}\">{}</text>",
        c(LEFT),
        escape(&truncate(title, 56).0)
    )?;

    // Grid, ticks and tick labels.
    s.push_str("<g aria-hidden=\"true\">");
    for t in xa.ticks() {
        let x = px(t);
        write!(
            s,
            "<line x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{}\" stroke=\"{GRID}\"/>",
            TOP + PH,
            x = c(x)
        )?;
        write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{AXIS}\">{}</text>",
            c(x),
            c(TOP + PH + 18.0),
            xa.label(t)
        )?;
    }
    for t in ya.ticks() {
        let y = py(t);
        write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{GRID}\"/>",
            LEFT + PW,
            y = c(y)
        )?;
        write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{AXIS}\">{}</text>",
            c(LEFT - 6.0),
            c(y + 4.0),
            ya.label(t)
        )?;
    }
    write!(
        s,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{PW}\" height=\"{PH}\" fill=\"none\" stroke=\"{AXIS}\"/>"
    )?;
    write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"14\" fill=\"{AXIS}\">{}</text>",
        c(LEFT + PW / 2.0),
        c(TOP + PH + 40.0),
        escape(&truncate(x_label, 60).0)
    )?;
    write!(
        s,
        "<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"14\" fill=\"{AXIS}\">{}</text>",
        c(TOP + PH / 2.0),
        escape(&truncate(y_label, 60).0)
    )?;
    s.push_str("</g>");

    if diagonal {
        let (x0, y0) = (xa.lo.max(ya.lo), xa.lo.max(ya.lo));
        let (x1, y1) = (xa.hi.min(ya.hi), xa.hi.min(ya.hi));
        write!(
            s,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{MUTED}\" stroke-width=\"1.25\" stroke-dasharray=\"1 4\" stroke-linecap=\"round\" aria-hidden=\"true\"/>",
            c(px(x0)),
            c(py(y0)),
            c(px(x1)),
            c(py(y1))
        )?;
    }

    if series
        .iter()
        .all(|se| !se.points.iter().any(|p| finite(&p)))
    {
        write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\">No data</text>",
            c(LEFT + PW / 2.0),
            c(TOP + PH / 2.0)
        )?;
    }

    // The series, in screen coordinates so downsampling works in pixels.
    for (i, se) in series.iter().enumerate() {
        let colour = PALETTE[i % PALETTE.len()];
        let dash = DASHES[i % DASHES.len()];
        let segments = split_finite(&se.points);
        let total: usize = segments.iter().map(Vec::len).sum();
        let mut d = String::new();
        let mut singles = Vec::new();
        for seg in &segments {
            let screen: Vec<(f64, f64)> = seg.iter().map(|&(x, y)| (px(x), py(y))).collect();
            let budget = MAX_POINTS
                .saturating_mul(seg.len())
                .div_ceil(total.max(1))
                .max(2);
            let kept = downsample(&screen, budget);
            if let [only] = kept.as_slice() {
                singles.push(*only);
            }
            for (j, (x, y)) in kept.iter().enumerate() {
                let cmd = if j == 0 { 'M' } else { 'L' };
                write!(d, "{cmd}{},{}", c(*x), c(*y))?;
            }
        }
        write!(
            s,
            "<g aria-hidden=\"true\"><title>{}</title>",
            escape(&se.name)
        )?;
        if !d.is_empty() {
            write!(
                s,
                "<path class=\"series\" d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.25\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
            )?;
            if !dash.is_empty() {
                write!(s, " stroke-dasharray=\"{dash}\"")?;
            }
            s.push_str("/>");
        }
        for (x, y) in singles {
            write!(
                s,
                "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{colour}\"/>",
                c(x),
                c(y)
            )?;
        }
        s.push_str("</g>");
    }

    // Legend below the plot: it never covers the data and reflows with it.
    s.push_str("<g aria-hidden=\"true\">");
    let entries = series
        .iter()
        .enumerate()
        .map(|(i, se)| {
            (
                se.name.as_str(),
                PALETTE[i % PALETTE.len()],
                DASHES[i % DASHES.len()],
                "2.25",
            )
        })
        .chain(diagonal.then_some(("y = x (chance)", MUTED, "1 4", "1.25")));
    for (row, (name, colour, dash, width)) in entries.enumerate() {
        let y = legend_top + row as f64 * LEGEND_ROW;
        write!(
            s,
            "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"{width}\" stroke-linecap=\"round\"",
            LEFT + 40.0,
            y = c(y)
        )?;
        if !dash.is_empty() {
            write!(s, " stroke-dasharray=\"{dash}\"")?;
        }
        s.push_str("/>");
        write!(
            s,
            "<text x=\"{}\" y=\"{}\" fill=\"{AXIS}\">{}</text>",
            c(LEFT + 50.0),
            c(y + 4.5),
            escape(&truncate(name, 52).0)
        )?;
    }
    s.push_str("</g></svg>");
    Ok(())
}

/// Runs of finite points (a non-finite point ends a run).
fn split_finite(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur = Vec::new();
    for &(x, y) in points {
        if x.is_finite() && y.is_finite() {
            cur.push((x, y));
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Reduces a polyline to at most `max_points` points (at least 2) keeping its
/// shape: first drops repeated points and points where the direction does not
/// change, then, if still too many, applies Ramer–Douglas–Peucker with the
/// smallest tolerance (found by bisection) that meets the budget. The first
/// and last points are always kept. Distances are in the input's units, so
/// call it on screen coordinates. Non-finite points are dropped.
pub fn downsample(points: &[(f64, f64)], max_points: usize) -> Vec<(f64, f64)> {
    let max_points = max_points.max(2);
    let pts = drop_collinear(points);
    if pts.len() <= max_points {
        return pts;
    }
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in &pts {
        min_x = min_x.min(x);
        max_x = max_x.max(x);
        min_y = min_y.min(y);
        max_y = max_y.max(y);
    }
    // At this tolerance nothing but the end points survives.
    let mut hi = (max_x - min_x).hypot(max_y - min_y);
    let mut lo = 0.0;
    let mut best = rdp(&pts, hi);
    for _ in 0..40 {
        let mid = (lo + hi) / 2.0;
        let keep = rdp(&pts, mid);
        if keep.len() <= max_points {
            best = keep;
            hi = mid;
        } else {
            lo = mid;
        }
        if hi - lo <= hi * 1e-3 {
            break;
        }
    }
    best
}

fn drop_collinear(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(points.len().min(4096));
    for &p in points.iter().filter(|p| p.0.is_finite() && p.1.is_finite()) {
        if out.last() == Some(&p) {
            continue;
        }
        if let [.., a, b] = out.as_slice() {
            let (v1x, v1y) = (b.0 - a.0, b.1 - a.1);
            let (v2x, v2y) = (p.0 - b.0, p.1 - b.1);
            let cross = v1x * v2y - v1y * v2x;
            let dot = v1x * v2x + v1y * v2y;
            let scale = v1x.hypot(v1y) * v2x.hypot(v2y);
            if dot > 0.0 && cross.abs() <= 1e-9 * scale {
                // b lies on the straight run from a to p.
                out.pop();
            }
        }
        out.push(p);
    }
    out
}

/// Distance from `p` to the segment `a`–`b`.
fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (p.0 - (a.0 + t * dx)).hypot(p.1 - (a.1 + t * dy))
}

/// Ramer–Douglas–Peucker without recursion.
fn rdp(pts: &[(f64, f64)], eps: f64) -> Vec<(f64, f64)> {
    let n = pts.len();
    if n <= 2 {
        return pts.to_vec();
    }
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut stack = vec![(0usize, n - 1)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (pa, pb) = (pts[a], pts[b]);
        let mut far = (a, -1.0f64);
        for (i, &p) in pts.iter().enumerate().take(b).skip(a + 1) {
            let d = seg_dist(p, pa, pb);
            if d > far.1 {
                far = (i, d);
            }
        }
        if far.1 > eps {
            keep[far.0] = true;
            stack.push((a, far.0));
            stack.push((far.0, b));
        }
    }
    pts.iter()
        .zip(keep)
        .filter_map(|(&p, k)| k.then_some(p))
        .collect()
}

/// One bar of [`bar_chart`]: label, rate in 0..1, optional interval `(lo, hi)`.
pub type Bar = (String, f64, Option<(f64, f64)>);

/// A rate as a percentage with one decimal.
fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// Horizontal bar chart with optional error bars: (label, value, Option<(lo, hi)>) in 0..1, formatted as percentages; used for per-operator evasion rates with Wilson intervals.
///
/// Values and interval ends are clamped to 0..1 (an interval given as
/// `(hi, lo)` is reordered); a NaN value shows as "n/a" with no bar, and a
/// non-finite interval is left out. Long labels are shortened with "…" (the
/// full label is in the `<desc>` and the tooltip).
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    let mut s = String::new();
    let _ = write_bar_chart(&mut s, title, bars);
    s
}

fn write_bar_chart(s: &mut String, title: &str, bars: &[Bar]) -> fmt::Result {
    const W: f64 = 640.0;
    const TOP: f64 = 44.0;
    const ROW: f64 = 28.0;
    const BAR: f64 = 16.0;
    const VALUE_W: f64 = 150.0;
    const MAX_LABEL: usize = 26;
    let label_chars = bars
        .iter()
        .map(|b| b.0.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(4, MAX_LABEL);
    let left = 12.0 + label_chars as f64 * 7.4;
    let pw = W - left - VALUE_W - 12.0;
    let rows = bars.len().max(1);
    let ph = rows as f64 * ROW;
    let h = TOP + ph + 34.0;
    let px = |v: f64| left + v * pw;

    struct Clean {
        value: Option<f64>,
        interval: Option<(f64, f64)>,
    }
    let clamp01 = |v: f64| v.clamp(0.0, 1.0);
    let clean: Vec<Clean> = bars
        .iter()
        .map(|(_, v, iv)| Clean {
            value: (!v.is_nan()).then(|| clamp01(*v)),
            interval: iv.and_then(|(a, b)| {
                (!a.is_nan() && !b.is_nan()).then(|| (clamp01(a.min(b)), clamp01(a.max(b))))
            }),
        })
        .collect();
    let text = |b: &Clean| -> String {
        match (b.value, b.interval) {
            (None, _) => "n/a".to_string(),
            (Some(v), None) => pct(v),
            (Some(v), Some((lo, hi))) => {
                format!("{} ({:.1}–{:.1}%)", pct(v), lo * 100.0, hi * 100.0)
            }
        }
    };

    let mut desc = String::from("Horizontal bar chart of rates, 0% to 100%.");
    if bars.is_empty() {
        desc.push_str(" No data.");
    }
    for ((label, _, _), b) in bars.iter().zip(&clean) {
        let _ = match (b.value, b.interval) {
            (Some(v), Some((lo, hi))) => write!(
                desc,
                " {label}: {}, interval {} to {}.",
                pct(v),
                pct(lo),
                pct(hi)
            ),
            _ => write!(desc, " {label}: {}.", text(b)),
        };
    }

    svg_open(s, W, h, title, &desc)?;
    write!(
        s,
        "<text x=\"12\" y=\"24\" font-size=\"16\" font-weight=\"600\" fill=\"{AXIS}\">{}</text>",
        escape(&truncate(title, 70).0)
    )?;
    s.push_str("<g aria-hidden=\"true\">");
    // Zebra rows, then the grid over them and under the bars.
    for i in (0..bars.len()).step_by(2) {
        write!(
            s,
            "<rect x=\"0\" y=\"{}\" width=\"{W}\" height=\"{ROW}\" fill=\"#f3f3f3\"/>",
            c(TOP + i as f64 * ROW)
        )?;
    }
    for q in 0..=4 {
        let v = f64::from(q) / 4.0;
        let x = c(px(v));
        write!(
            s,
            "<line x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{}\" stroke=\"{}\"/>",
            c(TOP + ph),
            if q == 0 { AXIS } else { GRID }
        )?;
        write!(
            s,
            "<text x=\"{x}\" y=\"{}\" text-anchor=\"middle\" fill=\"{AXIS}\">{}%</text>",
            c(TOP + ph + 18.0),
            q * 25
        )?;
    }
    if bars.is_empty() {
        write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"{MUTED}\">No data</text>",
            c(left + pw / 2.0),
            c(TOP + ROW / 2.0 + 4.0)
        )?;
    }
    for (i, ((label, _, _), b)) in bars.iter().zip(&clean).enumerate() {
        let mid = TOP + i as f64 * ROW + ROW / 2.0;
        let (short, cut) = truncate(label, MAX_LABEL);
        write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{AXIS}\">",
            c(left - 8.0),
            c(mid + 4.5)
        )?;
        if cut {
            write!(s, "<title>{}</title>", escape(label))?;
        }
        write!(s, "{}</text>", escape(&short))?;
        if let Some(v) = b.value {
            write!(
                s,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{BAR}\" fill=\"#2F6FA7\"/>",
                c(left),
                c(mid - BAR / 2.0),
                c(v * pw)
            )?;
        }
        if let Some((lo, hi)) = b.interval {
            let (x0, x1) = (c(px(lo)), c(px(hi)));
            let (y0, y1) = (c(mid - 7.0), c(mid + 7.0));
            let y = c(mid);
            write!(
                s,
                "<path d=\"M{x0},{y}H{x1}M{x0},{y0}V{y1}M{x1},{y0}V{y1}\" stroke=\"#000\" stroke-width=\"1.5\" fill=\"none\"/>"
            )?;
        }
        write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"{AXIS}\" font-variant-numeric=\"tabular-nums\">{}</text>",
            c(W - 10.0),
            c(mid + 4.5),
            escape(&text(b))
        )?;
    }
    s.push_str("</g></svg>");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTILE: &str = "<script>alert(1)</script>\"'&";

    fn roc_like(n: usize, seed: u64) -> Vec<(f64, f64)> {
        // A staircase from (0,0) to (1,1) with n steps, like a real ROC.
        let mut state = seed;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let (mut x, mut y) = (0usize, 0usize);
        let mut out = vec![(0.0, 0.0)];
        let half = n / 2;
        while x < half || y < half {
            let up = y < half && (x >= half || next() % 3 != 0);
            if up {
                y += 1;
            } else {
                x += 1;
            }
            out.push((x as f64 / half as f64, y as f64 / half as f64));
        }
        out
    }

    fn series_point_counts(svg: &str) -> Vec<usize> {
        svg.split("<path class=\"series\" d=\"")
            .skip(1)
            .map(|rest| {
                let d = rest.split('"').next().unwrap_or("");
                d.chars().filter(|&ch| ch == 'M' || ch == 'L').count()
            })
            .collect()
    }

    fn assert_svg(svg: &str) {
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.ends_with("</svg>"));
        assert!(svg.contains("viewBox=\"0 0 "));
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-label=\""));
        assert!(svg.contains("<title>") && svg.contains("<desc>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{svg}");
        assert_eq!(svg.matches("<svg").count(), 1);
        assert_eq!(svg.matches("<g").count(), svg.matches("</g>").count());
    }

    #[test]
    fn escape_hostile() {
        assert_eq!(
            escape(HOSTILE),
            "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\td\n"), "a\u{FFFD}b\u{FFFD}c\td\n");
        assert_eq!(escape("Zürich – ✓"), "Zürich – ✓");
    }

    #[test]
    fn hostile_text_is_escaped_everywhere() {
        let mut r = Report::new(HOSTILE);
        r.generated(HOSTILE);
        r.heading(2, HOSTILE);
        r.paragraph(HOSTILE);
        r.note(HOSTILE);
        r.list(&[HOSTILE]);
        r.preformatted(HOSTILE);
        r.table(
            HOSTILE,
            &[HOSTILE, "n"],
            &[vec![HOSTILE.to_string(), HOSTILE.to_string()]],
        );
        let series = vec![Series::new(HOSTILE, vec![(0.0, 0.0), (1.0, 1.0)])];
        let line = line_chart(HOSTILE, HOSTILE, HOSTILE, &series, true);
        let bars = bar_chart(HOSTILE, &[(HOSTILE.to_string(), 0.5, Some((0.4, 0.6)))]);
        for svg in [&line, &bars] {
            assert!(!svg.contains("<script"));
            assert!(svg.contains("&lt;script&gt;"));
            assert_svg(svg);
        }
        r.svg(line);
        r.svg(bars);
        let html = r.render();
        assert!(!html.to_lowercase().contains("<script"), "{html}");
        assert!(!html.contains("\"'&<"));
        // Caption, cells and title are all present, escaped.
        assert!(html.contains("<caption id=\"t2\">&lt;script&gt;"));
        assert!(
            html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</title>")
        );
        assert!(html.matches("&lt;script&gt;").count() >= 12);
    }

    #[test]
    fn render_is_offline_and_well_formed() {
        let mut r = Report::new("Evaluation");
        r.generated("2026-04-01T12:00:00Z");
        r.heading(1, "Summary");
        r.paragraph("text");
        r.heading(3, "Detail");
        r.heading(9, "Detail 2");
        r.table("Empty", &[], &[]);
        r.svg(line_chart("ROC", "FPR", "TPR", &[], true));
        r.svg(bar_chart("Evasion", &[]));
        let html = r.render();
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(
            html.contains(
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            )
        );
        assert!(html.contains(
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:"
        ));
        assert!(html.contains("Generated 2026-04-01T12:00:00Z"));
        assert!(!html.contains("http://") && !html.contains("https://"));
        assert!(!html.contains("src=") && !html.contains("<link") && !html.contains("@import"));
        assert!(!html.contains("url("));
        assert_eq!(html.matches("<h1>").count(), 1);
        assert!(html.contains("<h2 id=\"s1\">Summary</h2>"));
        assert!(html.contains("<h3 id=\"s2\">Detail</h3>"));
        assert!(html.contains("<h3 id=\"s3\">Detail 2</h3>"));
        assert!(!html.contains("<nav"), "contents only with 3+ sections");
        assert!(html.contains("(no rows)"));
        assert!(html.ends_with("</html>\n"));
        for tag in ["main", "header", "table", "figure", "svg", "p", "h2", "h3"] {
            let open = html.matches(&format!("<{tag}>")).count()
                + html.matches(&format!("<{tag} ")).count();
            assert_eq!(open, html.matches(&format!("</{tag}>")).count(), "{tag}");
        }
    }

    #[test]
    fn contents_list_with_three_sections() {
        let mut r = Report::new("t");
        for name in ["A", "B", "C"] {
            r.heading(2, name);
        }
        let html = r.render();
        assert!(html.contains("<nav aria-label=\"Contents\">"));
        assert!(html.contains("<li><a href=\"#s3\">C</a></li>"));
    }

    #[test]
    fn long_lists_get_a_row_of_their_own() {
        let mut r = Report::new("t");
        r.table_with_details(
            "Per operator",
            &["variant", "messages", "evasion"],
            &[
                vec!["qr".into(), "6".into(), "50.0%".into()],
                vec!["homoglyph".into(), "6".into(), "0.0%".into()],
            ],
            &[
                vec![
                    ("stopped firing", "URL_BLOCKLISTED×3 <b>".into()),
                    ("still caught by", "FROM_DISPLAY_BRAND×6".into()),
                ],
                vec![],
            ],
        );
        let html = r.render();
        assert!(html.contains("<table class=\"details\">"));
        assert!(html.contains(
            "<tr class=\"detail\"><td colspan=\"3\"><b>stopped firing:</b> URL_BLOCKLISTED×3 &lt;b&gt; · <b>still caught by:</b> FROM_DISPLAY_BRAND×6</td></tr>"
        ));
        // A row without details still has its (empty) detail row: stripes
        // stay paired.
        assert_eq!(html.matches("<tr class=\"detail\">").count(), 2);
        assert_eq!(html.matches("<tr class=\"row\">").count(), 2);
    }

    /// Reports use the window's width (a wide table must not scroll inside
    /// a narrow column); prose keeps a readable measure.
    #[test]
    fn reports_use_the_width() {
        let max = |sel: &str| -> f64 {
            let rule = &CSS[CSS.find(&format!("{sel}{{")).expect(sel)..];
            let rule = &rule[..rule.find('}').unwrap_or(rule.len())];
            rule.split("max-width:")
                .nth(1)
                .and_then(|v| v.split("rem").next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(f64::INFINITY)
        };
        assert!(max("header,main") * 16.0 >= 1400.0, "{CSS}");
        assert!(max("p,ul") <= 60.0, "{CSS}");
    }

    #[test]
    fn table_alignment_and_scopes() {
        let mut r = Report::new("t");
        r.table(
            "Per source",
            &["Source", "Mails", "Recall", "Note"],
            &[
                vec![
                    "phishtank".into(),
                    "1,204".into(),
                    "93.1% (91.5–94.4%)".into(),
                    "ok".into(),
                ],
                vec!["2024".into(), "n/a".into(), "0.5".into()],
            ],
        );
        let html = r.render();
        assert!(html.contains("<th scope=\"col\">Source</th>"));
        assert!(html.contains("<th scope=\"col\" class=\"num\">Mails</th>"));
        assert!(html.contains("<th scope=\"col\">Note</th>"));
        assert!(html.contains("<th scope=\"row\">phishtank</th>"));
        assert!(html.contains("<th scope=\"row\" class=\"num\">2024</th>"));
        assert!(html.contains("<td class=\"num\">93.1% (91.5–94.4%)</td>"));
        assert!(html.contains("<td>ok</td>"));
        // The short row is padded.
        assert!(html.contains("<td class=\"num\">0.5</td><td></td></tr>"));
        assert!(html.contains("role=\"region\" aria-labelledby=\"t1\" tabindex=\"0\""));
    }

    #[test]
    fn numeric_detection() {
        for yes in [
            "0",
            "-3",
            "1,204",
            "12.5%",
            "3/10",
            "1e-3",
            "−0.25",
            "12 ms",
            "4 KiB",
            "n/a",
            "—",
            "0.93 (0.91–0.95)",
            "[0.1, 0.2]",
            "≤ 0.01",
            "NaN",
            "±2.0",
        ] {
            assert!(looks_numeric(yes), "{yes}");
        }
        for no in [
            "",
            " ",
            "phish",
            "ham/spam",
            "v2 rule",
            "abc123",
            "e5",
            "12 apples",
            "x",
        ] {
            assert!(!looks_numeric(no), "{no}");
        }
    }

    #[test]
    fn line_chart_empty_and_nan_do_not_panic() {
        let empty = line_chart("Empty", "x", "y", &[], false);
        assert_svg(&empty);
        assert!(empty.contains("No data"));
        let blank = line_chart("Blank", "x", "y", &[Series::new("none", vec![])], true);
        assert_svg(&blank);
        let nan = Series::new(
            "nan",
            vec![
                (f64::NAN, 0.1),
                (0.0, 0.0),
                (0.5, f64::NAN),
                (0.2, 0.7),
                (f64::INFINITY, 1.0),
                (0.4, 0.8),
                (1.0, 1.0),
                (f64::NEG_INFINITY, f64::NAN),
            ],
        );
        let all_nan = Series::new("all nan", vec![(f64::NAN, f64::NAN); 3]);
        let svg = line_chart("Missing values", "x", "y", &[nan, all_nan], true);
        assert_svg(&svg);
        assert_eq!(series_point_counts(&svg), vec![4]);
        assert!(
            svg.contains("d=\"M62.0,436.0M141.2,158.8M220.4,119.2L458.0,40.0\""),
            "{svg}"
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        let single = line_chart(
            "One",
            "x",
            "y",
            &[Series::new("p", vec![(0.5, 0.5)])],
            false,
        );
        assert_svg(&single);
        assert!(single.contains("<circle"));
    }

    #[test]
    fn line_chart_axes_grow_with_data() {
        let svg = line_chart(
            "Cost",
            "threshold",
            "cost",
            &[Series::new("c", vec![(0.0, -3.0), (2.0, 40.0)])],
            false,
        );
        assert_svg(&svg);
        assert!(
            svg.contains(">40</text>") && svg.contains(">-10</text>"),
            "{svg}"
        );
        assert!(svg.contains(">2.0</text>"), "{svg}");
        let unit = line_chart("ROC", "x", "y", &[Series::new("a", vec![(0.0, 0.0)])], true);
        assert!(unit.contains(">0.0</text>") && unit.contains(">1.0</text>"));
        assert!(!unit.contains(">1.2</text>"));
    }

    #[test]
    fn line_chart_distinct_styles() {
        let series: Vec<Series> = (0..30)
            .map(|i| {
                Series::new(
                    &format!("s{i}"),
                    vec![(0.0, 0.0), (1.0, f64::from(i) / 30.0)],
                )
            })
            .collect();
        let svg = line_chart("Many", "x", "y", &series, false);
        assert_svg(&svg);
        let styles: std::collections::HashSet<(usize, usize)> = (0..30)
            .map(|i| (i % PALETTE.len(), i % DASHES.len()))
            .collect();
        assert_eq!(styles.len(), 30);
    }

    #[test]
    fn palette_contrast_against_white() {
        fn channel(h: &str) -> f64 {
            let v = f64::from(u8::from_str_radix(h, 16).unwrap_or(0)) / 255.0;
            if v <= 0.04045 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        }
        for colour in PALETTE.iter().chain(&[AXIS, MUTED, "#2F6FA7"]) {
            let (r, g, b) = (
                channel(&colour[1..3]),
                channel(&colour[3..5]),
                channel(&colour[5..7]),
            );
            let l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
            let ratio = 1.05 / (l + 0.05);
            assert!(ratio >= 3.0, "{colour}: {ratio:.2}");
        }
    }

    #[test]
    fn long_series_is_downsampled_keeping_shape() {
        let pts = roc_like(10_000, 99);
        assert!(pts.len() >= 10_000);
        let svg = line_chart(
            "ROC",
            "FPR",
            "TPR",
            &[Series::new("big", pts.clone())],
            true,
        );
        assert_svg(&svg);
        let counts = series_point_counts(&svg);
        assert_eq!(counts.len(), 1);
        assert!(counts[0] <= 600 && counts[0] >= 50, "{counts:?}");
        // The kept points stay within a pixel or two of the original curve.
        let kept = downsample(
            &pts.iter()
                .map(|&(x, y)| (x * 396.0, y * 396.0))
                .collect::<Vec<_>>(),
            500,
        );
        assert!(kept.len() <= 500);
        assert_eq!(kept.first(), Some(&(0.0, 0.0)));
        assert_eq!(kept.last(), Some(&(396.0, 396.0)));
        let worst = pts
            .iter()
            .map(|&(x, y)| {
                let p = (x * 396.0, y * 396.0);
                kept.windows(2)
                    .map(|w| seg_dist(p, w[0], w[1]))
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(0.0, f64::max);
        assert!(worst < 3.0, "worst deviation {worst:.2}px");
    }

    #[test]
    fn downsample_drops_only_straight_runs() {
        let line: Vec<(f64, f64)> = (0..1000)
            .map(|i| (f64::from(i), 2.0 * f64::from(i)))
            .collect();
        assert_eq!(downsample(&line, 500), vec![(0.0, 0.0), (999.0, 1998.0)]);
        let stairs = vec![
            (0.0, 0.0),
            (0.0, 1.0),
            (0.0, 2.0),
            (1.0, 2.0),
            (2.0, 2.0),
            (2.0, 2.0),
        ];
        assert_eq!(
            downsample(&stairs, 500),
            vec![(0.0, 0.0), (0.0, 2.0), (2.0, 2.0)]
        );
        // A reversal is a direction change and is kept.
        let back = vec![(0.0, 0.0), (2.0, 0.0), (1.0, 0.0)];
        assert_eq!(downsample(&back, 500), back);
        assert!(downsample(&[], 10).is_empty());
        assert_eq!(
            downsample(&[(f64::NAN, 1.0), (1.0, 1.0)], 10),
            vec![(1.0, 1.0)]
        );
        let zigzag: Vec<(f64, f64)> = (0..100).map(|i| (f64::from(i), f64::from(i % 2))).collect();
        assert_eq!(downsample(&zigzag, 0).len(), 2);
    }

    #[test]
    fn bar_chart_clamps_and_formats() {
        let bars = vec![
            ("below".to_string(), -0.5, Some((-1.0, 0.2))),
            ("above".to_string(), 1.7, Some((1.2, 0.9))),
            ("nan".to_string(), f64::NAN, Some((f64::NAN, 0.5))),
            ("plain".to_string(), 0.123_45, None),
            (
                "a label that is far too long to fit in the space".to_string(),
                0.5,
                Some((0.4, 0.6)),
            ),
        ];
        let svg = bar_chart("Evasion by operator", &bars);
        assert_svg(&svg);
        assert!(svg.contains("0.0% (0.0–20.0%)"), "{svg}");
        assert!(svg.contains("100.0% (90.0–100.0%)"));
        assert!(svg.contains(">n/a</text>"));
        assert!(svg.contains(">12.3%</text>"));
        assert!(svg.contains("a label that is far too l…"));
        assert!(svg.contains("<title>a label that is far too long to fit in the space</title>"));
        // No bar is wider than the plot, none negative.
        let chunks: Vec<&str> = svg.split("fill=\"#2F6FA7\"").collect();
        let widths: Vec<f64> = chunks[..chunks.len() - 1]
            .iter()
            .filter_map(|chunk| chunk.rsplit("width=\"").next())
            .filter_map(|rest| rest.split('"').next()?.parse().ok())
            .collect();
        assert_eq!(widths.len(), 4, "{widths:?}");
        let max = widths.iter().copied().fold(0.0, f64::max);
        assert!(widths.iter().all(|&w| w >= 0.0) && max <= 640.0);
        assert!(widths.contains(&0.0));
        let empty = bar_chart("Nothing", &[]);
        assert_svg(&empty);
        assert!(empty.contains("No data"));
    }

    #[test]
    fn standalone_svg_adds_namespace() {
        let svg = bar_chart("x", &[]);
        let file = standalone_svg(&svg);
        assert!(file.starts_with("<?xml"));
        assert!(file.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox="));
        assert_eq!(standalone_svg("nope"), "nope");
    }

    /// Writes a demo report when OUTWORK_REPORT_DEMO names a file.
    #[test]
    fn demo_report() {
        use crate::stats;
        let mut rng = stats::SplitMix64::new(2026);
        let mut model = |sep: f64, n: usize| -> Vec<(f64, bool)> {
            (0..n)
                .map(|_| {
                    let pos = rng.below(4) == 0;
                    let noise = rng.next_f64() + rng.next_f64() + rng.next_f64();
                    (noise / 3.0 + if pos { sep } else { 0.0 }, pos)
                })
                .collect()
        };
        let a = model(0.35, 10_000);
        let b = model(0.15, 3_000);
        let (ra, rb) = (stats::roc(&a), stats::roc(&b));
        let to_series = |name: &str, pts: &[stats::RocPoint]| {
            Series::new(
                &format!("{name} (AUC {:.3})", stats::auc(pts)),
                pts.iter().map(|p| (p.fpr, p.tpr)).collect(),
            )
        };
        let mut r = Report::new("outwork red-team evaluation");
        r.generated("2026-04-01 12:00 UTC");
        r.heading(2, "Summary");
        r.paragraph("Demo data: two synthetic score distributions.");
        let (rec, thr, fpr) = stats::recall_at_fpr(&a, 0.01);
        let c = stats::Confusion::at_threshold(&a, thr);
        let (lo, hi) = stats::wilson(c.tp, c.positives(), 1.96);
        r.table(
            "Operating point at FPR ≤ 1%",
            &["Model", "Threshold", "Recall", "FPR", "Flagged"],
            &[vec![
                "engine v2".into(),
                format!("{thr:.3}"),
                format!("{} ({}–{})", pct(rec), pct(lo), pct(hi)),
                pct(fpr),
                format!("{}/{}", c.tp + c.fp, c.total()),
            ]],
        );
        r.heading(2, "ROC");
        r.svg(line_chart(
            "ROC curves",
            "False-positive rate",
            "True-positive rate (recall)",
            &[to_series("engine v2", &ra), to_series("engine v1", &rb)],
            true,
        ));
        r.note("Curves downsampled for display; AUC computed on all points.");
        r.heading(2, "Evasion by operator");
        let ops = [
            ("homoglyph", 41, 200),
            ("html-split", 12, 200),
            ("zero-width", 0, 150),
        ];
        let bars: Vec<Bar> = ops
            .iter()
            .map(|&(name, k, n)| {
                (
                    name.to_string(),
                    stats::proportion(k, n),
                    Some(stats::wilson(k, n, 1.96)),
                )
            })
            .collect();
        r.svg(bar_chart("Evasion rate (95% Wilson interval)", &bars));
        let html = r.render();
        assert!(!html.contains("http://") && !html.contains("https://"));
        if let Some(path) = std::env::var_os("OUTWORK_REPORT_DEMO") {
            std::fs::write(path, &html).unwrap();
        }
    }
}
