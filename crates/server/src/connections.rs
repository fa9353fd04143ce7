//! The accept loop. Every connection is served under a cap and must send each request's
//! headers within the header timeout, so idle or slow clients can neither keep a connection
//! for ever nor use up the process's file descriptors and lock everyone else out.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use prometheus_client::metrics::gauge::Gauge;
use tenure_config::ServerSettings;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

/// How often, at most, a refused connection is logged: an attacker at the cap would otherwise
/// fill the log.
const REFUSALS_LOGGED_EVERY: Duration = Duration::from_secs(10);

/// Serves `app` on `listener` until `shutdown` completes, then lets the requests in flight
/// finish (idle connections are closed at once).
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    settings: &ServerSettings,
    open: Gauge,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(settings.max_connections));
    let mut http = http1::Builder::new();
    // hyper starts this timer whenever a connection waits for a request head: on a new
    // connection and after every response, so it is also the keep-alive idle timeout.
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(settings.header_timeout_seconds));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused = Refusals::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            refused.note(settings.max_connections);
            refuse(stream);
            continue;
        };
        // Segment batches are small writes answered at once; Nagle would only delay them.
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
        let open = open.clone();
        open.inc();
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection closed with an error");
            }
            open.dec();
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers a connection over the cap with a 503 that SDKs retry, and closes it. The answer is
/// written without waiting: a client that does not read it loses nothing it could use.
fn refuse(stream: TcpStream) {
    let body = r#"{"success":false,"code":"too_many_connections","message":"the server is at its connection limit; retry shortly"}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(answer.as_bytes());
    // Closing a socket with unread input resets it, which can destroy the answer before the
    // client reads it; a request that has already arrived is read (and dropped) first.
    let _ = stream.try_read(&mut [0; 4096]);
}

/// Counts refusals between log lines.
#[derive(Debug, Default)]
struct Refusals {
    since_logged: u64,
    logged_at: Option<Instant>,
}

impl Refusals {
    fn note(&mut self, max_connections: usize) {
        self.since_logged += 1;
        if self
            .logged_at
            .is_none_or(|at| at.elapsed() >= REFUSALS_LOGGED_EVERY)
        {
            tracing::warn!(
                max_connections,
                refused = self.since_logged,
                "at the connection limit ([server] max_connections): refusing new connections"
            );
            self.since_logged = 0;
            self.logged_at = Some(Instant::now());
        }
    }
}

/// An accept that failed because of one connection is skipped; any other failure (out of file
/// descriptors, above all) is waited out briefly, as spinning on it would not help.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "cannot accept connections; retrying in 100 ms");
    tokio::time::sleep(Duration::from_millis(100)).await;
}
