//! outwork-intel: blocklists from the public feed formats, looked up the way
//! Google Safe Browsing does (canonical URL → host-suffix/path-prefix
//! expressions), from a compact index file or a shared store.
//!
//! Knows nothing about email.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![deny(unreachable_pub)]
#![warn(unnameable_types)]

// The modules are private; these re-exports are the API.
mod canon;
mod feeds;
mod filter;
mod redis_store;
mod store;
mod update;

// Canonical URLs and the lookup expressions made from them.
/// The canonicaliser the allocation-free one replaced, kept as the oracle of
/// the differential test, the benchmark and the `url` fuzz target.
#[doc(hidden)]
pub use canon::reference as canon_reference;
pub use canon::{CanonBuf, CanonRef, Canonical, MAX_EXPRESSIONS, canonical_host, with_scratch};

// Feeds in their public formats.
pub use feeds::{
    Entry, Format, Malformed, Parsed, Value, detect as detect_feed_format, drop_domains,
    parse as parse_feed,
};

// The stores: a local index file, or Redis shared by several hosts.
pub use redis_store::{DEFAULT_PREFIX as REDIS_DEFAULT_PREFIX, RedisStore};
pub use store::{
    EntryType, Hit, ImportStats, Index, IntelError, Kind, Lookup, MAX_SOURCES, SourceInfo,
    data_file, default_path,
};

// Fetching configured feeds into a store.
pub use update::{
    DEFAULT_MAX_BYTES, FeedOutcome, FeedResult, FeedSpec, UpdateOptions, UpdateReport, state_path,
    update,
};
