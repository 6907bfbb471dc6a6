//! PayIn and PayOut rows and their reads. Writes that change money go
//! through the batching [`crate::writer`]; this module only reads.

use crate::db::{Db, Result};
use crate::sql::{bind_all, placeholders, P};
use paygate_core::ids::{MerchantId, PayInId, PayOutId};
use paygate_core::money::CurrencyCode;
use paygate_core::payments::{MerchantOrderId, Method, PayInStatus, PayOutStatus};
use paygate_core::tokens::Mode;
use sqlx::Row;

crate::table_row! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PayInRow, columns PAYIN_COLUMNS {
        pub id: PayInId,
        pub merchant_id: MerchantId,
        pub merchant_order_id: MerchantOrderId,
        pub status: PayInStatus,
        pub amount: i64,
        pub original_amount: i64,
        pub fee: i64,
        pub fee_percent_e4: i64,
        pub fee_fixed: i64,
        pub currency: CurrencyCode,
        pub method: Method,
        pub mode: Mode,
        pub provider: String,
        pub requisite_id: Option<String>,
        /// JSON object: what the payer pays to.
        pub requisites: String,
        pub customer_id: String,
        pub customer_ip: Option<String>,
        pub customer_email: Option<String>,
        pub callback_url: Option<String>,
        pub return_url: Option<String>,
        pub ttl_seconds: i64,
        pub metadata: Option<String>,
        /// Digest of the creating request, for the idempotency comparison.
        pub request_digest: String,
        pub has_open_dispute: bool,
        pub failure_reason: Option<String>,
        pub expires_at: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub completed_at: Option<i64>,
        /// The hosted page's random token (`/pay/{token}`); none for payins
        /// made before pages existed.
        pub pay_token: Option<String>,
        /// The provider's own reference (an upstream order id).
        pub provider_ref: Option<String>,
        /// The upstream's page for the payer, which then is the `pay_url`.
        pub provider_pay_url: Option<String>,
        /// When to ask the upstream about this payin if no callback came.
        pub provider_check_at: Option<i64>,
    }
}

crate::table_row! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct PayOutRow, columns PAYOUT_COLUMNS {
        pub id: PayOutId,
        pub merchant_id: MerchantId,
        pub merchant_order_id: MerchantOrderId,
        pub status: PayOutStatus,
        pub amount: i64,
        pub fee: i64,
        pub currency: CurrencyCode,
        pub method: Method,
        pub mode: Mode,
        pub provider: String,
        /// JSON object, masked: what every response and log shows.
        pub destination_masked: String,
        /// The full destination, sealed with the master key: only the provider
        /// (and the operator executing a manual payout) opens it.
        pub destination_sealed: String,
        pub customer_id: Option<String>,
        pub callback_url: Option<String>,
        pub metadata: Option<String>,
        pub request_digest: String,
        pub failure_reason: Option<String>,
        pub created_at: i64,
        pub updated_at: i64,
        pub completed_at: Option<i64>,
        pub provider_ref: Option<String>,
        pub provider_check_at: Option<i64>,
    }
}

/// Which payment kind a query is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    PayIn,
    PayOut,
}

impl Kind {
    /// As the statistics rollups name it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PayIn => "payin",
            Kind::PayOut => "payout",
        }
    }

    pub fn table(self) -> &'static str {
        match self {
            Kind::PayIn => "payins",
            Kind::PayOut => "payouts",
        }
    }
}

/// Filters of the list and search endpoints. `merchant_id: None` searches
/// across merchants (operators only). Hashable so that equal list requests
/// can share one read (the server's list pages).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ListFilter {
    pub merchant_id: Option<String>,
    pub statuses: Vec<String>,
    pub currency: Option<String>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub amount_min: Option<i64>,
    pub amount_max: Option<i64>,
    pub ids: Vec<String>,
    pub merchant_order_id: Option<String>,
    /// Return rows with ids lower than this (newest first paging).
    pub before_id: Option<String>,
    pub limit: i64,
}

impl ListFilter {
    /// At most one row by id or order id, within `merchant_id` when given.
    pub fn one(merchant_id: Option<&str>, id: Option<&str>, order_id: Option<&str>) -> ListFilter {
        ListFilter {
            merchant_id: merchant_id.map(str::to_string),
            ids: id.map(|i| vec![i.to_string()]).unwrap_or_default(),
            merchant_order_id: order_id.map(str::to_string),
            limit: 1,
            ..Default::default()
        }
    }

