//! Herald: a self-hosted alert notification console.

pub mod background;
pub mod bench;
pub mod channels;
pub mod cli;
pub mod config;
pub mod domain;
pub mod engine;
pub mod error;
pub mod metrics;
pub mod outbound;
pub mod passwords;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod template;
pub mod usecases;
pub mod verification;
pub mod web;
