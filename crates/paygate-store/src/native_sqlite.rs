//! SQLite's side of [`crate::native`]: rusqlite connections to the same
//! database file, each statement run on a blocking thread (a year of
//! hourly statistics is tens of milliseconds of SQLite's own work, too
//! long to hold an async worker; a status poll's batch is one hand-off
//! instead of sqlx's hand-off per row). At most [`NATIVE_CONNECTIONS`] are
//! open, each leased for one statement or one snapshot and kept open
//! between leases.

use crate::db::{Result, StoreError};
use crate::native::{NativeRow, NATIVE_CONNECTIONS};
use crate::native_sqlite_row::InPlace;
use crate::row::FromRow;
use crate::sql::P;
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, InterruptHandle, OpenFlags};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

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
    /// Connections open and not leased; `None` once closed.
    idle: Mutex<Option<Vec<Connection>>>,
    /// One per connection that may be open.
    permits: Arc<Semaphore>,
}

impl std::fmt::Debug for SqliteReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReads").field("path", &self.inner.path).finish_non_exhaustive()
    }
}

impl SqliteReads {
    pub(crate) fn new(url: &str) -> SqliteReads {
        let inner = Inner {
            path: crate::dialect::sqlite_file_path(url),
            idle: Mutex::new(Some(Vec::new())),
            permits: Arc::new(Semaphore::new(NATIVE_CONNECTIONS as usize)),
        };
        SqliteReads { inner: Arc::new(inner) }
    }

    /// Every row of `sql` bound to `params`, as rows (the tests' view of
    /// how parameters bind and values read).
    #[cfg(test)]
    pub(crate) async fn fetch_all(&self, sql: &str, params: Vec<P>) -> Result<Vec<NativeRow>> {
        let sql = sql.to_string();
        self.lease().await?.run(move |conn| query(conn, &sql, params, true)).await
    }

    /// Every row of `sql` bound to `params`, each decoded on the blocking
    /// thread straight from SQLite's values (no copy of the row first).
    pub(crate) async fn fetch_decoded<T: FromRow>(&self, sql: &str, params: Vec<P>) -> Result<Vec<T>> {
        let sql = sql.to_string();
        self.lease().await?.run(move |conn| query_decoded(conn, &sql, params)).await
    }

    /// A connection in a deferred read transaction (its first read fixes
    /// the snapshot).
    pub(crate) async fn snapshot(&self) -> Result<SqliteSnapshot> {
        let mut lease = self.lease().await?;
        lease.run(|conn| Ok(conn.execute_batch("BEGIN")?)).await?;
        Ok(SqliteSnapshot(lease))
    }

    async fn lease(&self) -> Result<Lease> {
        let permit = self.inner.permits.clone().acquire_owned().await.map_err(|_| closed())?;
        let conn = self.inner.lock().as_mut().ok_or_else(closed)?.pop();
        Ok(Lease { conn, reads: self.inner.clone(), permit: Some(permit) })
    }

    /// Closes the idle connections; those leased close when their lease ends.
    pub(crate) fn close(&self) {
        let idle = self.inner.lock().take();
        self.inner.permits.close();
        drop(idle);
    }
}

fn closed() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<Connection>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn open(&self) -> Result<Connection> {
        let path = self.path.as_ref().ok_or(StoreError::UnsupportedUrl)?;
        // Never creates the file: the shared pool has made and migrated it.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.execute_batch(&format!("PRAGMA query_only = ON; PRAGMA cache_size = -{CACHE_KIB};"))?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(conn)
    }
}

/// One connection (opened on first use) for one statement or snapshot.
struct Lease {
    /// `None` before the first use, while a statement runs on its blocking
    /// thread, and after one was abandoned there (its future dropped).
    conn: Option<Connection>,
    reads: Arc<Inner>,
    /// Goes with the connection to the blocking thread and back, so that an
    /// abandoned statement holds it until it has stopped.
    permit: Option<OwnedSemaphorePermit>,
}

