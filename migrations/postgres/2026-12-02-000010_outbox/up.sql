-- Grouping (Alertmanager's group wait / group interval beside the repeat interval), and the
-- durable outbox: every notification and each of its deliveries is a row, written in the
-- transaction that changed the alerts, so a crash loses nothing that was acknowledged.
ALTER TABLE notification_policies ADD COLUMN group_wait_secs INTEGER NOT NULL DEFAULT 0;
ALTER TABLE notification_policies ADD COLUMN group_interval_secs INTEGER NOT NULL DEFAULT 60;

-- One row per policy and group key (the policy's group-by labels' values) while anything in
-- it may still notify. flush_at: when its next notification is due (NULL: nothing pending).
CREATE TABLE alert_groups (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    policy_id TEXT NOT NULL REFERENCES notification_policies(id) ON DELETE CASCADE,
    group_key TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    flush_at TIMESTAMP,
    last_notified_at TIMESTAMP,
    -- The alerts firing at the last notification, sorted ids joined by commas.
    notified_firing TEXT NOT NULL,
    CONSTRAINT alert_groups_once UNIQUE (policy_id, group_key)
);
CREATE INDEX alert_groups_due ON alert_groups (flush_at);

CREATE TABLE group_alerts (
    group_id TEXT NOT NULL REFERENCES alert_groups(id) ON DELETE CASCADE,
    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, alert_id)
);
CREATE INDEX group_alerts_alert ON group_alerts (alert_id);

-- What a policy told about a group at one moment; payload is the Alertmanager webhook body
-- (version 4) as it stood then, so every delivery and retry sends the same thing.
CREATE TABLE notifications (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    policy_id TEXT,
    policy_name TEXT NOT NULL,
    status TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- When the earliest of its alerts' changes was received: the start of its latency.
    received_at TIMESTAMP NOT NULL
);

CREATE TABLE notification_alerts (
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    alert_id TEXT NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
    PRIMARY KEY (notification_id, alert_id)
);
CREATE INDEX notification_alerts_alert ON notification_alerts (alert_id);

-- One recipient by one channel. state: queued, retrying, throttled (waiting on a rate limit),
-- sending (leased until lease_until), delivered, failed, refused, not_sent. The id is the
-- idempotency key receivers see.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    notification_id TEXT NOT NULL REFERENCES notifications(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    target_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    address TEXT,
    state TEXT NOT NULL,
    due_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    attempts INTEGER NOT NULL,
    last_outcome TEXT,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX deliveries_due ON deliveries (state, due_at);
CREATE INDEX deliveries_notification ON deliveries (notification_id);
CREATE INDEX deliveries_workspace ON deliveries (workspace_id, state);

CREATE TABLE delivery_attempts (
    id TEXT PRIMARY KEY NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    duration_ms INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT,
    message TEXT NOT NULL
);
CREATE INDEX delivery_attempts_delivery ON delivery_attempts (delivery_id, at);
