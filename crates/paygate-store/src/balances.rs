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
        let buckets = rows
            .iter()
            .map(|row| {
                Ok((
                    row.try_get::<String, _>("currency")?,
                    row.try_get::<String, _>("bucket")?,
                    row.try_get("balance")?,
                ))
            })
            .collect::<Result<Vec<(String, String, i64)>>>()?;
        Ok(crate::point_reads::fold_balances(buckets.iter().map(|(c, b, v)| (c.as_str(), b.as_str(), *v))))
    }
}
