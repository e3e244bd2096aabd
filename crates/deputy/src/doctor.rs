//! `deputy doctor`: checks a deployment the way a resolve would use it, and says how to fix
//! what fails (which IAM action, which provider or secret name).

use std::collections::BTreeSet;

use deputy_core::flow::Flow;
use deputy_core::policy::PolicyTable;
use deputy_core::{Operation, TaskContext, TaskId, Trigger, TriggerKind};

use crate::fallback::{FLAG, SecretReader};
use crate::vault::{
    OAuth2Outcome, OAuth2Request, TokenVault, VaultError, VaultErrorKind, WatBinding,
};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Works.
    Ok,
    /// Will fail at resolve time.
    Fail,
    /// Not checkable here, or worth knowing.
    Note,
}

/// One check and, when it failed, the fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The outcome.
    pub status: Status,
    /// What was checked.
    pub check: String,
    /// What happened and what to do.
    pub detail: String,
}

/// What to check.
pub struct Doctor<'a> {
    /// The decision table in use.
    pub policy: &'a PolicyTable,
    /// The vault client.
    pub vault: &'a TokenVault,
    /// The workload identity.
    pub workload: &'a str,
    /// The Secrets Manager reader, when the fallback is configured.
    pub secrets: Option<&'a SecretReader>,
    /// Whether `DEPUTY_FALLBACK=secrets-manager` is set.
    pub fallback_flag: bool,
}

impl Doctor<'_> {
    /// Runs every check.
    pub async fn run(&self) -> Vec<Finding> {
        let mut findings = Vec::new();
        let wat = match self
            .vault
            .workload_access_token(self.workload, &WatBinding::Workload)
            .await
        {
            Ok(wat) => {
                findings.push(ok(
                    format!("workload access token for {}", self.workload),
                    "GetWorkloadAccessToken works".into(),
                ));
                Some(wat)
            }
            Err(e) => {
                findings.push(fail(
                    format!("workload access token for {}", self.workload),
                    explain(&e, self.workload),
                ));
                None
            }
        };
        for (provider, flow) in self.machine_providers() {
            let check = format!("{flow} provider {provider}");
            let Some(wat) = &wat else {
                findings.push(note(check, "skipped: no workload access token".into()));
                continue;
            };
            let result = match flow {
                "api_key" => self.vault.api_key(wat, &provider).await.map(|_| ()),
                _ => self
                    .vault
                    .oauth2_token(wat, &m2m(&provider))
                    .await
                    .and_then(|outcome| match outcome {
                        OAuth2Outcome::Token(_) => Ok(()),
                        OAuth2Outcome::Consent { .. } => Err(VaultError {
                            operation: "GetResourceOauth2Token",
                            kind: VaultErrorKind::Unexpected,
                            message: "the provider asked for user consent on an M2M call".into(),
                            request_id: None,
                            retry_after: None,
                        }),
                    }),
            };
            findings.push(match result {
                Ok(()) => ok(check, "a token was issued".into()),
                Err(e) => fail(check, explain(&e, &provider)),
            });
        }
        for provider in self.user_providers() {
            findings.push(note(
                format!("user provider {provider}"),
                "not checked: needs a user; run `deputy resolve … --user NAME --wait 120`".into(),
            ));
        }
        self.check_fallback(&mut findings).await;
        findings
    }

    /// Providers the table uses without a user (M2M, API keys incl. backups and pools).
    fn machine_providers(&self) -> BTreeSet<(String, &'static str)> {
        let mut found = BTreeSet::new();
        for integration in self.policy.integrations() {
            for op in Operation::ALL {
                for trigger in TriggerKind::ALL {
                    let Ok(d) = self.policy.decide_cell(integration, trigger, op) else {
                        continue;
                    };
                    let kind = match d.flow {
                        Flow::M2m => "m2m",
                        Flow::ApiKey => "api_key",
                        _ => continue,
                    };
                    for p in d
                        .provider
                        .as_deref()
                        .into_iter()
                        .chain(d.backup_provider.as_deref())
                        .chain(d.provider_pool.iter().map(String::as_str))
                    {
                        found.insert((p.to_owned(), kind));
                    }
                }
            }
        }
        found
    }

    fn user_providers(&self) -> BTreeSet<String> {
        let mut found = BTreeSet::new();
        for integration in self.policy.integrations() {
            for op in Operation::ALL {
                if let Ok(d) = self
                    .policy
                    .decide_cell(integration, TriggerKind::Interactive, op)
                    && d.flow.needs_user()
                    && let Some(p) = &d.provider
                {
                    found.insert(p.to_string());
                }
            }
        }
        found
    }

    async fn check_fallback(&self, findings: &mut Vec<Finding>) {
        let secrets: Vec<_> = self
            .policy
            .integrations()
            .iter()
            .filter_map(|i| self.policy.fallback_secret(i).map(|s| (i, s)))
            .collect();
        match (self.fallback_flag, secrets.is_empty()) {
            (true, true) => findings.push(fail(
                "Secrets Manager fallback".into(),
                format!("{}={} is set, but the table configures no [fallback.<integration>] secret: add one (and secrets_manager_fallback = true on its rules) or unset the flag", FLAG.0, FLAG.1),
            )),
            (false, false) => findings.push(note("Secrets Manager fallback".into(), format!("secrets are configured but {}={} is not set, so the fallback is off", FLAG.0, FLAG.1))),
            _ => {}
        }
        let Some(reader) = self.secrets else { return };
        let ctx = match TaskId::new("deputy-doctor") {
            Ok(id) => TaskContext::new(id, Trigger::Headless),
            Err(_) => return,
        };
        for (integration, secret) in secrets {
            let check = format!("fallback secret {} for {integration}", secret.secret_id);
            findings.push(match reader.read(secret, &ctx).await {
                Ok(_) => ok(check, "readable and well-formed".into()),
                Err(e) => fail(check, e.to_string()),
            });
        }
    }
}

fn m2m(provider: &str) -> OAuth2Request {
    OAuth2Request {
        provider: provider.to_owned(),
        flow: "M2M",
        scopes: Vec::new(),
        audiences: Vec::new(),
        resources: Vec::new(),
        return_url: None,
        session_uri: None,
        force_authentication: false,
        custom_state: None,
    }
}

fn explain(e: &VaultError, name: &str) -> String {
    match e.kind {
        VaultErrorKind::NotFound => format!(
            "{name} does not exist in this region/account: create it (check the environment prefix); {}",
            e.message
        ),
        VaultErrorKind::AccessDenied => format!(
            "grant bedrock-agentcore:{} to this role on {name}; {}",
            e.operation, e.message
        ),
        VaultErrorKind::Unauthorized => {
            format!("the workload access token was rejected: {}", e.message)
        }
        VaultErrorKind::Throttled | VaultErrorKind::Unavailable => format!(
            "the vault is unavailable ({}); check the endpoint/region and retry",
            e.message
        ),
        VaultErrorKind::Validation | VaultErrorKind::Unexpected => e.to_string(),
    }
}

fn ok(check: String, detail: String) -> Finding {
    Finding {
        status: Status::Ok,
        check,
        detail,
    }
}

fn fail(check: String, detail: String) -> Finding {
    Finding {
        status: Status::Fail,
        check,
        detail,
    }
}

fn note(check: String, detail: String) -> Finding {
    Finding {
        status: Status::Note,
        check,
        detail,
    }
}
