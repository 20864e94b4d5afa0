-- Contact methods are verified ("activated") by one-click links. A phone number or email address
-- is usable once verified; until then it may have a live link ("waiting for activation").
ALTER TABLE contacts ADD COLUMN phone_link_expires_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN email_verified_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN email_link_expires_at TIMESTAMP;

-- One row per link sent. The link carries `selector` (looked up) and a secret verifier whose
-- SHA-256 is kept here; the link is good for the `target` it was sent to, once, until expiry.
CREATE TABLE verification_links (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    target TEXT NOT NULL,
    selector TEXT NOT NULL UNIQUE,
    verifier_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP
);
-- Rate limits count the links sent to one address recently.
CREATE INDEX verification_links_target ON verification_links (workspace_id, target, created_at);
CREATE INDEX verification_links_contact ON verification_links (contact_id);

-- What the console providers "sent": shown on the Dev outbox page instead of reaching anyone.
CREATE TABLE dev_outbox (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT REFERENCES workspaces(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    subject TEXT,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX dev_outbox_workspace ON dev_outbox (workspace_id, id);

-- A Batch Verify run: counters move as sends finish, so progress survives a page reload.
CREATE TABLE verify_batches (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    created_by TEXT NOT NULL,
    total INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX verify_batches_workspace ON verify_batches (workspace_id, id);

CREATE TABLE verify_batch_failures (
    batch_id TEXT NOT NULL REFERENCES verify_batches(id) ON DELETE CASCADE,
    contact_name TEXT NOT NULL,
    target TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX verify_batch_failures_batch ON verify_batch_failures (batch_id);
