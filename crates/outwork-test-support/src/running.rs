//! [`Running`]: the HTTP API on a runtime of its own, driven from plain
//! (non-async) tests.

use outwork_server::HttpConfig;
use outwork_server::{HttpServer, ServeError, Services};
use std::net::SocketAddr;
use std::time::Duration;

/// An HTTP API server on a runtime of its own, for tests: dropping it
/// stops accepting, drains in-flight requests (up to 10 s) and shuts the
/// runtime down.
pub struct Running {
    addr: SocketAddr,
    rt: tokio::runtime::Runtime,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
}

impl Running {
    /// Bind `cfg.listen` on a new runtime with `worker_threads` and serve.
    pub fn start(
        cfg: HttpConfig,
        svc: Services,
        worker_threads: usize,
    ) -> Result<Running, ServeError> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let listen = cfg.listen.clone();
        let srv = rt.block_on(HttpServer::bind(cfg, svc))?;
        let addr = srv.local_addr().map_err(|error| ServeError::Bind {
            addr: listen,
            key: "[http] listen",
            error,
        })?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(srv.run(async {
            let _ = rx.await;
        }));
        Ok(Running {
            addr,
            rt,
            stop: Some(tx),
            task: Some(task),
        })
    }

    /// Where it listens (the port the OS chose for port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), t).await });
        }
    }
}
