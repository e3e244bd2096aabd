//! Integration tests: the real AWS SDK clients against a running local vault.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod control_plane;
mod dev_idp;
mod errors;
mod m2m_obo_api_keys;
mod operations;
mod user_federation;
mod workload_tokens;
