-- Firing alerts by when they end: the engine looks for those past their end every few
-- seconds, which without this read every alert ever stored.
CREATE INDEX alerts_ending ON alerts (status, ends_at);
