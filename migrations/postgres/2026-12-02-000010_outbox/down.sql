DROP TABLE delivery_attempts;
DROP TABLE deliveries;
DROP TABLE notification_alerts;
DROP TABLE notifications;
DROP TABLE group_alerts;
DROP TABLE alert_groups;
ALTER TABLE notification_policies DROP COLUMN group_interval_secs;
ALTER TABLE notification_policies DROP COLUMN group_wait_secs;
