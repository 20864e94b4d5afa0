//! Integration tests: the real app on loopback, once on SQLite and once on PostgreSQL.

mod helpers;

mod auth;
mod browser;
mod contacts;
mod members;
mod ops;
mod workspaces;
