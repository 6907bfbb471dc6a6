//! Provider instances, routing rules, the refusals log, and the payments
//! whose upstream outcome is overdue (API.md section 7). Credentials arrive
//! sealed: this module never sees them in clear.

use crate::db::{Db, Result};
use crate::merchants::Sealed;
use crate::sql::{bind_all, insert_sql};
use paygate_core::routing::RouteRule;
use sqlx::Row;

/// The providers that always exist.
pub const BUILT_IN: [&str; 2] = ["sandbox", "manual"];

crate::table_row! {
    #[derive(Clone, Debug)]
    pub struct ProviderRow, columns PROVIDER_COLUMNS {
        pub id: String,
        /// `sandbox`, `manual` or `switchere`.
        pub kind: String,
        pub enabled: bool,
        /// Non-secret settings, JSON.
        pub config: String,
        /// `{api_key, secret, callback_secret}` sealed with the master key.
        pub secrets_sealed: Option<Sealed>,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

crate::table_row! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct RefusalRow, columns REFUSAL_COLUMNS {
        pub id: String,
        pub at: i64,
        pub provider_id: String,
        /// `payin` or `payout`.
        pub kind: String,
        pub merchant_id: String,
        pub merchant_order_id: String,
        pub reason: String,
    }
}

/// Why the providers could not be replaced.
#[derive(Debug)]
pub enum ReplaceError {
    /// A provider left out is still named by a route, or still holds open
    /// payments (their callbacks and checks need it).
    InUse(String),
    Store(crate::db::StoreError),
}

impl<E: Into<crate::db::StoreError>> From<E> for ReplaceError {
    fn from(e: E) -> Self {
        ReplaceError::Store(e.into())
    }
}

/// `payins` or `payouts`: the tables whose rows may wait on an upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Waiting {
    PayIns,
    PayOuts,
}

impl Waiting {
    fn table(self) -> &'static str {
        match self {
            Waiting::PayIns => "payins",
            Waiting::PayOuts => "payouts",
        }
    }

    fn open_statuses(self) -> &'static str {
        match self {
            Waiting::PayIns => "'pending'",
            Waiting::PayOuts => "'pending', 'processing'",
        }
    }
}

/// A payment whose upstream outcome is overdue.
pub struct DueCheck {
    pub id: String,
    pub provider: String,
    pub check_at: i64,
    pub created_at: i64,
}

impl Db {
    pub async fn providers(&self) -> Result<Vec<ProviderRow>> {
        let sql = format!("SELECT {} FROM providers ORDER BY id", PROVIDER_COLUMNS.join(", "));
        let rows = sqlx::query(&sql).fetch_all(self.pool()).await?;
        rows.iter().map(ProviderRow::from_row).collect()
    }

    /// Replaces every provider but the built-ins, which are only updated
    /// (their `enabled` and `config`). Refused, changing nothing, when a
    /// provider left out is still named by a route.
    pub async fn replace_providers(&self, rows: &[ProviderRow]) -> std::result::Result<(), ReplaceError> {
        let mut conn = self.pool().acquire().await?;
        let mut tx = crate::dialect::begin_write(self.backend(), &mut conn).await?;
        crate::dialect::lock_table_against_writers(self.backend(), &mut tx, "providers").await?;
        let existing: Vec<String> = sqlx::query("SELECT id FROM providers")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| r.try_get("id"))
            .collect::<std::result::Result<_, _>>()?;
        for old in existing.iter().filter(|id| !BUILT_IN.contains(&id.as_str()) && !rows.iter().any(|r| &r.id == *id)) {
            let used: i64 = sqlx::query("SELECT COUNT(*) AS n FROM routes WHERE provider_id = $1")
                .bind(old)
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
            let open: i64 = sqlx::query(
                "SELECT (SELECT COUNT(*) FROM payins WHERE provider = $1 AND status = 'pending') + \
                 (SELECT COUNT(*) FROM payouts WHERE provider = $1 AND status IN ('pending', 'processing')) AS n",
            )
            .bind(old)
            .fetch_one(&mut *tx)
            .await?
            .try_get("n")?;
            if used > 0 || open > 0 {
                return Err(ReplaceError::InUse(old.clone()));
            }
            sqlx::query("DELETE FROM providers WHERE id = $1").bind(old).execute(&mut *tx).await?;
        }
        for r in rows {
            let sql = format!(
                "{} ON CONFLICT (id) DO UPDATE SET kind = $2, enabled = $3, config = $4, secrets_sealed = $5, updated_at = $7",
                insert_sql(self.backend(), "providers", PROVIDER_COLUMNS, 1, "")
            );
            bind_all(sqlx::query(&sql), r.params()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn routes(&self) -> Result<Vec<RouteRule>> {
        let rows = sqlx::query(
            "SELECT merchant_id, kind, currency, method, provider_id, priority FROM routes ORDER BY position",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RouteRule {
                    merchant_id: r.try_get("merchant_id")?,
                    kind: r.try_get("kind")?,
                    currency: r.try_get("currency")?,
                    method: r.try_get("method")?,
                    provider_id: r.try_get("provider_id")?,
                    priority: r.try_get("priority")?,
                })
            })
            .collect()
    }

