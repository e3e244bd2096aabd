//! A TCP proxy on 127.0.0.1 that misbehaves on demand, for fault tests: it forwards, resets
//! connections, swallows them (the peer never answers), or delays each new connection.
//!
//! The mode can change while clients are connected; it applies to connections accepted after
//! the change (and, for `Reset`/`Stall`, to traffic on open connections too).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Forward both ways.
    Pass = 0,
    /// Close every connection at once with a TCP reset.
    Reset = 1,
    /// Accept and read, but never forward or answer.
    Stall = 2,
    /// Forward after holding each new connection for the configured delay.
    Slow = 3,
}

impl Mode {
    fn from_u8(v: u8) -> Mode {
        match v {
            1 => Mode::Reset,
            2 => Mode::Stall,
            3 => Mode::Slow,
            _ => Mode::Pass,
        }
    }
}

struct Shared {
    target: SocketAddr,
    mode: AtomicU8,
    delay_ms: AtomicU64,
    connections: AtomicU64,
}

/// A running proxy; it stops when dropped.
pub struct ChaosProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl ChaosProxy {
    /// Starts a proxy to `target` in [`Mode::Pass`].
    pub async fn start(target: SocketAddr) -> std::io::Result<ChaosProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            target,
            mode: AtomicU8::new(Mode::Pass as u8),
            delay_ms: AtomicU64::new(0),
            connections: AtomicU64::new(0),
        });
        let accept_shared = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                accept_shared.connections.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(client, Arc::clone(&accept_shared)));
            }
        });
        Ok(ChaosProxy { addr, shared, task })
    }

    /// Starts a proxy to the host and port of `url` (`http://127.0.0.1:PORT/...`).
    pub async fn start_for_url(url: &str) -> std::io::Result<ChaosProxy> {
        let authority = url
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        let target = authority.parse().map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{url} does not name an IP:port"),
            )
        })?;
        ChaosProxy::start(target).await
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its authority replaced by the proxy's.
    pub fn url_for(&self, url: &str) -> String {
        url.replacen(&self.shared.target.to_string(), &self.addr.to_string(), 1)
    }

    /// Switches the mode.
    pub fn set(&self, mode: Mode) {
        self.shared.mode.store(mode as u8, Ordering::SeqCst);
    }

    /// Sets the delay of [`Mode::Slow`].
    pub fn set_delay(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.shared.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::Relaxed)
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn mode(shared: &Shared) -> Mode {
    Mode::from_u8(shared.mode.load(Ordering::SeqCst))
}

async fn serve(mut client: TcpStream, shared: Arc<Shared>) {
    match mode(&shared) {
        Mode::Reset => return reset(client),
        Mode::Stall => return stall(client).await,
        Mode::Slow => {
            let delay = shared.delay_ms.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        Mode::Pass => {}
    }
    let Ok(mut upstream) = TcpStream::connect(shared.target).await else {
        return reset(client);
    };
    let (mut c_read, mut c_write) = client.split();
    let (mut u_read, mut u_write) = upstream.split();
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    loop {
        tokio::select! {
            n = c_read.read(&mut up) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if mode(&shared) != Mode::Pass && mode(&shared) != Mode::Slow {
                        break;
                    }
                    if u_write.write_all(&up[..n]).await.is_err() { break; }
                }
            },
            n = u_read.read(&mut down) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => if c_write.write_all(&down[..n]).await.is_err() { break; },
            },
        }
    }
    if matches!(mode(&shared), Mode::Reset | Mode::Stall) {
        reset(client);
    }
}

/// Drops the connection with SO_LINGER 0, which makes the kernel send RST.
fn reset(client: TcpStream) {
    let _ = client.set_zero_linger();
    drop(client);
}

async fn stall(mut client: TcpStream) {
    let mut sink = [0u8; 4096];
    while matches!(client.read(&mut sink).await, Ok(n) if n > 0) {}
}
