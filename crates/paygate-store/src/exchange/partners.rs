//! Partner credentials (API.md 9.1). Secrets arrive sealed; this module
//! never sees a plaintext secret.

use crate::db::{Db, Result};
use crate::merchants::Sealed;
use crate::time::now_micros;
use sqlx::Row;

crate::table_row! {
    #[derive(Clone, Debug)]
    pub struct PartnerRecord, columns PARTNER_COLUMNS {
        pub merchant_id: String,
        /// Identifies the partner in `API-Key`; not a secret.
        pub api_key: String,
        pub secret_sealed: Sealed,
        /// The request secret before the last rotation, accepted until
        /// `prev_secret_expires_at`.
        pub prev_secret_sealed: Option<Sealed>,
        pub prev_secret_expires_at: Option<i64>,
        pub callback_secret_sealed: Sealed,
        /// `padded` (PHP's `base64_encode`) or `unpadded` (Perl's form).
        pub signature_padding: String,
        pub callback_url: Option<String>,
        pub enabled: bool,
        /// JSON validated by the server: percentages and fixed payout fees.
        pub exchange_fees: String,
        pub created_at: i64,
        pub updated_at: i64,
    }
}

/// A partial update; `callback_url: Some(None)` clears the URL.
#[derive(Default)]
pub struct PartnerPatch {
    pub callback_url: Option<Option<String>>,
    pub signature_padding: Option<String>,
    pub enabled: Option<bool>,
    pub exchange_fees: Option<String>,
}

/// New secrets after a rotation; the old request secret stays valid until
/// `grace_until`.
pub struct Rotation {
    pub secret: Sealed,
    pub callback_secret: Sealed,
    pub grace_until: i64,
}

fn select() -> String {
    format!("SELECT {} FROM partners", PARTNER_COLUMNS.join(", "))
}

impl Db {
    /// `None` when the merchant already is a partner.
    pub async fn insert_partner(&self, p: &PartnerRecord) -> Result<Option<PartnerRecord>> {
        let sql = crate::sql::insert_sql(self.backend(), "partners", PARTNER_COLUMNS, 1, " ON CONFLICT DO NOTHING");
        let done = crate::sql::bind_all(sqlx::query(&sql), p.params()).execute(self.pool()).await?;
        Ok((done.rows_affected() == 1).then(|| p.clone()))
    }

    pub async fn partner(&self, merchant_id: &str) -> Result<Option<PartnerRecord>> {
        let row = sqlx::query(&format!("{} WHERE merchant_id = $1", select()))
            .bind(merchant_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(PartnerRecord::from_row).transpose()
    }

    pub async fn partner_by_api_key(&self, api_key: &str) -> Result<Option<PartnerRecord>> {
        let row =
            sqlx::query(&format!("{} WHERE api_key = $1", select())).bind(api_key).fetch_optional(self.pool()).await?;
        row.as_ref().map(PartnerRecord::from_row).transpose()
    }

    /// Applies `p`; a callback URL set releases the partner's callbacks that
    /// waited for one. `None` when the merchant is no partner.
    pub async fn update_partner(&self, merchant_id: &str, p: PartnerPatch) -> Result<Option<PartnerRecord>> {
        let now = now_micros();
        let (set_url, url) = match &p.callback_url {
            Some(u) => (1i64, u.clone()),
            None => (0, None),
        };
        let mut tx = self.pool().begin().await?;
        let done = sqlx::query(
            "UPDATE partners SET callback_url = CASE WHEN $2 = 1 THEN $3 ELSE callback_url END, \
             signature_padding = COALESCE($4, signature_padding), enabled = COALESCE($5, enabled), \
             exchange_fees = COALESCE($6, exchange_fees), updated_at = $7 WHERE merchant_id = $1",
        )
        .bind(merchant_id)
        .bind(set_url)
        .bind(&url)
        .bind(&p.signature_padding)
        .bind(p.enabled.map(i64::from))
        .bind(&p.exchange_fees)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        if set_url == 1 && url.is_some() {
            sqlx::query(
                "UPDATE events SET status = 'pending', next_attempt_at = $2 \
                 WHERE merchant_id = $1 AND status = 'waiting' AND event_type LIKE 'client_order.%'",
            )
            .bind(merchant_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.partner(merchant_id).await
    }

    pub async fn rotate_partner_secrets(&self, merchant_id: &str, r: Rotation) -> Result<Option<PartnerRecord>> {
        let done = sqlx::query(
            "UPDATE partners SET prev_secret_sealed = secret_sealed, prev_secret_expires_at = $2, \
             secret_sealed = $3, callback_secret_sealed = $4, updated_at = $5 WHERE merchant_id = $1",
        )
        .bind(merchant_id)
        .bind(r.grace_until)
        .bind(&r.secret.0)
        .bind(&r.callback_secret.0)
        .bind(now_micros())
        .execute(self.pool())
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.partner(merchant_id).await
    }

    /// How many partners exist (for the operator's overview).
    pub async fn partner_count(&self) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM partners").fetch_one(self.pool()).await?;
        Ok(row.try_get("n")?)
    }
}
