//! The agent application's session-binding endpoint: the page the vault sends the browser to.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;

pub struct ReturnApp {
    pub url: String,
    seen: Arc<Mutex<Vec<String>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl ReturnApp {
    pub async fn start() -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new()
            .route(
                "/oauth2/return",
                get(|State(seen): State<Arc<Mutex<Vec<String>>>>, Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    if let Some(id) = q.get("session_id") {
                        seen.lock().unwrap().push(id.clone());
                    }
                    Html("<html><body><p id=\"bound\">Authorization received</p></body></html>")
                }),
            )
            .with_state(Arc::clone(&seen));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/oauth2/return", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            url,
            seen,
            _server: server,
        }
    }

    /// The `session_id` values the browser brought.
    pub fn session_ids(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for ReturnApp {
    fn drop(&mut self) {
        self._server.abort();
    }
}
