//! outwork: the command line. A thin front over the engine; output
//! formatting (the "sinks") lives here, detection logic does not.

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand, ValueEnum};
use outwork_core::{Action, Config, Context};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod brands_cmd;
mod eval;
mod intel_cmd;
mod redteam;
mod render;
mod train_cmd;

/// `outwork --version`: says whether YARA is built in.
const VERSION: &str = if cfg!(feature = "yara") {
    concat!(env!("CARGO_PKG_VERSION"), " (with YARA)")
} else {
    concat!(
        env!("CARGO_PKG_VERSION"),
        " (without YARA: --features yara)"
    )
};

#[derive(Parser)]
#[command(
    name = "outwork",
    version = VERSION,
    // Every command's man page (outwork generate man) carries the version.
    propagate_version = true,
    about = "Phishing defence that judges mail by its context, and explains every verdict"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    /// Readable report per message.
    Human,
    /// One JSON object per message, one per line.
    Jsonl,
    /// One pretty JSON array of all messages.
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Scan messages: files, `-` for stdin, directories, mbox files, Maildirs.
    Scan {
        /// Paths to scan (formats are detected).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Deployment context (outwork.toml).
        #[arg(short, long)]
        config: Option<PathBuf>,
        #[arg(short, long, value_enum, default_value_t = Format::Human)]
        format: Format,
        /// Worker threads (default: every core; -j 1 for single-threaded runs).
        #[arg(short = 'j', long)]
        threads: Option<usize>,
        /// Never show a progress bar.
        #[arg(long)]
        no_progress: bool,
        /// Don't print the end-of-run summary on stderr.
        #[arg(short, long)]
        quiet: bool,
        /// Intel store file (default: config `intel.path`, else
        /// ~/.local/share/outwork/intel.owi when it exists).
        #[arg(long)]
        intel: Option<PathBuf>,
        /// Verify SPF, DKIM, DMARC and ARC with DNS (as `[auth] verify`).
        #[arg(long)]
        verify: bool,
        /// The connecting client's IP, for SPF.
        #[arg(long, value_name = "IP")]
        envelope_ip: Option<std::net::IpAddr>,
        /// The client's HELO/EHLO name.
        #[arg(long, value_name = "NAME")]
        helo: Option<String>,
        /// The envelope sender (MAIL FROM); "" for the null sender.
        #[arg(long, value_name = "ADDR")]
        mail_from: Option<String>,
        /// Envelope recipients (RCPT TO), repeatable.
        #[arg(long, value_name = "ADDR")]
        rcpt: Vec<String>,
    },
    /// Blocklists: import feeds, show and prune the store.
    Intel {
        #[command(subcommand)]
        cmd: IntelCmd,
    },
    /// Look URLs up in the intel store.
    Url {
        #[command(subcommand)]
        cmd: UrlCmd,
    },
    /// Validate configuration.
    Config {
        #[command(subcommand)]
        cmd: ConfigCmd,
    },
    /// The brand catalogue: look a name or domain up, list the brands
    /// messages claim, count the catalogue.
    Brands(brands_cmd::BrandsArgs),
    /// List every symbol with its default weight and meaning.
    Symbols {
        /// Print a Markdown table (as in docs/SYMBOLS.md).
        #[arg(long)]
        markdown: bool,
    },
    /// Evaluate one or more filters on a labelled corpus (MANIFEST.tsv or
    /// phish/ ham/ spam/ folders): terminal summary, --json, --html.
    Eval(eval::EvalArgs),
    /// Apply attacker transformations to each phishing message and report
    /// how often each one evades (per operator and combination).
    Redteam(redteam::RedteamArgs),
    /// Marginal-risk report: a baseline attack set against the same attacks
    /// with a new capability, with confidence intervals.
    Assess(redteam::AssessArgs),
    /// Learn the verdict model from labelled mail, cross-validated by
    /// random folds, by source and by time (`[model] path` loads it).
    Train(train_cmd::TrainArgs),
    /// Tune the model with this deployment's own mail (`--phish`, `--ham`):
    /// a local model on top of the built-in one, bounded, logged, undoable.
    Learn(train_cmd::LearnArgs),
    /// The learned model in use: what it was trained on and how it held up.
    Model {
        #[command(subcommand)]
        cmd: ModelCmd,
    },
    /// The first-contact history (`[history]`): show, check, prune.
    History {
        #[command(subcommand)]
        cmd: HistoryCmd,
    },
    /// Run in the mail flow: the milter for Postfix/Sendmail (`[milter]`)
    /// and the HTTP API, Rspamd-compatible (`[http]`).
    Serve {
        /// Deployment context (outwork.toml); its [milter] and [http]
        /// tables say what to serve (neither: both on loopback).
        /// Packaged: /etc/outwork/outwork.toml.
        #[arg(short, long)]
        config: Option<PathBuf>,
        /// Intel store file (as for scan).
        #[arg(long)]
        intel: Option<PathBuf>,
    },
    /// Quarantined messages (`[milter] quarantine_dir`).
    Quarantine {
        #[command(subcommand)]
        cmd: QuarantineCmd,
    },
    /// Man pages and shell completions from this command line's own
    /// definition (for packages: packaging/build-deb.sh runs it).
    #[command(hide = true)]
    Generate {
        #[command(subcommand)]
        cmd: GenerateCmd,
    },
}