    /// WHERE clause and parameters shared by payins and payouts.
    fn where_clause(&self) -> (String, Vec<P>) {
        let mut conds: Vec<String> = Vec::new();
        let mut params: Vec<P> = Vec::new();
        let mut push = |cond: &dyn Fn(usize) -> String, p: P, params: &mut Vec<P>| {
            params.push(p);
            conds.push(cond(params.len()));
        };
        if let Some(m) = &self.merchant_id {
            push(&|n| format!("merchant_id = ${n}"), m.clone().into(), &mut params);
        }
        if let Some(c) = &self.currency {
            push(&|n| format!("currency = ${n}"), c.clone().into(), &mut params);
        }
        if let Some(v) = self.created_from {
            push(&|n| format!("created_at >= ${n}"), v.into(), &mut params);
        }
        if let Some(v) = self.created_to {
            push(&|n| format!("created_at < ${n}"), v.into(), &mut params);
        }
        if let Some(v) = self.amount_min {
            push(&|n| format!("amount >= ${n}"), v.into(), &mut params);
        }
        if let Some(v) = self.amount_max {
            push(&|n| format!("amount <= ${n}"), v.into(), &mut params);
        }
        if let Some(v) = &self.merchant_order_id {
            push(&|n| format!("merchant_order_id = ${n}"), v.clone().into(), &mut params);
        }
        if let Some(v) = &self.before_id {
            push(&|n| format!("id < ${n}"), v.clone().into(), &mut params);
        }
        if !self.statuses.is_empty() {
            let start = params.len() + 1;
            params.extend(self.statuses.iter().map(|s| P::from(s.clone())));
            conds.push(format!("status IN ({})", placeholders(start, self.statuses.len())));
        }
        if !self.ids.is_empty() {
            let start = params.len() + 1;
            params.extend(self.ids.iter().map(|s| P::from(s.clone())));
            conds.push(format!("id IN ({})", placeholders(start, self.ids.len())));
        }
        let clause = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        (clause, params)
    }

    fn select(&self, kind: Kind) -> (String, Vec<P>) {
        let (clause, mut params) = self.where_clause();
        params.push(self.limit.into());
        let cols = match kind {
            Kind::PayIn => PAYIN_COLUMNS.join(", "),
            Kind::PayOut => PAYOUT_COLUMNS.join(", "),
        };
        (format!("SELECT {cols} FROM {}{clause} ORDER BY id DESC LIMIT ${}", kind.table(), params.len()), params)
    }
}

impl Db {
    pub async fn list_payins(&self, filter: &ListFilter) -> Result<Vec<PayInRow>> {
        let (sql, params) = filter.select(Kind::PayIn);
        // The engine's own driver (see `crate::native`): a page is 20+ rows of 33 columns.
        self.native.fetch_decoded(&sql, params).await
    }

    pub async fn list_payouts(&self, filter: &ListFilter) -> Result<Vec<PayOutRow>> {
        let (sql, params) = filter.select(Kind::PayOut);
        self.native.fetch_decoded(&sql, params).await
    }

    /// One payin by id, or by the merchant's order id, within `merchant_id`
    /// when given: another merchant's payin is simply not found.
    pub async fn payin(
        &self,
        merchant_id: Option<&str>,
        id: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<PayInRow>> {
        let f = ListFilter::one(merchant_id, id, order_id);
        Ok(self.list_payins(&f).await?.into_iter().next())
    }

    /// The payin whose hosted page has this token.
    pub async fn payin_by_token(&self, token: &str) -> Result<Option<PayInRow>> {
        let sql = format!("SELECT {} FROM payins WHERE pay_token = $1", PAYIN_COLUMNS.join(", "));
        let row = sqlx::query(&sql).bind(token).fetch_optional(self.pool()).await?;
        row.as_ref().map(PayInRow::from_row).transpose()
    }

    pub async fn payout(
        &self,
        merchant_id: Option<&str>,
        id: Option<&str>,
        order_id: Option<&str>,
    ) -> Result<Option<PayOutRow>> {
        let f = ListFilter::one(merchant_id, id, order_id);
        Ok(self.list_payouts(&f).await?.into_iter().next())
    }

    /// Pending payins whose deadline has passed, oldest first. An upstream's
    /// payins are left to its word (callback or reconciliation) instead.
    pub async fn due_payins(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM payins WHERE status = 'pending' AND expires_at <= $1 AND provider_check_at IS NULL \
             ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| r.try_get::<String, _>("id").map_err(Into::into)).collect()
    }

    /// Amounts of pending payins per requisite, for telling concurrent
    /// payins on the same requisites apart.
    pub async fn pending_amounts_on_requisites(&self, requisite_ids: &[String]) -> Result<Vec<(String, i64)>> {
        if requisite_ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT requisite_id, amount FROM payins WHERE status = 'pending' AND requisite_id IN ({})",
            placeholders(1, requisite_ids.len())
        );
        let params = requisite_ids.iter().map(|s| P::from(s.clone())).collect();
        let rows = bind_all(sqlx::query(&sql), params).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok((r.try_get::<String, _>("requisite_id")?, r.try_get::<i64, _>("amount")?))).collect()
    }
}
