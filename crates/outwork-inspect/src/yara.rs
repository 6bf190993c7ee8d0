//! YARA: the deployment's own rules, compiled once at start with yara-x and
//! run on every attachment and every file extracted from one.
//!
//! yara-x roughly doubles the build, so it sits behind the `yara` cargo
//! feature. Without it, [`YaraRules::load`] says how to get it instead of
//! silently scanning without the rules a deployment asked for.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// One rule that matched.
#[derive(Debug, Clone, PartialEq)]
pub struct YaraMatch {
    /// The rule's identifier.
    pub rule: String,
    /// Its namespace: the rule file's stem.
    pub namespace: String,
    /// The rule's tags.
    pub tags: Vec<String>,
    /// The rule's `score` metadata, when it has one (numbers only).
    pub score: Option<f64>,
}

/// A rule as compiled: its name and `score` metadata, so the caller can
/// register a symbol for it before any message is scanned.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleInfo {
    /// The rule's identifier.
    pub rule: String,
    /// Its namespace: the rule file's stem.
    pub namespace: String,
    /// The rule's `score` metadata, when it has one.
    pub score: Option<f64>,
}

/// Compiled rules, shared by all threads. Each thread keeps one scanner
/// per rule set: making a scanner (a wasm instance) costs more than a scan.
pub struct YaraRules {
    /// Leaked on purpose: thread-local scanners borrow the rules for
    /// 'static. Rules load once per start (or reload), so this is bounded.
    #[cfg(feature = "yara")]
    rules: &'static yara_x::Rules,
    #[cfg_attr(not(feature = "yara"), allow(dead_code))]
    timeout: Duration,
    /// The rule files compiled, in namespace order.
    pub files: Vec<PathBuf>,
    /// Every compiled rule (to register its symbol before scanning).
    pub rules_info: Vec<RuleInfo>,
}

impl std::fmt::Debug for YaraRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YaraRules")
            .field("files", &self.files)
            .field("rules", &self.rules_info.len())
            .finish()
    }
}

/// Why rules did not load, or a scan did not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum YaraError {
    /// A rule file or directory could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A directory without any `.yar`/`.yara` file.
    #[error("{}: no .yar or .yara files", .0.display())]
    NoRules(PathBuf),
    /// A rule did not compile: yara-x's message, naming the file and line.
    #[error("{0}")]
    Compile(String),
    /// Rules are configured but this build has no YARA.
    #[error(
        "YARA rules configured ({}) but this outwork was built without YARA; \
         rebuild with `cargo build --release --features yara`",
        .0.display()
    )]
    NotBuilt(PathBuf),
    /// A scan failed or ran past its timeout.
    #[error("{0}")]
    Scan(String),
}

/// Was this build made with YARA support?
pub const AVAILABLE: bool = cfg!(feature = "yara");

/// `.yar`/`.yara` files of `path` (a file, or a directory read one level
/// deep), sorted so namespaces and errors come out in a stable order.
#[cfg_attr(not(feature = "yara"), allow(dead_code))]
pub(crate) fn rule_files(path: &Path) -> Result<Vec<PathBuf>, YaraError> {
    let read = |source| YaraError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read)?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let rd = std::fs::read_dir(path).map_err(read)?;
    let mut files: Vec<PathBuf> = rd
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                    e.eq_ignore_ascii_case("yar") || e.eq_ignore_ascii_case("yara")
                })
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(YaraError::NoRules(path.to_path_buf()));
    }
    Ok(files)
}

impl YaraRules {
    /// Compile every rule file under `path`; each file is its own
    /// namespace (its stem), so two files may reuse a rule name. An error
    /// names the file and line.
    #[cfg(feature = "yara")]
    pub fn load(path: &Path, timeout: Duration) -> Result<YaraRules, YaraError> {
        let files = rule_files(path)?;
        let mut compiler = yara_x::Compiler::new();
        for f in &files {
            let src = std::fs::read_to_string(f).map_err(|source| YaraError::Read {
                path: f.clone(),
                source,
            })?;
            let ns = f
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("default")
                .to_string();
            compiler.new_namespace(&ns);
            let origin = f.display().to_string();
            compiler
                .add_source(yara_x::SourceCode::from(src.as_str()).with_origin(origin.as_str()))
                .map_err(|e| YaraError::Compile(e.to_string()))?;
        }
        let rules: &'static yara_x::Rules = Box::leak(Box::new(compiler.build()));
        let rules_info = rules
            .iter()
            .map(|r| RuleInfo {
                rule: r.identifier().to_string(),
                namespace: r.namespace().to_string(),
                score: score_of(r.metadata()),
            })
            .collect();
        Ok(YaraRules {
            rules,
            timeout,
            files,
            rules_info,
        })
    }

