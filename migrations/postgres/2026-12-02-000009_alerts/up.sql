-- Alerts as received: one row per label set (fingerprint) per workspace, committed before the
-- sender gets its 2xx. Labels and annotations are JSON objects as text.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    fingerprint TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    status TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP,
    generator_url TEXT,
    source TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    last_received_at TIMESTAMP NOT NULL,
    CONSTRAINT alerts_once UNIQUE (workspace_id, fingerprint)
);
CREATE INDEX alerts_newest ON alerts (workspace_id, last_received_at);

-- What happened to an alert, in order: the timeline of its detail page.
CREATE TABLE alert_events (
    id TEXT PRIMARY KEY NOT NULL,
    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    kind TEXT NOT NULL,
    starts_at TIMESTAMP NOT NULL
);
CREATE INDEX alert_events_alert ON alert_events (alert_id, at);