impl Lease {
    /// `f` on this lease's connection, on a blocking thread. Dropped before
    /// it finishes, the statement is interrupted and its connection closed
    /// there (it may be inside a transaction).
    async fn run<T: Send + 'static>(&mut self, f: impl FnOnce(&Connection) -> Result<T> + Send + 'static) -> Result<T> {
        let reads = self.reads.clone();
        let (conn, permit) = (self.conn.take(), self.permit.take());
        let (tx, rx) = tokio::sync::oneshot::channel::<InterruptHandle>();
        type Done<T> = (Connection, Option<OwnedSemaphorePermit>, Result<T>);
        let task = tokio::task::spawn_blocking(move || -> Result<Done<T>> {
            let conn = match conn {
                Some(conn) => conn,
                None => reads.open()?,
            };
            // The receiver is gone only if the caller was dropped meanwhile.
            let _ = tx.send(conn.get_interrupt_handle());
            let out = f(&conn);
            Ok((conn, permit, out))
        });
        let mut interrupt = InterruptOnDrop(None);
        let done = async {
            if let Ok(handle) = rx.await {
                interrupt.0 = Some(handle);
            }
            task.await.map_err(|_| StoreError::Database(sqlx::Error::WorkerCrashed))
        };
        let (conn, permit, out) = done.await??;
        interrupt.0 = None;
        (self.conn, self.permit) = (Some(conn), permit);
        out
    }
}

/// Interrupts a running statement when the future awaiting it is dropped.
struct InterruptOnDrop(Option<InterruptHandle>);

impl Drop for InterruptOnDrop {
    fn drop(&mut self) {
        if let Some(handle) = self.0.take() {
            handle.interrupt();
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else { return };
        // Ending a read transaction releases a shared lock: no I/O, no
        // waiting, so it is done here rather than on a blocking thread.
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        if let Some(idle) = self.reads.lock().as_mut() {
            idle.push(conn);
        }
    }
}

/// A read transaction on one connection; dropping it rolls back.
pub(crate) struct SqliteSnapshot(Lease);

impl SqliteSnapshot {
    pub(crate) async fn fetch_all(&mut self, sql: &str, params: Vec<P>) -> Result<Vec<NativeRow>> {
        let sql = sql.to_string();
        // Prepared afresh: planned for these values (see `NativeTx::fetch_all`).
        self.0.run(move |conn| query(conn, &sql, params, false)).await
    }
}

/// Runs `sql` bound to `params` (see [`bind`]), kept prepared on the
/// connection when `cached`; each row's values copied out.
fn query(conn: &Connection, sql: &str, params: Vec<P>, cached: bool) -> Result<Vec<NativeRow>> {
    let copy = |row: &rusqlite::Row<'_>, names: &Arc<[String]>| {
        let values = (0..names.len()).map(|c| row.get_ref(c).map(owned)).collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(NativeRow::Sqlite { values, names: names.clone() })
    };
    if cached {
        each_row(&mut *conn.prepare_cached(sql)?, &params, copy)
    } else {
        each_row(&mut conn.prepare(sql)?, &params, copy)
    }
}

/// `sql`'s rows (a statement kept prepared) decoded as `T` where SQLite
/// leaves them.
fn query_decoded<T: FromRow>(conn: &Connection, sql: &str, params: Vec<P>) -> Result<Vec<T>> {
    each_row(&mut *conn.prepare_cached(sql)?, &params, |row, names| T::from_row(&InPlace { row, names }))
}

