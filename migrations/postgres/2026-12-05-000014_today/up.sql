-- The Today page's counts, each answered from an index alone: alerts received in a span,
-- alerts by state (firing now, resolved in a span), deliveries of one channel and state in a
-- span (one range per pair, so history outside the span is never read), and the few chains
-- that reached nobody. The newest failures read backwards off the same per-pair ranges, so
-- (workspace, channel, state, created_at) takes the place of (workspace, state).
CREATE INDEX alerts_received ON alerts (workspace_id, received_at);
CREATE INDEX alerts_by_status ON alerts (workspace_id, status, ends_at);
CREATE INDEX deliveries_by_outcome ON deliveries (workspace_id, channel, state, created_at);
CREATE INDEX deliveries_unreached ON deliveries (workspace_id, created_at) WHERE unreached;
DROP INDEX deliveries_workspace;
