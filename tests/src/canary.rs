//! The canary search: every secret a run handled, looked for in what processes wrote, together
//! with token *shapes* (JWTs, GitHub tokens) so that a secret the test never saw is caught too.
//! Failures name the secret's label and where it was found, never the value.

use serde_json::Value;

/// JSON keys whose string values are secrets, in the AgentCore wire format, OAuth token
/// responses and the local vault's store.
pub const SECRET_KEYS: [&str; 14] = [
    "workloadAccessToken",
    "accessToken",
    "apiKey",
    "userToken",
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "subject_token",
    "actor_token",
    "assertion",
    "code_verifier",
    "code",
];

/// Secrets shorter than this are not searched for (they would match ordinary words).
const MIN_LEN: usize = 12;

/// The secrets of one run, each with a label saying where it came from.
#[derive(Debug, Default, Clone)]
pub struct Canary {
    secrets: Vec<(String, String)>,
}

impl Canary {
    /// Adds one secret (ignored when too short to search for, or already known).
    pub fn add(&mut self, label: &str, value: &str) {
        let value = value.trim();
        if value.len() >= MIN_LEN && !self.secrets.iter().any(|(_, v)| v == value) {
            self.secrets.push((label.to_owned(), value.to_owned()));
        }
    }

    /// Adds every string under a [`SECRET_KEYS`] key anywhere in `json`.
    pub fn add_from_json(&mut self, label: &str, json: &Value) {
        match json {
            Value::Object(map) => {
                for (key, value) in map {
                    match value {
                        Value::String(s) if SECRET_KEYS.contains(&key.as_str()) => {
                            self.add(&format!("{label}.{key}"), s);
                        }
                        other => self.add_from_json(label, other),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| self.add_from_json(label, v)),
            _ => {}
        }
    }

    /// Adds the other canary's secrets.
    pub fn merge(&mut self, other: &Canary) {
        for (label, value) in &other.secrets {
            self.add(label, value);
        }
    }

    /// How many secrets are known.
    pub fn len(&self) -> usize {
        self.secrets.len()
    }

    /// Whether no secret is known.
    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The labels of the known secrets (for asserting what a run covered).
    pub fn labels(&self) -> Vec<&str> {
        self.secrets.iter().map(|(l, _)| l.as_str()).collect()
    }

    /// The values (for searching binary files).
    pub fn values(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.secrets.iter().map(|(l, v)| (l.as_str(), v.as_bytes()))
    }

    /// What in `text` is a known secret (whole, or its distinctive last 20 characters) or has
    /// a token's shape: one line per finding, naming the label and the line, never the value.
    pub fn findings(&self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (label, value) in &self.secrets {
            let tail = &value[value.len().saturating_sub(20)..];
            let needle = if value.len() >= 32 && value.is_char_boundary(value.len() - 20) {
                tail
            } else {
                value.as_str()
            };
            if let Some(at) = text.find(needle) {
                out.push(format!("secret {label} on line {}", line_of(text, at)));
            }
        }
        for (at, shape) in token_shapes(text) {
            out.push(format!("{shape} on line {}", line_of(text, at)));
        }
        out
    }

    /// Panics (naming labels and lines only) when `text`, written by `what`, holds a secret.
    pub fn assert_clean(&self, what: &str, text: &str) {
        let findings = self.findings(text);
        assert!(
            findings.is_empty(),
            "{what} leaked: {findings:?} ({} secrets searched, {} bytes of output)",
            self.len(),
            text.len()
        );
    }
}

fn line_of(text: &str, at: usize) -> usize {
    text[..at].bytes().filter(|b| *b == b'\n').count() + 1
}

fn is_b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Byte offsets of token-shaped text: `eyJ….eyJ….` (a JWT's header and claims) and GitHub
/// token prefixes (`ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_`, `github_pat_`) followed by at least
/// 16 token characters.
pub fn token_shapes(text: &str) -> Vec<(usize, &'static str)> {
    let bytes = text.as_bytes();
    let run = |from: usize| bytes[from..].iter().take_while(|b| is_b64url(**b)).count();
    let mut out = Vec::new();
    for (at, _) in text.match_indices("eyJ") {
        let header = run(at);
        let claims_at = at + header + 1;
        if bytes.get(at + header) == Some(&b'.')
            && bytes[claims_at..].starts_with(b"eyJ")
            && bytes.get(claims_at + run(claims_at)) == Some(&b'.')
        {
            out.push((at, "JWT-shaped text"));
        }
    }
    for prefix in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_", "github_pat_"] {
        for (at, _) in text.match_indices(prefix) {
            let preceded = at > 0 && is_b64url(bytes[at - 1]);
            if !preceded && run(at + prefix.len()) >= 16 {
                out.push((at, "GitHub-token-shaped text"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_known_secrets_by_value_or_tail_and_names_only_the_label() {
        let mut canary = Canary::default();
        canary.add("wat", "opaque-workload-access-token-0123456789abcdef");
        canary.add("short", "abc");
        assert_eq!(canary.len(), 1);
        let findings = canary.findings("ok\nlog: …token-0123456789abcdef]\n");
        assert_eq!(findings, vec!["secret wat on line 2".to_owned()]);
        assert!(!findings[0].contains("0123456789"));
        assert!(canary.findings("opaque-workload-access-token").is_empty());
    }

    #[test]
    fn collects_secret_keys_from_json() {
        let mut canary = Canary::default();
        canary.add_from_json(
            "vault",
            &serde_json::json!({"accessToken": "the-access-token-value", "sessionUri": "urn:not-secret-at-all",
                "nested": [{"refresh_token": "the-refresh-token-value"}]}),
        );
        assert_eq!(
            canary.labels(),
            vec!["vault.accessToken", "vault.refresh_token"]
        );
    }

    #[test]
    fn token_shapes_are_found_and_ordinary_text_is_not() {
        let jwt = "Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2ln";
        assert_eq!(token_shapes(jwt), vec![(7, "JWT-shaped text")]);
        assert_eq!(
            token_shapes("x=ghs_0123456789abcdefXYZ")[0].1,
            "GitHub-token-shaped text"
        );
        for clean in [
            "eyJhbGciOiJSUzI1NiJ9 alone",
            "ghp_short",
            "sha256:4f2a9c",
            "my_ghp_0123456789abcdefXYZ",
        ] {
            assert!(token_shapes(clean).is_empty(), "{clean}");
        }
    }
}
