//! Integration tests: the real app on loopback, once on SQLite and once on PostgreSQL.

mod alertmanager;
mod helpers;
mod ingest;

mod api_tokens;
mod auth;
mod binding;
mod browser;
mod chat_platforms;
mod chatbots;
mod contacts;
mod daily_stats;
mod delivery;
mod delivery_console;
mod fakes;
mod fallbacks;
mod groups;
mod link_language;
mod members;
mod mentions;
mod ops;
mod policies;
mod processes;
mod providers;
mod schedules;
mod security;
mod smtp_server;
mod today;
mod verification;
mod webhooks;
mod workspaces;
