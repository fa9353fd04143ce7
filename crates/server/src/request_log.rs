//! One log line per request, for an operator: its method, its route (the pattern it matched,
//! so never a key or an id from the path), its status, how long it took, and the workspace of
//! the key it carried once that key is known. Never a key, a query string or a body.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument as _;

use crate::metrics::ServerMetrics;

/// Middleware: the request runs in a `request` span (method, route, and the workspace that
/// key checks record into it), which ends with a line of its status and duration, and is
/// counted in `tenure_http_requests_total`.
pub(crate) async fn request_log(
    State(metrics): State<Arc<ServerMetrics>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "(no route)".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let span = tracing::info_span!(
        "request",
        method = %method,
        route,
        workspace = tracing::field::Empty,
    );
    let started = Instant::now();
    let response = next.run(request).instrument(span.clone()).await;
    metrics.answered(method.as_str(), &route, response.status().as_u16());
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            duration_ms = started.elapsed().as_secs_f64() * 1000.0,
            "answered"
        );
    });
    response
}
