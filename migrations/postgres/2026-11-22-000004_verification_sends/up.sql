-- Every verification message sent or attempted, by address. Kept apart from the links (which go
-- with their contact) and across workspaces, so that deleting a contact or starting another
-- workspace does not reset an address's send limits. Rows older than a day are pruned.
CREATE TABLE verification_sends (
    target TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX verification_sends_target ON verification_sends (target, created_at);
