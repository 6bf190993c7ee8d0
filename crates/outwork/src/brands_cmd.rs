//! `outwork brands`: the brand catalogue and the brands a message claims.

use anyhow::Result;
use clap::{Args, Subcommand};
use outwork_core::Context;
use outwork_core::Place;
use outwork_core::family::{auth, brand};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct BrandsArgs {
    #[command(subcommand)]
    cmd: BrandsCmd,
}

#[derive(Subcommand)]
enum BrandsCmd {
    /// Which brand a name, alias or domain belongs to (e.g. `TF-Bank`,
    /// `tk.de`, `Ｐａｙｐａｌ`).
    Lookup {
        query: String,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Every brand a message claims, where, and whether anything in the
    /// message is that brand's. Files or directories of .eml files.
    Claims {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Only the totals: messages that claim a brand, and how many of
        /// those the brand symbols flag as impersonation.
        #[arg(long)]
        summary: bool,
    },
    /// How many brands the catalogue holds, by sector and country.
    Stats {
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

pub fn run(args: BrandsArgs) -> Result<u8> {
    let mut out = std::io::stdout().lock();
    let r = match args.cmd {
        BrandsCmd::Lookup { query, config } => lookup(&mut out, &query, config.as_ref()),
        BrandsCmd::Claims {
            paths,
            config,
            summary,
        } => claims(&mut out, &paths, config.as_ref(), summary),
        BrandsCmd::Stats { config } => stats(&mut out, config.as_ref()),
    };
    // Every write here is to stdout: a closed pipe (`| head`) is the
    // project's StdoutClosed, which ends the command quietly.
    r.map_err(|e| {
        let closed = e
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe);
        if closed {
            anyhow::Error::new(crate::StdoutClosed)
        } else {
            e
        }
    })
}

fn print_brand(out: &mut impl Write, ctx: &Context, i: usize, why: &str) -> Result<()> {
    let b = &ctx.brands[i];
    writeln!(out, "{}  ({why})", b.name)?;
    writeln!(out, "  sector:   {}", b.sector)?;
    writeln!(out, "  country:  {}", b.country)?;
    let mut names = b.keywords.clone();
    names.extend(
        b.generic
            .iter()
            .map(|g| format!("{g} (whole display name only)")),
    );
    writeln!(out, "  names:    {}", names.join(", "))?;
    writeln!(out, "  domains:  {}", b.domains.join(", "))?;
    if b.lookalike_target {
        writeln!(out, "  lookalike target: yes")?;
    }
    Ok(())
}

fn lookup(out: &mut impl Write, query: &str, config: Option<&PathBuf>) -> Result<u8> {
    let ctx = crate::load_context(config)?;
    let q = query.trim().trim_end_matches('.').to_ascii_lowercase();
    if q.contains('.')
        && !q.contains(' ')
        && let Some(reg) = outwork_core::registrable_domain(&q)
        && let Some(i) = ctx.brand_of_domain(reg)
    {
        print_brand(out, &ctx, i, &format!("owns {reg}"))?;
        return Ok(0);
    }
    let mut claims = Vec::new();
    ctx.brand_matcher
        .find(query, Place::DisplayName, 512, &mut claims);
    let mut found = false;
    for c in &claims {
        let how = if c.disguised {
            format!("\"{}\", disguised", c.found)
        } else {
            format!("\"{}\"", c.found)
        };
        print_brand(out, &ctx, c.brand, &how)?;
        found = true;
    }
    if !found && let Some(i) = outwork_core::family::sender::generic_display_brand(query, &ctx) {
        print_brand(out, &ctx, i, "as a whole display name")?;
        found = true;
    }
    if !found {
        writeln!(out, "no catalogued brand matches {query:?}")?;
        return Ok(1);
    }
    Ok(0)
}

const BRAND_SYMBOLS: &[&str] = &[
    "FROM_DISPLAY_BRAND",
    "FROM_FREEMAIL_BRAND",
    "BRAND_IMPERSONATION",
    "BRAND_DISGUISED",
];

fn claims(
    out: &mut impl Write,
    paths: &[PathBuf],
    config: Option<&PathBuf>,
    summary: bool,
) -> Result<u8> {
    let ctx = crate::load_context(config)?;
    let (mut messages, mut claiming, mut flagged) = (0usize, 0usize, 0usize);
    let mut by_brand: BTreeMap<String, usize> = BTreeMap::new();
    // The scanner's reader: directories, Maildirs, mbox, stdin, each
    // message read only up to the size limit.
    let inputs = outwork_engine::Inputs::new(paths.to_vec(), ctx.limits().max_message_bytes);
    for item in inputs {
        // Manifests and READMEs beside the mail are not messages.
        let ext = Path::new(&item.path).extension().and_then(|e| e.to_str());
        if matches!(ext, Some("tsv" | "md" | "txt" | "json" | "toml")) {
            continue;
        }
        let raw = item.data.map_err(anyhow::Error::msg)?;
        let path = item.path;
        let facts = outwork_core::parse(&raw, ctx.limits());
        let view = auth::read(&facts, &ctx);
        let found = brand::claims(&facts, &ctx);
        messages += 1;
        let mut hits = outwork_core::Hits::default();
        outwork_core::family::sender::signals(&facts, &view, &ctx, &found, &mut hits);
        brand::signals(&facts, &view, &ctx, &found, &mut hits);
        let fired: Vec<&str> = BRAND_SYMBOLS
            .iter()
            .copied()
            .filter(|s| hits.has(s))
            .collect();
        if !found.is_empty() {
            claiming += 1;
            if !fired.is_empty() {
                flagged += 1;
            }
            let mut seen = Vec::new();
            for c in &found {
                if !seen.contains(&c.brand) {
                    seen.push(c.brand);
                    *by_brand
                        .entry(ctx.brands[c.brand].name.clone())
                        .or_default() += 1;
                }
            }
        }
        if summary {
            continue;
        }
        writeln!(out, "{path}")?;
        if found.is_empty() {
            writeln!(out, "  no brand claimed")?;
            continue;
        }
        for c in &found {
            let owner = if brand::owned_by(c.brand, &facts, &view, &ctx) {
                "the brand's own mail"
            } else if brand::vouched_third_party(c.brand, &facts, &view, &ctx) {
                "sent for the brand by a third party"
            } else {
                "nothing in the message is the brand's"
            };
            writeln!(
                out,
                "  {:<16} {:<26} \"{}\"{}  — {owner}",
                c.place.name(),
                ctx.brands[c.brand].name,
                c.found.trim(),
                if c.disguised { " (disguised)" } else { "" }
            )?;
        }
        if brand::is_forward(&facts) {
            writeln!(out, "  a forward: only the display name's claim counts")?;
        }
        if !fired.is_empty() {
            writeln!(out, "  fires: {}", fired.join(", "))?;
        }
    }
    let pct = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            100.0 * a as f64 / b as f64
        }
    };
    if summary || messages > 1 {
        writeln!(
            out,
            "{messages} messages; {claiming} ({:.1}%) claim a catalogued brand; {flagged} of those ({:.1}%) flagged as impersonation ({})",
            pct(claiming, messages),
            pct(flagged, claiming),
            BRAND_SYMBOLS.join(", ")
        )?;
        if summary {
            let mut top: Vec<(&String, &usize)> = by_brand.iter().collect();
            top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let list: Vec<String> = top
                .iter()
                .take(15)
                .map(|(n, c)| format!("{n} {c}"))
                .collect();
            writeln!(out, "most claimed: {}", list.join(", "))?;
        }
    }
    Ok(0)
}

fn stats(out: &mut impl Write, config: Option<&PathBuf>) -> Result<u8> {
    let ctx = crate::load_context(config)?;
    let mut sectors: BTreeMap<&str, usize> = BTreeMap::new();
    let mut countries: BTreeMap<&str, usize> = BTreeMap::new();
    for b in &ctx.brands {
        *sectors.entry(b.sector.as_str()).or_default() += 1;
        for c in b.country.split(';') {
            *countries.entry(c).or_default() += 1;
        }
    }
    let domains: usize = ctx.brands.iter().map(|b| b.domains.len()).sum();
    writeln!(out, "{} brands, {domains} domains", ctx.brands.len())?;
    let line = |m: &BTreeMap<&str, usize>, n: usize| {
        let mut v: Vec<(&&str, &usize)> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.iter()
            .take(n)
            .map(|(k, c)| format!("{k} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "by sector:  {}", line(&sectors, 30))?;
    writeln!(out, "by country: {}", line(&countries, 40))?;
    Ok(0)
}
