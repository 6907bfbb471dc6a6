//! The fast path for a batch made only of new payins.
//!
//! Such a batch moves no money and writes one multi-row `INSERT`. A single
//! statement is atomic and durable on its own in autocommit mode, so it
//! needs no `BEGIN` and no `COMMIT`, which saves two round trips per batch
//! (on SQLite, two hops to the driver's thread, and the write lock is held
//! only for the insert itself).
//!
//! The saving is measured in `bench/README.md` ("How the write path got there").
//!
//! The one difference from a transaction: when some order ids already exist,
//! the rows that went in are committed anyway (SQLite inserts the others with
//! `ON CONFLICT DO NOTHING`; PostgreSQL's plain `INSERT` fails as a whole, so
//! there the only rows found are those of an earlier try of the same batch
//! whose commit landed before its connection failed). Rows that are in the
//! table are answered as created (their ids were made fresh for these
//! commands), and only the commands whose rows are not are decided again,
//! carefully, in a transaction: each is a repeat (200 with the existing
//! payin) or a conflict (409).

use super::backend_of;
use super::batch::{Batch, Lookup};
use super::command::{CmdError, Command, Outcome};
use super::WriteError;
use crate::payments::PAYIN_COLUMNS;
use crate::sql::{bind_all, placeholders, rows_per_statement, P};
use crate::time::now_micros;
use sqlx::Row;
use std::collections::HashSet;

/// Whether `cmds` are only payin creates that fit one statement.
pub(super) fn eligible(cmds: &[Command]) -> bool {
    !cmds.is_empty()
        && cmds.len() <= rows_per_statement(PAYIN_COLUMNS.len())
        && cmds.iter().all(|c| matches!(c, Command::CreatePayIn(_)))
}

pub(super) async fn apply(
    conn: &mut super::connection::Conn,
    ctx: &super::Ctx<'_>,
    cmds: &[Command],
) -> super::Answers {
    let mut phase = super::Phases::start();
    let lookup = Lookup::Recent(ctx.recent);
    let result = Batch::new(backend_of(conn), ctx.render, now_micros(), lookup).apply(conn, cmds).await;
    phase.mark("autocommit");
    match result {
        Ok(applied) => Ok(applied.answers),
        Err(CmdError::Retry) => {
            metrics::counter!("paygate_writer_careful_retries_total").increment(1);
            let inserted = inserted_ids(conn, cmds).await?;
            let went_in = |c: &Command| matches!(c, Command::CreatePayIn(r) if inserted.contains(r.id.as_str()));
            let redo: Vec<Command> = cmds.iter().filter(|c| !went_in(c)).cloned().collect();
            let mut redone = super::retry::apply_in_transaction(conn, ctx, &redo).await?.into_iter();
            // Answers in command order: a command was either inserted or redone.
            Ok(cmds
                .iter()
                .map(|c| match c {
                    Command::CreatePayIn(r) if went_in(c) => Ok(Outcome::PayIn { row: r.clone(), created: true }),
                    _ => redone.next().unwrap_or(Err(WriteError::Unavailable)),
                })
                .collect())
        }
        // One statement failed as a whole: nothing was written.
        Err(e) => Err(e),
    }
}

/// Which of the commands' new payin ids are in the table: ids are made fresh
/// for every command, so a row with one is the row this batch inserted.
async fn inserted_ids(conn: &mut sqlx::AnyConnection, cmds: &[Command]) -> Result<HashSet<String>, CmdError> {
    let ids: Vec<P> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::CreatePayIn(r) => Some(P::from(r.id.clone())),
            _ => None,
        })
        .collect();
    let sql = format!("SELECT id FROM payins WHERE id IN ({})", placeholders(1, ids.len()));
    let rows = bind_all(sqlx::query(&sql), ids).fetch_all(&mut *conn).await?;
    rows.iter().map(|r| r.try_get::<String, _>("id").map_err(CmdError::from)).collect()
}
