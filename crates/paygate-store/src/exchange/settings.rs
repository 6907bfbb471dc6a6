//! The exchange's operator settings: payment methods (a JSON document the
//! server validated) and rates (exact decimal strings per pair).

use crate::db::{Db, Result};
use crate::time::now_micros;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateRow {
    pub name: String,
    pub base: String,
    pub quote: String,
    pub bid: String,
    pub ask: String,
    pub floating_rate: String,
    pub updated_at: i64,
}

impl Db {
    /// The methods document, `None` until the operator sets one.
    pub async fn exchange_methods(&self) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM exchange_settings WHERE name = 'methods'")
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("value")).transpose()?)
    }

    pub async fn put_exchange_methods(&self, json: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO exchange_settings (name, value, updated_at) VALUES ('methods', $1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(json)
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    pub async fn rates(&self) -> Result<Vec<RateRow>> {
        let rows =
            sqlx::query("SELECT name, base, quote, bid, ask, floating_rate, updated_at FROM rates ORDER BY name")
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(RateRow {
                    name: r.try_get("name")?,
                    base: r.try_get("base")?,
                    quote: r.try_get("quote")?,
                    bid: r.try_get("bid")?,
                    ask: r.try_get("ask")?,
                    floating_rate: r.try_get("floating_rate")?,
                    updated_at: r.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// Replaces every rate at once: a pair left out stops being offered.
    pub async fn put_rates(&self, rates: &[RateRow]) -> Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM rates").execute(&mut *tx).await?;
        for r in rates {
            sqlx::query(
                "INSERT INTO rates (name, base, quote, bid, ask, floating_rate, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&r.name)
            .bind(&r.base)
            .bind(&r.quote)
            .bind(&r.bid)
            .bind(&r.ask)
            .bind(&r.floating_rate)
            .bind(r.updated_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
