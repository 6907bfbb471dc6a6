//! Reads through each engine's own driver rather than sqlx's `Any`, for
//! the reads that return many rows or run most often: statistics, status
//! polls, list pages. `Any` converts every row it hands back:
//! each value into an `AnyValue` and, on PostgreSQL, every column's
//! description again for every row; sqlx's SQLite driver also copies every
//! value on its own thread and hands each row over to the async task, a
//! wake-up per row. Profiled on a year of hourly statistics (26k rows),
//! that was over a third of the request (bench/README.md, "Statistics on a
//! million payins"). So PostgreSQL's reads here use sqlx's own PostgreSQL
//! driver, and SQLite's use rusqlite on a blocking thread, which reads the
//! rows where SQLite leaves them. Both pools connect lazily: most
//! processes (tools, tests) never open one.

use crate::db::{Backend, Result};
use crate::native_sqlite::{SqliteReads, SqliteSnapshot};
use crate::row::FromRow;
use crate::sql::{bind_params, P};
use rusqlite::types::Value;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{Column, ColumnIndex, Decode, Postgres, Row, Type};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

/// SQLite read connections open at most. Each runs its statements on a
/// blocking thread; more than a few per core would only queue there.
pub(crate) const NATIVE_CONNECTIONS: u32 = 8;

/// A lazily connected pool of the engine's own driver.
#[derive(Clone, Debug)]
pub(crate) enum NativePool {
    Sqlite(SqliteReads),
    Postgres(sqlx::PgPool),
}

impl NativePool {
    /// `url` as [`crate::Db`] normalised it; at most `max_connections`
    /// PostgreSQL connections. Connects on first use.
    pub(crate) fn lazy(backend: Backend, url: &str, max_connections: u32) -> Result<NativePool> {
        Ok(match backend {
            Backend::Sqlite => NativePool::Sqlite(SqliteReads::new(url)),
            Backend::Postgres => {
                let options = PgConnectOptions::from_str(url)?.application_name("paygate-reads");
                NativePool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(max_connections)
                        .min_connections(0)
                        .idle_timeout(Some(Duration::from_secs(60)))
                        .acquire_timeout(Duration::from_secs(10))
                        // As the shared pool (`Db::connect_as`): no ping per
                        // acquire, only for a connection idle a while.
                        .test_before_acquire(false)
                        .before_acquire(|conn, meta| {
                            Box::pin(async move {
                                if meta.idle_for >= crate::db::IDLE_CHECK {
                                    sqlx::Connection::ping(conn).await?;
                                }
                                Ok(true)
                            })
                        })
                        .connect_lazy_with(options),
                )
            }
        })
    }

    /// Every row of `sql` bound to `params`, outside any transaction, each
    /// decoded where the driver leaves it (on SQLite, on the blocking
    /// thread that steps the statement), so that no row is copied before
    /// it is decoded.
    pub(crate) async fn fetch_decoded<T: FromRow>(&self, sql: &str, params: Vec<P>) -> Result<Vec<T>> {
        match self {
            NativePool::Sqlite(reads) => reads.fetch_decoded(sql, params).await,
            NativePool::Postgres(pool) => {
                let rows = bind_params(sqlx::query::<Postgres>(sql), params).fetch_all(pool).await?;
                rows.into_iter().map(|row| T::from_row(&NativeRow::Postgres(row))).collect()
            }
        }
    }

    /// A read-only transaction that sees one state of the database
    /// throughout (`REPEATABLE READ` on PostgreSQL; on SQLite a deferred
    /// `BEGIN`, whose first read fixes the snapshot); dropping it rolls
    /// it back.
    pub(crate) async fn snapshot(&self) -> Result<NativeTx> {
        Ok(match self {
            NativePool::Sqlite(reads) => NativeTx::Sqlite(reads.snapshot().await?),
            NativePool::Postgres(pool) => {
                NativeTx::Postgres(pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").await?)
            }
        })
    }

    pub(crate) async fn close(&self) {
        match self {
            NativePool::Sqlite(reads) => reads.close(),
            NativePool::Postgres(pool) => pool.close().await,
        }
    }
}

/// How long [`NativeTx::fork`] waits for a second connection: enough to
/// open one, not to queue behind a pool busy with list pages and other
/// statistics requests.
const FORK_WAIT: Duration = Duration::from_millis(250);

/// An open read transaction of either engine.
pub(crate) enum NativeTx {
    Sqlite(SqliteSnapshot),
    Postgres(sqlx::Transaction<'static, Postgres>),
}

impl NativeTx {
    /// Another read transaction, on a connection of its own, that sees
    /// exactly this one's snapshot (PostgreSQL's exported snapshots), so
    /// that reads of one answer can run side by side; `None` on SQLite,
    /// whose snapshots cannot be shared between connections, and when the
    /// pool has no connection to spare within [`FORK_WAIT`] (the caller
    /// then reads on this one, as it would without a fork).
    pub(crate) async fn fork(&mut self, pool: &NativePool) -> Result<Option<NativeTx>> {
        let (NativeTx::Postgres(tx), NativePool::Postgres(pool)) = (self, pool) else { return Ok(None) };
        let begin = pool.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        let Ok(other) = tokio::time::timeout(FORK_WAIT, begin).await else { return Ok(None) };
        let mut other = other?;
        let id: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut **tx).await?;
        // The id goes into the statement's text (SET takes no parameters).
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_hexdigit() || c == '-') {
            return Err(crate::db::StoreError::Corrupt(format!("unexpected snapshot id {id:?}")));
        }
        sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{id}'")).persistent(false).execute(&mut *other).await?;
        Ok(Some(NativeTx::Postgres(other)))
    }

    /// Every row of `sql` (with `$n` placeholders) bound to `params`. The
    /// statement is planned at each call, never cached: these scan ranges
    /// whose size depends on the merchant and the period, and a generic
    /// plan made once (perhaps while the merchant was small) could pick a
    /// table scan for one with a million rows.
    pub(crate) async fn fetch_all(&mut self, sql: &str, params: Vec<P>) -> Result<Vec<NativeRow>> {
        match self {
            NativeTx::Sqlite(snapshot) => snapshot.fetch_all(sql, params).await,
            NativeTx::Postgres(tx) => {
                let q = bind_params(sqlx::query::<Postgres>(sql).persistent(false), params);
                Ok(q.fetch_all(&mut **tx).await?.into_iter().map(NativeRow::Postgres).collect())
            }
        }
    }
}

