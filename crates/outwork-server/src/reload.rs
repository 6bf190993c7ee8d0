//! The serving scanner, swappable while serving: SIGHUP and
//! `POST /admin/reload` build a new one (config, intel, rules) and swap it
//! in atomically. A scan holds its own `Arc`, so in-flight messages finish
//! on the scanner they started with; no connection is dropped.

use outwork_engine::Scanner;
use std::sync::{Arc, RwLock};

/// Why a [`BuildScanner`] could not build a scanner: whatever its parts
/// fail with (config, intel store, rules, model…). Its text is what the
/// server logs and answers.
pub type BuildError = Box<dyn std::error::Error + Send + Sync>;

/// Builds a scanner from the current config and intel on disk (the CLI
/// supplies it: the same code as `outwork scan`). Called on the blocking
/// pool.
pub type BuildScanner = Arc<dyn Fn() -> Result<Scanner, BuildError> + Send + Sync>;

/// The scanner every new scan uses.
pub struct ScannerCell {
    cur: RwLock<Arc<Scanner>>,
}

impl ScannerCell {
    /// A cell serving `s`.
    pub fn new(s: Arc<Scanner>) -> Arc<ScannerCell> {
        Arc::new(ScannerCell {
            cur: RwLock::new(s),
        })
    }

    /// The current scanner (cheap: an `Arc` clone).
    pub fn get(&self) -> Arc<Scanner> {
        self.cur.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Swap in a new scanner; returns the old one.
    pub fn set(&self, s: Arc<Scanner>) -> Arc<Scanner> {
        let mut g = self.cur.write().unwrap_or_else(|e| e.into_inner());
        std::mem::replace(&mut *g, s)
    }
}

/// Why a reload did not swap the scanner (the previous one keeps serving).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// No [`BuildScanner`] was given.
    #[error("this server was started without a way to reload")]
    NotReloadable,
    /// [`BuildScanner`] failed: its message (config, rules, model…).
    #[error("{0}")]
    Build(String),
    /// The new scanner could not read the intel store the serving one has.
    #[error("intel store unreadable, keeping the previous config and intel: {0}")]
    IntelLost(String),
    /// Building the scanner panicked.
    #[error("building the scanner panicked")]
    Panicked,
    /// The reload task did not finish (shutdown).
    #[error("reload cancelled")]
    Cancelled,
}

/// Rebuilds and swaps the scanner; one reload at a time.
pub struct Reloader {
    cell: Arc<ScannerCell>,
    build: Option<BuildScanner>,
    lock: tokio::sync::Mutex<()>,
}

impl Reloader {
    /// `build: None` = nothing to reload from (reload answers an error).
    pub fn new(cell: Arc<ScannerCell>, build: Option<BuildScanner>) -> Arc<Reloader> {
        Arc::new(Reloader {
            cell,
            build,
            lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The cell it swaps.
    pub fn cell(&self) -> &Arc<ScannerCell> {
        &self.cell
    }

    /// Save the serving scanner's history, build a new scanner, swap it
    /// in. On error the old scanner keeps serving: when the build fails,
    /// and when the new scanner could not read an intel store the serving
    /// one has (the last good store keeps serving; fix the file and
    /// reload again).
    pub async fn reload(&self) -> Result<(), ReloadError> {
        let Some(build) = self.build.clone() else {
            return Err(ReloadError::NotReloadable);
        };
        let _one = self.lock.lock().await;
        let old = self.cell.get();
        let r = tokio::task::spawn_blocking(move || {
            if let Err(e) = old.save_history() {
                tracing::warn!(target: "outwork::serve", "saving history before reload: {e}");
            }
            build()
        })
        .await;
        let r = match r {
            Ok(Ok(s)) => match lost_intel(&self.cell.get(), &s) {
                // A store that became unreadable (truncated, overwritten in
                // place, corrupt) must not silently replace the good one.
                Some(e) => Err(e),
                None => {
                    self.cell.set(Arc::new(s));
                    Ok(())
                }
            },
            Ok(Err(e)) => Err(ReloadError::Build(e.to_string())),
            Err(e) if e.is_panic() => Err(ReloadError::Panicked),
            Err(_) => Err(ReloadError::Cancelled),
        };
        crate::metrics::reload(r.is_ok());
        match &r {
            Ok(()) => tracing::info!(target: "outwork::serve", "reloaded config and intel"),
            Err(e) => {
                tracing::error!(target: "outwork::serve", "reload failed, still serving the previous config: {e}")
            }
        }
        r
    }
}

/// Why swapping `old` for `new` would lose a working intel store: `new`
/// could not read its store (it would scan without blocklists) while `old`
/// has one. None when nothing is lost (both fine, or `old` had no store
/// either: then the new scanner is no worse, and its INTEL_UNAVAILABLE
/// says why).
fn lost_intel(old: &Scanner, new: &Scanner) -> Option<ReloadError> {
    let e = new.intel_error.as_ref()?;
    (old.intel.is_some() && new.intel.is_none()).then(|| ReloadError::IntelLost(e.to_string()))
}