#[derive(Subcommand)]
enum GenerateCmd {
    /// One man page per command (outwork.1, outwork-scan.1, …) into DIR.
    Man { dir: PathBuf },
    /// The completion script for SHELL into DIR (its usual file name).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum QuarantineCmd {
    /// Every quarantined message: id, time, score, sender, recipients.
    List {
        #[arg(long)]
        json: bool,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// One message's verdict and envelope (`--raw`: the message itself).
    Show {
        id: String,
        #[arg(long)]
        raw: bool,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Deliver a message to its original recipients through sendmail
    /// (Postfix's pickup: `smtpd_milters` do not see it again), then
    /// remove it from the quarantine. `--stdout` writes it out instead.
    Release {
        id: String,
        #[arg(long, default_value = "/usr/sbin/sendmail")]
        sendmail: PathBuf,
        #[arg(long)]
        stdout: bool,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Delete a message for good.
    Delete {
        id: String,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum HistoryCmd {
    /// Entries and their age.
    Stats {
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// What the history says about one sender writing to one recipient.
    Check {
        /// The sender's address.
        #[arg(long)]
        from: String,
        /// A recipient address (its domain is what counts).
        #[arg(long)]
        to: String,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Forget entries not seen for N days (default: history.retention_days).
    Prune {
        #[arg(long, value_name = "DAYS")]
        older_than: Option<u32>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum IntelCmd {
    /// Import a feed file as a source (replacing that source's entries).
    Import {
        file: PathBuf,
        /// urls, phishtank-csv, phishtank-json, urlhaus-csv, hosts, domains,
        /// abp, cidr, sha256, openphish-history (detected when unambiguous).
        #[arg(long)]
        format: Option<String>,
        /// Name of the source (e.g. openphish); entries keep it.
        #[arg(long)]
        source: String,
        /// phishing, malware, spam, scam, c2, other.
        #[arg(long, default_value = "phishing")]
        kind: String,
        /// A domain list (e.g. a popularity top list) whose names are never
        /// imported as whole-domain entries: github.com listed by a feed
        /// must not block every GitHub link. URL entries are kept.
        #[arg(long)]
        never_block: Option<PathBuf>,
        #[arg(long)]
        intel: Option<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Create an empty store where none is, so a configured `intel.path`
    /// can serve before the first `intel update` (packages run it at
    /// install). An existing store is checked and left as it is.
    Init {
        #[arg(long)]
        intel: Option<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Fetch every feed in the config's [[intel.feeds]] (conditional
    /// requests, retries) and swap the new data in atomically.
    Update {
        #[arg(long)]
        intel: Option<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Entries per source and kind, age, size on disk and in memory.
    Stats {
        #[arg(long)]
        json: bool,
        #[arg(long)]
        intel: Option<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
    /// Remove a source and its entries.
    Remove {
        #[arg(long)]
        source: String,
        #[arg(long)]
        intel: Option<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum UrlCmd {
    /// Which expression of each URL matched which source (URLs as
    /// arguments or one a line on stdin). Exit 1 if any is listed.
    Check {
        urls: Vec<String>,
        #[arg(short, long, value_enum, default_value_t = Format::Human)]
        format: Format,
        #[arg(long)]
        intel: Option<PathBuf>,
        #[arg(short, long)]
        config: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Check a config file: syntax, unknown keys (with line numbers), values.
    Check { file: PathBuf },
}

/// Exit codes (documented in docs/SCANNING.md).
const EXIT_CLEAN: u8 = 0;
const EXIT_FLAGGED: u8 = 1;
const EXIT_ERROR: u8 = 2;

#[derive(Subcommand, Debug)]
enum ModelCmd {
    /// Show a model's training data, features and held-out results
    /// (default: the one the config uses, else the built-in one).
    Info {
        file: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        // `outwork … | head`: the reader has what it wanted.
        Err(e) if e.downcast_ref::<StdoutClosed>().is_some() => ExitCode::from(EXIT_CLEAN),
        Err(e) => {
            eprintln!("outwork: error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// Stdout's reader has gone (`| head`). Only writes to stdout say this:
/// a broken pipe to a child (sendmail) or a socket stays an error.
#[derive(Debug)]
pub struct StdoutClosed;

impl std::fmt::Display for StdoutClosed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl std::error::Error for StdoutClosed {}

/// A write to stdout: a broken pipe becomes [`StdoutClosed`].
pub fn to_stdout<T>(r: std::io::Result<T>) -> Result<T> {
    r.map_err(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            anyhow::Error::new(StdoutClosed)
        } else {
            e.into()
        }
    })
}

/// `println!` panics when stdout's reader has gone (Rust ignores SIGPIPE,
/// so the write fails instead of killing the process): end quietly then,
/// as `cat` does, on whichever thread was printing. Every other panic is
/// reported as before. (Restoring SIGPIPE's default instead would kill
/// `serve` on a peer's closed socket and `quarantine release` on a
/// sendmail that exits early, without a word.)
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(i32::from(EXIT_CLEAN));
        }
        default(info);
    }));
}

pub fn load_context(config: Option<&PathBuf>) -> Result<Context> {
    let cfg = match config {
        Some(p) => {
            let text =
                std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
            let issues = Config::check(&text);
            let unknown: Vec<_> = issues
                .iter()
                .filter(|i| i.message.starts_with("unknown key"))
                .collect();
            for i in &unknown {
                eprintln!(
                    "outwork: warning: {}:{}: {}: {}",
                    p.display(),
                    i.line.map(|l| l.to_string()).unwrap_or("?".into()),
                    i.path,
                    i.message
                );
            }
            Config::from_toml(&text).with_context(|| format!("invalid config {}", p.display()))?
        }
        None => Config::default(),
    };
    Ok(Context::new(cfg))
}

fn run(cli: Cli) -> Result<u8> {
    match cli.cmd {
        Cmd::Scan {
            paths,
            config,
            format,
            threads,
            no_progress,
            quiet,
            intel,
            verify,
            envelope_ip,
            helo,
            mail_from,
            rcpt,
        } => {
            let mut ctx = load_context(config.as_ref())?;
            if verify {
                ctx.config.auth.verify = true;
            }
            let mut scanner =
                outwork_engine::Scanner::from_config(ctx).map_err(anyhow::Error::msg)?;
            scanner.envelope = outwork_engine::Envelope {
                client_ip: envelope_ip,
                helo,
                mail_from,
                rcpt_to: rcpt,
                queue_id: None,
            };
            let ctx = scanner.ctx.clone();
            let (path, explicit) =
                intel_cmd::resolve_path(intel.as_ref(), ctx.config.intel.path.as_deref());
            let (index, intel_error) =
                match intel_cmd::redis_target(intel.as_ref(), &ctx.config.intel)? {
                    Some(r) => (Some(Arc::new(r) as Arc<dyn outwork_intel::Lookup>), None),
                    None => intel_cmd::open_for_scan(&path, explicit)?,
                };
            scanner.intel = index;
            scanner.intel_error = intel_error;
            scanner.headlines = format == Format::Human;
            scan(
                paths,
                Arc::new(scanner),
                format,
                threads,
                no_progress,
                quiet,
            )
        }
        Cmd::Intel { cmd } => {
            let (intel, config) = match &cmd {
                IntelCmd::Import { intel, config, .. }
                | IntelCmd::Stats { intel, config, .. }
                | IntelCmd::Remove { intel, config, .. }
                | IntelCmd::Init { intel, config }
                | IntelCmd::Update { intel, config } => (intel, config),
            };
            let ctx = load_context(config.as_ref())?;
            let (path, _) =
                intel_cmd::resolve_path(intel.as_ref(), ctx.config.intel.path.as_deref());
            if let Some(r) = intel_cmd::redis_target(intel.as_ref(), &ctx.config.intel)? {
                return match cmd {
                    IntelCmd::Import {
                        file,
                        format,
                        source,
                        kind,
                        never_block,
                        ..
                    } => intel_cmd::import_redis(
                        &r,
                        &file,
                        format.as_deref(),
                        &source,
                        &kind,
                        never_block.as_deref(),
                    ),
                    IntelCmd::Stats { .. } => intel_cmd::stats_redis(&r),
                    IntelCmd::Remove { source, .. } => intel_cmd::remove_redis(&r, &source),
                    IntelCmd::Init { .. } => {
                        println!("intel.redis is set: the shared Redis store needs no init");
                        Ok(EXIT_CLEAN)
                    }
                    IntelCmd::Update { .. } => anyhow::bail!(
                        "intel update writes the embedded store file; with intel.redis set, import into Redis with `outwork intel import` (or pass --intel FILE)"
                    ),
                };
            }
            match cmd {
                IntelCmd::Import {
                    file,
                    format,
                    source,
                    kind,
                    never_block,
                    ..
                } => intel_cmd::import(
                    &path,
                    &file,
                    format.as_deref(),
                    &source,
                    &kind,
                    never_block.as_deref(),
                ),
                IntelCmd::Stats { json, .. } => intel_cmd::stats(&path, json),
                IntelCmd::Update { .. } => intel_cmd::update(&path, &ctx.config.intel),
                IntelCmd::Init { .. } => intel_cmd::init(&path),
                IntelCmd::Remove { source, .. } => intel_cmd::remove(&path, &source),
            }
        }
        Cmd::History { cmd } => history_cmd(cmd),
        Cmd::Serve { config, intel } => serve_cmd(config, intel),
        Cmd::Quarantine { cmd } => quarantine_cmd(cmd),
        Cmd::Generate { cmd } => generate_cmd(cmd),
        Cmd::Url {
            cmd:
                UrlCmd::Check {
                    urls,
                    format,
                    intel,
                    config,
                },
        } => {
            let ctx = load_context(config.as_ref())?;
            let (path, _) =
                intel_cmd::resolve_path(intel.as_ref(), ctx.config.intel.path.as_deref());
            let redis = intel_cmd::redis_target(intel.as_ref(), &ctx.config.intel)?;
            intel_cmd::url_check(&path, redis, urls, format != Format::Human)
        }
        Cmd::Config {
            cmd: ConfigCmd::Check { file },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            // Everything at once: the core tables, then the servers' own
            // ([milter], [http], [dashboard] belong to outwork-server).
            let mut issues = Config::check(&text);
            issues.extend(outwork_server::check_config(&text));
            // What `scan` and `serve` would refuse at start: YARA rules (and
            // a build without YARA), the clamd address, the model file.
            if let Ok(cfg) = Config::from_toml(&text) {
                for (path, message) in outwork_engine::Scanner::check_config(&cfg) {
                    issues.push(outwork_core::ConfigIssue {
                        line: outwork_core::find_key_line(&text, path),
                        path: path.into(),
                        message,
                    });
                }
            }
            outwork_core::sort_issues(&mut issues);
            if issues.is_empty() {
                // Valid, but exposed: said, not failed (the admin may have
                // a firewall or proxy the file can't show).
                let warnings = outwork_server::exposure_warnings(&text);
                for w in &warnings {
                    println!("{}: warning: {w}", file.display());
                }
                match warnings.len() {
                    0 => println!("{}: ok", file.display()),
                    n => println!("{}: ok, {n} warning(s)", file.display()),
                }
                return Ok(EXIT_CLEAN);
            }
            for i in &issues {
                let line = i.line.map(|l| format!("{l}:")).unwrap_or_default();
                let path = if i.path.is_empty() {
                    String::new()
                } else {
                    format!(" {}:", i.path)
                };
                println!("{}:{line}{path} {}", file.display(), i.message);
            }
            Ok(EXIT_ERROR)
        }
        Cmd::Symbols { markdown } => {
            render::symbols(markdown);
            Ok(EXIT_CLEAN)
        }
        Cmd::Brands(args) => brands_cmd::run(args),
        Cmd::Eval(args) => eval::run(args),
        Cmd::Train(args) => train_cmd::run(args),
        Cmd::Learn(args) => train_cmd::learn(args),
        Cmd::Model {
            cmd: ModelCmd::Info { file, config },
        } => train_cmd::info(file, config),
        Cmd::Redteam(args) => redteam::run_redteam(args),
        Cmd::Assess(args) => redteam::run_assess(args),
    }
}

fn scan(
    paths: Vec<PathBuf>,
    scanner: Arc<outwork_engine::Scanner>,
    format: Format,
    threads: Option<usize>,
    no_progress: bool,
    quiet: bool,
) -> Result<u8> {
    let ctx = Arc::clone(&scanner.ctx);
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    let many = paths.len() > 1
        || paths.iter().any(|p| {
            p.as_os_str() != "-"
                && (p.is_dir() || outwork_engine::kind_of(p) == outwork_engine::InputKind::Mbox)
        });
    let progress = if many && !no_progress && std::io::stderr().is_terminal() {
        let total = outwork_engine::total_bytes(&paths);
        let pb = indicatif::ProgressBar::new(total);
        pb.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(pb)
    } else {
        None
    };
    let items = outwork_engine::Inputs::new(paths, ctx.limits().max_message_bytes);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut summary = render::Summary::default();
    let start = std::time::Instant::now();
    let mut json_out = render::JsonStream::default();
    let mut write_err: Option<std::io::Error> = None;
    let keep = scanner.clone();
    outwork_engine::scan_all(items, scanner, threads, |o| {
        summary.add(&o);
        if let Some(pb) = &progress {
            pb.inc(o.input_bytes);
            pb.set_message(format!("{} msgs", summary.messages));
        }
        if write_err.is_some() {
            return;
        }
        let r = match format {
            Format::Human => {
                let r = render::human(&mut out, &o);
                if let Some(pb) = &progress {
                    // Keep the bar below the report lines.
                    pb.suspend(|| out.flush())
                } else {
                    r
                }
            }
            Format::Jsonl => {
                let v = render::json_value(&o);
                serde_json::to_writer(&mut out, &v)
                    .map_err(std::io::Error::from)
                    .and_then(|_| out.write_all(b"\n"))
            }
            Format::Json => json_out.push(&mut out, render::json_value(&o)),
        };
        if let Err(e) = r {
            write_err = Some(e);
        }
    });
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    if format == Format::Json
        && write_err.is_none()
        && let Err(e) = json_out.finish(&mut out)
    {
        write_err = Some(e);
    }
    match write_err {
        // A closed pipe (`| head`) is a normal way to stop reading.
        Some(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(EXIT_CLEAN),
        Some(e) => return Err(e.into()),
        None => {}
    }
    to_stdout(out.flush())?;
    keep.save_history()
        .map_err(|e| anyhow::anyhow!("saving the history: {e}"))?;
    if !quiet && (many || format == Format::Human) {
        summary.print(start.elapsed(), threads);
    }
    Ok(if summary.errors > 0 {
        EXIT_ERROR
    } else if summary.actions.iter().skip(1).any(|&n| n > 0) {
        EXIT_FLAGGED
    } else {
        EXIT_CLEAN
    })
}

pub fn action_index(a: Action) -> usize {
    match a {
        Action::Accept => 0,
        Action::Tag => 1,
        Action::Quarantine => 2,
        Action::Reject => 3,
    }
}

fn history_cmd(cmd: HistoryCmd) -> Result<u8> {
    let config = match &cmd {
        HistoryCmd::Stats { config }
        | HistoryCmd::Check { config, .. }
        | HistoryCmd::Prune { config, .. } => config,
    };
    let ctx = load_context(config.as_ref())?;
    let hc = &ctx.config.history;
    if hc.redis.is_none() {
        let p = outwork_engine::history_path(hc.path.as_deref());
        if !p.exists() {
            anyhow::bail!(
                "no history store at {} (enable [history] and scan some mail)",
                p.display()
            );
        }
    }
    let h = outwork_engine::History::open(hc).map_err(anyhow::Error::msg)?;
    let day = |t: i64| -> String {
        let secs = t.max(0) as u64;
        format!(
            "{} days ago",
            (outwork_engine::unix_now().max(0) as u64).saturating_sub(secs) / 86_400
        )
    };
    match cmd {
        HistoryCmd::Stats { .. } => {
            match h.stats() {
                Some((n, oldest, newest)) => {
                    println!("entries: {n} (keyed hashes; no addresses are stored)");
                    if n > 0 {
                        println!("least recently seen: {}", day(oldest));
                        println!("most recently seen: {}", day(newest));
                    }
                }
                None => println!("shared Redis store {}", hc.redis.as_deref().unwrap_or("")),
            }
            Ok(EXIT_CLEAN)
        }
        HistoryCmd::Check { from, to, .. } => {
            let from = from.trim().to_ascii_lowercase();
            let domain = from.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            let reg = outwork_core::Host::parse(domain)
                .and_then(|h| h.registrable().map(str::to_string))
                .unwrap_or_else(|| domain.to_string());
            let rcpt = to
                .trim()
                .rsplit_once('@')
                .map(|(_, d)| d.to_ascii_lowercase())
                .unwrap_or_default();
            let f = h
                .check(
                    &from,
                    &reg,
                    std::slice::from_ref(&rcpt),
                    outwork_engine::unix_now(),
                )
                .map_err(anyhow::Error::msg)?;
            println!("{from} → {rcpt}");
            println!(
                "  domain {reg} known: {}",
                if f.domain_known { "yes" } else { "no" }
            );
            match f.known_address {
                Some((n, since)) => {
                    println!("  known correspondent: {n} messages, first {}", day(since))
                }
                None => println!("  known correspondent: no"),
            }
            if let Some((_, n, since)) = f.lookalike_of_known {
                println!(
                    "  LOOKALIKE of a domain that has written to {rcpt} ({n} messages, first {})",
                    day(since)
                );
            }
            if !f.domain_known && !f.first_contact_domain {
                println!(
                    "  (the store knows fewer than {} senders for {rcpt}: first contact is not reported yet)",
                    hc.min_known
                );
            }
            Ok(EXIT_CLEAN)
        }
        HistoryCmd::Prune { older_than, .. } => {
            let days = older_than.unwrap_or(hc.retention_days);
            let cutoff = outwork_engine::unix_now() - i64::from(days) * 86_400;
            let gone = h.prune(cutoff).map_err(anyhow::Error::msg)?;
            h.save().map_err(anyhow::Error::msg)?;
            println!("pruned {gone} entries not seen for {days} days");
            Ok(EXIT_CLEAN)
        }
    }
}

fn config_text(config: Option<&PathBuf>) -> Result<String> {
    match config {
        Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display())),
        None => Ok(String::new()),
    }
}

fn serve_cmd(config: Option<PathBuf>, intel: Option<PathBuf>) -> Result<u8> {
    let text = config_text(config.as_ref())?;
    // Bad [milter] / [http] tables fail here, before anything starts.
    outwork_server::servers(&text).context("invalid [milter] or [http] table")?;
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal; plain text for journald, a
        // log file or a pipe (NO_COLOR too).
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    // The embedded store's file, for outwork_intel_age_seconds (none with Redis).
    let intel_path = {
        let ctx = load_context(config.as_ref())?;
        let (path, _) = intel_cmd::resolve_path(intel.as_ref(), ctx.config.intel.path.as_deref());
        intel_cmd::redis_target(intel.as_ref(), &ctx.config.intel)?
            .is_none()
            .then_some(path)
    };
    // Run at start and on every SIGHUP / POST /admin/reload: re-reads the
    // config file and the intel store; on error the old scanner keeps serving.
    let build: outwork_server::BuildScanner = Arc::new(move || {
        build_scanner(config.as_ref(), intel.as_ref()).map_err(|e| format!("{e:#}").into())
    });
    outwork_server::run(outwork_server::RunOptions {
        config_text: text,
        build_scanner: build,
        intel_path,
    })?;
    Ok(EXIT_CLEAN)
}

/// The scanner `outwork serve` runs: config, intel (file or Redis).
fn build_scanner(
    config: Option<&PathBuf>,
    intel: Option<&PathBuf>,
) -> Result<outwork_engine::Scanner> {
    let mut scanner =
        outwork_engine::Scanner::from_config(load_context(config)?).map_err(anyhow::Error::msg)?;
    let ctx = scanner.ctx.clone();
    let (path, explicit) = intel_cmd::resolve_path(intel, ctx.config.intel.path.as_deref());
    let (index, intel_error) = match intel_cmd::redis_target(intel, &ctx.config.intel)? {
        Some(r) => (Some(Arc::new(r) as Arc<dyn outwork_intel::Lookup>), None),
        None => intel_cmd::open_for_scan(&path, explicit)?,
    };
    scanner.intel = index;
    scanner.intel_error = intel_error;
    Ok(scanner)
}

/// `outwork generate`: man pages (clap_mangen) and completions
/// (clap_complete) from the same clap definition the binary parses with.
fn generate_cmd(cmd: GenerateCmd) -> Result<u8> {
    use clap::CommandFactory;
    let dir = match &cmd {
        GenerateCmd::Man { dir } | GenerateCmd::Completions { dir, .. } => dir,
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    match cmd {
        GenerateCmd::Man { dir } => {
            clap_mangen::generate_to(Cli::command(), &dir)
                .with_context(|| format!("writing man pages to {}", dir.display()))?;
        }
        GenerateCmd::Completions { shell, dir } => {
            let path = clap_complete::generate_to(shell, &mut Cli::command(), "outwork", &dir)
                .with_context(|| format!("writing {shell} completions to {}", dir.display()))?;
            println!("{}", path.display());
        }
    }
    Ok(EXIT_CLEAN)
}

fn quarantine_cmd(cmd: QuarantineCmd) -> Result<u8> {
    let config = match &cmd {
        QuarantineCmd::List { config, .. }
        | QuarantineCmd::Show { config, .. }
        | QuarantineCmd::Release { config, .. }
        | QuarantineCmd::Delete { config, .. } => config,
    };
    let text = config_text(config.as_ref())?;
    let milter =
        outwork_server::MilterConfig::from_outwork_toml(&text).context("invalid [milter] table")?;
    // Errors name where outwork looked, and where that came from.
    let dir = milter.quarantine_dir.clone();
    let whence = match config {
        Some(p) => format!("[milter] quarantine_dir of {}", p.display()),
        None => "the default; --config FILE reads [milter] quarantine_dir".to_string(),
    };
    // Reading commands don't create the milter's directory.
    if !dir.is_dir() {
        anyhow::bail!("no quarantine directory {} ({whence})", dir.display());
    }
    let store = outwork_server::QuarantineStore::open(&milter.quarantine_dir)?;
    let located = move |e: outwork_server::QuarantineError| -> anyhow::Error {
        match e {
            outwork_server::QuarantineError::NotFound(id) => anyhow::anyhow!(
                "no quarantined message {id} in {} ({whence})",
                dir.display()
            ),
            e => e.into(),
        }
    };
    match cmd {
        QuarantineCmd::List { json, .. } => {
            let entries = store.list()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&entries)?);
                return Ok(EXIT_CLEAN);
            }
            if entries.is_empty() {
                println!("quarantine {} is empty", milter.quarantine_dir.display());
            }
            for e in entries {
                let top: Vec<&str> = e.symbols.iter().take(3).map(|s| s.name.as_str()).collect();
                println!(
                    "{}  score {:>6.2}  from {}  to {}  {}",
                    e.id,
                    e.score,
                    e.envelope.mail_from.as_deref().unwrap_or("?"),
                    e.envelope.rcpt_to.join(","),
                    top.join(" ")
                );
            }
            Ok(EXIT_CLEAN)
        }
        QuarantineCmd::Show { id, raw, .. } => {
            let (entry, bytes) = store.get(&id).map_err(located)?;
            if raw {
                to_stdout(std::io::stdout().write_all(&bytes))?;
            } else {
                println!("{}", serde_json::to_string_pretty(&entry)?);
            }
            Ok(EXIT_CLEAN)
        }
        QuarantineCmd::Release {
            id,
            sendmail,
            stdout,
            ..
        } => {
            let (entry, bytes) = store.get(&id).map_err(located)?;
            if stdout {
                to_stdout(std::io::stdout().write_all(&bytes))?;
                return Ok(EXIT_CLEAN);
            }
            let env = &entry.envelope;
            if env.rcpt_to.is_empty() {
                anyhow::bail!(
                    "{id} has no recorded recipients; use --stdout and deliver it yourself"
                );
            }
            let mut cmd = std::process::Command::new(&sendmail);
            cmd.arg("-i")
                .arg("-f")
                .arg(env.mail_from.as_deref().unwrap_or(""));
            cmd.arg("--").args(&env.rcpt_to);
            let mut child = cmd
                .stdin(std::process::Stdio::piped())
                .spawn()
                .with_context(|| format!("running {}", sendmail.display()))?;
            // A sendmail that exits early closes its end: say how it
            // ended (its status), not "broken pipe".
            let written = match child.stdin.take() {
                Some(mut stdin) => stdin.write_all(&bytes).map_err(|e| e.to_string()),
                None => Err("no stdin".into()),
            };
            let status = child.wait()?;
            if !status.success() {
                anyhow::bail!(
                    "{} exited with {status}; {id} stays in quarantine",
                    sendmail.display()
                );
            }
            if let Err(e) = written {
                anyhow::bail!(
                    "{} did not take the whole message ({e}); {id} stays in quarantine",
                    sendmail.display()
                );
            }
            store.delete(&id)?;
            eprintln!("released {id} to {}", env.rcpt_to.join(", "));
            Ok(EXIT_CLEAN)
        }
        QuarantineCmd::Delete { id, .. } => {
            store.delete(&id).map_err(located)?;
            eprintln!("deleted {id}");
            Ok(EXIT_CLEAN)
        }
    }
}

/// Now as RFC 3339 UTC (`2026-11-27T06:00:00Z`), for report stamps.
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
