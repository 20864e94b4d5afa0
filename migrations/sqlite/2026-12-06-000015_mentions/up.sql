-- Where a contact is bound: they proved, from a chatbot's alert card, that a phone number of
-- theirs is theirs, so chat messages on that platform may @mention them. One row per contact
-- and platform; chatbot_id names the bot whose link was used (kept for the console, gone with
-- the bot).
CREATE TABLE contact_bindings (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    platform TEXT NOT NULL,
    chatbot_id TEXT REFERENCES chatbots(id) ON DELETE SET NULL,
    bound_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, platform)
);

-- Whom a chat delivery @mentions and whom it names without a mention, as decided when the
-- notification was queued (JSON), so a retry or a restart mentions the same people.
ALTER TABLE deliveries ADD COLUMN mentions TEXT;
