DROP TRIGGER contacts_version ON contacts;
DROP FUNCTION bump_contacts_version();
DROP TABLE contacts;
DROP TABLE login_throttle;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE workspaces;
DROP TABLE app_secrets;
