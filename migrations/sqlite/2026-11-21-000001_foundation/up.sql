CREATE TABLE app_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    default_fallback TEXT NOT NULL DEFAULT 'sms',
    default_language TEXT NOT NULL DEFAULT 'en',
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    -- Kept by the app in the same transaction as each contact insert/delete, so the contact
    -- list shows its total without counting every row on every page view.
    contact_count BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE login_throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start TIMESTAMP NOT NULL
);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    phone TEXT,
    phone_verified_at TIMESTAMP,
    email TEXT,
    im_user_id TEXT,
    language TEXT NOT NULL,
    fallback TEXT NOT NULL,
    -- lower(name), phone and email in one string, written by the app, for substring search.
    search_text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT contacts_phone_unique UNIQUE (workspace_id, phone),
    CONSTRAINT contacts_email_unique UNIQUE (workspace_id, email)
);
-- Lists in name order; search_text rides along so a search that cannot use the trigram index
-- (terms under three characters, or matching most contacts) filters index entries, not rows.
CREATE INDEX contacts_workspace_name ON contacts (workspace_id, name, id, search_text);

-- Substring search over search_text through a trigram index. The FTS table keeps its own
-- copy keyed by contact id (not by rowid, which VACUUM may renumber on a table with a TEXT key).
CREATE VIRTUAL TABLE contacts_search USING fts5(contact_id UNINDEXED, search_text, tokenize = 'trigram');
CREATE TRIGGER contacts_search_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_search (contact_id, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER contacts_search_update AFTER UPDATE OF search_text ON contacts
WHEN old.search_text IS NOT new.search_text BEGIN
    DELETE FROM contacts_search WHERE contact_id = old.id;
    INSERT INTO contacts_search (contact_id, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER contacts_search_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM contacts_search WHERE contact_id = old.id;
END;
