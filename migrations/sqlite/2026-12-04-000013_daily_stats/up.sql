-- One row per chatbot, local day and HH:MM time of its daily statistics: the row is the
-- claim, so across processes only one sends it. state: sending (claimed at claimed_at),
-- sent, failed (the platform's answer in detail), skipped (Herald was down for more than an
-- hour past the time).
CREATE TABLE daily_stats_runs (
    chatbot_id TEXT NOT NULL REFERENCES chatbots(id) ON DELETE CASCADE,
    day TEXT NOT NULL,
    at_time TEXT NOT NULL,
    slot_at TIMESTAMP NOT NULL,
    state TEXT NOT NULL,
    claimed_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    detail TEXT,
    PRIMARY KEY (chatbot_id, day, at_time)
);
