//! Run the milter and the HTTP API with [`outwork_server::run`]:
//! `cargo run -p outwork-server --example serve -- [outwork.toml]`.
//! (`outwork serve` is the real front end; this one has no intel store.)
//! SIGHUP re-reads the file and rebuilds the scanner; SIGTERM drains.

use std::sync::Arc;

fn main() -> Result<(), outwork_server::BuildError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let path = std::env::args_os().nth(1).map(std::path::PathBuf::from);
    let read = {
        let path = path.clone();
        move || -> Result<String, outwork_server::BuildError> {
            match &path {
                Some(p) => {
                    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()).into())
                }
                None => Ok(String::new()),
            }
        }
    };
    let config_text = read()?;
    let build: outwork_server::BuildScanner = Arc::new(move || {
        let text = read()?;
        let cfg = outwork_core::Config::from_toml(&text)?;
        Ok(outwork_engine::Scanner::from_config(
            outwork_core::Context::new(cfg),
        )?)
    });
    outwork_server::run(outwork_server::RunOptions {
        config_text,
        build_scanner: build,
        intel_path: None,
    })?;
    Ok(())
}
