//! outwork-intel: blocklists from the public feed formats, looked up the way
//! Google Safe Browsing does (canonical URL → host-suffix/path-prefix
//! expressions), from a compact index file or a shared store.
//!
//! Knows nothing about email.

#![forbid(unsafe_code)]

pub mod canon;
pub mod feeds;
mod filter;
pub mod redis_store;
pub mod store;
pub mod update;
