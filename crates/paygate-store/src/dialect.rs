//! Everything that differs between SQLite and PostgreSQL, in one place:
//! connection settings, row locks, how a writing transaction begins, and
//! parameter placeholders. The rest of the store writes one SQL for both and
//! asks here where they differ. (Migrations keep one file per engine, and
//! the writer's insert of new payments handles each engine's conflict
//! report in `writer/batch/persist.rs`.)

use crate::db::Backend;
use sqlx::{Any, AnyConnection, Executor, Transaction};

/// `SELECT … FOR UPDATE`: row locks where the engine has them. SQLite has
/// one writer at a time, and writing transactions take its lock up front
/// ([`begin_write`]), so there is nothing to lock.
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// Claiming queued work: rows another node has locked are passed over.
pub fn for_update_skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// A row read that must not change until commit, without blocking readers.
pub fn for_share(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR SHARE",
        Backend::Sqlite => "",
    }
}

/// A transaction that reads and then writes. SQLite takes the write lock up
/// front (`BEGIN IMMEDIATE`): a deferred transaction that read first cannot
/// wait for the lock when it writes, and fails with SQLITE_BUSY instead.
pub async fn begin_write(backend: Backend, conn: &mut AnyConnection) -> Result<Transaction<'_, Any>, sqlx::Error> {
    match backend {
        Backend::Sqlite => sqlx::Connection::begin_with(conn, "BEGIN IMMEDIATE").await,
        Backend::Postgres => sqlx::Connection::begin(conn).await,
    }
}

/// Inside a [`begin_write`] transaction: other writers of `table` wait until
/// it ends (SQLite's write lock already does this).
pub async fn lock_table_against_writers(
    backend: Backend,
    tx: &mut AnyConnection,
    table: &str,
) -> Result<(), sqlx::Error> {
    if backend == Backend::Postgres {
        tx.execute(format!("LOCK TABLE {table} IN EXCLUSIVE MODE").as_str()).await?;
    }
    Ok(())
}

/// The engine behind a connection, as sqlx names its driver.
pub fn backend_of_connection(conn: &AnyConnection) -> Backend {
    match conn.backend_name() {
        "SQLite" => Backend::Sqlite,
        _ => Backend::Postgres,
    }
}

/// The placeholder for the `n`-th (1-based) parameter of a generated
/// statement. SQLite resolves `$N` names by a linear scan when parsing and
/// binding, which makes a statement with thousands of parameters quadratic;
/// anonymous `?` are numbered in order for free. Generated statements list
/// their parameters in order, so both forms mean the same.
pub fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${n}"),
    }
}

pub fn backend_of(url: &str) -> Option<Backend> {
    if url.starts_with("sqlite:") {
        Some(Backend::Sqlite)
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Some(Backend::Postgres)
    } else {
        None
    }
}

/// SQLite files are created when missing (`mode=rwc`) so that `paygate serve`
/// works with no setup at all.
pub fn normalise_url(backend: Backend, url: &str) -> String {
    match backend {
        Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        }
        _ => url.to_string(),
    }
}

/// `SUM(expr)` of BIGINTs as a BIGINT, exact or an error on overflow.
/// PostgreSQL's own SUM(bigint) accumulates in NUMERIC, several times
/// slower when grouping many rows (see its migration 0019).
pub fn sum_bigint(backend: Backend, expr: &str) -> String {
    match backend {
        Backend::Sqlite => format!("CAST(SUM({expr}) AS BIGINT)"),
        Backend::Postgres => format!("paygate_sum({expr})"),
    }
}

/// What a pool's connections are for; the writer's get SQLite settings of
/// their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Request handlers, workers and tools.
    Shared,
    /// The batching writer (`crate::writer`), the only hot writer.
    Writer,
}

/// WAL pages after which the SQLite writer checkpoints on its own (SQLite's
/// default is 1,000). By then the writer's background checkpointer
/// (`writer::checkpoint`) has copied nearly all of them, so this checkpoint
/// is short, and it lets the WAL start over from its beginning.
pub const WRITER_AUTOCHECKPOINT_PAGES: u32 = 16_384;

/// Per-connection settings. SQLite: WAL so readers never block the writer,
/// `synchronous=FULL` so that a 2xx means the commit reached the disk, a busy
/// timeout so concurrent writers queue instead of failing, and foreign keys.
/// All connections leave most of the checkpointing to a background
/// connection, so that copying the WAL into the database does not stall a
/// batch every 1,000 pages (measured in `bench/README.md`).
/// PostgreSQL: synchronous commit stays on (the server default) explicitly.
pub async fn prepare_connection(backend: Backend, role: Role, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
    match backend {
        Backend::Sqlite => {
            conn.execute(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=10000; PRAGMA foreign_keys=ON;",
            )
            .await?;
            // Every connection, not only the writer's: with SQLite's default
            // (1,000 pages) and the WAL kept longer than that, each commit
            // from a shared connection (a webhook claim, a batch of attempt
            // records) ran a checkpoint before it returned, holding its write
            // turn meanwhile: claims of 100-500 ms, and webhooks a second
            // late at 2,000 events/s (bench/README.md, webhooks-paced).
            let pragma = format!("PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES};");
            conn.execute(pragma.as_str()).await?;
        }
        Backend::Postgres => {
            conn.execute("SET synchronous_commit = on").await?;
            // Tells the writer's sessions apart in `pg_stat_activity`.
            let name = match role {
                Role::Shared => "paygate",
                Role::Writer => "paygate-writer",
            };
            conn.execute(format!("SET application_name = '{name}'").as_str()).await?;
            if role == Role::Writer {
                // A writer session whose client vanished in the middle of a
                // batch (the writer gave it up after its deadline, or the
                // network dropped it without a word) would keep the batch's
                // row locks, and stall that merchant's next batches, until
                // the server noticed; this ends such a session. A live batch
                // is never idle between its statements for more than a
                // round trip.
                conn.execute("SET idle_in_transaction_session_timeout = '60s'").await?;
                // Every writer statement reads a few rows by key. With stale
                // statistics (the events table grew by 20,000 rows in a few
                // seconds) PostgreSQL planned the event sequence lookup as a
                // parallel scan: 17 ms to start two workers for no rows.
                conn.execute("SET max_parallel_workers_per_gather = 0").await?;
            }
        }
    }
    Ok(())
}

/// Path of the SQLite file behind `url`, if it names one (used to place the
/// generated master-key file beside the database).
pub fn sqlite_file_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(backend_of("sqlite://paygate.db"), Some(Backend::Sqlite));
        assert_eq!(backend_of("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(backend_of("mysql://x"), None);
        assert_eq!(normalise_url(Backend::Sqlite, "sqlite://a.db"), "sqlite://a.db?mode=rwc");
        assert_eq!(normalise_url(Backend::Sqlite, "sqlite://a.db?x=1"), "sqlite://a.db?x=1&mode=rwc");
        assert_eq!(sqlite_file_path("sqlite://dir/a.db?mode=rwc").unwrap(), std::path::PathBuf::from("dir/a.db"));
        assert_eq!(sqlite_file_path("sqlite::memory:"), None);
    }
}
