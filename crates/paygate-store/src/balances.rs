//! Reading a merchant's balances from the ledger's accounts.

use crate::db::{Db, Result};
use sqlx::Row;

/// One currency's buckets in minor units.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BalanceRow {
    pub currency: String,
    pub available: i64,
    pub hold: i64,
    pub frozen: i64,
}

impl Db {
    /// Balances per currency of `merchant_id` in the `mode` ledger, optionally one currency only,
    /// ordered by currency code. Currencies the merchant never used are absent.
    pub async fn merchant_balances(
        &self,
        merchant_id: &str,
        mode: &str,
        currency: Option<&str>,
    ) -> Result<Vec<BalanceRow>> {
        let rows = sqlx::query(
            "SELECT currency, bucket, balance FROM accounts \
             WHERE owner = $1 AND mode = $3 AND is_merchant = 1 AND ($2 IS NULL OR currency = $2) ORDER BY currency, bucket",
        )
        .bind(merchant_id)
        .bind(currency)
        .bind(mode)
        .fetch_all(self.pool())
        .await?;
        let mut out: Vec<BalanceRow> = Vec::new();
        for row in rows {
            let cur: String = row.try_get("currency")?;
            let bucket: String = row.try_get("bucket")?;
            let balance: i64 = row.try_get("balance")?;
            if out.last().is_none_or(|b| b.currency != cur) {
                out.push(BalanceRow { currency: cur, ..Default::default() });
            }
            let entry = out.last_mut().expect("pushed above");
            match bucket.as_str() {
                "available" => entry.available = balance,
                "hold" => entry.hold = balance,
                "frozen" => entry.frozen = balance,
                _ => {}
            }
        }
        Ok(out)
    }
}
