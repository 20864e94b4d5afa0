DROP TABLE schedule_overrides;
DROP TABLE schedule_participants;
DROP TABLE schedules;
