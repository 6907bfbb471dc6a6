//! paygate's persistence. One [`Db`] over SQLite (the embedded default) and
//! PostgreSQL, through sqlx's `Any` driver so that every query is written
//! once. The conventions that make that possible:
//! - placeholders are `$1, $2, …` (both engines accept them);
//! - times are `BIGINT` microseconds since the Unix epoch (UTC), money is
//!   `BIGINT` minor units and flags are `BIGINT` 0/1, so every column decodes
//!   to the same Rust type on both engines;
//! - aggregates that PostgreSQL would widen to NUMERIC are cast back to BIGINT.
//!
//! What genuinely differs (DDL, connection pragmas, locking) lives in
//! [`dialect`].
#![forbid(unsafe_code)]

pub mod balances;
pub mod db;
pub mod dialect;
pub mod disputes;
pub mod events;
mod events_record;
pub mod exchange;
pub mod ledger;
pub mod merchants;
pub mod migrate;
mod native;
mod native_pinned;
mod native_sqlite;
mod native_sqlite_row;
pub mod operators;
pub mod overview;
pub mod payments;
pub mod point_reads;
pub mod providers;
pub mod requisites;
pub mod row;
pub mod sql;
pub mod statistics;
pub mod statistics_levels;
pub mod statistics_rollups;
pub mod statistics_series;
pub mod time;
pub mod writer;

pub use db::{Backend, Db, StoreError};
