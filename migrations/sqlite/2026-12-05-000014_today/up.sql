-- The Today page's counts, each answered from an index: alerts received in a span, alerts by
-- state (firing now, resolved in a span), and deliveries by channel and state in a span
-- (covering, so the grouping reads no table rows).
CREATE INDEX alerts_received ON alerts (workspace_id, received_at);
CREATE INDEX alerts_by_status ON alerts (workspace_id, status, ends_at);
CREATE INDEX deliveries_created ON deliveries (workspace_id, created_at, channel, state);
