//! outwork-core: Facts, URL handling, symbols, pure signals and scoring.
//! No I/O here: everything is a function of the message bytes and the
//! deployment context.
//!
//! The modules are private; this root is the API. Reading a message
//! ([`parse`] → [`Facts`]), the deployment ([`Config`] → [`Context`]), the
//! evidence the engine gathers by I/O ([`Evidence`]), the signals
//! ([`run_full`] → [`Hits`]), the verdict ([`decide`] → [`Verdict`]) and its
//! JSON ([`verdict_json`]); then the brand catalogue, the learned model and
//! the shared tables. A few per-family functions are exported for the
//! `outwork brands` explainer and the fuzz targets.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![warn(unnameable_types)]

mod brand;
mod config;
mod context;
mod domain;
mod evidence;
mod facts;
mod html;
mod keys;
mod lists;
mod model;
mod policy;
mod report;
mod signals;
mod symbol;
mod url;

// Reading a message.
pub use domain::{Host, IpHost, is_same_or_subdomain, registrable_domain, skeleton};
pub use facts::{
    Attachment, AuthHeader, CutHeaders, Facts, Mailbox, Sniffed, Truncated, UrlFact, WhereFound,
    cut_boundary_lines, cut_headers, parse,
};
pub use html::{HtmlFacts, HtmlUrl, analyse as analyse_html, decode_entities};
pub use url::{
    ParsedUrl, TextUrl, Unwrapped, UrlSource, extract_text_urls, shown_host, unwrap_redirect,
};

// The deployment.
pub use config::{
    AllowConfig, AuthConfig, Config, ConfigError, ConfigIssue, Deployment, FeedConfig,
    HistoryConfig, InspectConfig, IntelConfig, Limits, ListsConfig, ModelConfig, Thresholds,
    find_key_line, sort_issues,
};
pub use context::{BrandEntry, Context, Target};
pub use keys::check_each_key;

// What the engine found by I/O.
pub use evidence::{
    Evidence, HistoryFacts, InspectFinding, InspectKind, IntelFinding, IntelTarget, VerifiedAuth,
};

// Symbols, signals and the verdict.
pub use policy::{Action, Verdict, decide, decide_with};
pub use report::{Detail, symbol_json, verdict_json};
pub use signals::auth::AuthView;
pub use signals::{Families, Family, run_full};
pub use symbol::{
    Family as SymbolFamily, Hits, SYMBOLS, Symbol, SymbolDef, intern as intern_symbol,
    lookup as lookup_symbol,
};

/// One signal family at a time, for the `outwork brands` explainer, the
/// benchmarks and the fuzz targets; a scan runs them all through
/// [`run_full`].
pub mod family {
    /// SPF, DKIM, DMARC and ARC as the message and the deployment see them.
    pub mod auth {
        pub use crate::signals::auth::{read, signals};
    }
    /// Brand claims against the authority behind them.
    pub mod brand {
        pub use crate::signals::brand::{
            claims, is_forward, owned_by, signals, vouched_third_party,
        };
    }
    /// Display-name, reply-to and sender tricks.
    pub mod sender {
        pub use crate::signals::sender::{claimed_brand, generic_display_brand, signals};
    }
}

// Brands.
pub use brand::{
    Brand, Claim, Folded, Matcher as BrandMatcher, Place, bundled as bundled_brands,
    fold as fold_brand_text, parse_tsv as parse_brand_tsv,
};

// The learned model.
pub use model::{
    Contribution, Example, Features, Hashed, LocalMeta, Model, ModelError, ModelMeta, Scored,
    TrainOptions, builtin as builtin_model, features as model_features, fine_tune, threshold_at,
    train as train_model,
};

// Shared tables.
pub use lists::{
    ABUSED_TLDS, DANGEROUS_EXTENSIONS, ESP_DOMAINS, FREE_HOSTING, FREEMAIL, SHORTENERS,
};
