use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Every error the API answers with: a status, a stable machine-readable `code`, and a message
/// that says what was wrong. Internal details are logged, never sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub retry_after_seconds: Option<u64>,
}

/// Flat `{success, code, message}`: the shape Segment's own API answers with, which its client
/// libraries read to log why a batch was refused.
#[derive(Serialize)]
struct Body<'a> {
    success: bool,
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after_seconds: None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn too_large(message: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message)
    }

    /// 503: the client should retry after `seconds`.
    pub fn unavailable(message: impl Into<String>, seconds: u64) -> Self {
        Self {
            retry_after_seconds: Some(seconds),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
        }
    }

    pub fn rate_limited(seconds: u64) -> Self {
        Self {
            retry_after_seconds: Some(seconds),
            ..Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "this workspace is sending faster than its configured rate limit; retry later",
            )
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            success: false,
            code: self.code,
            message: &self.message,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<tenure_store::StoreError> for ApiError {
    fn from(e: tenure_store::StoreError) -> Self {
        match e {
            tenure_store::StoreError::Busy => {
                ApiError::unavailable("the store is busy; retry shortly", 1)
            }
            other => {
                tracing::error!(error = %other, "store error");
                ApiError::unavailable("the store cannot accept or serve requests right now", 5)
            }
        }
    }
}
