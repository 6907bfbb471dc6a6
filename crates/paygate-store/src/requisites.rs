//! The manual provider's pool of requisites: where payers send money
//! (cards, phones, IBANs, bank accounts, crypto addresses).

use crate::db::{flag, Db, Result};
use crate::time::now_micros;
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequisiteRow {
    pub id: String,
    pub method: String,
    pub currency: String,
    /// JSON object shown to the payer, e.g. `{type, card_number, bank_name, holder_name}`.
    pub details: String,
    pub label: Option<String>,
    pub enabled: bool,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    /// `payins` (the manual provider) or `exchange` (exchange orders' crypto
    /// addresses): the two never share an entry.
    pub purpose: String,
    pub created_at: i64,
    pub updated_at: i64,
}

fn from_row(r: &AnyRow) -> Result<RequisiteRow> {
    Ok(RequisiteRow {
        id: r.try_get("id")?,
        method: r.try_get("method")?,
        currency: r.try_get("currency")?,
        details: r.try_get("details")?,
        label: r.try_get("label")?,
        enabled: flag(r, "enabled")?,
        min_amount: r.try_get("min_amount")?,
        max_amount: r.try_get("max_amount")?,
        purpose: r.try_get("purpose")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
    })
}

const COLUMNS: &str =
    "id, method, currency, details, label, enabled, min_amount, max_amount, purpose, created_at, updated_at";

impl Db {
    pub async fn list_requisites(&self) -> Result<Vec<RequisiteRow>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM requisites ORDER BY id")).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    /// Enabled requisites of `purpose` that can take `amount` of `currency`
    /// by `method`.
    pub async fn usable_requisites(
        &self,
        purpose: &str,
        method: &str,
        currency: &str,
        amount: i64,
    ) -> Result<Vec<RequisiteRow>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM requisites WHERE enabled = 1 AND method = $1 AND currency = $2 \
             AND (min_amount IS NULL OR min_amount <= $3) AND (max_amount IS NULL OR max_amount >= $3) \
             AND purpose = $4 ORDER BY id"
        ))
        .bind(method)
        .bind(currency)
        .bind(amount)
        .bind(purpose)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Replaces the pool with `items` in one transaction: listed ids are
    /// inserted or updated, unlisted ones removed. Payins keep a copy of the
    /// details they were shown, so removing a requisite changes no payin.
    ///
    /// Concurrent replacements run one after the other, so the pool ends as
    /// exactly one of the lists: SQLite takes the write lock up front
    /// (`BEGIN IMMEDIATE`; a deferred transaction that read first could not
    /// wait for the lock and failed with SQLITE_BUSY), PostgreSQL locks the
    /// table against other writers (each transaction would otherwise delete
    /// only the rows it saw and leave the two lists merged). Readers, such
    /// as a payin choosing requisites, are not blocked.
    pub async fn replace_requisites(&self, items: &[RequisiteRow]) -> Result<Vec<RequisiteRow>> {
        let now = now_micros();
        let mut conn = self.pool().acquire().await?;
        let mut tx = crate::dialect::begin_write(self.backend(), &mut conn).await?;
        crate::dialect::lock_table_against_writers(self.backend(), &mut tx, "requisites").await?;
        let existing: Vec<String> = sqlx::query("SELECT id FROM requisites")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<Result<_, _>>()?;
        for old in existing.iter().filter(|id| !items.iter().any(|i| &i.id == *id)) {
            sqlx::query("DELETE FROM requisites WHERE id = $1").bind(old).execute(&mut *tx).await?;
        }
        for it in items {
            sqlx::query(
                "INSERT INTO requisites (id, method, currency, details, label, enabled, min_amount, max_amount, purpose, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9) \
                 ON CONFLICT (id) DO UPDATE SET method = $2, currency = $3, details = $4, label = $5, enabled = $6, \
                 min_amount = $7, max_amount = $8, updated_at = $9, purpose = $10",
            )
            .bind(&it.id)
            .bind(&it.method)
            .bind(&it.currency)
            .bind(&it.details)
            .bind(&it.label)
            .bind(i64::from(it.enabled))
            .bind(it.min_amount)
            .bind(it.max_amount)
            .bind(now)
            .bind(&it.purpose)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        // Back to the pool before the read takes one: concurrent replacements
        // each holding one connection while waiting for a second would
        // exhaust the pool.
        drop(conn);
        self.list_requisites().await
    }
}
