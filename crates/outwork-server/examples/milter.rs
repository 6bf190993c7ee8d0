//! Run the milter alone: `cargo run -p outwork-server --example milter --
//! [outwork.toml]`. (`outwork serve` is the real front end; this is for
//! trying the milter against an MTA and for the Postfix end-to-end test.)
//! Prints `listening <addr>` lines on stdout once bound.

use std::io::Write;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let text = match std::env::args_os().nth(1) {
        Some(p) => std::fs::read_to_string(p)?,
        None => String::new(),
    };
    let milter = outwork_server::MilterConfig::from_outwork_toml(&text)?;
    let ctx = outwork_core::Context::new(outwork_core::Config::from_toml(&text)?);
    let scanner = Arc::new(outwork_engine::Scanner::from_config(ctx)?);
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async move {
        let m = outwork_server::Milter::bind(milter, scanner).await?;
        let mut out = std::io::stdout().lock();
        for a in m.local_addrs() {
            writeln!(out, "listening {a}")?;
        }
        out.flush()?;
        drop(out);
        m.run(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
        Ok(())
    })
}
