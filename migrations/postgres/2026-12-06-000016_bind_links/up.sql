-- Each chatbot's "Bind mobile phone number" link. The token is derived from a server key, the
-- bot and its generation (so cards can carry it without it being stored); only its SHA-256 is
-- kept, to find the bot a link names. Rotating the link bumps the generation.
ALTER TABLE chatbots ADD COLUMN bind_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE chatbots ADD COLUMN bind_token_hash TEXT;
CREATE UNIQUE INDEX chatbots_bind_token ON chatbots (bind_token_hash);

-- The 6-digit codes sent from a bind link. A request for a number that is no contact's gets a
-- row too (contact_id NULL, a code nobody receives), so limits and answers are the same for
-- every number and the page tells nobody who is a contact.
CREATE TABLE bind_codes (
    id TEXT PRIMARY KEY NOT NULL,
    chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
    phone TEXT NOT NULL,
    contact_id TEXT REFERENCES contacts(id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    wrong_tries INTEGER NOT NULL DEFAULT 0,
    ended_at TIMESTAMP
);
CREATE INDEX bind_codes_phone ON bind_codes (phone, created_at);
