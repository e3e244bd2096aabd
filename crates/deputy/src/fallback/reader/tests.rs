//! The Secrets Manager reader's unit tests: secret shapes, expiry, STS session names and tags.

use std::time::UNIX_EPOCH;

use super::*;

const RAW: FallbackFormat = FallbackFormat::Raw;

fn json_format() -> FallbackFormat {
    FallbackFormat::Json {
        token_field: "access_token".into(),
        expires_field: Some("expires_at".into()),
    }
}

#[test]
fn raw_and_json_shapes() {
    let now = UNIX_EPOCH + Duration::from_secs(1_000);
    assert_eq!(
        parse("s", &RAW, "ghp_abc\n", now).unwrap().token.expose(),
        "ghp_abc"
    );
    let t = parse(
        "s",
        &json_format(),
        r#"{"access_token":"lin_x","refresh_token":"r","expires_at":2000}"#,
        now,
    )
    .unwrap();
    assert_eq!(
        (t.token.expose(), t.expires_at),
        ("lin_x", Some(UNIX_EPOCH + Duration::from_secs(2000)))
    );
    let t = parse(
        "s",
        &json_format(),
        r#"{"access_token":"lin_x","expires_at":"1970-01-01T00:33:20Z"}"#,
        now,
    )
    .unwrap();
    assert_eq!(t.expires_at, Some(UNIX_EPOCH + Duration::from_secs(2000)));
}

#[test]
fn malformed_secrets_name_the_secret_and_field_but_never_the_value() {
    let now = UNIX_EPOCH + Duration::from_secs(1_000);
    let cases = [
        (
            r#"{"token":"lin_SECRETVALUE","expires_at":2000}"#,
            "no string field \"access_token\"",
        ),
        (
            r#"{"access_token":"lin_SECRETVALUE"}"#,
            "no string field \"expires_at\"",
        ),
        (
            r#"{"access_token":"lin_SECRETVALUE","expires_at":"soon"}"#,
            "neither Unix seconds",
        ),
        (
            r#"{"access_token":"lin_SECRETVALUE","expires_at":999}"#,
            "expired",
        ),
        (
            "lin_SECRETVALUE not json",
            "is not a JSON object (error at line 1",
        ),
    ];
    for (value, expected) in cases {
        let err = parse("bgagent-linear-oauth-acme", &json_format(), value, now).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(
            shown.contains(expected) && shown.contains("bgagent-linear-oauth-acme"),
            "{shown}"
        );
        assert!(!shown.contains("SECRETVALUE"), "{shown}");
    }
    assert!(matches!(
        parse("s", &RAW, "  ", now),
        Err(SecretError::Empty { .. })
    ));
}

#[test]
fn session_names_and_tags_follow_sts_rules() {
    let ctx = TaskContext::new(
        deputy_core::TaskId::new(&format!("t:{}", "x".repeat(100))).unwrap(),
        deputy_core::Trigger::Webhook {
            asserted_user: Some(deputy_core::UserId::parse("okta+u").unwrap()),
        },
    );
    let name = session_name(&ctx);
    assert_eq!(name.len(), 64);
    assert!(name.starts_with("deputy-t-xxx"));
    let tags = session_tags(&ctx);
    assert_eq!(
        tags.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        ["task_id", "user_id"]
    );
}

/// STS's tag value alphabet, ASCII part (`[\p{L}\p{Z}\p{N}_.:/=+\-@]*`), and its length.
fn sts_accepts_tag_value(value: &str) -> bool {
    value.len() <= 256
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b" _.:/=+-@".contains(&b))
}

#[test]
fn session_tags_fit_sts_for_user_ids_with_any_printable_character() {
    let user = |sub: &str| deputy_core::UserId::from_parts("auth0", sub).unwrap();
    let tags_for = |sub: &str| {
        session_tags(&TaskContext::new(
            deputy_core::TaskId::new("gw-1").unwrap(),
            deputy_core::Trigger::Interactive { user: user(sub) },
        ))
    };
    let long = format!("auth0|{}", "|".repeat(110));
    for sub in ["auth0|123", "a=b", "{\"x\"}#%&*", long.as_str()] {
        let tags = tags_for(sub);
        let (_, value) = tags.iter().find(|(k, _)| *k == "user_id").unwrap();
        assert!(sts_accepts_tag_value(value), "{value:?}");
    }
    let (_, auth0) = tags_for("auth0|123").into_iter().nth(1).unwrap();
    assert_eq!(auth0, "auth0+auth0=7C123");
    let (_, other) = tags_for("auth0=7C123").into_iter().nth(1).unwrap();
    assert_ne!(auth0, other, "escaping keeps distinct ids distinct");
    let name = session_name(&TaskContext::new(
        deputy_core::TaskId::new("gw-0123:abc").unwrap(),
        deputy_core::Trigger::Headless,
    ));
    assert!(
        (2..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b)),
        "{name}"
    );
}

#[test]
fn an_expiry_past_the_clock_range_is_a_typed_error_not_a_panic() {
    let now = UNIX_EPOCH + Duration::from_secs(1_000);
    for exp in ["9223372036854775808", "18446744073709551615"] {
        let value = format!(r#"{{"access_token":"lin_SECRETVALUE","expires_at":{exp}}}"#);
        let err = parse("bgagent-linear-oauth-acme", &json_format(), &value, now).unwrap_err();
        assert!(
            matches!(&err, SecretError::ExpiryOutOfRange { secret_id, field, seconds }
                if secret_id == "bgagent-linear-oauth-acme" && field == "expires_at"
                    && exp.parse() == Ok(*seconds)),
            "{err:?}"
        );
        assert!(!format!("{err} {err:?}").contains("SECRETVALUE"));
    }
}
