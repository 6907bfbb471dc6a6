//! Merchant rows. Secrets arrive here already sealed (see
//! `paygate_core::secret_box`); this module never sees a plaintext secret.

use crate::db::{flag, Db, Result, StoreError};
use crate::time::now_micros;
use paygate_core::tokens::Mode;
use sqlx::any::AnyRow;
use sqlx::Row;

/// A sealed (encrypted) secret as stored. Redacted from `Debug` anyway: even
/// ciphertext has no business in logs.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed(pub String);

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealed(<redacted>)")
    }
}

#[derive(Clone, Debug)]
pub struct MerchantRecord {
    pub id: String,
    pub email: String,
    pub name: String,
    pub mode: Mode,
    pub enabled: bool,
    pub public_token: String,
    pub secret: Sealed,
    /// The secret before the last rotation, accepted until `prev_secret_expires_at`.
    pub prev_secret: Option<Sealed>,
    pub prev_secret_expires_at: Option<i64>,
    pub sign_body: bool,
    pub webhook_url: Option<String>,
    /// JSON array of CIDR strings; empty means any address.
    pub ip_allowlist: String,
    /// JSON documents validated by the server before they are stored.
    pub fees: String,
    pub limits: String,
    /// Requests per second on each node; `None`: the node's default.
    pub rate_limit_per_second: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

pub struct NewMerchant {
    pub id: String,
    pub email: String,
    pub name: String,
    pub mode: Mode,
    pub public_token: String,
    pub secret: Sealed,
}

/// A partial update; `None` leaves a field as it is. `webhook_url:
/// Some(None)` clears the URL.
#[derive(Default)]
pub struct MerchantPatch {
    pub name: Option<String>,
    pub mode: Option<Mode>,
    pub enabled: Option<bool>,
    pub sign_body: Option<bool>,
    pub webhook_url: Option<Option<String>>,
    pub ip_allowlist: Option<String>,
    pub fees: Option<String>,
    pub limits: Option<String>,
    /// `Some(None)` goes back to the node's default.
    pub rate_limit_per_second: Option<Option<i64>>,
}

const COLUMNS: &str = "id, email, name, mode, enabled, public_token, secret_sealed, prev_secret_sealed, \
    prev_secret_expires_at, sign_body, webhook_url, ip_allowlist, fees, limits, rate_limit_per_second, created_at, \
    updated_at";

fn from_row(row: &AnyRow) -> Result<MerchantRecord> {
    let mode: String = row.try_get("mode")?;
    Ok(MerchantRecord {
        id: row.try_get("id")?,
        email: row.try_get("email")?,
        name: row.try_get("name")?,
        mode: Mode::parse(&mode).ok_or_else(|| StoreError::Corrupt(format!("merchant mode {mode:?}")))?,
        enabled: flag(row, "enabled")?,
        public_token: row.try_get("public_token")?,
        secret: Sealed(row.try_get("secret_sealed")?),
        prev_secret: row.try_get::<Option<String>, _>("prev_secret_sealed")?.map(Sealed),
        prev_secret_expires_at: row.try_get("prev_secret_expires_at")?,
        sign_body: flag(row, "sign_body")?,
        webhook_url: row.try_get("webhook_url")?,
        ip_allowlist: row.try_get("ip_allowlist")?,
        fees: row.try_get("fees")?,
        limits: row.try_get("limits")?,
        rate_limit_per_second: row.try_get("rate_limit_per_second")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

impl Db {
    /// Inserts a merchant; a taken e-mail is `StoreError::Conflict`.
    pub async fn insert_merchant(&self, m: NewMerchant) -> Result<MerchantRecord> {
        let now = now_micros();
        sqlx::query(
            "INSERT INTO merchants (id, email, name, mode, enabled, public_token, secret_sealed, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $7)",
        )
        .bind(&m.id)
        .bind(&m.email)
        .bind(&m.name)
        .bind(m.mode.as_str())
        .bind(&m.public_token)
        .bind(&m.secret.0)
        .bind(now)
        .execute(self.pool())
        .await?;
        self.merchant(&m.id).await?.ok_or_else(|| StoreError::Corrupt("inserted merchant vanished".into()))
    }

    pub async fn merchant(&self, id: &str) -> Result<Option<MerchantRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM merchants WHERE id = $1");
        let row = sqlx::query(&sql).bind(id).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    pub async fn merchant_by_public_token(&self, token: &str) -> Result<Option<MerchantRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM merchants WHERE public_token = $1");
        let row = sqlx::query(&sql).bind(token).fetch_optional(self.pool()).await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Merchants ordered by id (creation order), `limit` after `cursor`.
    pub async fn list_merchants(&self, after: Option<&str>, limit: i64) -> Result<Vec<MerchantRecord>> {
        let sql = format!("SELECT {COLUMNS} FROM merchants WHERE id > $1 ORDER BY id LIMIT $2");
        let rows = sqlx::query(&sql).bind(after.unwrap_or("")).bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    /// Applies `patch` in one statement, so concurrent patches of different
    /// fields do not overwrite each other. Returns the row after the change.
    /// Setting a webhook URL releases, in the same transaction, the events
    /// that were waiting for one (see `events.rs`), due at once.
    pub async fn update_merchant(&self, id: &str, p: MerchantPatch) -> Result<Option<MerchantRecord>> {
        let (set_url, url) = match p.webhook_url {
            Some(v) => (1i64, v),
            None => (0i64, None),
        };
        let (set_rate, rate) = match p.rate_limit_per_second {
            Some(v) => (1i64, v),
            None => (0i64, None),
        };
        let releases_waiting = set_url == 1 && url.is_some();
        let now = now_micros();
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE merchants SET \
               name = COALESCE($2, name), \
               mode = COALESCE($3, mode), \
               enabled = COALESCE($4, enabled), \
               sign_body = COALESCE($5, sign_body), \
               webhook_url = CASE WHEN $6 = 1 THEN $7 ELSE webhook_url END, \
               ip_allowlist = COALESCE($8, ip_allowlist), \
               fees = COALESCE($9, fees), \
               limits = COALESCE($10, limits), \
               updated_at = $11, \
               rate_limit_per_second = CASE WHEN $12 = 1 THEN $13 ELSE rate_limit_per_second END \
             WHERE id = $1",
        )
        .bind(id)
        .bind(p.name)
        .bind(p.mode.map(|m| m.as_str()))
        .bind(p.enabled.map(i64::from))
        .bind(p.sign_body.map(i64::from))
        .bind(set_url)
        .bind(url)
        .bind(p.ip_allowlist)
        .bind(p.fees)
        .bind(p.limits)
        .bind(now)
        .bind(set_rate)
        .bind(rate)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        if releases_waiting {
            sqlx::query("UPDATE events SET status = 'pending', next_attempt_at = $2 WHERE merchant_id = $1 AND status = 'waiting'")
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.merchant(id).await
    }

    /// Installs `new_secret`; the current one stays valid until
    /// `grace_until` (microseconds). Done in one statement so the "previous"
    /// secret is always the one that was current when the rotation happened.
    pub async fn rotate_merchant_secret(
        &self,
        id: &str,
        new_secret: Sealed,
        grace_until: i64,
    ) -> Result<Option<MerchantRecord>> {
        let done = sqlx::query(
            "UPDATE merchants SET prev_secret_sealed = secret_sealed, prev_secret_expires_at = $3, \
             secret_sealed = $2, updated_at = $4 WHERE id = $1",
        )
        .bind(id)
        .bind(new_secret.0)
        .bind(grace_until)
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.merchant(id).await
    }
}
