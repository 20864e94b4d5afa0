//! Herald: a self-hosted alert notification console.

pub mod background;
pub mod bench;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod error;
pub mod passwords;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod verification;
pub mod web;
