//! Sender authentication with DNS: SPF, DKIM, DMARC and ARC through
//! `mail-auth`, under one deadline per message.
//!
//! mail-auth is async (hickory resolver); scanning is synchronous on
//! worker threads, so a small tokio runtime drives the lookups and each
//! scan blocks on its own message's future. hickory's response cache
//! (`dns_cache_size` entries, TTL-honouring) is shared by all messages.

use crate::Envelope;
use mail_auth::hickory_resolver::config::{
    NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use mail_auth::{
    AuthenticatedMessage, AuthenticationResults, DkimResult, DmarcResult, MessageAuthenticator,
    SpfResult, dmarc::verify::DmarcParameters, spf::verify::SpfParameters,
};
use outwork_core::AuthConfig;
use outwork_core::VerifiedAuth;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// SPF, DKIM, DMARC and ARC checked with DNS (mail-auth), on its own
/// small runtime so a synchronous scan can call it under a deadline.
pub struct Verifier {
    auth: MessageAuthenticator,
    rt: tokio::runtime::Runtime,
    authserv_id: String,
    deadline: Duration,
    trusted_sealers: Vec<String>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("authserv_id", &self.authserv_id)
            .finish()
    }
}

/// Why a [`Verifier`] could not be set up from `[auth]`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// An `[auth] nameservers` entry is not an address.
    #[error("auth.nameservers: {value:?} is not IP or IP:port")]
    BadNameserver {
        /// The entry as configured.
        value: String,
    },
    /// No nameservers configured, and the system's resolver config
    /// (`/etc/resolv.conf`) could not be read.
    #[error("reading the system resolver config: {source}")]
    SystemConfig {
        /// Why (the resolver library's error).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The DNS resolver could not be built.
    #[error("DNS resolver: {source}")]
    Resolver {
        /// Why.
        source: mail_auth::hickory_resolver::net::NetError,
    },
    /// The runtime that drives the DNS lookups could not start.
    #[error("DNS runtime: {source}")]
    Runtime {
        /// Why.
        source: std::io::Error,
    },
}

fn nameserver(s: &str) -> Result<SocketAddr, AuthError> {
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    s.parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| AuthError::BadNameserver {
            value: s.to_string(),
        })
}

impl Verifier {
    /// A verifier with `[auth]`'s nameservers (else the system's),
    /// timeouts and cache.
    pub fn new(cfg: &AuthConfig) -> Result<Verifier, AuthError> {
        let mut opts = ResolverOpts::default();
        opts.timeout = Duration::from_millis(cfg.dns_timeout_ms.max(1));
        opts.attempts = cfg.dns_attempts;
        opts.cache_size = cfg.dns_cache_size;
        opts.use_hosts_file = ResolveHosts::Never;
        let auth = if cfg.nameservers.is_empty() {
            // The system's resolv.conf, with our timeouts.
            let (conf, _) = mail_auth::hickory_resolver::system_conf::read_system_conf()
                .map_err(|e| AuthError::SystemConfig { source: e.into() })?;
            MessageAuthenticator::new(conf, opts)
        } else {
            let mut servers = Vec::new();
            for s in &cfg.nameservers {
                let sa = nameserver(s)?;
                let mut ns = NameServerConfig::udp_and_tcp(sa.ip());
                for c in &mut ns.connections {
                    c.port = sa.port();
                }
                servers.push(ns);
            }
            MessageAuthenticator::new(ResolverConfig::from_name_servers(servers), opts)
        }
        .map_err(|source| AuthError::Resolver { source })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("outwork-dns")
            .enable_all()
            .build()
            .map_err(|source| AuthError::Runtime { source })?;
        Ok(Verifier {
            auth,
            rt,
            authserv_id: cfg.authserv_id.clone(),
            deadline: Duration::from_millis(cfg.verify_deadline_ms.max(1)),
            trusted_sealers: cfg
                .trusted_arc_sealers
                .iter()
                .map(|s| s.to_ascii_lowercase())
                .collect(),
        })
    }

    /// Verify one message. Past the deadline every check not yet finished
    /// is a temperror; the scan goes on.
    pub fn verify(&self, raw: &[u8], env: &Envelope) -> VerifiedAuth {
        let Some(msg) = AuthenticatedMessage::parse(raw) else {
            return VerifiedAuth {
                authserv_id: self.authserv_id.clone(),
                spf: Some("none".into()),
                dkim: Some("none".into()),
                dmarc: Some("none".into()),
                notes: vec!["the message could not be parsed for authentication".into()],
                ..Default::default()
            };
        };
        let fut = self.verify_async(&msg, env);
        match self
            .rt
            .block_on(async { tokio::time::timeout(self.deadline, fut).await })
        {
            Ok(v) => v,
            Err(_) => VerifiedAuth {
                authserv_id: self.authserv_id.clone(),
                spf: Some("temperror".into()),
                dkim: Some("temperror".into()),
                dmarc: Some("temperror".into()),
                notes: vec![format!(
                    "DNS checks did not finish within {} ms",
                    self.deadline.as_millis()
                )],
                header: format!(
                    "{}; spf=temperror; dkim=temperror; dmarc=temperror",
                    self.authserv_id
                ),
                ..Default::default()
            },
        }
    }

