//! One file per integration: each adds its `resolve_<integration>_token` to [`crate::Resolver`].

mod aws_native;
mod github;
mod jira;
mod linear;
mod slack;
