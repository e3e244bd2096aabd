//! `--verify provider=…,issuer=…,jwks=…,audience=…`: how `deputy resolve` verifies tokens
//! from a provider (on-behalf-of tokens must be verified before deputy hands them out).

use std::str::FromStr;

use deputy::verify::TokenVerifier;

/// One provider's verification settings, as given on the command line.
///
/// ```text
/// --verify provider=aws-native,issuer=http://127.0.0.1:8787/idp/dev,audience=aws-native
/// ```
/// `jwks` defaults to `<issuer>/jwks` (the local vault's dev IdP); give it for other IdPs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyArg {
    /// The credential provider whose tokens are verified.
    pub provider: String,
    /// The expected `iss`.
    pub issuer: String,
    /// Where the signing keys are.
    pub jwks: String,
    /// Accepted `aud` values.
    pub audiences: Vec<String>,
}

impl VerifyArg {
    /// The verifier these settings describe.
    pub fn verifier(&self) -> TokenVerifier {
        TokenVerifier::new(
            self.issuer.clone(),
            self.jwks.clone(),
            self.audiences.iter().cloned(),
        )
    }
}

impl FromStr for VerifyArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (mut provider, mut issuer, mut jwks, mut audiences) = (None, None, None, Vec::new());
        for part in text.split(',').filter(|p| !p.is_empty()) {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not key=value"))?;
            let value = value.trim().to_owned();
            match key.trim() {
                "provider" => provider = Some(value),
                "issuer" => issuer = Some(value),
                "jwks" => jwks = Some(value),
                "audience" => audiences.push(value),
                other => {
                    return Err(format!(
                        "unknown key {other:?}; use provider, issuer, jwks and audience"
                    ));
                }
            }
        }
        let provider = provider.ok_or("provider=NAME is missing")?;
        let issuer = issuer.ok_or("issuer=URL is missing")?;
        if audiences.is_empty() {
            return Err("audience=AUD is missing (repeat it for several)".into());
        }
        Ok(VerifyArg {
            jwks: jwks.unwrap_or_else(|| format!("{}/jwks", issuer.trim_end_matches('/'))),
            provider,
            issuer,
            audiences,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_defaults_and_refuses_what_is_missing_or_unknown() {
        let arg: VerifyArg = "provider=aws-native,issuer=http://h/idp/dev/,audience=a,audience=b"
            .parse()
            .unwrap();
        assert_eq!(arg.jwks, "http://h/idp/dev/jwks");
        assert_eq!(arg.audiences, ["a", "b"]);
        let with_jwks: VerifyArg = "provider=p,issuer=i,jwks=http://k/keys,audience=a"
            .parse()
            .unwrap();
        assert_eq!(with_jwks.jwks, "http://k/keys");
        for bad in [
            "issuer=i,audience=a",
            "provider=p,audience=a",
            "provider=p,issuer=i",
            "provider=p,issuer=i,audience=a,colour=blue",
            "provider",
        ] {
            assert!(bad.parse::<VerifyArg>().is_err(), "{bad}");
        }
    }
}
