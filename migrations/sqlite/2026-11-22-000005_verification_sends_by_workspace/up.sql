-- The per-workspace daily cap counts a workspace's sends of the last 24 hours.
CREATE INDEX verification_sends_workspace ON verification_sends (workspace_id, created_at);