    async fn verify_async(&self, msg: &AuthenticatedMessage<'_>, env: &Envelope) -> VerifiedAuth {
        let mut v = VerifiedAuth {
            authserv_id: self.authserv_id.clone(),
            ..Default::default()
        };
        let header_from = msg.from().to_string();
        let helo = env.helo.clone().unwrap_or_default();
        let mail_from = env.mail_from.clone().unwrap_or_default();
        let mut ar = AuthenticationResults::new(&self.authserv_id);

        // SPF needs the connecting IP; without one (an exported file) it is
        // not evaluated rather than guessed.
        let spf = match env.client_ip {
            Some(ip) => {
                let sender = if mail_from.is_empty() {
                    format!("postmaster@{helo}")
                } else {
                    mail_from.clone()
                };
                let out = self
                    .auth
                    .verify_spf(SpfParameters::verify_mail_from(
                        ip,
                        &helo,
                        &self.authserv_id,
                        &sender,
                    ))
                    .await;
                v.spf = Some(spf_word(out.result()).into());
                v.spf_domain = Some(out.domain().to_string());
                ar = ar.with_spf_mailfrom_result(&out, ip, &sender, &helo);
                Some(out)
            }
            None => {
                v.notes
                    .push("no client IP given: SPF not evaluated (--envelope-ip)".into());
                None
            }
        };

        let dkim = self.auth.verify_dkim(msg).await;
        v.dkim = Some(if dkim.is_empty() {
            "none".into()
        } else if dkim.iter().any(|d| matches!(d.result(), DkimResult::Pass)) {
            "pass".into()
        } else {
            dkim_word(dkim[0].result()).into()
        });
        for d in &dkim {
            if let Some(sig) = d.signature() {
                let w = dkim_word(d.result());
                if v.dkim_domains.len() < 8 {
                    v.dkim_domains
                        .push(format!("{}={w}", sig.d.to_ascii_lowercase()));
                }
            }
        }
        ar = ar.with_dkim_results(&dkim, &header_from);

        let arc = self.auth.verify_arc(msg).await;
        if !arc.sets().is_empty() {
            v.arc = Some(dkim_word(arc.result()).into());
            if let Some(last) = arc.sets().last() {
                let sealer = last.seal.header.d.to_ascii_lowercase();
                v.arc_trusted = matches!(arc.result(), DkimResult::Pass)
                    && self
                        .trusted_sealers
                        .iter()
                        .any(|t| outwork_core::is_same_or_subdomain(&sealer, t));
                v.arc_sealer = Some(sealer);
            }
            if let Some(ip) = env.client_ip {
                ar = ar.with_arc_result(&arc, ip);
            }
        }

        // DMARC: aligned SPF (when evaluated) or DKIM for the From domain.
        let spf_for_dmarc = match &spf {
            Some(s) => s.clone(),
            None => mail_auth::SpfOutput::default(),
        };
        let mail_from_domain = mail_from
            .rsplit_once('@')
            .map(|(_, d)| d.to_string())
            .unwrap_or_else(|| helo.clone());
        let dmarc = self
            .auth
            .verify_dmarc(DmarcParameters::new(
                msg,
                &dkim,
                &mail_from_domain,
                &spf_for_dmarc,
            ))
            .await;
        v.dmarc = Some(dmarc_word(&dmarc.result()).into());
        v.dmarc_domain = Some(dmarc.domain().to_string());
        v.dmarc_policy = Some(
            match dmarc.policy() {
                mail_auth::dmarc::Policy::Reject => "reject",
                mail_auth::dmarc::Policy::Quarantine => "quarantine",
                mail_auth::dmarc::Policy::None => "none",
                mail_auth::dmarc::Policy::Unspecified => "unspecified",
            }
            .into(),
        );
        ar = ar.with_dmarc_result(&dmarc);
        v.header = ar.to_string();
        v
    }
}

fn spf_word(r: SpfResult) -> &'static str {
    match r {
        SpfResult::Pass => "pass",
        SpfResult::Fail => "fail",
        SpfResult::SoftFail => "softfail",
        SpfResult::Neutral => "neutral",
        SpfResult::TempError => "temperror",
        SpfResult::PermError => "permerror",
        SpfResult::None => "none",
    }
}

fn dkim_word(r: &DkimResult) -> &'static str {
    match r {
        DkimResult::Pass => "pass",
        // mail-auth says neutral when the body changed after signing; RFC
        // 6376 calls a body hash mismatch a failed signature.
        DkimResult::Neutral(mail_auth::Error::Dkim(
            mail_auth::dkim::DkimError::FailedBodyHashMatch,
        )) => "fail",
        DkimResult::Neutral(_) => "neutral",
        DkimResult::Fail(_) => "fail",
        DkimResult::PermError(_) => "permerror",
        DkimResult::TempError(_) => "temperror",
        DkimResult::None => "none",
    }
}

fn dmarc_word(r: &DmarcResult) -> &'static str {
    match r {
        DmarcResult::Pass => "pass",
        DmarcResult::Fail(_) => "fail",
        DmarcResult::TempError(_) => "temperror",
        DmarcResult::PermError(_) => "permerror",
        DmarcResult::None => "none",
    }
}
