//! `GET /metrics`: what an operator's Prometheus scrapes, in the OpenMetrics text format.
//!
//! The server's own measures are here (requests, ingest, reports, connections); the store's
//! writer ([`tenure_store::Store::register_metrics`]) and the live models
//! ([`tenure_runtime::Live::register_metrics`]) add theirs to the same registry. Labels take
//! only values from a fixed set (a route pattern, a status, a report name tenure has), never a
//! workspace, a key or anything a client sends, so a scrape tells no one's business and its
//! size cannot be blown up from outside.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;
use tenure_core::WorkspaceId;
use tenure_store::Scope;

use crate::auth::header_key;
use crate::{ApiError, AppState};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IngestLabels {
    /// `segment` (the tracking API) or `stripe` (its webhooks).
    source: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    /// The route pattern matched (`/api/v1/reports/{name}`), or `(no route)`.
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReportLabels {
    /// A report tenure has, or `(unknown)` for a name it does not.
    report: &'static str,
}

/// The server's measures, shared by every handler through [`AppState`].
#[derive(Debug)]
pub(crate) struct ServerMetrics {
    requests: Family<RequestLabels, Counter>,
    ingest_messages: Family<IngestLabels, Counter>,
    ingest_bytes: Family<IngestLabels, Counter>,
    ingest_seconds: Family<IngestLabels, Histogram, fn() -> Histogram>,
    report_seconds: Family<ReportLabels, Histogram, fn() -> Histogram>,
    pub(crate) open_connections: Gauge,
    /// Messages accepted per workspace lately, for the dashboard's status page (labels of
    /// `/metrics` never name a workspace).
    pub(crate) ingest_rates: IngestRates,
}

/// 1 ms to 33 s: an ingest call is one group commit; a report, milliseconds to its budget.
fn latency_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

impl ServerMetrics {
    /// The server's measures, registered into `registry`.
    pub(crate) fn registered(registry: &mut Registry) -> Self {
        let metrics = Self {
            requests: Family::default(),
            ingest_messages: Family::default(),
            ingest_bytes: Family::default(),
            ingest_seconds: Family::new_with_constructor(latency_buckets),
            report_seconds: Family::new_with_constructor(latency_buckets),
            open_connections: Gauge::default(),
            ingest_rates: IngestRates::default(),
        };
        registry.register(
            "tenure_http_requests",
            "HTTP requests answered, by method, route pattern and status",
            metrics.requests.clone(),
        );
        registry.register(
            "tenure_ingest_messages",
            "Messages received by the ingest routes (Segment messages, Stripe events), by the status of the request that carried them",
            metrics.ingest_messages.clone(),
        );
        registry.register_with_unit(
            "tenure_ingest",
            "Request bodies received by the ingest routes, as sent (before gunzip), by status",
            Unit::Bytes,
            metrics.ingest_bytes.clone(),
        );
        registry.register_with_unit(
            "tenure_ingest_request",
            "Time to answer an ingest request (a batch), its durable append included, by status",
            Unit::Seconds,
            metrics.ingest_seconds.clone(),
        );
        registry.register_with_unit(
            "tenure_report",
            "Time to answer a report over the API, by report",
            Unit::Seconds,
            metrics.report_seconds.clone(),
        );
        registry.register(
            "tenure_open_connections",
            "HTTP connections open now",
            metrics.open_connections.clone(),
        );
        metrics
    }

    pub(crate) fn answered(&self, method: &str, route: &str, status: u16) {
        // A client may send any method token: only the standard ones are labels.
        const METHODS: [&str; 7] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
        let method = METHODS
            .into_iter()
            .find(|m| *m == method)
            .unwrap_or("OTHER");
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
    }

    /// One ingest request of `source`, answered with `status` after `elapsed`.
    pub(crate) fn ingested(
        &self,
        source: &'static str,
        status: u16,
        tally: Tally,
        elapsed: Duration,
    ) {
        if let Some(workspace) = tally.workspace.as_ref().filter(|_| status < 300) {
            self.ingest_rates.add(workspace, tally.messages);
        }
        let labels = IngestLabels { source, status };
        self.ingest_messages
            .get_or_create(&labels)
            .inc_by(tally.messages);
        self.ingest_bytes.get_or_create(&labels).inc_by(tally.bytes);
        self.ingest_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn reported(&self, name: &str, elapsed: Duration) {
        let report = tenure_reports::REPORTS
            .iter()
            .copied()
            .find(|r| *r == name)
            .unwrap_or("(unknown)");
        self.report_seconds
            .get_or_create(&ReportLabels { report })
            .observe(elapsed.as_secs_f64());
    }
}

/// What an ingest request carried, as far as it was read: the body's bytes once received, its
/// messages once parsed (none for a request refused before).
#[derive(Debug, Default, Clone)]
pub(crate) struct Tally {
    pub(crate) bytes: u64,
    pub(crate) messages: u64,
    /// The workspace of the request's key, once known.
    pub(crate) workspace: Option<WorkspaceId>,
}

/// Messages accepted per workspace, by second over the last hour.
#[derive(Debug, Default)]
pub(crate) struct IngestRates {
    started: std::sync::OnceLock<Instant>,
    by_workspace: Mutex<HashMap<WorkspaceId, Arrivals>>,
}

#[derive(Debug, Default)]
struct Arrivals {
    since_start: u64,
    /// (second since the server started, messages), oldest first, at most an hour of them:
    /// at most 3,600 pairs a workspace.
    seconds: VecDeque<(u64, u64)>,
}

/// What the status page says arrived.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Arrived {
    /// In the last 60 seconds.
    pub(crate) last_minute: u64,
    /// In the last 3,600 seconds.
    pub(crate) last_hour: u64,
    pub(crate) since_start: u64,
}

impl IngestRates {
    fn second(&self) -> u64 {
        self.started.get_or_init(Instant::now).elapsed().as_secs()
    }

    pub(crate) fn add(&self, workspace: &WorkspaceId, messages: u64) {
        let now = self.second();
        let mut all = self.by_workspace.lock().expect("ingest rates");
        let arrivals = all.entry(workspace.clone()).or_default();
        arrivals.since_start += messages;
        match arrivals.seconds.back_mut() {
            Some((second, n)) if *second == now => *n += messages,
            _ => arrivals.seconds.push_back((now, messages)),
        }
        while arrivals
            .seconds
            .front()
            .is_some_and(|(second, _)| *second + 3_600 <= now)
        {
            arrivals.seconds.pop_front();
        }
    }

    pub(crate) fn of(&self, workspace: &WorkspaceId) -> Arrived {
        let now = self.second();
        let all = self.by_workspace.lock().expect("ingest rates");
        let Some(arrivals) = all.get(workspace) else {
            return Arrived::default();
        };
        let within = |span: u64| {
            arrivals
                .seconds
                .iter()
                .filter(|(second, _)| *second + span > now)
                .map(|(_, n)| n)
                .sum()
        };
        Arrived {
            last_minute: within(60),
            last_hour: within(3_600),
            since_start: arrivals.since_start,
        }
    }
}

/// The status an ingest handler's result is answered with.
pub(crate) fn status_of<T>(result: &Result<T, ApiError>) -> u16 {
    match result {
        Ok(_) => 200,
        Err(e) => e.status.as_u16(),
    }
}

/// `GET /metrics` with a read or admin key (of any workspace): the figures are the process's,
/// and no label names a workspace.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "The process's measures, OpenMetrics text (docs/api.md lists them)",
        content_type = "application/openmetrics-text", body = String)))]
pub(crate) async fn scrape(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let secret = header_key(&headers)?;
    state
        .keys
        .authorize(&state.store, secret.as_deref(), Scope::Read)?;
    let registry = Arc::clone(&state.registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "metrics_failed",
            "the metrics could not be written",
        )
    })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
        )],
        text,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrivals_are_counted_per_workspace() {
        let rates = IngestRates::default();
        let (a, b) = (
            WorkspaceId::parse("a").unwrap(),
            WorkspaceId::parse("b").unwrap(),
        );
        rates.add(&a, 3);
        rates.add(&a, 4);
        rates.add(&b, 1);
        let seven = Arrived {
            last_minute: 7,
            last_hour: 7,
            since_start: 7,
        };
        assert_eq!(rates.of(&a), seven);
        assert_eq!(rates.of(&b).since_start, 1);
        assert_eq!(
            rates.of(&WorkspaceId::parse("c").unwrap()),
            Arrived::default()
        );
    }
}
