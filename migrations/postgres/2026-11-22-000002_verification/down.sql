DROP TABLE verify_batch_failures;
DROP TABLE verify_batches;
DROP TABLE dev_outbox;
DROP TABLE verification_links;
ALTER TABLE contacts DROP COLUMN email_link_expires_at;
ALTER TABLE contacts DROP COLUMN email_verified_at;
ALTER TABLE contacts DROP COLUMN phone_link_expires_at;
