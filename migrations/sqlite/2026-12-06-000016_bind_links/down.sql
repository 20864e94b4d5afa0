DROP TABLE bind_codes;
DROP INDEX chatbots_bind_token;
ALTER TABLE chatbots DROP COLUMN bind_token_hash;
ALTER TABLE chatbots DROP COLUMN bind_generation;
