//! The charts of a report: line charts (with downsampling) and bar
//! charts, as inline SVG.

use super::escape;
use std::fmt::{self, Write as _};

/// A named line for [`line_chart`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// The legend text.
    pub name: String,
    /// The (x, y) points in drawing order; a non-finite point breaks the line.
    pub points: Vec<(f64, f64)>,
}

impl Series {
    /// A series named `name`.
    pub fn new(name: &str, points: Vec<(f64, f64)>) -> Series {
        Series {
            name: name.to_string(),
            points,
        }
    }
}

/// Okabe–Ito-derived line colours, each at least 3:1 against white.
pub(super) const PALETTE: [&str; 5] = ["#0072B2", "#D55E00", "#009E73", "#AA3377", "#000000"];
/// Dash patterns; with 5 colours and 6 patterns the first 30 series all differ.
pub(super) const DASHES: [&str; 6] = ["", "8 4", "2 3", "10 3 2 3", "5 5", "12 3 2 3 2 3"];
/// Most points drawn per series.
pub(super) const MAX_POINTS: usize = 500;

pub(super) const FONT: &str = "system-ui, -apple-system, Segoe UI, Roboto, Arial, sans-serif";
pub(super) const GRID: &str = "#d9d9d9";
pub(super) const AXIS: &str = "#1a1a1a";
pub(super) const MUTED: &str = "#595959";

/// Shortens to `max` characters with an ellipsis.
pub(super) fn truncate(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        (s.to_string(), false)
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        (t, true)
    }
}

/// A step of 1, 2, 2.5 or 5 times a power of ten giving about `target` intervals.
pub(super) fn nice_step(span: f64, target: f64) -> f64 {
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
pub(super) struct Axis {
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
pub(super) fn c(v: f64) -> String {
    format!("{v:.1}")
}

/// An accessible chart's opening: `<svg>` sized `w`×`h` with its title
/// (also its label) and long description, on a white background.
pub(super) fn svg_open(s: &mut String, w: f64, h: f64, title: &str, desc: &str) -> fmt::Result {
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

/// Line chart: several named series of (x, y) points, axes 0..1 by default
/// with ticks and grid, legend, optional diagonal reference line (for ROC),
/// distinct colours AND dash patterns (colour-blind safe). Returns an
/// `<svg>` string with viewBox so it scales.
///
/// An axis grows past 0..1 (to round ticks) only if the data does.
/// Non-finite points break the line. Each series is downsampled to at most
/// 500 points, keeping its shape. The `<desc>` gives the axes' ranges and
/// each series' size and end points.
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

pub(super) fn write_line_chart(
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
pub(super) fn split_finite(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
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
pub(super) fn downsample(points: &[(f64, f64)], max_points: usize) -> Vec<(f64, f64)> {
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

pub(super) fn drop_collinear(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
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
pub(super) fn seg_dist(p: (f64, f64), a: (f64, f64), b: (f64, f64)) -> f64 {
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
pub(super) fn rdp(pts: &[(f64, f64)], eps: f64) -> Vec<(f64, f64)> {
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
pub(super) type Bar = (String, f64, Option<(f64, f64)>);

/// A rate as a percentage with one decimal.
pub(super) fn pct(v: f64) -> String {
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

pub(super) fn write_bar_chart(s: &mut String, title: &str, bars: &[Bar]) -> fmt::Result {
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
