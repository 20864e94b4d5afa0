-- Server-side sessions: the cookie carries a random token, the row its SHA-256. Signing out
-- deletes the row, so a copy of the cookie stops working too.
CREATE TABLE user_sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    user_agent TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);

-- An invitation is to an email address, whether or not it has an account: the inviter cannot
-- tell the two apart, and nobody joins a workspace without accepting.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    role TEXT NOT NULL,
    invited_by TEXT REFERENCES users(id) ON DELETE SET NULL,
    selector TEXT NOT NULL UNIQUE,
    verifier_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    CONSTRAINT invitations_once UNIQUE (workspace_id, email)
);
CREATE INDEX invitations_email ON invitations (email);
