DROP INDEX contacts_search_trgm;
DROP TABLE contacts;
DROP TABLE login_throttle;
DROP TABLE memberships;
DROP TABLE users;
DROP TABLE workspaces;
DROP TABLE app_secrets;
