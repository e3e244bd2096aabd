//! Fetching a token from the vault on a cache miss, consent sessions included.

use std::time::SystemTime;

use deputy_core::Integration;
use deputy_core::flow::Flow;
use deputy_core::policy::Decision;

use super::Resolver;
use crate::cache::{CachedToken, sorted};
use crate::consent::{PendingKey, PendingSession};
use crate::error::{ConsentRequired, ResolveError};
use crate::expiry::token_expiry;
use crate::task::Task;
use crate::vault::{OAuth2Outcome, OAuth2Request};

impl Resolver {
    /// The vault fetch of a cache miss. Its future is moved a few times on the way to the
    /// single-flight cache, so the large and less common steps (a GitHub App token, token
    /// verification, consent bookkeeping) are boxed where they are awaited: the future stays
    /// about a kilobyte instead of nine, and a cold resolve copies less.
    pub(super) async fn fetch(
        &self,
        task: &Task,
        integration: &Integration,
        decision: &Decision,
    ) -> Result<CachedToken, ResolveError> {
        let inner = &self.inner;
        let provider = decision.provider.as_deref().unwrap_or_default().to_owned();
        let wat = self.wat(task, integration).await?;
        if let Flow::GithubApp { permissions } = &decision.flow {
            return Box::pin(self.fetch_github_app(task, integration, permissions, &wat)).await;
        }
        let vault_err = |e| ResolveError::from_vault(integration, e);
        let token = match &decision.flow {
            Flow::ApiKey => inner
                .vault
                .api_key(&wat, &provider)
                .await
                .map_err(vault_err)?,
            flow => {
                let wire = flow.oauth2_flow().unwrap_or("M2M");
                let pending_key = (*flow == Flow::UserFederation).then(|| PendingKey {
                    workload: inner.workload.clone(),
                    user: task.principal().unwrap_or_default().to_owned(),
                    provider: provider.clone(),
                    scopes: sorted(&decision.scopes),
                    audiences: sorted(&decision.audiences),
                    resources: sorted(&decision.resources),
                    fresh: decision.consent_max_age.is_some(),
                });
                let pending = match &pending_key {
                    Some(k) => Box::pin(inner.pending.get(k)).await,
                    None => None,
                };
                let new_state = match (&pending_key, &pending) {
                    (Some(_), None) => Some(random_state(aws_lc_rs::rand::fill).map_err(|_| {
                        ResolveError::RandomFailed {
                            integration: integration.clone(),
                        }
                    })?),
                    _ => None,
                };
                let request = OAuth2Request {
                    provider: provider.clone(),
                    flow: wire,
                    scopes: decision.scopes.clone(),
                    audiences: decision.audiences.clone(),
                    resources: decision.resources.clone(),
                    return_url: pending_key.as_ref().and(inner.return_url.clone()),
                    session_uri: pending.as_ref().map(|p| p.session_uri.clone()),
                    // Fresh consent: a new session never reuses the vault's stored token; a
                    // pending one is polled as is.
                    force_authentication: decision.consent_max_age.is_some() && pending.is_none(),
                    custom_state: new_state.clone(),
                };
                match inner
                    .vault
                    .oauth2_token(&wat, &request)
                    .await
                    .map_err(vault_err)?
                {
                    OAuth2Outcome::Token(token) => {
                        if let Some(k) = &pending_key {
                            Box::pin(inner.pending.remove(k)).await;
                        }
                        token
                    }
                    OAuth2Outcome::Consent { failed: true, .. } => {
                        if let Some(k) = &pending_key {
                            Box::pin(inner.pending.remove(k)).await;
                        }
                        return Err(ResolveError::ConsentFailed {
                            integration: integration.clone(),
                            provider,
                        });
                    }
                    OAuth2Outcome::Consent {
                        authorization_url,
                        session_uri,
                        ..
                    } => {
                        let consent = match (pending, authorization_url, session_uri, pending_key) {
                            (Some(existing), _, _, _) => (*existing).clone(),
                            (None, Some(url), Some(session), Some(key)) => {
                                let consent = ConsentRequired {
                                    authorization_url: url,
                                    session_uri: session,
                                    expires_at: SystemTime::now() + inner.session_ttl,
                                    provider: provider.clone(),
                                    scopes: decision.scopes.clone(),
                                };
                                Box::pin(inner.pending.insert(key.clone(), consent.clone())).await;
                                if let Some(state) = new_state
                                    && task.wat.binding().user().is_some()
                                {
                                    let session = PendingSession {
                                        session_uri: consent.session_uri.clone(),
                                        binding: task.wat.binding().clone(),
                                        integration: integration.clone(),
                                        key,
                                    };
                                    Box::pin(inner.pending.remember_state(state, session)).await;
                                }
                                consent
                            }
                            _ => {
                                return Err(ResolveError::InvalidToken {
                                    integration: integration.clone(),
                                    provider,
                                    reason: format!(
                                        "the vault asked for consent on a {} flow, or without an authorization URL",
                                        flow.name()
                                    ),
                                });
                            }
                        };
                        return Err(ResolveError::ConsentRequired(
                            Box::new(consent),
                            integration.clone(),
                        ));
                    }
                }
            }
        };
        let observed = match (&decision.flow, inner.verifiers.get(&provider)) {
            (_, Some(verifier)) => Some(Box::new(
                Box::pin(verifier.verify(token.expose()))
                    .await
                    .map_err(|reason| ResolveError::InvalidToken {
                        integration: integration.clone(),
                        provider: provider.clone(),
                        reason,
                    })?,
            )),
            (Flow::OnBehalfOf { .. }, None) => {
                return Err(ResolveError::InvalidToken {
                    integration: integration.clone(),
                    provider,
                    reason: "on-behalf-of tokens must be verified, and no verifier is configured for this provider".into(),
                });
            }
            _ => None,
        };
        if let (Flow::OnBehalfOf { actor }, Some(observed)) = (&decision.flow, observed.as_deref())
        {
            super::obo_binding::check(observed, task, *actor).map_err(|reason| {
                ResolveError::InvalidToken {
                    integration: integration.clone(),
                    provider: provider.clone(),
                    reason,
                }
            })?;
        }
        let now = SystemTime::now();
        let expires_at = token_expiry(token.expose(), now, inner.opaque_token_ttl);
        if let Ok(late) = now.duration_since(expires_at) {
            return Err(ResolveError::InvalidToken {
                integration: integration.clone(),
                provider,
                reason: format!(
                    "the token had already expired when it arrived ({} s ago); the IdP's clock is probably behind this host's (check NTP on both) or its token lifetime is too short; it was not served or cached",
                    late.as_secs()
                ),
            });
        }
        // A fresh-consent token is served (from the cache too) only within the consent's age.
        let expires_at = decision
            .consent_max_age
            .map_or(expires_at, |age| expires_at.min(now + age));
        Ok(CachedToken {
            expires_at,
            token,
            observed,
        })
    }
}
/// 128 random bits, hex: the `customState` that ties a callback to the session it started.
/// A failing random number generator is an error: a predictable state would let anyone who
/// guesses it complete another user's consent callback.
fn random_state(
    fill: impl FnOnce(&mut [u8]) -> Result<(), aws_lc_rs::error::Unspecified>,
) -> Result<String, RandomFailed> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes).map_err(|_| RandomFailed)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The system random number generator failed.
#[derive(Debug)]
struct RandomFailed;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_failing_rng_is_an_error_never_a_zero_state() {
        assert!(random_state(|_| Err(aws_lc_rs::error::Unspecified)).is_err());
        // A generator that fails after writing nothing must not yield "000…".
        let state = random_state(aws_lc_rs::rand::fill).unwrap();
        assert_eq!(state.len(), 32);
        assert_ne!(state, "0".repeat(32));
        assert_ne!(state, random_state(aws_lc_rs::rand::fill).unwrap());
    }
}
