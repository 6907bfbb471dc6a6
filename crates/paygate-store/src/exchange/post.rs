//! Ledger postings of exchange orders, inside the order's own transaction:
//! the accounts are locked in id order (as the batching writer locks them,
//! so the two cannot deadlock), the postings go through a
//! [`paygate_core::book::Book`] (balanced, no merchant bucket below zero)
//! and the entries and new balances are written.

use crate::db::{Backend, Result, StoreError};
use crate::dialect::for_update;
use crate::sql::{bind_all, list, P};
use paygate_core::book::{Book, LedgerOf};
use paygate_core::ids::{new_monotonic_id, IdKind};
use paygate_core::ledger::Leg;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// One transaction to post: its currency, legs and reason.
pub struct Transfer<'a> {
    pub currency: &'a str,
    pub legs: Vec<Leg>,
    pub reason: &'static str,
}

/// Whose ledger, what the entries point at, and when.
pub struct PostContext<'a> {
    pub merchant: &'a str,
    pub mode: &'a str,
    pub ref_type: &'a str,
    pub ref_id: &'a str,
    pub now: i64,
}

pub async fn post(
    conn: &mut AnyConnection,
    backend: Backend,
    ctx: &PostContext<'_>,
    transfers: &[Transfer<'_>],
) -> Result<()> {
    if transfers.is_empty() {
        return Ok(());
    }
    // Every account the transfers touch, created at zero when missing.
    let mut needed: BTreeMap<String, (&str, bool, &str)> = BTreeMap::new();
    for t in transfers {
        for l in &t.legs {
            let id = l.account.account_id(ctx.merchant, ctx.mode, t.currency);
            needed.insert(id, (t.currency, l.account.is_merchant(), l.account.bucket_name()));
        }
    }
    for (id, (currency, is_merchant, bucket)) in &needed {
        sqlx::query(
            "INSERT INTO accounts (id, owner, mode, is_merchant, currency, bucket, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
        )
        .bind(id)
        .bind(ctx.merchant)
        .bind(ctx.mode)
        .bind(i64::from(*is_merchant))
        .bind(*currency)
        .bind(*bucket)
        .bind(ctx.now)
        .execute(&mut *conn)
        .await?;
    }
    let ids: Vec<&String> = needed.keys().collect();
    let sql = format!(
        "SELECT id, balance FROM accounts WHERE id IN ({}) ORDER BY id{}",
        list(backend, 1, ids.len()),
        for_update(backend)
    );
    let mut book = Book::default();
    for r in
        bind_all(sqlx::query(&sql), ids.iter().map(|s| P::from(s.as_str())).collect()).fetch_all(&mut *conn).await?
    {
        book.load(r.try_get("id")?, r.try_get("balance")?);
    }
    let mut entries = Vec::new();
    for t in transfers {
        let ledger = LedgerOf { merchant: ctx.merchant, mode: ctx.mode, currency: t.currency };
        let posted = book
            .post(ledger, std::slice::from_ref(&t.legs))
            .map_err(|e| StoreError::Corrupt(format!("exchange posting refused: {e}")))?;
        let tx_id = new_monotonic_id(IdKind::LedgerTx);
        for e in posted.into_iter().flatten() {
            entries.push((tx_id.clone(), t.currency, t.reason, e));
        }
    }
    for (id, balance) in book.touched() {
        sqlx::query("UPDATE accounts SET balance = $2 WHERE id = $1")
            .bind(id)
            .bind(balance)
            .execute(&mut *conn)
            .await?;
    }
    for (tx_id, currency, reason, e) in entries {
        sqlx::query(
            "INSERT INTO ledger_entries (id, tx_id, account_id, merchant_id, mode, currency, bucket, amount, \
             balance_after, reason, ref_type, ref_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(new_monotonic_id(IdKind::LedgerEntry))
        .bind(&tx_id)
        .bind(&e.account_id)
        .bind(ctx.merchant)
        .bind(ctx.mode)
        .bind(currency)
        .bind(e.account.bucket_name())
        .bind(e.delta)
        .bind(e.balance_after)
        .bind(reason)
        .bind(ctx.ref_type)
        .bind(ctx.ref_id)
        .bind(ctx.now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
