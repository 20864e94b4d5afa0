DROP INDEX deliveries_created;
DROP INDEX alerts_by_status;
DROP INDEX alerts_received;
