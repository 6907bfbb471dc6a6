//! SQLite's side of [`crate::native`]: rusqlite connections to the same
//! database file, each read running on a blocking thread (a year of
//! hourly statistics is tens of milliseconds of SQLite's own work, too
//! long to hold an async worker). A connection is taken for one snapshot
//! and returned to a short idle list when the snapshot ends.

use crate::db::{Result, StoreError};
use crate::native::{NativeRow, NATIVE_CONNECTIONS};
use crate::sql::P;
use rusqlite::types::{Value, ValueRef};
use rusqlite::{Connection, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Page cache per read connection, KiB (SQLite's default is 2 MB): a year
/// of a busy merchant's rollups is about 10 MB, read on every dashboard load.
const CACHE_KIB: i64 = 32 * 1024;

/// Lazily opened read connections to one SQLite database file.
#[derive(Clone)]
pub(crate) struct SqliteReads {
    inner: Arc<Inner>,
}

struct Inner {
    /// `None` for an in-memory database, which another connection cannot open.
    path: Option<PathBuf>,
    idle: Mutex<Option<Vec<Connection>>>,
}

impl std::fmt::Debug for SqliteReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReads").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl SqliteReads {
    pub(crate) fn new(url: &str) -> SqliteReads {
        let path = crate::dialect::sqlite_file_path(url);
        SqliteReads { inner: Arc::new(Inner { path, idle: Mutex::new(Some(Vec::new())) }) }
    }

    /// An idle connection (or a new one) in a deferred read transaction.
    pub(crate) async fn snapshot(&self) -> Result<SqliteSnapshot> {
        let inner = self.inner.clone();
        let conn = blocking(move || {
            let conn = match inner.take_idle() {
                Some(conn) => conn,
                None => inner.open()?,
            };
            conn.execute_batch("BEGIN")?;
            Ok(conn)
        })
        .await?;
        Ok(SqliteSnapshot { conn: Some(conn), reads: self.inner.clone() })
    }

    /// Closes the idle connections; those in use close when their snapshot ends.
    pub(crate) fn close(&self) {
        self.inner.lock().take();
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<Connection>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn take_idle(&self) -> Option<Connection> {
        self.lock().as_mut().and_then(Vec::pop)
    }

    fn open(&self) -> Result<Connection> {
        let path = self.path.as_ref().ok_or(StoreError::UnsupportedUrl)?;
        // Never creates the file: the shared pool has made and migrated it.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(&format!("PRAGMA query_only = ON; PRAGMA cache_size = -{CACHE_KIB};"))?;
        Ok(conn)
    }

    /// Keeps `conn` for the next snapshot, unless enough are kept already
    /// or the pool was closed.
    fn put_back(&self, conn: Connection) {
        if let Some(idle) = self.lock().as_mut() {
            if idle.len() < NATIVE_CONNECTIONS as usize {
                idle.push(conn);
            }
        }
    }
}

/// A read transaction on one connection; dropping it rolls back.
pub(crate) struct SqliteSnapshot {
    /// `None` only while a read runs on its blocking thread, or after a
    /// read was abandoned there (its future dropped).
    conn: Option<Connection>,
    reads: Arc<Inner>,
}

impl SqliteSnapshot {
    pub(crate) async fn fetch_all(&mut self, sql: &str, params: Vec<P>) -> Result<Vec<NativeRow>> {
        let conn = self.conn.take().ok_or(StoreError::Database(sqlx::Error::WorkerCrashed))?;
        let sql = sql.to_string();
        let (conn, rows) = blocking(move || {
            let rows = query(&conn, &sql, params);
            Ok((conn, rows))
        })
        .await?;
        self.conn = Some(conn);
        rows
    }
}

impl Drop for SqliteSnapshot {
    fn drop(&mut self) {
        // Ending a read transaction releases a shared lock: no I/O, no
        // waiting, so it is done here rather than on a blocking thread.
        if let Some(conn) = self.conn.take() {
            if conn.execute_batch("ROLLBACK").is_ok() {
                self.reads.put_back(conn);
            }
        }
    }
}

/// Runs `sql`, prepared afresh (planned for these values), binding each
/// `$n` to `params[n - 1]` as sqlx does.
fn query(conn: &Connection, sql: &str, params: Vec<P>) -> Result<Vec<NativeRow>> {
    let mut stmt = conn.prepare(sql)?;
    for i in 1..=stmt.parameter_count() {
        let n = stmt.parameter_name(i).and_then(|name| name.strip_prefix('$')).and_then(|n| n.parse::<usize>().ok());
        let value = match n.and_then(|n| params.get(n.wrapping_sub(1))) {
            Some(P::I(v)) => Value::Integer(*v),
            Some(P::OI(v)) => v.map_or(Value::Null, Value::Integer),
            Some(P::T(v)) => Value::Text(v.clone()),
            Some(P::OT(v)) => v.clone().map_or(Value::Null, Value::Text),
            None => return Err(StoreError::Corrupt(format!("statement parameter {i} has no value"))),
        };
        stmt.raw_bind_parameter(i, value)?;
    }
    let names: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
    let width = names.len();
    let mut out = Vec::new();
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        let values = (0..width).map(|c| row.get_ref(c).map(owned)).collect::<rusqlite::Result<Vec<_>>>()?;
        out.push(NativeRow::Sqlite { values, names: names.clone() });
    }
    Ok(out)
}

/// A value copied out of SQLite's row. Text that is not UTF-8 (never
/// written by paygate) is kept as bytes rather than panicking.
fn owned(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Integer(v),
        ValueRef::Real(v) => Value::Real(v),
        ValueRef::Text(t) => match std::str::from_utf8(t) {
            Ok(s) => Value::Text(s.to_string()),
            Err(_) => Value::Blob(t.to_vec()),
        },
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

/// `f` on tokio's blocking threads.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f).await.map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))?
}
