//! `/metrics`: what Herald has received and answered, in the Prometheus text format, through
//! the Prometheus project's own client crate. Delivery metrics join when the delivery engine
//! lands.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Received {
    /// `alertmanager`, `alerts-api` or `event`.
    pub endpoint: String,
    /// `firing` or `resolved`.
    pub status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Request {
    /// The route's pattern (`/alerts/{id}`), never the path itself: ids would make a series
    /// per object. `unmatched` for paths no route knows.
    pub route: String,
    pub method: String,
    pub status: String,
}

/// Every metric Herald keeps, shared by all workers.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub alerts_received: Family<Received, Counter>,
    pub alert_changes: Counter,
    pub http_requests: Family<Request, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("herald");
        let alerts_received = Family::<Received, Counter>::default();
        registry.register(
            "alerts_received",
            "Alerts received, by ingest endpoint and the status they were sent with",
            alerts_received.clone(),
        );
        let alert_changes = Counter::default();
        registry.register(
            "alert_changes",
            "Alerts received that were new or changed status or start (repeats excluded)",
            alert_changes.clone(),
        );
        let http_requests = Family::<Request, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            http_requests.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            alerts_received,
            alert_changes,
            http_requests,
        }
    }
}

impl Metrics {
    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        out
    }
}