    /// Without the `yara` feature: always [`YaraError::NotBuilt`].
    #[cfg(not(feature = "yara"))]
    pub fn load(path: &Path, _timeout: Duration) -> Result<YaraRules, YaraError> {
        Err(YaraError::NotBuilt(path.to_path_buf()))
    }

    /// Rules matching `data`. A timeout or scan error is an `Err` the
    /// caller reports as a limit finding.
    #[cfg(feature = "yara")]
    pub fn scan(&self, data: &[u8]) -> Result<Vec<YaraMatch>, YaraError> {
        use std::cell::RefCell;
        thread_local! {
            static SCANNER: RefCell<Option<(usize, yara_x::Scanner<'static>)>> =
                const { RefCell::new(None) };
        }
        let id = std::ptr::from_ref(self.rules) as usize;
        SCANNER.with(|cell| {
            let mut slot = cell.borrow_mut();
            if slot.as_ref().is_none_or(|(i, _)| *i != id) {
                let mut s = yara_x::Scanner::new(self.rules);
                s.set_timeout(self.timeout);
                *slot = Some((id, s));
            }
            let Some((_, scanner)) = slot.as_mut() else {
                return Err(YaraError::Scan("no YARA scanner".to_string()));
            };
            let results = scanner
                .scan(data)
                .map_err(|e| YaraError::Scan(e.to_string()))?;
            Ok(results
                .matching_rules()
                .map(|r| YaraMatch {
                    rule: r.identifier().to_string(),
                    namespace: r.namespace().to_string(),
                    tags: r.tags().map(|t| t.identifier().to_string()).collect(),
                    score: score_of(r.metadata()),
                })
                .collect())
        })
    }

    /// Without the `yara` feature: no rules, no matches.
    #[cfg(not(feature = "yara"))]
    pub fn scan(&self, _data: &[u8]) -> Result<Vec<YaraMatch>, YaraError> {
        Ok(Vec::new())
    }
}

#[cfg(feature = "yara")]
fn score_of(meta: yara_x::Metadata<'_, '_>) -> Option<f64> {
    for (k, v) in meta {
        if k.eq_ignore_ascii_case("score") {
            return match v {
                yara_x::MetaValue::Integer(i) => Some(i as f64),
                yara_x::MetaValue::Float(f) => Some(f),
                yara_x::MetaValue::String(s) => s.trim().parse().ok(),
                _ => None,
            };
        }
    }
    None
}

/// The symbol a rule fires: `YARA_` and the rule name in upper snake case.
pub fn symbol_name(rule: &str) -> String {
    let mut s = String::with_capacity(rule.len() + 5);
    s.push_str("YARA_");
    for c in rule.chars() {
        if c.is_ascii_alphanumeric() {
            s.push(c.to_ascii_uppercase());
        } else {
            s.push('_');
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_file_errors_say_which_path_and_why() {
        let missing = std::env::temp_dir().join("outwork-no-such-yara-dir");
        let e = rule_files(&missing).expect_err("missing");
        assert!(matches!(e, YaraError::Read { .. }), "{e:?}");
        assert!(e.to_string().contains("outwork-no-such-yara-dir"), "{e}");
        let empty = std::env::temp_dir().join(format!("outwork-yara-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).expect("mkdir");
        let e = rule_files(&empty).expect_err("empty");
        assert!(matches!(e, YaraError::NoRules(_)), "{e:?}");
        let _ = std::fs::remove_dir_all(&empty);
    }

    #[cfg(not(feature = "yara"))]
    #[test]
    fn without_the_feature_rules_are_refused_with_how_to_get_them() {
        let e = YaraRules::load(Path::new("/etc/outwork/rules"), Duration::from_secs(1))
            .expect_err("no yara in this build");
        assert!(matches!(e, YaraError::NotBuilt(_)), "{e:?}");
        assert!(e.to_string().contains("--features yara"), "{e}");
    }

    #[test]
    fn symbol_names_are_upper_snake() {
        assert_eq!(symbol_name("Suspicious_Macro"), "YARA_SUSPICIOUS_MACRO");
        assert_eq!(symbol_name("evil-doc.v2"), "YARA_EVIL_DOC_V2");
    }
}