    /// Replaces every rule at once (the caller checked that each names a
    /// provider).
    pub async fn replace_routes(&self, rules: &[RouteRule]) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        let mut tx = crate::dialect::begin_write(self.backend(), &mut conn).await?;
        // Two replacements at once would interleave their rows.
        crate::dialect::lock_table_against_writers(self.backend(), &mut tx, "routes").await?;
        sqlx::query("DELETE FROM routes").execute(&mut *tx).await?;
        for (position, r) in rules.iter().enumerate() {
            sqlx::query(
                "INSERT INTO routes (position, merchant_id, kind, currency, method, provider_id, priority) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(position as i64)
            .bind(&r.merchant_id)
            .bind(&r.kind)
            .bind(&r.currency)
            .bind(&r.method)
            .bind(&r.provider_id)
            .bind(r.priority)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn record_refusal(&self, r: &RefusalRow) -> Result<()> {
        let sql = insert_sql(self.backend(), "provider_refusals", REFUSAL_COLUMNS, 1, "");
        bind_all(sqlx::query(&sql), r.params()).execute(self.pool()).await?;
        Ok(())
    }

    /// Newest first, of one provider when given, before `before_id`.
    pub async fn refusals(
        &self,
        provider_id: Option<&str>,
        before_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<RefusalRow>> {
        let sql = format!(
            "SELECT {} FROM provider_refusals WHERE ($1 = '' OR provider_id = $1) AND ($2 = '' OR id < $2) \
             ORDER BY id DESC LIMIT $3",
            REFUSAL_COLUMNS.join(", ")
        );
        let rows = sqlx::query(&sql)
            .bind(provider_id.unwrap_or(""))
            .bind(before_id.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(RefusalRow::from_row).collect()
    }

    pub async fn count_refusals_since(&self, provider_id: &str, since: i64) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM provider_refusals WHERE provider_id = $1 AND at >= $2")
            .bind(provider_id)
            .bind(since)
            .fetch_one(self.pool())
            .await?;
        Ok(row.try_get("n")?)
    }

    /// Payments still open whose upstream check is due, oldest due first.
    pub async fn due_provider_checks(&self, which: Waiting, now: i64, limit: i64) -> Result<Vec<DueCheck>> {
        let sql = format!(
            "SELECT id, provider, provider_check_at, created_at FROM {} WHERE provider_check_at <= $1 AND status IN ({}) \
             ORDER BY provider_check_at LIMIT $2",
            which.table(),
            which.open_statuses()
        );
        let rows = sqlx::query(&sql).bind(now).bind(limit).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(DueCheck {
                    id: r.try_get("id")?,
                    provider: r.try_get("provider")?,
                    check_at: r.try_get("provider_check_at")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }

    /// Moves a due check to `next` if it is still at `seen`: of several
    /// nodes, only the one whose update lands asks the upstream.
    pub async fn claim_provider_check(&self, which: Waiting, id: &str, seen: i64, next: Option<i64>) -> Result<bool> {
        let sql =
            format!("UPDATE {} SET provider_check_at = $3 WHERE id = $1 AND provider_check_at = $2", which.table());
        let done = sqlx::query(&sql).bind(id).bind(seen).bind(next).execute(self.pool()).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Which provider took a payout, with its reference and when to check.
    pub async fn set_payout_provider(
        &self,
        id: &str,
        provider: &str,
        reference: Option<&str>,
        check_at: Option<i64>,
    ) -> Result<()> {
        sqlx::query("UPDATE payouts SET provider = $2, provider_ref = $3, provider_check_at = $4, version = version + 1 WHERE id = $1")
            .bind(id)
            .bind(provider)
            .bind(reference)
            .bind(check_at)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Whether a keyed balance adjustment was already posted for the merchant.
    pub async fn adjustment_posted(&self, merchant_id: &str, key: &str) -> Result<bool> {
        let found = sqlx::query("SELECT 1 AS one FROM adjustments WHERE merchant_id = $1 AND idempotency_key = $2")
            .bind(merchant_id)
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    /// No more checks: the upstream's outcome is in.
    pub async fn end_provider_checks(&self, which: Waiting, id: &str) -> Result<()> {
        let sql = format!("UPDATE {} SET provider_check_at = NULL WHERE id = $1", which.table());
        sqlx::query(&sql).bind(id).execute(self.pool()).await?;
        Ok(())
    }
}
