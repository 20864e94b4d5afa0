-- Notification objects: contact groups, chatbots, webhook integrations, and the policies that
-- use them. `name_key` is the lower-cased name: names are unique per workspace ignoring case.

CREATE TABLE contact_groups (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    -- Only the creator or an owner may delete a group; a removed user leaves it to the owners.
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT contact_groups_name_unique UNIQUE (workspace_id, name_key)
);

CREATE TABLE contact_group_members (
    group_id TEXT NOT NULL REFERENCES contact_groups(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, contact_id)
);
CREATE INDEX contact_group_members_contact ON contact_group_members (contact_id);

CREATE TABLE chatbots (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    webhook_url TEXT NOT NULL,
    secret TEXT,
    keyword TEXT,
    daily_stats BOOLEAN NOT NULL DEFAULT FALSE,
    -- "09:00,18:00" in the workspace's time zone.
    daily_stats_times TEXT NOT NULL DEFAULT '',
    card_template TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT chatbots_name_unique UNIQUE (workspace_id, name_key)
);

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    -- JSON array of [name, value] pairs: headers for POST, query parameters for GET.
    headers TEXT NOT NULL DEFAULT '[]',
    template TEXT NOT NULL DEFAULT '',
    resolve_template TEXT NOT NULL DEFAULT '',
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT webhooks_name_unique UNIQUE (workspace_id, name_key)
);

CREATE TABLE notification_policies (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    -- JSON array of {"label", "op", "value"}; all must hold; empty matches every alert.
    matchers TEXT NOT NULL DEFAULT '[]',
    -- Comma-separated: phone, sms, email (how contacts are told).
    methods TEXT NOT NULL DEFAULT '',
    mention BOOLEAN NOT NULL DEFAULT TRUE,
    notify_resolved BOOLEAN NOT NULL DEFAULT TRUE,
    -- Comma-separated label names.
    group_by TEXT NOT NULL DEFAULT '',
    repeat_minutes INTEGER NOT NULL DEFAULT 240,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT notification_policies_name_unique UNIQUE (workspace_id, name_key)
);

-- What a policy notifies: kind is contact, group, chatbot or webhook (schedule later).
CREATE TABLE policy_targets (
    policy_id TEXT NOT NULL REFERENCES notification_policies(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    PRIMARY KEY (policy_id, kind, target_id)
);
CREATE INDEX policy_targets_target ON policy_targets (kind, target_id);
