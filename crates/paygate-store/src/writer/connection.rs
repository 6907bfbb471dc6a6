//! The connection a writer shard works on, and when to trust it again.
//!
//! On PostgreSQL a shard keeps its connection from one batch to the next,
//! which saves the pool's hand-over (+5% payin-create, measured A/B). It is
//! given back after [`KEEP_IDLE`] without work and after [`KEEP_AT_MOST`], so
//! the pool's idle timeout and lifetime still apply to it. On SQLite it goes
//! back after every batch: keeping it made `BEGIN IMMEDIATE` of hot-payout
//! batches wait 0.65 ms instead of 0.15 ms (12.5k -> 10.4k payouts/s,
//! measured A/B), for reasons a profile could not show.

use super::WriteError;
use crate::db::{Backend, Db};
use std::time::{Duration, Instant};

pub(super) type Conn = sqlx::pool::PoolConnection<sqlx::Any>;

/// A quiet shard gives its connection back after this long.
pub(super) const KEEP_IDLE: Duration = Duration::from_secs(30);
/// A busy shard gives its connection back this often.
const KEEP_AT_MOST: Duration = Duration::from_secs(300);

pub(super) struct Connections {
    db: Db,
    kept: Option<(Conn, Instant)>,
}

impl Connections {
    pub(super) fn new(db: Db) -> Connections {
        Connections { db, kept: None }
    }

    pub(super) fn holds_one(&self) -> bool {
        self.kept.is_some()
    }

    /// The kept connection, or one from the pool, with when it was taken.
    pub(super) async fn take(&mut self) -> Result<(Conn, Instant), sqlx::Error> {
        match self.kept.take() {
            Some(kept) => Ok(kept),
            None => Ok((self.db.pool().acquire().await?, Instant::now())),
        }
    }

    /// After a batch: kept for the next one, given back to the pool, or
    /// closed when it failed.
    pub(super) fn put(&mut self, (mut conn, taken): (Conn, Instant), healthy: bool) {
        if !healthy {
            conn.close_on_drop();
        } else if self.db.backend() == Backend::Postgres && taken.elapsed() < KEEP_AT_MOST {
            self.kept = Some((conn, taken));
        }
    }

    /// Gives the kept connection back to the pool (the shard is idle).
    pub(super) fn release(&mut self) {
        self.kept = None;
    }
}

/// Closes `conn` and puts a fresh one from `db`'s pool in its place.
pub(super) async fn renew(db: &Db, conn: &mut Conn) -> Result<(), sqlx::Error> {
    let fresh = db.pool().acquire().await?;
    std::mem::replace(conn, fresh).close_on_drop();
    Ok(())
}

/// Whether `e` means the connection itself failed (see
/// [`crate::StoreError::is_connection_failure`]) or stalled, rather than the
/// database refusing a statement, after which the connection is fine: sqlx
/// rolls the transaction back on its next use.
pub(super) fn connection_failed(e: &WriteError) -> bool {
    matches!(e, WriteError::Stalled) || matches!(e, WriteError::Store(s) if s.is_connection_failure())
}
