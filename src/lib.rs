//! Herald: a self-hosted alert notification console.

pub mod background;
pub mod bench;
pub mod chat;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod outbound;
pub mod passwords;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod template;
pub mod verification;
pub mod web;
