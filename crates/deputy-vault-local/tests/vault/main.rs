//! Integration tests: the real AWS SDK clients against a running local vault.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod completion_race;
mod control_plane;
mod counted_idp;
mod dev_idp;
mod errors;
mod fault_plan;
mod idp_expiry;
mod m2m_obo_api_keys;
mod model_coverage;
mod operations;
mod outbound_timeouts;
mod provider_validation;
mod rotation;
mod sigv4_integrity;
mod stored_token_keys;
mod user_federation;
mod workload_tokens;
