//! Step 4 of a batch: everything it decided, written with a handful of
//! multi-row statements.

use super::Batch;
use crate::db::Backend;
use crate::payments::{PayInRow, PayOutRow, PAYIN_COLUMNS, PAYOUT_COLUMNS};
use crate::sql::{bind_all, chunk_sizes, insert_sql, list, rows_per_statement, P};
use crate::writer::command::CmdError;
use crate::writer::WriteError;
use sqlx::AnyConnection;

const ENTRY_COLUMNS: [&str; 13] = [
    "id",
    "tx_id",
    "account_id",
    "merchant_id",
    "mode",
    "currency",
    "bucket",
    "amount",
    "balance_after",
    "reason",
    "ref_type",
    "ref_id",
    "created_at",
];
const EVENT_COLUMNS: [&str; 9] = [
    "id",
    "merchant_id",
    "event_type",
    "object_id",
    "sequence",
    "callback_url",
    "body",
    "next_attempt_at",
    "created_at",
];
const ACCOUNT_COLUMNS: [&str; 7] = ["id", "owner", "mode", "is_merchant", "currency", "bucket", "created_at"];

impl Batch<'_> {
    pub(super) async fn persist(&mut self, conn: &mut AnyConnection) -> Result<(), CmdError> {
        // Inserted in key order, so two nodes inserting overlapping order ids
        // take the unique index's locks in the same order (no deadlock).
        let order_key = |r: &PayInRow| (r.merchant_id.clone(), r.merchant_order_id.clone());
        self.new_payins.sort_by_key(|id| order_key(&self.payins[id]));
        let payout_key = |r: &PayOutRow| (r.merchant_id.clone(), r.merchant_order_id.clone());
        self.new_payouts.sort_by_key(|id| payout_key(&self.payouts[id]));
        let new_payins: Vec<Vec<P>> = self.new_payins.iter().map(|id| self.payins[id].params()).collect();
        insert_new(self.backend, conn, "payins", PAYIN_COLUMNS, new_payins).await?;
        let new_payouts: Vec<Vec<P>> = self.new_payouts.iter().map(|id| self.payouts[id].params()).collect();
        insert_new(self.backend, conn, "payouts", PAYOUT_COLUMNS, new_payouts).await?;
        for id in &self.dirty_payins {
            let r = &self.payins[id];
            // A final status ends the upstream's checks in the same
            // statement, so no reader sees a settled payin still checked.
            let sql = "UPDATE payins SET status = $2, amount = $3, fee = $4, failure_reason = $5, updated_at = $6, \
                       completed_at = $7, has_open_dispute = $8, version = version + 1, \
                       provider_check_at = CASE WHEN $2 = 'pending' THEN provider_check_at END WHERE id = $1";
            sqlx::query(sql)
                .bind(r.id.as_str())
                .bind(r.status.as_str())
                .bind(r.amount)
                .bind(r.fee)
                .bind(&r.failure_reason)
                .bind(r.updated_at)
                .bind(r.completed_at)
                .bind(i64::from(r.has_open_dispute))
                .execute(&mut *conn)
                .await?;
        }
        for id in &self.dirty_payouts {
            let r = &self.payouts[id];
            let sql = "UPDATE payouts SET status = $2, failure_reason = $3, updated_at = $4, completed_at = $5, \
                       version = version + 1, \
                       provider_check_at = CASE WHEN $2 IN ('pending', 'processing') THEN provider_check_at END \
                       WHERE id = $1";
            sqlx::query(sql)
                .bind(r.id.as_str())
                .bind(r.status.as_str())
                .bind(&r.failure_reason)
                .bind(r.updated_at)
                .bind(r.completed_at)
                .execute(&mut *conn)
                .await?;
        }
        let mut created = Vec::new();
        let mut changed = Vec::new();
        for (id, balance) in self.book.touched() {
            match self.absent.get(id) {
                Some(columns) => {
                    let mut row = columns.clone();
                    row.push(balance.into());
                    created.push(row);
                }
                None => changed.push((id.to_string(), balance)),
            }
        }
        let mut columns = ACCOUNT_COLUMNS.to_vec();
        columns.push("balance");
        insert_rows(self.backend, conn, "accounts", &columns, created).await?;
        update_balances(self.backend, conn, changed).await?;
        insert_rows(self.backend, conn, "ledger_entries", &ENTRY_COLUMNS, std::mem::take(&mut self.entries)).await?;
        insert_rows(self.backend, conn, "events", &EVENT_COLUMNS, std::mem::take(&mut self.events)).await?;
        let columns = ["merchant_id", "idempotency_key", "tx_id", "mode", "currency", "amount", "created_at"];
        insert_rows(self.backend, conn, "adjustments", &columns, std::mem::take(&mut self.new_adjustments)).await?;
        self.persist_disputes(conn).await
    }
}

