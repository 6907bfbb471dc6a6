//! The connection pool and the error type shared by every repository.

use crate::dialect::{self, Role};
use crate::native::NativePool;
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::AnyPool;
use std::time::Duration;

/// A pooled PostgreSQL connection idle this long is pinged before it is
/// handed out, and replaced if the server has ended it (a restart, a
/// failover, an idle kill), so such a request does not fail. Busy
/// connections are never idle this long, so the hot path pays nothing.
pub const IDLE_CHECK: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Store failures. The messages never contain SQL text or parameters, so an
/// error can be logged without leaking data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database url: expected sqlite:… or postgres://…")]
    UnsupportedUrl,
    #[error("unique constraint violated: {0}")]
    Conflict(String),
    /// Text the database cannot store (PostgreSQL refuses NUL characters):
    /// the client's input, not a fault of ours.
    #[error("text contains characters the database cannot store")]
    InvalidText,
    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    /// From rusqlite, which serves SQLite's polls, lists and statistics
    /// (see `native.rs`).
    #[error("database error: {0}")]
    Sqlite(#[source] rusqlite::Error),
    /// An applied migration's file changed since: the schema the binary
    /// assumes may not be the one the database has.
    #[error(
        "migration {name} was edited after this database applied it (checksum {applied} when applied, {now} now): \
         restore the file as it was, and put the change in a new migration"
    )]
    MigrationEdited { name: &'static str, applied: String, now: String },
    #[error("migration {version} failed: {source}")]
    Migration {
        version: i64,
        #[source]
        source: sqlx::Error,
    },
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Sqlite(e)
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let sqlx::Error::Database(db) = &e {
            if db.is_unique_violation() {
                return StoreError::Conflict(db.constraint().unwrap_or("unique").to_string());
            }
            // 22021 character_not_in_repertoire, 22P05 untranslatable_character.
            if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                return StoreError::InvalidText;
            }
        }
        StoreError::Database(e)
    }
}

impl StoreError {
    /// Whether the connection itself failed (I/O, protocol, a crashed SQLite
    /// worker, no connection to be had, or PostgreSQL ending the session:
    /// SQLSTATE class 08, connection exception, 57P, the server shutting the
    /// session down, and 25P03, an idle-in-transaction timeout), as opposed
    /// to the database refusing a statement.
    /// Such a failure says nothing about the request: it may be retried.
    pub fn is_connection_failure(&self) -> bool {
        if let StoreError::Sqlite(e) = self {
            // rusqlite's reads (`native_sqlite.rs`): the file busy past the
            // busy timeout, or not to be opened.
            use rusqlite::ErrorCode::{CannotOpen, DatabaseBusy, DatabaseLocked};
            return matches!(e.sqlite_error_code(), Some(DatabaseBusy | DatabaseLocked | CannotOpen));
        }
        let StoreError::Database(e) = self else { return false };
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::PoolClosed
            | sqlx::Error::PoolTimedOut => true,
            sqlx::Error::Database(db) => {
                db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P") || c == "25P03")
            }
            _ => false,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Pool plus the engine it talks to. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite: writes take turns here, in arrival order, shared by every
    /// pool this process has on the same database (the batching writer has
    /// its own pool). SQLite admits one writer at a time anyway; waiting in
    /// SQLite's busy handler instead means sleeping and retrying, which let
    /// some requests wait over a second while others went by (measured:
    /// exchange creates p99.9 658 ms without, webhook claims up to 1.6 s
    /// behind the writer's batches, see bench/README.md).
    write_turns: std::sync::Arc<tokio::sync::Mutex<()>>,
    /// The engine's own driver, for reads of many rows (see [`crate::native`]).
    pub(crate) native: NativePool,
}

impl Db {
    /// Opens (and for SQLite creates) the database at `url`.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        Db::connect_as(url, max_connections, Role::Shared).await
    }

    /// On SQLite, a turn for a write (held until dropped), shared with the
    /// batching writer and every other pool on the same database; on
    /// PostgreSQL nothing to wait for.
    pub async fn write_turn(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match self.backend {
            Backend::Sqlite => Some(self.write_turns.lock().await),
            Backend::Postgres => None,
        }
    }

