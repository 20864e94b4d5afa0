-- Workspace settings that delivery reads: whom to tell when a contact's details are wrong
-- (the alternate contact), and the last address tried when nobody else could be reached
-- (used only once activated by a one-click link, like a contact's email).
ALTER TABLE workspaces ADD COLUMN alternate_contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL;
ALTER TABLE workspaces ADD COLUMN last_resort_email TEXT;
ALTER TABLE workspaces ADD COLUMN last_resort_activated_at TIMESTAMP;
ALTER TABLE workspaces ADD COLUMN last_resort_selector TEXT;
ALTER TABLE workspaces ADD COLUMN last_resort_verifier_hash TEXT;
ALTER TABLE workspaces ADD COLUMN last_resort_link_expires_at TIMESTAMP;
CREATE UNIQUE INDEX workspaces_last_resort_selector ON workspaces (last_resort_selector);

-- Who changed which setting when: the Settings page lists it.
CREATE TABLE settings_changes (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_email TEXT NOT NULL,
    at TIMESTAMP NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX settings_changes_workspace ON settings_changes (workspace_id, at);

-- Fallbacks: a delivery that follows one that failed is its own row. replaces_id names the
-- delivery it follows; hop says which rule made it (fallback, alternate, last_resort);
-- meant_for is the contact the chain was for, so each hop happens at most once per
-- notification and contact. note is the line the recipient reads about why it came to them.
-- provider_ref is the provider's id of a call whose outcome comes later (state calling);
-- unreached marks the delivery whose failure ended its chain with nobody reached.
ALTER TABLE deliveries ADD COLUMN replaces_id TEXT;
ALTER TABLE deliveries ADD COLUMN hop TEXT;
ALTER TABLE deliveries ADD COLUMN meant_for TEXT;
ALTER TABLE deliveries ADD COLUMN note TEXT;
ALTER TABLE deliveries ADD COLUMN provider_ref TEXT;
ALTER TABLE deliveries ADD COLUMN unreached BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX deliveries_hop_once ON deliveries (notification_id, meant_for, hop) WHERE hop IS NOT NULL;
CREATE INDEX deliveries_provider_ref ON deliveries (provider_ref) WHERE provider_ref IS NOT NULL;
