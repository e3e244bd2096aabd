//! The local vault's restJson1 request parsers (the ones its handlers use) on arbitrary bodies.
//!
//! Properties: a body that parses obeys the service model's lengths, patterns and unions; a
//! workload access token that the vault did not seal never opens.
#![no_main]

use std::sync::OnceLock;

use deputy_vault_local::dataplane::complete::CompleteRequest;
use deputy_vault_local::dataplane::identities::{RequestedUser, WatOperation, WatRequest};
use deputy_vault_local::dataplane::oauth2_token::TokenRequestBody;
use deputy_vault_local::dataplane::wat;
use deputy_vault_local::store::DataKey;
use deputy_vault_local::validate::SESSION_URI_PREFIX;
use libfuzzer_sys::fuzz_target;

fn key() -> &'static DataKey {
    static KEY: OnceLock<DataKey> = OnceLock::new();
    KEY.get_or_init(|| DataKey::random().unwrap())
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

fn within(s: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&chars(s))
}

fn only(s: &str, extra: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn is_jwt_shape(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3 && parts.iter().all(|p| only(p, "-_="))
}

fn session_uri_ok(s: &str) -> bool {
    within(s, 1, 1024)
        && s.strip_prefix(SESSION_URI_PREFIX)
            .is_some_and(|id| only(id, "-._~"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = TokenRequestBody::parse(data) {
        assert!(within(request.wat.expose(), 1, 131_072));
        assert!(within(&request.provider_name, 1, 128) && only(&request.provider_name, "-_"));
        assert!(request.scopes.iter().all(|s| within(s, 1, 128)));
        assert!(request.session_uri.as_deref().is_none_or(session_uri_ok));
        assert!(
            request
                .return_url
                .as_deref()
                .is_none_or(|u| within(u, 1, 2048)
                    && u.contains(':')
                    && !u.contains(char::is_whitespace))
        );
        assert!(
            request
                .custom_parameters
                .iter()
                .all(|(k, v)| within(k, 1, 256) && only(k, "-_.") && within(v, 1, 2048))
        );
        assert!(
            request
                .custom_state
                .as_deref()
                .is_none_or(|s| within(s, 1, 4096))
        );
        assert!(
            request
                .resources
                .iter()
                .chain(&request.audiences)
                .all(|s| within(s, 1, 2048))
        );
        assert!(
            wat::open(key(), request.wat.expose()).is_err(),
            "a forged WAT opened"
        );
    }
    for operation in [
        WatOperation::Workload,
        WatOperation::ForUserId,
        WatOperation::ForJwt,
    ] {
        if let Ok(request) = WatRequest::parse(operation, data) {
            assert!(within(&request.workload_name, 3, 255) && only(&request.workload_name, "_.-"));
            match (operation, &request.user) {
                (WatOperation::Workload, RequestedUser::None) => {}
                (WatOperation::ForUserId, RequestedUser::UserId(id)) => assert!(within(id, 1, 128)),
                (WatOperation::ForJwt, RequestedUser::Jwt(token)) => {
                    assert!(within(token.expose(), 1, 131_072) && is_jwt_shape(token.expose()));
                }
                _ => panic!("{operation:?} parsed into another operation's user"),
            }
        }
    }
    if let Ok(request) = CompleteRequest::parse(data) {
        assert!(session_uri_ok(&request.session_uri));
        match (&request.user_id, &request.user_token) {
            (Some(id), None) => assert!(within(id, 1, 128)),
            (None, Some(token)) => assert!(is_jwt_shape(token.expose())),
            _ => panic!("CompleteResourceTokenAuth parsed without exactly one user identifier"),
        }
    }
    // The raw input as a WAT: without the vault's key nothing opens.
    if let Ok(text) = std::str::from_utf8(data) {
        assert!(wat::open(key(), text).is_err(), "a forged WAT opened");
    }
});
