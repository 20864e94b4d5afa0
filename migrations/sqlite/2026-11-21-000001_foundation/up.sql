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
    -- Bumped by a trigger on every change to the workspace's contacts: the console keeps the
    -- contact list in memory and reloads it when this moves (see store/contact_index.rs).
    contacts_version BIGINT NOT NULL DEFAULT 0,
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
    -- lower(name), phone and email in one string, written by the app: what search looks in.
    search_text TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT contacts_phone_unique UNIQUE (workspace_id, phone),
    CONSTRAINT contacts_email_unique UNIQUE (workspace_id, email)
);
CREATE INDEX contacts_workspace_name ON contacts (workspace_id, name, id);

CREATE TRIGGER contacts_version_insert AFTER INSERT ON contacts BEGIN
    UPDATE workspaces SET contacts_version = contacts_version + 1 WHERE id = new.workspace_id;
END;
CREATE TRIGGER contacts_version_update AFTER UPDATE ON contacts BEGIN
    UPDATE workspaces SET contacts_version = contacts_version + 1 WHERE id IN (old.workspace_id, new.workspace_id);
END;
CREATE TRIGGER contacts_version_delete AFTER DELETE ON contacts BEGIN
    UPDATE workspaces SET contacts_version = contacts_version + 1 WHERE id = old.workspace_id;
END;