/// Inserts new payments; an order id that already exists is reported as
/// [`CmdError::Retry`], so the batch is redone with the existing rows looked
/// up (in careful mode nothing conflicts here, unless another node inserted
/// the same order id a moment ago).
///
/// SQLite leaves such a row alone (`ON CONFLICT DO NOTHING`) and returns
/// the ids that went in, which the autocommit path relies on. PostgreSQL
/// gets a plain `INSERT` that fails as a whole on a repeated order id:
/// `ON CONFLICT` made it probe the unique index once more for every row
/// before inserting (`ExecCheckIndexConstraints`, about an eighth of its
/// CPU per payin in a profile), to save a rollback that real traffic
/// almost never needs.
async fn insert_new(
    backend: Backend,
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<P>>,
) -> Result<(), CmdError> {
    for (size, params) in statement_chunks(rows, columns.len()) {
        match backend {
            Backend::Sqlite => {
                let tail = " ON CONFLICT (merchant_id, merchant_order_id) DO NOTHING RETURNING id";
                let sql = insert_sql(backend, table, columns, size, tail);
                let inserted = bind_all(sqlx::query(&sql), params).fetch_all(&mut *conn).await?.len();
                if inserted < size {
                    return Err(CmdError::Retry);
                }
            }
            Backend::Postgres => {
                let sql = insert_sql(backend, table, columns, size, "");
                if let Err(e) = bind_all(sqlx::query(&sql), params).execute(&mut *conn).await {
                    return Err(match CmdError::from(e) {
                        CmdError::Failed(WriteError::Store(crate::StoreError::Conflict(c))) if is_repeat(table, &c) => {
                            CmdError::Retry
                        }
                        other => other,
                    });
                }
            }
        }
    }
    Ok(())
}

/// Whether PostgreSQL refused a new payment's row because it exists: its
/// order id is taken (`UNIQUE (merchant_id, merchant_order_id)`, migration
/// 0003), or its id is, which for a freshly made id means this very command
/// went in before: the writer re-applies a batch whose connection failed,
/// and that can happen after the commit landed. PostgreSQL checks the
/// primary key first, so a re-applied row is refused on `{table}_pkey`.
/// Either way the careful redo finds the existing row.
fn is_repeat(table: &str, constraint: &str) -> bool {
    constraint.strip_prefix(table).is_some_and(|rest| rest == "_pkey" || rest == "_merchant_id_merchant_order_id_key")
}

/// Sets the new balances of existing accounts, all in one statement:
/// `UPDATE accounts SET balance = CASE id WHEN $1 THEN $2 … END WHERE id IN ($1, …)`.
async fn update_balances(
    backend: Backend,
    conn: &mut AnyConnection,
    changed: Vec<(String, i64)>,
) -> Result<(), CmdError> {
    for chunk in changed.chunks(256) {
        let mut cases = String::new();
        let mut params: Vec<P> = Vec::with_capacity(chunk.len() * 3);
        for (id, balance) in chunk {
            params.push(id.clone().into());
            let id_mark = crate::sql::mark(backend, params.len());
            params.push((*balance).into());
            cases.push_str(&format!(" WHEN {id_mark} THEN {}", crate::sql::mark(backend, params.len())));
        }
        let start = params.len() + 1;
        params.extend(chunk.iter().map(|(id, _)| P::from(id.clone())));
        let sql = format!(
            "UPDATE accounts SET balance = CASE id{cases} END WHERE id IN ({})",
            list(backend, start, chunk.len())
        );
        bind_all(sqlx::query(&sql), params).execute(&mut *conn).await?;
    }
    Ok(())
}

/// `rows` as the parameter lists of as few multi-row statements as the
/// column count allows (row count, flattened parameters), moved rather than
/// copied: the writer is one serial chain, and on SQLite its copies are on
/// the path of every batch.
fn statement_chunks(rows: Vec<Vec<P>>, columns: usize) -> Vec<(usize, Vec<P>)> {
    let mut rows = rows.into_iter();
    chunk_sizes(rows.len(), rows_per_statement(columns))
        .into_iter()
        .map(|size| (size, rows.by_ref().take(size).flatten().collect()))
        .collect()
}

pub(super) async fn insert_rows(
    backend: Backend,
    conn: &mut AnyConnection,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<P>>,
) -> Result<(), CmdError> {
    for (size, params) in statement_chunks(rows, columns.len()) {
        let sql = insert_sql(backend, table, columns, size, "");
        bind_all(sqlx::query(&sql), params).execute(&mut *conn).await?;
    }
    Ok(())
}
