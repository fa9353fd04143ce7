//! What the embedded store's writer tells an operator: how long each group commit takes (its
//! fsync included) and how many append calls wait for the writer. Registered into the server's
//! Prometheus registry by [`crate::Store::register_metrics`].

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// The writer's measures; handles are shared, so clones record into the same series.
#[derive(Debug, Clone)]
pub(crate) struct WriterMetrics {
    pub(crate) commit_seconds: Histogram,
    pub(crate) queue_depth: Gauge,
}

impl Default for WriterMetrics {
    fn default() -> Self {
        Self {
            // 0.5 ms to 16 s: a commit is one fsync on a fast disk, seconds on a stalled one.
            commit_seconds: Histogram::new(exponential_buckets(0.0005, 2.0, 16)),
            queue_depth: Gauge::default(),
        }
    }
}

impl WriterMetrics {
    pub(crate) fn register(&self, registry: &mut Registry) {
        registry.register_with_unit(
            "tenure_store_commit",
            "Time of each group commit of appended entries, its fsync included",
            Unit::Seconds,
            self.commit_seconds.clone(),
        );
        registry.register(
            "tenure_store_queue_depth",
            "Append calls waiting for the store's writer",
            self.queue_depth.clone(),
        );
    }
}
