-- Pruning old sends looks them up by age.
CREATE INDEX verification_sends_created ON verification_sends (created_at);
