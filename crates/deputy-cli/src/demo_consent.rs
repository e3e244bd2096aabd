//! The demo's browsers: alice's, signed in to the demo app, completing her consent; and the
//! forwarded-link attack, in which mallory sends alice her own consent link.

use deputy::Resolver;
use deputy::callback::SignedSessionCookie;
use deputy::consent::{ConsentHandler, NotifyFuture};
use deputy::task::Task;
use deputy::user_jwt::UserJwt;
use deputy::{ConsentRequired, ResolveError, UserToken};
use deputy_core::{IssuerMap, Operation, RepoRef, TaskId, UserId};
use deputy_vault_local::{RunningVault, complete_consent_as_browser};

/// A scripted browser that is signed in to the demo app as one user (it carries the session
/// cookie the app's sign-in sets).
#[derive(Clone)]
pub struct Browser {
    cookie: String,
}

impl Browser {
    /// A browser signed in as `user`.
    pub fn signed_in(signer: &SignedSessionCookie, user: &UserId) -> Self {
        let set = signer.set_cookie(user);
        Browser {
            cookie: set.split(';').next().unwrap_or_default().to_owned(),
        }
    }

    /// Logs in at the provider as `name`, approves, and follows the redirect to the return URL.
    async fn approve(&self, authorization_url: &str, name: &str) -> Result<u16, String> {
        let seen = complete_consent_as_browser(authorization_url, name, name)
            .await
            .map_err(|e| format!("scripted consent failed: {e}"))?;
        let response = reqwest::Client::new()
            .get(&seen.return_url)
            .header(reqwest::header::COOKIE, &self.cookie)
            .send()
            .await
            .map_err(|e| format!("return URL failed: {e}"))?;
        Ok(response.status().as_u16())
    }
}

/// Completes consent like a person would: open the link, log in, approve, land on the return
/// URL while signed in to the app.
pub struct Consent {
    /// Print the link for a person instead of using the scripted browser.
    pub interactive: bool,
    /// Alice's scripted browser.
    pub browser: Browser,
}

impl ConsentHandler for Consent {
    fn notify<'a>(&'a self, consent: &'a ConsentRequired, _task: &'a Task) -> NotifyFuture<'a> {
        Box::pin(async move {
            if self.interactive {
                println!(
                    "    open this link, log in as alice (password alice) and approve; back on the\n    return URL, sign in to the demo app as alice too:\n    {}",
                    consent.authorization_url
                );
                return;
            }
            println!(
                "    alice's browser (signed in to the demo app as alice) opens the link, logs in and approves"
            );
            match self
                .browser
                .approve(&consent.authorization_url, "alice")
                .await
            {
                Ok(status) => println!("    return URL answered {status}"),
                Err(e) => println!("    {e}"),
            }
        })
    }
}

/// Mallory starts a GitHub consent and forwards the link to alice, who approves it. The return
/// URL sees alice signed in, not mallory, and binds nothing: mallory's tasks still get no token.
pub async fn forwarded_link(
    resolver: &Resolver,
    vault: &RunningVault,
    issuers: &IssuerMap,
    alice: &Browser,
    repo: &RepoRef,
) -> Result<(), String> {
    let token = vault
        .mint_user_token("mallory", "deputy")
        .map_err(|e| e.to_string())?;
    let jwt = UserJwt::from_verified(UserToken::new(token), issuers).map_err(|e| e.to_string())?;
    let mallory = Task::interactive(TaskId::new("demo-mallory").map_err(|e| e.to_string())?, jwt);
    let consent = match resolver
        .resolve_github_token(&mallory, Operation::Read, repo)
        .await
    {
        Err(ResolveError::ConsentRequired(consent, _)) => consent,
        other => return Err(format!("expected mallory to need consent, got {other:?}")),
    };
    println!("    mallory's agent needs her GitHub consent; she sends the link to alice instead");
    let status = alice.approve(&consent.authorization_url, "alice").await?;
    println!(
        "    alice approves at GitHub; the return URL sees alice signed in, not mallory: {status} (nothing bound)"
    );
    match resolver
        .resolve_github_token(&mallory, Operation::Read, repo)
        .await
    {
        Ok(token) => Err(format!(
            "mallory got a token ({}): the hijack was not stopped",
            token.fingerprint()
        )),
        Err(ResolveError::ConsentRequired(again, _))
            if again.session_uri != consent.session_uri =>
        {
            println!(
                "    mallory's agent asks again: refused (consent_required, a new session of her own), she gets no one's token"
            );
            Ok(())
        }
        Err(e) => Err(format!(
            "mallory's agent should be asked for a new consent of her own, got {e}"
        )),
    }
}
