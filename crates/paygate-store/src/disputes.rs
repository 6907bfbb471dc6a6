//! Dispute rows and their reads. Opening and resolving a dispute moves money,
//! so those writes go through the batching [`crate::writer`].

use crate::db::{Db, Result};
use crate::sql::{bind_all, placeholders, P};
use paygate_core::disputes::DisputeStatus;
use paygate_core::ids::{DisputeId, MerchantId, PayInId};
use paygate_core::money::CurrencyCode;
use paygate_core::tokens::Mode;
use sqlx::Row;

crate::table_row! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct DisputeRow, columns DISPUTE_COLUMNS {
        pub id: DisputeId,
        pub merchant_id: MerchantId,
        pub payin_id: PayInId,
        pub mode: Mode,
        pub status: DisputeStatus,
        pub claimed_amount: i64,
        pub resolved_amount: Option<i64>,
        pub currency: CurrencyCode,
        pub comment: Option<String>,
        /// Moved from `available` to `frozen` when the dispute opened.
        pub frozen_amount: i64,
        pub receipt_filename: String,
        pub receipt_content_type: String,
        pub receipt_size: i64,
        /// Lowercase hex SHA-256 of the stored receipt bytes.
        pub receipt_sha256: String,
        pub resolution_reason: Option<String>,
        pub resolution_comment: Option<String>,
        /// Where its webhooks go: the payin's `callback_url` when it had one.
        pub callback_url: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
        pub resolved_at: Option<i64>,
    }
}

/// Filters of the dispute list and search endpoints, newest first.
/// `merchant_id: None` searches across merchants (operators only).
#[derive(Clone, Debug, Default)]
pub struct DisputeFilter {
    pub merchant_id: Option<String>,
    pub ids: Vec<String>,
    pub payin_id: Option<String>,
    pub statuses: Vec<String>,
    pub currency: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    pub before_id: Option<String>,
    pub limit: i64,
}

impl DisputeFilter {
    fn select(&self) -> (String, Vec<P>) {
        let mut conds: Vec<String> = Vec::new();
        let mut params: Vec<P> = Vec::new();
        let mut eq = |column: &str, op: &str, value: P| {
            params.push(value);
            conds.push(format!("{column} {op} ${}", params.len()));
        };
        let text = |v: &Option<String>| v.clone().map(P::from);
        for (column, op, value) in [
            ("merchant_id", "=", text(&self.merchant_id)),
            ("payin_id", "=", text(&self.payin_id)),
            ("currency", "=", text(&self.currency)),
            ("created_at", ">=", self.created_from.map(P::from)),
            ("created_at", "<", self.created_to.map(P::from)),
            ("claimed_amount", ">=", self.amount_min.map(P::from)),
            ("claimed_amount", "<=", self.amount_max.map(P::from)),
            ("id", "<", text(&self.before_id)),
        ] {
            if let Some(v) = value {
                eq(column, op, v);
            }
        }
        for (column, values) in [("status", &self.statuses), ("id", &self.ids)] {
            if !values.is_empty() {
                let start = params.len() + 1;
                params.extend(values.iter().map(|s| P::from(s.clone())));
                conds.push(format!("{column} IN ({})", placeholders(start, values.len())));
            }
        }
        let clause = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        params.push(self.limit.into());
        let sql = format!(
            "SELECT {} FROM disputes{clause} ORDER BY id DESC LIMIT ${}",
            DISPUTE_COLUMNS.join(", "),
            params.len()
        );
        (sql, params)
    }
}

/// A stored receipt as the operator downloads it.
pub struct Receipt {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

impl Db {
    pub async fn list_disputes(&self, filter: &DisputeFilter) -> Result<Vec<DisputeRow>> {
        let (sql, params) = filter.select();
        let rows = bind_all(sqlx::query(&sql), params).fetch_all(self.pool()).await?;
        rows.iter().map(DisputeRow::from_row).collect()
    }

    /// One dispute, within `merchant_id` when given: another merchant's
    /// dispute is simply not found.
    pub async fn dispute(&self, merchant_id: Option<&str>, id: &str) -> Result<Option<DisputeRow>> {
        let filter = DisputeFilter {
            merchant_id: merchant_id.map(str::to_string),
            ids: vec![id.to_string()],
            limit: 1,
            ..Default::default()
        };
        Ok(self.list_disputes(&filter).await?.into_iter().next())
    }

    pub async fn dispute_receipt(&self, dispute_id: &str) -> Result<Option<Receipt>> {
        let row = sqlx::query(
            "SELECT d.receipt_filename, d.receipt_content_type, r.data FROM disputes d \
             JOIN dispute_receipts r ON r.dispute_id = d.id WHERE d.id = $1",
        )
        .bind(dispute_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|r| {
            Ok(Receipt {
                filename: r.try_get("receipt_filename")?,
                content_type: r.try_get("receipt_content_type")?,
                data: r.try_get("data")?,
            })
        })
        .transpose()
    }
}
