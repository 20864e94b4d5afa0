ALTER TABLE deliveries DROP COLUMN mentions;
DROP TABLE contact_bindings;
