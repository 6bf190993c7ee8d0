use super::chart::*;
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
    assert!(html.contains("<title>&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;</title>"));
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
        html.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
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
        let open =
            html.matches(&format!("<{tag}>")).count() + html.matches(&format!("<{tag} ")).count();
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
