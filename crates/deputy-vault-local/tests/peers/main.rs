//! Peer tests: a real headless Chromium driving the 3LO consent, and the vault brokering
//! against an independent OAuth server (oidc-provider). Peers come from
//! `scripts/peers/install.sh`; a missing peer fails the test with a message naming it.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod chromium_consent;
mod oidc_provider;
mod return_app;
mod support;
