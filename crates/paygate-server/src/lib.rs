//! paygate's server: HTTP API, workers and providers on top of
//! `paygate-core` (rules) and `paygate-store` (persistence).
#![forbid(unsafe_code)]

pub mod auth_cache;
pub mod config;
pub mod connections;
pub mod error;
pub mod exchange;
pub mod http;
pub mod keys;
pub mod merchants;
pub mod payments;
pub mod providers;
pub mod rate_limit;
pub mod reads;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod ttl_map;
pub mod workers;

pub use state::AppState;
