//! One PostgreSQL connection kept by one kind of status poll.
//!
//! A status poll's batch is one short statement, and sqlx's pool tests
//! every connection it gets back with a round trip of its own (a `Sync`
//! and its `ReadyForQuery`, `PoolConnection::return_to_pool`): one
//! statement cost two round trips, and the second's task and wake-ups were
//! ~4% of the gateway's time under polling (bench/README.md). A poll kind
//! has one statement in flight at a time (`paygate_server::reads`), so it
//! keeps one connection, taken out of the read pool (`detach`, so the pool
//! neither counts it nor waits for it when it closes; it is named
//! `paygate-polls`). A statement whose connection failed drops it, and one
//! that failed on a connection kept from before runs once more on a new one
//! (the server may have closed an idle connection; a read is safe to
//! repeat); a statement the database refused leaves the connection kept.
//! SQLite reads go to the pool as before: there a statement is a hand-off
//! to a blocking thread.

use crate::db::{Result, StoreError};
use crate::native::{NativePool, NativeRow};
use crate::row::FromRow;
use crate::sql::{bind_params, P};
use sqlx::{PgConnection, Postgres};
use tokio::sync::Mutex;

pub(crate) struct Pinned {
    conn: Mutex<Option<PgConnection>>,
}

impl Pinned {
    pub(crate) fn new() -> Pinned {
        Pinned { conn: Mutex::new(None) }
    }

    /// As [`NativePool::fetch_decoded`], on the kept connection on PostgreSQL.
    pub(crate) async fn fetch_decoded<T: FromRow>(
        &self,
        pool: &NativePool,
        sql: &str,
        params: Vec<P>,
    ) -> Result<Vec<T>> {
        let NativePool::Postgres(pg) = pool else {
            return pool.fetch_decoded(sql, params).await;
        };
        let mut kept = self.conn.lock().await;
        if pg.is_closed() {
            // The gateway is shutting down: so do its kept connections.
            if let Some(conn) = kept.take() {
                let _ = sqlx::Connection::close(conn).await;
            }
            return Err(sqlx::Error::PoolClosed.into());
        }
        // Only a connection kept from before may have been closed meanwhile.
        let mut retry = kept.is_some();
        loop {
            let conn = match kept.as_mut() {
                Some(conn) => conn,
                None => kept.insert(connect(pg).await?),
            };
            let q = bind_params(sqlx::query::<Postgres>(sql), params.clone());
            match q.fetch_all(&mut *conn).await {
                Ok(rows) => return rows.into_iter().map(|row| T::from_row(&NativeRow::Postgres(row))).collect(),
                Err(e) => {
                    let e = StoreError::from(e);
                    // A refused statement leaves the connection as it was.
                    if !e.is_connection_failure() {
                        return Err(e);
                    }
                    *kept = None;
                    if !retry {
                        return Err(e);
                    }
                    tracing::debug!(error = %e, "a status poll's kept connection was lost; reading on a new one");
                    retry = false;
                }
            }
        }
    }
}

/// A connection of the read pool's, detached from it and named for what it
/// does (so an operator can tell it from the pool's in `pg_stat_activity`).
async fn connect(pg: &sqlx::PgPool) -> Result<PgConnection> {
    let mut conn = pg.acquire().await?.detach();
    sqlx::query("SET application_name = 'paygate-polls'").execute(&mut conn).await?;
    Ok(conn)
}
