//! Ledger reads: a merchant's entries (balance history) and the full check
//! that every stored balance equals the sum of its entries.

use crate::db::{Db, Result};
use crate::sql::{bind_all, P};
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryRow {
    pub id: String,
    pub tx_id: String,
    pub currency: String,
    pub bucket: String,
    pub amount: i64,
    pub balance_after: i64,
    pub reason: String,
    pub ref_type: Option<String>,
    pub ref_id: Option<String>,
    pub created_at: i64,
}

/// One thing `ledger check` found wrong.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    /// `balance_mismatch`, `unbalanced_transaction`, `orphan_entry` or `negative_merchant_balance`.
    pub kind: &'static str,
    /// Account id, or transaction id for `unbalanced_transaction`.
    pub id: String,
    pub stored: i64,
    pub computed: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct LedgerReport {
    pub ok: bool,
    /// Accounts checked.
    pub checked: i64,
    pub transactions: i64,
    pub differences: Vec<Difference>,
}

impl Db {
    /// The merchant's own entries (its buckets, not the system side) in the
    /// `mode` ledger, newest first; `before_id` pages.
    pub async fn balance_history(
        &self,
        merchant_id: &str,
        mode: &str,
        currency: Option<&str>,
        before_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<EntryRow>> {
        let mut sql = String::from(
            "SELECT id, tx_id, currency, bucket, amount, balance_after, reason, ref_type, ref_id, created_at \
             FROM ledger_entries WHERE merchant_id = $1 AND mode = $2 \
             AND bucket IN ('available', 'hold', 'frozen')",
        );
        let mut params: Vec<P> = vec![merchant_id.into(), mode.into()];
        if let Some(c) = currency {
            params.push(c.into());
            sql.push_str(&format!(" AND currency = ${}", params.len()));
        }
        if let Some(b) = before_id {
            params.push(b.into());
            sql.push_str(&format!(" AND id < ${}", params.len()));
        }
        params.push(limit.into());
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", params.len()));
        let rows = bind_all(sqlx::query(&sql), params).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(EntryRow {
                    id: r.try_get("id")?,
                    tx_id: r.try_get("tx_id")?,
                    currency: r.try_get("currency")?,
                    bucket: r.try_get("bucket")?,
                    amount: r.try_get("amount")?,
                    balance_after: r.try_get("balance_after")?,
                    reason: r.try_get("reason")?,
                    ref_type: r.try_get("ref_type")?,
                    ref_id: r.try_get("ref_id")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Recomputes every balance from the entries, checks that every
    /// transaction sums to zero and that no merchant bucket is negative.
    pub async fn ledger_check(&self) -> Result<LedgerReport> {
        let mut differences = Vec::new();
        let mismatches = sqlx::query(
            "SELECT a.id AS id, a.balance AS stored, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS computed \
             FROM accounts a LEFT JOIN ledger_entries e ON e.account_id = a.id \
             GROUP BY a.id, a.balance HAVING a.balance <> CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) ORDER BY a.id",
        )
        .fetch_all(self.pool())
        .await?;
        for r in mismatches {
            differences.push(Difference {
                kind: "balance_mismatch",
                id: r.try_get("id")?,
                stored: r.try_get("stored")?,
                computed: r.try_get("computed")?,
            });
        }
        let unbalanced = sqlx::query(
            "SELECT tx_id AS id, CAST(SUM(amount) AS BIGINT) AS computed FROM ledger_entries \
             GROUP BY tx_id HAVING SUM(amount) <> 0 OR COUNT(*) < 2 ORDER BY tx_id",
        )
        .fetch_all(self.pool())
        .await?;
        for r in unbalanced {
            differences.push(Difference {
                kind: "unbalanced_transaction",
                id: r.try_get("id")?,
                stored: 0,
                computed: r.try_get("computed")?,
            });
        }
        let orphans = sqlx::query(
            "SELECT e.id AS id, e.amount AS amount FROM ledger_entries e \
             LEFT JOIN accounts a ON a.id = e.account_id WHERE a.id IS NULL ORDER BY e.id",
        )
        .fetch_all(self.pool())
        .await?;
        for r in orphans {
            differences.push(Difference {
                kind: "orphan_entry",
                id: r.try_get("id")?,
                stored: 0,
                computed: r.try_get("amount")?,
            });
        }
        let negative =
            sqlx::query("SELECT id, balance FROM accounts WHERE is_merchant = 1 AND balance < 0 ORDER BY id")
                .fetch_all(self.pool())
                .await?;
        for r in negative {
            differences.push(Difference {
                kind: "negative_merchant_balance",
                id: r.try_get("id")?,
                stored: r.try_get("balance")?,
                computed: 0,
            });
        }
        let checked: i64 = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM accounts")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        let transactions: i64 = sqlx::query("SELECT CAST(COUNT(DISTINCT tx_id) AS BIGINT) AS n FROM ledger_entries")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        Ok(LedgerReport { ok: differences.is_empty(), checked, transactions, differences })
    }
}
