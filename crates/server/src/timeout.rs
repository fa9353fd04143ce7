//! Time limits on what a client sends. The header timeout lives in the accept loop
//! (`connections`); here are the body timeout (the longest pause inside a body, for every
//! route) and the request timeout (the whole of an ingest or webhook request).

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body::{Frame, SizeHint};

use crate::ApiError;

/// Middleware: the request is answered within `limit` of its headers, or cut off. A client still
/// sending its body by then gets 408 and the connection is closed (a slow-body attack ends
/// here); a request received whole but not answered in time gets 503, which SDKs retry, and
/// retrying is safe because every entry is idempotent on its natural key.
pub(crate) async fn within(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    let received = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| {
        Body::new(Watched {
            inner: body,
            received: Arc::clone(&received),
        })
    });
    let Ok(response) = tokio::time::timeout(limit, next.run(request)).await else {
        let seconds = limit.as_secs();
        if received.load(Ordering::Acquire) {
            tracing::warn!(seconds, "a request was received but not answered in time");
            return ApiError::unavailable(
                format!("the request could not be answered within {seconds} s; retry it"),
                1,
            )
            .into_response();
        }
        tracing::info!(seconds, "cut off a request whose body arrived too slowly");
        let mut response = ApiError::request_timeout(format!(
            "the request was not received within {seconds} s ([server] \
             request_timeout_seconds); send it again, or in smaller batches"
        ))
        .into_response();
        // The rest of the body is never read, so the connection cannot carry another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    };
    response
}

/// The answer to a request body that could not be read whole within `max_bytes`.
pub(crate) fn body_error(e: &axum::Error, max_bytes: usize) -> ApiError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(error) = source {
        if error.is::<http_body_util::LengthLimitError>() {
            return ApiError::too_large(format!(
                "the request body is larger than {max_bytes} bytes"
            ));
        }
        if error.is::<tower_http::timeout::TimeoutError>() {
            return ApiError::request_timeout(
                "the request body stopped arriving before it was complete ([server] \
                 body_timeout_seconds); send it again",
            );
        }
        source = error.source();
    }
    ApiError::bad_request(
        "unreadable_body",
        format!("the request body could not be read: {e}"),
    )
}

/// A request body that records when it has been read to its end.
struct Watched {
    inner: Body,
    received: Arc<AtomicBool>,
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) || self.inner.is_end_stream() {
            self.received.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
