DROP TABLE alert_events;
DROP TABLE alerts;
