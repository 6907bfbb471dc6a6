//! SQLite only: copies the WAL back into the database file from a connection
//! of its own, so the writer never does it inside a batch.
//!
//! With SQLite's default, the connection whose commit takes the WAL past 1,000
//! pages runs the checkpoint right there, before that commit is answered; on
//! the payin-create benchmark that was about a quarter of the writer's time,
//! and moving it out took SQLite payin-create from 12.5k to 15k payins/s
//! (measured A/B). A `PASSIVE` checkpoint takes no write lock, so here it
//! runs on the other core while the writer goes on. The writer's own
//! automatic checkpoint stays on at [`WRITER_AUTOCHECKPOINT_PAGES`] in case
//! this task falls behind.
//!
//! [`WRITER_AUTOCHECKPOINT_PAGES`]: crate::dialect::WRITER_AUTOCHECKPOINT_PAGES

use crate::db::Db;
use std::time::Duration;

/// How often the WAL is checkpointed. Short enough that the WAL stays a few
/// MiB under load (page lookups in a long WAL get slower), long enough that a
/// hot page rewritten by many batches is copied once.
const INTERVAL: Duration = Duration::from_millis(100);

/// Runs until `db` is closed.
pub(super) async fn run(db: Db) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if db.pool().is_closed() {
            return;
        }
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(db.pool()).await {
            // Busy or closing: the next tick (or the writer's own automatic
            // checkpoint) catches up; nothing is lost, the WAL is durable.
            tracing::debug!(error = %e, "WAL checkpoint skipped");
        }
    }
}
