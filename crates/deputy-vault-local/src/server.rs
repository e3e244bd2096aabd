//! Starting and stopping the vault: [`LocalVault::start`] and [`RunningVault`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use axum::Router;
use axum::response::IntoResponse;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::aws_error::ApiError;
use crate::config::{DevClient, ProviderSource, VaultConfig};
use crate::error::VaultError;
use crate::idp::DevIdp;
use crate::registry::Registry;
use crate::state::AppState;
use crate::store::Store;

/// Entry point: `LocalVault::start(config, addr)`.
#[derive(Debug)]
pub struct LocalVault;

/// A vault serving on a local port. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningVault {
    state: Arc<AppState>,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl LocalVault {
    /// Binds `bind_addr` (port 0 picks a free port) and serves the data plane, the control
    /// plane subset and the dev IdP (under `/idp`). Non-loopback addresses are refused unless
    /// `config.allow_remote` is set.
    pub async fn start(
        config: VaultConfig,
        bind_addr: SocketAddr,
    ) -> Result<RunningVault, VaultError> {
        if !bind_addr.ip().is_loopback() && !config.allow_remote {
            return Err(VaultError::RemoteBindRefused(bind_addr));
        }
        // Pin jsonwebtoken's backend before the first verification (see research notes).
        let _ = jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER.install_default();
        let listener = tokio::net::TcpListener::bind(bind_addr)
            .await
            .map_err(|e| VaultError::io(format!("binding {bind_addr}"), e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| VaultError::io("reading the bound address", e))?;
        let endpoint = format!("http://{addr}");
        // Opening SQLite and generating the RSA key are blocking work: keep them off the runtime.
        let (store_config, idp_config, issuer) = (
            config.store.clone(),
            config.dev_idp.clone(),
            format!("{endpoint}/idp"),
        );
        let (store, idp) = tokio::task::spawn_blocking(move || {
            Ok::<_, VaultError>((
                Store::open(&store_config)?,
                DevIdp::new(issuer, &idp_config)?,
            ))
        })
        .await
        .map_err(|e| VaultError::Crypto(format!("vault setup task failed: {e}")))??;
        let idp = Arc::new(idp);
        let fault_plan = crate::faults::FaultPlan::default();
        for planned in &config.fault_plan {
            fault_plan
                .add(planned)
                .map_err(|e| VaultError::Config(format!("[[fault_plan]]: {e}")))?;
        }
        let registry = Registry::from_config(&config);
        let http = crate::outbound::Outbound::new(&config.outbound_http)?;
        let state = Arc::new(AppState {
            endpoint,
            region: config.region.clone(),
            account_id: config.account_id.clone(),
            session_ttl: config.session_ttl_seconds,
            registry: RwLock::new(registry),
            store,
            idp: Arc::clone(&idp),
            http,
            dev_audiences: config.dev_idp.inbound_audiences.clone(),
            inbound_issuers: config.inbound_issuers.clone(),
            jwks_cache: Default::default(),
            discovery_cache: Default::default(),
            counters: Mutex::new(HashMap::new()),
            faults: config
                .faults
                .iter()
                .map(|rule| (rule.clone(), std::sync::atomic::AtomicU64::new(0)))
                .collect(),
            fault_plan,
            started: crate::ids::now_secs(),
            sigv4: config.sigv4.clone(),
        });
        register_dev_idp_clients(&state);
        let app = Router::new()
            .merge(crate::dataplane::router())
            .merge(crate::control::router())
            .fallback(|| async {
                ApiError::NotFound("No such resource on the local vault".into()).into_response()
            })
            .layer(axum::extract::DefaultBodyLimit::max(
                crate::middleware::MAX_BODY_BYTES * 2,
            ))
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&state),
                crate::middleware::identities,
            ))
            .with_state(Arc::clone(&state))
            .nest("/idp", crate::idp::routes::router(idp));
        let app = if config.fault_admin {
            app.merge(crate::faults::admin_router().with_state(Arc::clone(&state)))
        } else {
            app
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!(error = %e, "vault server stopped with an error");
            }
        });
        tracing::info!(endpoint = %state.endpoint, "local vault listening");
        Ok(RunningVault {
            state,
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

fn register_dev_idp_clients(state: &AppState) {
    let registry = state.registry();
    for provider in registry.providers.values() {
        if provider.source == ProviderSource::DevIdp {
            state.idp.register_client(DevClient {
                client_id: provider.client_id.clone(),
                client_secret: provider.client_secret.clone(),
                redirect_uris: vec![state.callback_url(provider)],
            });
        }
    }
}

impl RunningVault {
    /// The base URL to use as the SDKs' `endpoint_url`, e.g. `http://127.0.0.1:41234`.
    pub fn endpoint(&self) -> String {
        self.state.endpoint.clone()
    }

    /// The bound socket address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The dev IdP's issuer (`<endpoint>/idp`); its discovery document is at
    /// `<issuer>/.well-known/openid-configuration`.
    pub fn idp_issuer(&self) -> String {
        self.state.idp.issuer().to_owned()
    }

    /// Mints the dev IdP's inbound user JWT for `user` (RS256, one hour). `GetWorkloadAccessTokenForJWT`
    /// accepts it when `audience` is in `dev_idp.inbound_audiences` (`deputy` by default).
    pub fn mint_user_token(&self, user: &str, audience: &str) -> Result<String, VaultError> {
        self.state.idp.mint_user_token(user, audience)
    }

    /// Rotates the dev IdP's signing key; returns the new `kid`. Old tokens keep verifying.
    pub fn rotate_idp_key(&self) -> Result<String, VaultError> {
        self.state.idp.keys.rotate()
    }

    /// How many data-plane calls of `operation` (e.g. `"GetResourceOauth2Token"`) were received.
    pub fn call_count(&self, operation: &str) -> u64 {
        match self.state.counters.lock() {
            Ok(c) => c.get(operation).copied().unwrap_or(0),
            Err(p) => p.into_inner().get(operation).copied().unwrap_or(0),
        }
    }

    /// The environment variables an AWS SDK (or the AgentCore Python SDK) needs to talk to
    /// this vault. Credentials are the dummy `testing` pair unless SigV4 is configured.
    pub fn sdk_env(&self) -> Vec<(String, String)> {
        let endpoint = self.endpoint();
        let (key, secret) = match &self.state.sigv4 {
            Some(c) => (
                c.access_key_id.clone(),
                "<your configured secret>".to_owned(),
            ),
            None => ("testing".to_owned(), "testing".to_owned()),
        };
        [
            ("AWS_ENDPOINT_URL_BEDROCK_AGENTCORE", endpoint.clone()),
            (
                "AWS_ENDPOINT_URL_BEDROCK_AGENTCORE_CONTROL",
                endpoint.clone(),
            ),
            ("BEDROCK_AGENTCORE_DP_ENDPOINT", endpoint.clone()),
            ("BEDROCK_AGENTCORE_CP_ENDPOINT", endpoint),
            ("AWS_REGION", self.state.region.clone()),
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// The SQLite store (tests use it to check encryption at rest).
    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Stops the server and waits for it to finish.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningVault {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}
