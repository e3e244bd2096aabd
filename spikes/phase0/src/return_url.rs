//! The return URL the 3LO spike serves: the browser lands here after consent with
//! `?session_id=<sessionUri>`.

use std::time::Duration;

use axum::extract::Query;
use axum::routing::get;
use tokio::sync::mpsc;

/// A listener on the return URL's loopback address.
pub struct Listener {
    receiver: mpsc::Receiver<String>,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(serde::Deserialize)]
struct Landing {
    session_id: Option<String>,
}

impl Listener {
    /// Binds the host and port of `url` (which must be loopback) and serves its path.
    pub async fn bind(url: &str) -> Result<Self, String> {
        let parsed = reqwest::Url::parse(url).map_err(|e| format!("--return-url {url:?}: {e}"))?;
        let host = parsed.host_str().unwrap_or_default();
        if !matches!(host, "127.0.0.1" | "localhost" | "[::1]") {
            return Err(format!(
                "--return-url must be on loopback so the spike can serve it, not {host}"
            ));
        }
        let port = parsed.port_or_known_default().unwrap_or(80);
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| format!("cannot serve the return URL on 127.0.0.1:{port}: {e}"))?;
        let (sender, receiver) = mpsc::channel(4);
        let app = axum::Router::new().route(
            parsed.path(),
            get(move |Query(landing): Query<Landing>| {
                let sender = sender.clone();
                async move {
                    match landing.session_id {
                        Some(id) => {
                            let _ = sender.send(id).await;
                            "deputy phase0: consent received; you can close this page."
                        }
                        None => "deputy phase0: no session_id on this request.",
                    }
                }
            }),
        );
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Listener {
            receiver,
            stop,
            server,
        })
    }

    /// The `session_id` the browser brought, or `None` at the timeout.
    pub async fn wait(mut self, timeout: Duration) -> Option<String> {
        let got = tokio::time::timeout(timeout, self.receiver.recv())
            .await
            .ok()
            .flatten();
        // Let the landing page's answer go out; a browser's idle keep-alive connection does
        // not hold the spike up for more than two seconds.
        let _ = self.stop.send(());
        let abort = self.server.abort_handle();
        if tokio::time::timeout(Duration::from_secs(2), self.server)
            .await
            .is_err()
        {
            abort.abort();
        }
        got
    }
}
