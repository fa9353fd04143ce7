//! `POST /v1/{track,identify,group,page,screen,alias,batch}`: the Segment tracking API (also
//! under `/beacon/v1/`, where RudderStack's JS SDK sends with `navigator.sendBeacon`).
//!
//! Order of checks, cheapest and most fundamental first: body size, gzip, key in the header,
//! JSON and limits, key in the body (else in the query), rate limit, message validation,
//! durable append. A request is stored whole or not at all.

use std::io::Read;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::Json;
use flate2::read::MultiGzDecoder;
use tenure_core::{Entry, EntryBody, Source, Timestamp};
use tenure_ingest::segment::{Endpoint, Envelope};
use tenure_store::Scope;

use crate::auth::header_key;
use crate::metrics::{self, Tally};
use crate::{ApiError, AppState};

/// A write key in the query string: where RudderStack's JS SDK puts it on
/// `navigator.sendBeacon` calls, which can carry no header. Write keys are public (every page
/// that tracks holds one), unlike read keys, which the read API refuses in a URL.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct KeyInQuery {
    #[serde(rename = "writeKey")]
    pub(crate) write_key: Option<String>,
}

/// What an accepted request stored.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct Stored {
    /// Always true: the messages are durable.
    success: bool,
    /// Messages new to the log.
    stored: usize,
    /// Messages whose `messageId` the log already held, not stored again.
    duplicates: usize,
}

/// Stores Segment messages; also `/beacon/v1/{kind}`.
#[utoipa::path(post, path = "/v1/{kind}", tag = "ingest",
    params(("kind" = String, Path, description = "track, identify, group, page, screen, alias or batch, or its first letter")),
    request_body(content = Object, description = "A Segment message, or `{\"batch\": [...]}` for batch; JSON, also sent as text/plain by browsers", content_type = "application/json"),
    responses((status = 200, description = "Stored durably", body = Stored)))]
pub(crate) async fn receive(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    Query(query): Query<KeyInQuery>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Stored>, ApiError> {
    let started = Instant::now();
    let mut tally = Tally::default();
    let result = accept(&state, &kind, query, &headers, body, &mut tally).await;
    let status = metrics::status_of(&result);
    state
        .metrics
        .ingested("segment", status, tally, started.elapsed());
    result
}

/// Checks and stores one request's messages, noting in `tally` what it carried.
async fn accept(
    state: &AppState,
    kind: &str,
    query: KeyInQuery,
    headers: &HeaderMap,
    body: Body,
    tally: &mut Tally,
) -> Result<Json<Stored>, ApiError> {
    let endpoint = Endpoint::from_path_segment(kind).ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!("no endpoint /v1/{kind}: expected track, identify, group, page, screen, alias or batch (or its first letter)"),
        )
    })?;
    let received_at = Timestamp::from_datetime(chrono::Utc::now());
    let limits = state.config.ingest.limits();
    let raw = axum::body::to_bytes(body, limits.max_batch_bytes)
        .await
        .map_err(|e| crate::timeout::body_error(&e, limits.max_batch_bytes))?;
    tally.bytes = raw.len() as u64;
    let body = decode(headers, raw, limits.max_batch_bytes)?;

    let header_secret = header_key(headers)?;
    if let Some(secret) = &header_secret {
        state
            .keys
            .authorize(&state.store, Some(secret), Scope::Write)?;
    }
    let envelope = Envelope::parse(endpoint, &body, &limits).map_err(segment_error)?;
    let secret = header_secret
        .or_else(|| envelope.write_key.clone())
        .or(query.write_key);
    let key = state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Write)?;
    tally.workspace = Some(key.workspace.clone());
    let messages = envelope.into_messages(received_at).map_err(segment_error)?;
    tally.messages = messages.len() as u64;
    state
        .rate
        .take(&key.workspace, messages.len())
        .map_err(ApiError::rate_limited)?;

    let entries: Vec<Entry> = messages
        .into_iter()
        .map(|m| Entry {
            workspace: key.workspace.clone(),
            source: Source::Http,
            received_at,
            body: EntryBody::Segment(m),
        })
        .collect();
    let (stored, duplicates) = {
        let store = Arc::clone(&state.store);
        let live = Arc::clone(&state.live);
        tokio::task::spawn_blocking(move || {
            let appended = store.append(entries)?;
            let counts = (appended.stored.len(), appended.duplicates);
            live.submit(appended.stored);
            Ok::<_, tenure_store::StoreError>(counts)
        })
        .await
        .map_err(|_| ApiError::unavailable("the store writer failed", 5))??
    };
    Ok(Json(Stored {
        success: true,
        stored,
        duplicates,
    }))
}

/// Undoes `Content-Encoding: gzip`, refusing to inflate past `limit` bytes. A body may hold
/// several gzip members (RFC 1952 §2.2; `cat a.gz b.gz` and some streaming compressors make
/// them), all of which are decoded; bytes after them that are not a member are refused rather
/// than dropped, as they would be part of the request the client meant.
fn decode(headers: &HeaderMap, raw: Bytes, limit: usize) -> Result<Bytes, ApiError> {
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(raw),
        Some("gzip") | Some("x-gzip") => {
            let mut out = Vec::with_capacity(raw.len() * 4);
            MultiGzDecoder::new(&raw[..])
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| {
                    ApiError::bad_request(
                        "invalid_gzip",
                        format!("the gzip body cannot be decoded: {e}"),
                    )
                })?;
            if out.len() > limit {
                return Err(ApiError::too_large(format!(
                    "the decompressed body is larger than {limit} bytes"
                )));
            }
            Ok(Bytes::from(out))
        }
        Some(other) => Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_encoding",
            format!("Content-Encoding {other:?} is not supported (use gzip or none)"),
        )),
    }
}

fn segment_error(e: tenure_ingest::segment::SegmentError) -> ApiError {
    let status =
        axum::http::StatusCode::from_u16(e.status()).unwrap_or(axum::http::StatusCode::BAD_REQUEST);
    ApiError::new(status, e.code(), e.to_string())
}
