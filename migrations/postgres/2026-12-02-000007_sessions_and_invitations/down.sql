DROP TABLE invitations;
DROP TABLE user_sessions;
