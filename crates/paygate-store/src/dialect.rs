//! Everything that differs between SQLite and PostgreSQL, in one place.

use crate::db::Backend;
use sqlx::{AnyConnection, Executor};

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
/// The writer's connections leave most of the checkpointing to a background
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
            if role == Role::Writer {
                let pragma = format!("PRAGMA wal_autocheckpoint={WRITER_AUTOCHECKPOINT_PAGES};");
                conn.execute(pragma.as_str()).await?;
            }
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
