CREATE INDEX deliveries_workspace ON deliveries (workspace_id, state);
DROP INDEX deliveries_unreached;
DROP INDEX deliveries_by_outcome;
DROP INDEX alerts_by_status;
DROP INDEX alerts_received;
