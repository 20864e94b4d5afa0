-- On-call schedules. A schedule hands off at `handoff` (HH:MM, wall clock in `time_zone`) from
-- `start_date` (YYYY-MM-DD) on; `rotation` is `daily`, `weekly` or `<n>h` (a shift of n hours
-- of real time). Participants take turns in `position` order; a contact may take several turns.
CREATE TABLE schedules (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    rotation TEXT NOT NULL,
    handoff TEXT NOT NULL,
    start_date TEXT NOT NULL,
    created_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CONSTRAINT schedules_name_unique UNIQUE (workspace_id, name_key)
);

CREATE TABLE schedule_participants (
    schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    PRIMARY KEY (schedule_id, position)
);
CREATE INDEX schedule_participants_contact ON schedule_participants (contact_id);

-- "X covers from A to B" (UTC): wins over the rotation; the latest added wins an overlap.
CREATE TABLE schedule_overrides (
    id TEXT PRIMARY KEY NOT NULL,
    schedule_id TEXT NOT NULL REFERENCES schedules(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX schedule_overrides_schedule ON schedule_overrides (schedule_id, ends_at);
