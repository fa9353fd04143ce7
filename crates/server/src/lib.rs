//! tenure's HTTP edge.
//!
//! The Segment-compatible ingest API (`/v1/*`), `/healthz`, Prometheus `/metrics`, the read
//! API, and the dashboard's routes and sessions (its pages are `tenure-dashboard`'s). This
//! crate turns
//! requests into log entries and answers; it holds no domain logic of its own: parsing lives in
//! `tenure-ingest`, derived state in `tenure-engine`, kept current by `tenure-runtime`, durability in
//! `tenure-store`.

mod app;
mod auth;
mod browser;
mod connections;
pub mod conversions;
mod conversions_api;
mod dashboard;
mod error;
mod ingest;
mod keys;
mod metrics;
mod openapi;
pub mod playbooks;
mod playbooks_api;
mod rate;
mod request_log;
pub mod session;
mod timeout;
mod webhooks;

pub use app::{router, AppState, Application};
pub use auth::KEY_CACHE_TTL;
pub use error::ApiError;
pub use session::Sessions;
pub use webhooks::StripeSecrets;
