//! What the live models tell an operator: how long an appended batch waits before the models
//! hold it (the lag between an acknowledgement and the figures that include it), and how many
//! log entries are quarantined (kept in the log but left out of every figure, because this
//! build cannot read them).

use std::sync::Weak;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::Live;

#[derive(Debug, Clone)]
pub(crate) struct LiveMetrics {
    pub(crate) apply_lag: Histogram,
}

impl Default for LiveMetrics {
    fn default() -> Self {
        Self {
            // 0.1 ms to 6.5 s: applying is sub-millisecond when idle, seconds when backed up.
            apply_lag: Histogram::new(exponential_buckets(0.0001, 2.0, 17)),
        }
    }
}

impl LiveMetrics {
    pub(crate) fn register(&self, live: Weak<Live>, registry: &mut Registry) {
        registry.register_with_unit(
            "tenure_model_apply_lag",
            "Time from a stored batch's hand-over to the live models to its application",
            Unit::Seconds,
            self.apply_lag.clone(),
        );
        registry.register_collector(Box::new(Quarantined(live)));
    }
}

/// Counted when scraped, from each workspace's list, so a rebuild that quarantines the same
/// entries again does not count them twice.
#[derive(Debug)]
struct Quarantined(Weak<Live>);

impl Collector for Quarantined {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(live) = self.0.upgrade() else {
            return Ok(());
        };
        let count: usize = live
            .workspaces()
            .iter()
            .map(|w| live.unreadable_count(w))
            .sum();
        let gauge = ConstGauge::new(count as i64);
        let metric = encoder.encode_descriptor(
            "tenure_quarantined_entries",
            "Log entries this build cannot read, left out of every figure (`tenure log unreadable` lists them)",
            None,
            MetricType::Gauge,
        )?;
        gauge.encode(metric)
    }
}
