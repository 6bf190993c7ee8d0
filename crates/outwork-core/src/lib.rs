//! outwork-core: Facts, URL handling, symbols, pure signals and scoring.
//! No I/O here: everything is a function of the message bytes and the
//! deployment context.

#![forbid(unsafe_code)]

pub mod brand;
pub mod config;
pub mod context;
pub mod domain;
pub mod evidence;
pub mod facts;
pub mod html;
pub mod keys;
pub mod lists;
pub mod model;
pub mod policy;
pub mod report;
pub mod signals;
pub mod symbol;
pub mod url;

pub use config::Config;
pub use context::Context;
pub use facts::Facts;
pub use policy::{Action, Verdict};
