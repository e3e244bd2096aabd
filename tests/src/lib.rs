//! Shared test support for deputy's crates: real third-party peers started on 127.0.0.1.
//! [`process`] finds and runs them (installed by `scripts/peers/install.sh`), [`webdriver`]
//! drives headless Chromium, [`moto`] serves Secrets Manager and STS, [`jwks`] verifies JWTs, [`spans`] captures closed spans' fields,
//! [`signed_in_browser`] signs in at a consent return URL.
//! Workspace-level end-to-end tests live in `tests/tests/`.

pub mod canary;
pub mod captured;
pub mod chaos;
pub mod git_http;
pub mod jwks;
pub mod moto;
pub mod process;
pub mod recording_proxy;
pub mod signed_in_browser;
pub mod spans;
pub mod webdriver;