/// A row of either engine, read by column name or position.
pub(crate) enum NativeRow {
    /// SQLite's values, copied out of its row, and the statement's
    /// column names (shared by its rows).
    Sqlite {
        values: Vec<Value>,
        names: Arc<[String]>,
    },
    Postgres(PgRow),
}

/// What a column decodes into, on either engine: the values paygate
/// stores are integers and text.
pub(crate) trait NativeValue: for<'r> Decode<'r, Postgres> + Type<Postgres> + Sized {
    fn from_sqlite(value: &Value) -> Option<Self>;
}

impl NativeValue for i64 {
    fn from_sqlite(value: &Value) -> Option<i64> {
        match value {
            Value::Integer(v) => Some(*v),
            _ => None,
        }
    }
}

impl NativeValue for String {
    fn from_sqlite(value: &Value) -> Option<String> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

/// PostgreSQL arrays (`array_agg`), which SQLite does not have.
impl NativeValue for Vec<i64> {
    fn from_sqlite(_: &Value) -> Option<Vec<i64>> {
        None
    }
}

impl NativeValue for Vec<String> {
    fn from_sqlite(_: &Value) -> Option<Vec<String>> {
        None
    }
}

impl<T: NativeValue> NativeValue for Option<T>
where
    Option<T>: for<'r> Decode<'r, Postgres> + Type<Postgres>,
{
    fn from_sqlite(value: &Value) -> Option<Option<T>> {
        match value {
            Value::Null => Some(None),
            v => T::from_sqlite(v).map(Some),
        }
    }
}

/// By position where [`crate::row::locate`] finds the column; by name
/// otherwise, which reports it missing.
macro_rules! native_get {
    ($row:expr, $column:expr, $at:expr) => {
        match $row.locate($column, $at) {
            Some(i) => $row.get(i),
            None => $row.get($column),
        }
    };
}

impl crate::row::RowRead for NativeRow {
    fn int(&self, column: &str, at: usize) -> Result<i64> {
        native_get!(self, column, at)
    }
    fn opt_int(&self, column: &str, at: usize) -> Result<Option<i64>> {
        native_get!(self, column, at)
    }
    fn text(&self, column: &str, at: usize) -> Result<String> {
        native_get!(self, column, at)
    }
    fn opt_text(&self, column: &str, at: usize) -> Result<Option<String>> {
        native_get!(self, column, at)
    }
}

/// A column name or position, on either engine.
pub(crate) trait NativeIndex: ColumnIndex<PgRow> + std::fmt::Debug {
    fn position(&self, names: &[String]) -> Option<usize>;
}

impl NativeIndex for usize {
    fn position(&self, names: &[String]) -> Option<usize> {
        (*self < names.len()).then_some(*self)
    }
}

impl NativeIndex for &str {
    fn position(&self, names: &[String]) -> Option<usize> {
        names.iter().position(|n| n == self)
    }
}

impl NativeRow {
    /// See [`crate::row::locate`].
    fn locate(&self, column: &str, at: usize) -> Option<usize> {
        match self {
            NativeRow::Postgres(row) => {
                let columns = row.columns();
                crate::row::locate(|i| columns.get(i).map(|c| c.name()), columns.len(), column, at)
            }
            NativeRow::Sqlite { names, .. } => {
                crate::row::locate(|i| names.get(i).map(String::as_str), names.len(), column, at)
            }
        }
    }

    /// A text column, borrowed from the row.
    pub(crate) fn text_ref<I: NativeIndex>(&self, index: I) -> Result<&str> {
        match self {
            NativeRow::Postgres(row) => Ok(row.try_get(index)?),
            NativeRow::Sqlite { values, names } => match index.position(names).and_then(|i| values.get(i)) {
                Some(Value::Text(text)) => Ok(text),
                value => Err(mismatch::<&str, I>(&index, value)),
            },
        }
    }

    pub(crate) fn get<T: NativeValue, I: NativeIndex>(&self, index: I) -> Result<T> {
        match self {
            NativeRow::Postgres(row) => Ok(row.try_get(index)?),
            NativeRow::Sqlite { values, names } => {
                let value = index.position(names).and_then(|i| values.get(i));
                value.and_then(T::from_sqlite).ok_or_else(|| mismatch::<T, I>(&index, value))
            }
        }
    }
}

/// A SQLite column that is missing or not of the type asked for.
fn mismatch<T, I: NativeIndex>(index: &I, value: Option<&Value>) -> crate::db::StoreError {
    let found = value.map_or("no such column".to_string(), |v| v.data_type().to_string());
    crate::db::StoreError::Corrupt(format!("column {index:?}: expected {}, found {found}", std::any::type_name::<T>()))
}
