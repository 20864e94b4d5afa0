//! `/metrics`: what Herald has received, notified, delivered and answered, and what waits in
//! its outbox, in the Prometheus text format, through the Prometheus project's own client
//! crate.

use std::sync::Arc;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Tried {
    /// `phone`, `sms`, `email`, `chatbot` or `webhook`.
    pub channel: String,
    /// `delivered`, `temporary`, `rate_limited`, `bad_recipient`, `refused`, or what a delivery
    /// ended as when it stopped trying (`failed`, `not_sent`).
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Waiting {
    /// `due`, `throttled` (waiting on a chat platform's limit), `retrying` or `sending`.
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HopLabel {
    /// `fallback`, `alternate` or `last_resort`.
    pub hop: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChannelLabel {
    pub channel: String,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    ])
}

/// Every metric Herald keeps, shared by all workers.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub alerts_received: Family<Received, Counter>,
    pub alert_changes: Counter,
    pub http_requests: Family<Request, Counter>,
    pub notifications: Counter,
    pub deliveries: Family<Tried, Counter>,
    pub outbox: Family<Waiting, Gauge>,
    pub oldest_due_seconds: Gauge,
    pub delivery_latency: Histogram,
    pub fallbacks: Family<HopLabel, Counter>,
    pub unreached: Family<ChannelLabel, Counter>,
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
        let notifications = Counter::default();
        registry.register(
            "notifications",
            "Notifications queued (a policy telling about a group of alerts)",
            notifications.clone(),
        );
        let deliveries = Family::<Tried, Counter>::default();
        registry.register(
            "delivery_attempts",
            "Delivery attempts by channel and outcome, and deliveries that ended without one",
            deliveries.clone(),
        );
        let outbox = Family::<Waiting, Gauge>::default();
        registry.register(
            "outbox_deliveries",
            "Deliveries waiting in the outbox, by state",
            outbox.clone(),
        );
        let oldest_due_seconds = Gauge::default();
        registry.register(
            "outbox_oldest_due_seconds",
            "How long the oldest due delivery has been waiting to be sent",
            oldest_due_seconds.clone(),
        );
        let delivery_latency = latency_histogram();
        registry.register(
            "alert_to_delivery_seconds",
            "From receiving the newest alert a notification names to its delivery",
            delivery_latency.clone(),
        );
        let fallbacks = Family::<HopLabel, Counter>::default();
        registry.register(
            "fallback_deliveries",
            "Deliveries queued because another failed, by the rule that made them",
            fallbacks.clone(),
        );
        let unreached = Family::<ChannelLabel, Counter>::default();
        registry.register(
            "unreached_chains",
            "Chains that ended with nobody reached, by the channel of their last delivery",
            unreached.clone(),
        );
        Metrics {
            fallbacks,
            unreached,
            registry: Arc::new(registry),
            alerts_received,
            alert_changes,
            http_requests,
            notifications,
            deliveries,
            outbox,
            oldest_due_seconds,
            delivery_latency,
        }
    }
}

impl Metrics {
    /// Counts what a follow-up of failed deliveries did.
    pub fn followed_up(&self, done: &crate::usecases::fallback::FollowedUp) {
        for hop in &done.hops {
            self.fallbacks
                .get_or_create(&HopLabel {
                    hop: hop.code().into(),
                })
                .inc();
        }
        for channel in &done.unreached {
            self.unreached
                .get_or_create(&ChannelLabel {
                    channel: channel.code().into(),
                })
                .inc();
        }
    }

    /// The exposition text.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(error = %e, "metrics could not be encoded");
        }
        out
    }
}
