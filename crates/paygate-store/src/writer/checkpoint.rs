//! SQLite only: copies the WAL back into the database file from a connection
//! of its own, so the writer rarely does it inside a batch.
//!
//! With SQLite's default, the connection whose commit takes the WAL past 1,000
//! pages runs the checkpoint right there, before that commit is answered; on
//! the payin-create benchmark that was about a quarter of the writer's time.
//! Raising the writer's threshold to [`WRITER_AUTOCHECKPOINT_PAGES`] with this
//! task doing the copying took SQLite payin-create from 12.5k to 15.0k
//! payins/s in one A/B pairing and from 12.0k to 14.0k in another. A
//! `PASSIVE` checkpoint takes no write lock, so it runs on the other core
//! while the writer goes on.
//!
//! The WAL file itself still grows to about the threshold under steady
//! writes (measured: ~68 MB during payin-create): SQLite starts it over only
//! when a write begins on a fully copied WAL, and with the writer always
//! busy that is when the writer's own checkpoint, by then a small one, runs
//! at the threshold. It is then reused from its start, not grown further.
//!
//! [`WRITER_AUTOCHECKPOINT_PAGES`]: crate::dialect::WRITER_AUTOCHECKPOINT_PAGES

use crate::db::Db;
use std::time::Duration;

/// How often the WAL is checkpointed: often enough that the writer's own
/// checkpoint at the threshold finds little left to copy, rarely enough that
/// a hot page rewritten by many batches is copied once. Throughput measured
/// the same with 100 ms, 1,000 ms and no background checkpoint at all: the
/// gain is the threshold; this task keeps the writer's checkpoint there short.
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
