//! The vault's outbound HTTP to IdPs (token endpoints, discovery documents, JWKS): connect
//! and total timeouts on every request, bounded response bodies, and caches that are never
//! locked across a fetch.

mod cache;
mod client;
mod config;

pub use cache::FetchCache;
pub use client::{Outbound, OutboundError};
pub use config::OutboundHttpConfig;