    /// [`Db::connect`] for connections with the settings of `role`.
    pub async fn connect_as(url: &str, max_connections: u32, role: Role) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = dialect::backend_of(url).ok_or(StoreError::UnsupportedUrl)?;
        let url = dialect::normalise_url(backend, url);
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(0)
            .acquire_timeout(Duration::from_secs(10))
            // sqlx pings a connection before every acquire by default: a
            // round trip per query on the hot path. Only connections idle
            // for IDLE_CHECK are pinged (below); one that broke while busy
            // surfaces as an error on first use (503), and the pool
            // replaces it.
            .test_before_acquire(false)
            .before_acquire(move |conn, meta| {
                Box::pin(async move {
                    if backend == Backend::Postgres && meta.idle_for >= IDLE_CHECK {
                        // An error closes this connection; the pool tries another.
                        sqlx::Connection::ping(conn).await?;
                    }
                    Ok(true)
                })
            })
            .after_connect(move |conn, _| {
                Box::pin(async move { dialect::prepare_connection(backend, role, conn).await })
            })
            .connect(&url)
            .await?;
        let write_turns = match backend {
            Backend::Sqlite => turns_of(&sqlite_database_key(&url)),
            Backend::Postgres => Default::default(),
        };
        // Status polls, list pages and statistics (max/8 at a time, the
        // server's permits) read through the engine's own driver.
        let native = NativePool::lazy(backend, &url, (max_connections / 2).max(4))?;
        Ok(Db { pool, backend, write_turns, native })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// True when the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }

    pub async fn close(&self) {
        self.native.close().await;
        self.pool.close().await;
    }
}

/// What names one SQLite database however its URL is spelt: the file's
/// canonical path (the pool has opened, so created, it by now), else the URL.
fn sqlite_database_key(url: &str) -> String {
    match dialect::sqlite_file_path(url) {
        Some(path) => std::fs::canonicalize(&path).unwrap_or(path).display().to_string(),
        None => url.to_string(),
    }
}

/// The write turn of the SQLite database named `key`, one per database in
/// this process. Kept weakly: a database no pool uses any more (a test's)
/// is forgotten.
fn turns_of(key: &str) -> std::sync::Arc<tokio::sync::Mutex<()>> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock, Weak};
    static TURNS: OnceLock<Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>> = OnceLock::new();
    let mut turns = TURNS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(turn) = turns.get(key).and_then(Weak::upgrade) {
        return turn;
    }
    turns.retain(|_, turn| turn.strong_count() > 0);
    let turn = Arc::new(tokio::sync::Mutex::new(()));
    turns.insert(key.to_string(), Arc::downgrade(&turn));
    turn
}

/// Reads a 0/1 flag column.
pub fn flag(row: &AnyRow, column: &str) -> Result<bool> {
    use sqlx::Row;
    let v: i64 = row.try_get(column)?;
    Ok(v != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// The writer opens a pool of its own: its batches and the other pools'
    /// writes must still take turns with each other, not meet in SQLite's
    /// busy handler.
    #[tokio::test]
    async fn pools_on_one_sqlite_database_share_its_write_turn() {
        let dir = tempfile::tempdir().unwrap();
        let url = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
        let shared = Db::connect(&url("a.db"), 1).await.unwrap();
        // The same file, spelt another way.
        let other_spelling = format!("sqlite:{}/./a.db", dir.path().display());
        let writer = Db::connect_as(&other_spelling, 1, Role::Writer).await.unwrap();
        let other = Db::connect(&url("b.db"), 1).await.unwrap();

        let held = shared.write_turn().await;
        assert!(held.is_some(), "SQLite has turns");
        let waited = tokio::time::timeout(Duration::from_millis(100), writer.write_turn()).await;
        assert!(waited.is_err(), "the writer's pool waits for the turn another pool holds");
        let elsewhere = tokio::time::timeout(Duration::from_millis(100), other.write_turn()).await;
        assert!(elsewhere.is_ok(), "another database's turn is its own");
        drop(held);
        let after = tokio::time::timeout(Duration::from_secs(5), writer.write_turn()).await;
        assert!(after.is_ok(), "released, the turn passes on");
    }
}
