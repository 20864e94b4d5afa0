-- The Today page's counts, each answered from an index alone: alerts received in a span,
-- alerts by state (firing now, resolved in a span), deliveries of one channel and state in a
-- span (one range per pair, so history outside the span is never read), and the few chains
-- that reached nobody. The newest deliveries of a state (the failures listed) read backwards
-- off (workspace, state, created_at), which also serves what (workspace, state) did.
CREATE INDEX alerts_received ON alerts (workspace_id, received_at);
CREATE INDEX alerts_by_status ON alerts (workspace_id, status, ends_at);
CREATE INDEX deliveries_by_outcome ON deliveries (workspace_id, channel, state, created_at);
CREATE INDEX deliveries_unreached ON deliveries (workspace_id, created_at) WHERE unreached;
DROP INDEX deliveries_workspace;
CREATE INDEX deliveries_by_state ON deliveries (workspace_id, state, created_at);