/// `stmt` bound to `params`, `f` of each row and the statement's column names.
fn each_row<T>(
    stmt: &mut rusqlite::Statement<'_>,
    params: &[P],
    mut f: impl FnMut(&rusqlite::Row<'_>, &Arc<[String]>) -> Result<T>,
) -> Result<Vec<T>> {
    bind(stmt, params)?;
    let names: Arc<[String]> = stmt.column_names().into_iter().map(String::from).collect();
    let mut out = Vec::new();
    let mut rows = stmt.raw_query();
    while let Some(row) = rows.next()? {
        out.push(f(row, &names)?);
    }
    Ok(out)
}

/// `$n` and `?n` name their value (`params[n - 1]`); a bare `?` is the i-th.
fn bind(stmt: &mut rusqlite::Statement<'_>, params: &[P]) -> Result<()> {
    for i in 1..=stmt.parameter_count() {
        let n = match stmt.parameter_name(i) {
            None => Some(i),
            Some(name) => name.strip_prefix(['$', '?']).and_then(|n| n.parse::<usize>().ok()),
        };
        let value = match n.and_then(|n| params.get(n.wrapping_sub(1))) {
            Some(P::I(v)) => ValueRef::Integer(*v),
            Some(P::OI(v)) => v.map_or(ValueRef::Null, ValueRef::Integer),
            Some(P::T(v)) => ValueRef::Text(v.as_bytes()),
            Some(P::OT(v)) => v.as_deref().map_or(ValueRef::Null, |t| ValueRef::Text(t.as_bytes())),
            None => return Err(StoreError::Corrupt(format!("statement parameter {i} has no value"))),
        };
        stmt.raw_bind_parameter(i, ToSqlOutput::Borrowed(value))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::RowRead;

    async fn reads_on_a_file() -> (tempfile::TempDir, SqliteReads) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; CREATE TABLE t (a INTEGER, b TEXT, c TEXT);
             INSERT INTO t VALUES (1, 'x', NULL), (2, 'y', 'z'), (3, 'x', 'w');",
        )
        .unwrap();
        (dir, SqliteReads::new(&format!("sqlite://{}?mode=rwc", path.display())))
    }

    /// `$n` binds by number however often and in whatever order it appears;
    /// a bare `?` binds by position; NULL reads as `None`.
    #[tokio::test]
    async fn parameters_bind_as_sqlx_binds_them() {
        let (_dir, reads) = reads_on_a_file().await;
        let sql = "SELECT a, b, c FROM t WHERE (b = $2 OR a = $1) AND a <= $1 ORDER BY a";
        let rows = reads.fetch_all(sql, vec![P::I(2), P::T("x".into())]).await.unwrap();
        let got: Vec<(i64, String, Option<String>)> = rows
            .iter()
            .map(|r| (r.int("a", 0).unwrap(), r.text("b", 1).unwrap(), r.opt_text("c", 2).unwrap()))
            .collect();
        assert_eq!(got, vec![(1, "x".into(), None), (2, "y".into(), Some("z".into()))]);
        let rows = reads.fetch_all("SELECT a FROM t WHERE a > ? AND b = ?", vec![P::I(1), P::T("x".into())]).await;
        assert_eq!(rows.unwrap().iter().map(|r| r.int("a", 0).unwrap()).collect::<Vec<_>>(), vec![3]);
        // A missing value or column is an error, not a guess.
        assert!(reads.fetch_all("SELECT a FROM t WHERE a = $3", vec![P::I(1)]).await.is_err());
        let rows = reads.fetch_all("SELECT a FROM t", vec![]).await.unwrap();
        assert!(rows[0].text("a", 0).is_err() && rows[0].int("nope", 0).is_err());
    }

    #[derive(Debug, PartialEq)]
    struct Abc {
        a: i64,
        b: String,
        c: Option<String>,
    }

    impl FromRow for Abc {
        fn from_row<R: RowRead + ?Sized>(row: &R) -> Result<Abc> {
            Ok(Abc { a: row.int("a", 0)?, b: row.text("b", 1)?, c: row.opt_text("c", 2)? })
        }
    }

    /// Rows decoded where SQLite leaves them read the same as copied ones;
    /// a column not where it was expected is found by its name; a NULL or
    /// a wrong type where a value is required is an error.
    #[tokio::test]
    async fn rows_decode_in_place_by_position_or_name() {
        let (_dir, reads) = reads_on_a_file().await;
        let in_order: Vec<Abc> = reads.fetch_decoded("SELECT a, b, c FROM t ORDER BY a", vec![]).await.unwrap();
        let shuffled: Vec<Abc> = reads.fetch_decoded("SELECT c, a, b FROM t ORDER BY a", vec![]).await.unwrap();
        assert_eq!(in_order, shuffled);
        assert_eq!(in_order[0], Abc { a: 1, b: "x".into(), c: None });
        assert_eq!(in_order[1], Abc { a: 2, b: "y".into(), c: Some("z".into()) });
        let null_b = reads.fetch_decoded::<Abc>("SELECT a, c AS b, c FROM t WHERE a = 1", vec![]).await;
        assert!(matches!(null_b, Err(StoreError::Corrupt(_))), "{null_b:?}");
        let text_a = reads.fetch_decoded::<Abc>("SELECT b AS a, b, c FROM t", vec![]).await;
        assert!(matches!(text_a, Err(StoreError::Corrupt(_))), "{text_a:?}");
        let missing = reads.fetch_decoded::<Abc>("SELECT a, b FROM t", vec![]).await;
        assert!(matches!(missing, Err(StoreError::Corrupt(_))), "{missing:?}");
    }

    /// Reads abandoned mid-statement give their connection back: more of
    /// them than there are connections never leave later reads waiting.
    #[tokio::test]
    async fn abandoned_reads_release_their_connections() {
        let (_dir, reads) = reads_on_a_file().await;
        // A statement that runs until interrupted.
        let endless = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n";
        for _ in 0..(NATIVE_CONNECTIONS * 2) {
            let read = reads.fetch_all(endless, vec![]);
            assert!(tokio::time::timeout(Duration::from_millis(20), read).await.is_err());
        }
        let rows =
            tokio::time::timeout(Duration::from_secs(10), reads.fetch_all("SELECT count(*) AS n FROM t", vec![]))
                .await
                .expect("a connection is free again")
                .unwrap();
        assert_eq!(rows[0].int("n", 0).unwrap(), 3);
    }
}
