//! Exchange order rows: creating one (idempotent on the partner's order id,
//! with a crypto address reserved from the pool when it is paid in crypto)
//! and reading them back.

use crate::db::{Db, Result, StoreError};
use crate::sql::{bind_all, insert_sql};
use paygate_core::exchange::lifecycle::OrderStatus;
use paygate_core::tokens::Mode;
use sqlx::Row;

crate::table_row! {
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct OrderRow, columns ORDER_COLUMNS {
        /// `ex_…`, the order's `client_order_id`.
        pub id: String,
        pub merchant_id: String,
        pub partner_order_id: String,
        /// Hash of the create request's fields: a repeat must match it.
        pub request_digest: String,
        pub mode: Mode,
        /// `order` (API create) or `purchase` (`ecommerce/purchase_url`).
        pub kind: String,
        pub status: OrderStatus,
        /// JSON `[{"at": micros, "status": "…"}, …]`.
        pub status_log: String,
        pub payin_currency: Option<String>,
        pub payin_group: Option<String>,
        pub payin_amount: Option<i64>,
        pub payin_fee: i64,
        pub margin_fee: i64,
        pub payout_currency: String,
        pub payout_group: String,
        pub payout_amount: Option<i64>,
        /// The payout quoted at creation; `payout_amount` follows the payin.
        pub expected_payout_amount: Option<i64>,
        pub payout_fee: i64,
        /// The locked price: `ask` or `bid`, and its decimal value.
        pub rate_side: Option<String>,
        pub rate_value: Option<String>,
        /// The partner's fee percentages when the order was made.
        pub payin_percent: String,
        pub margin_percent: String,
        pub dst_address: Option<String>,
        pub dst_tag: Option<i64>,
        pub memo: Option<String>,
        pub client_email: Option<String>,
        pub callback_url: Option<String>,
        pub website: Option<String>,
        pub plugin_name: Option<String>,
        /// The pool entry whose address the customer pays to.
        pub requisite_id: Option<String>,
        pub crypto_address: Option<String>,
        pub crypto_network: Option<String>,
        pub crypto_delay: Option<i64>,
        pub payin_txid: Option<String>,
        pub payout_txid: Option<String>,
        pub card_number: Option<String>,
        pub error_message: Option<String>,
        /// The hosted page's random token (`/pay/{token}`).
        pub pay_token: String,
        pub expires_at: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub finished_at: Option<i64>,
    }
}

/// A crypto address of the pool an order may take.
#[derive(Clone, Debug)]
pub struct AddressOffer {
    pub requisite_id: String,
    pub address: String,
    pub network: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateOrderError {
    /// The partner's order id was used with other fields.
    #[error("partner_order_id already used with different parameters")]
    Duplicate,
    /// Every address of the pool for this currency serves a waiting order.
    #[error("no free crypto address for this currency")]
    NoAddress,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A create's answer: the order, and whether this request made it.
pub struct CreatedOrder {
    pub row: OrderRow,
    pub created: bool,
}

fn columns() -> String {
    ORDER_COLUMNS.join(", ")
}

/// Pool entries whose address serves a waiting order.
pub(crate) const TAKEN_ADDRESSES: &str = "SELECT requisite_id FROM exchange_orders WHERE requisite_id IS NOT NULL \
     AND status IN ('payin_pending', 'confirmation_pending')";

impl Db {
    /// Inserts `row` unless the partner's order id exists (an identical
    /// repeat answers the existing order). With `addresses`, the first one no
    /// waiting order holds is reserved for it.
    pub async fn create_exchange_order(
        &self,
        mut row: OrderRow,
        addresses: &[AddressOffer],
    ) -> std::result::Result<CreatedOrder, CreateOrderError> {
        // One autocommit INSERT that skips any unique conflict, so a create
        // costs one round trip and one commit (concurrent commits share a
        // WAL flush on PostgreSQL). When nothing went in, the order id
        // exists (a repeat, answered from the row; a concurrent create of it
        // has committed by then) or the chosen address was just taken by
        // another order: the next free one is tried.
        let sql =
            insert_sql(self.backend(), "exchange_orders", ORDER_COLUMNS, 1, " ON CONFLICT DO NOTHING RETURNING id");
        let mut tried: Vec<&str> = Vec::new();
        for _ in 0..=addresses.len().min(16) {
            if !addresses.is_empty() {
                let taken = self.taken_addresses().await?;
                let free = addresses
                    .iter()
                    .find(|a| !taken.contains(&a.requisite_id) && !tried.contains(&a.requisite_id.as_str()))
                    .ok_or(CreateOrderError::NoAddress)?;
                tried.push(&free.requisite_id);
                row.requisite_id = Some(free.requisite_id.clone());
                row.crypto_address = Some(free.address.clone());
                row.crypto_network = free.network.clone();
            }
            // The connection first: a turn holder never waits for the pool.
            let mut conn = self.pool().acquire().await.map_err(StoreError::from)?;
            let turn = self.write_turn().await;
            let inserted =
                bind_all(sqlx::query(&sql), row.params()).fetch_optional(&mut *conn).await.map_err(StoreError::from)?;
            drop(turn);
            drop(conn);
            if inserted.is_some() {
                return Ok(CreatedOrder { row, created: true });
            }
            if let Some(found) = self.exchange_order_by_partner_id(&row.merchant_id, &row.partner_order_id).await? {
                return if found.request_digest == row.request_digest {
                    Ok(CreatedOrder { row: found, created: false })
                } else {
                    Err(CreateOrderError::Duplicate)
                };
            }
            if addresses.is_empty() {
                // Neither the order id nor an address: a fresh id or page
                // token collided, which 80 random bits make a curiosity.
                return Err(CreateOrderError::Store(StoreError::Conflict("exchange order id collided".into())));
            }
        }
        Err(CreateOrderError::NoAddress)
    }

    /// Pool entries whose address serves a waiting order.
    async fn taken_addresses(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(TAKEN_ADDRESSES).fetch_all(self.pool()).await?;
        rows.iter().map(|r| Ok(r.try_get("requisite_id")?)).collect()
    }

    pub async fn exchange_order(&self, id: &str) -> Result<Option<OrderRow>> {
        let row = sqlx::query(&format!("SELECT {} FROM exchange_orders WHERE id = $1", columns()))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(OrderRow::from_row).transpose()
    }

    pub async fn exchange_order_by_partner_id(
        &self,
        merchant_id: &str,
        partner_order_id: &str,
    ) -> Result<Option<OrderRow>> {
        let row = sqlx::query(&format!(
            "SELECT {} FROM exchange_orders WHERE merchant_id = $1 AND partner_order_id = $2",
            columns()
        ))
        .bind(merchant_id)
        .bind(partner_order_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(OrderRow::from_row).transpose()
    }

    pub async fn exchange_order_by_token(&self, token: &str) -> Result<Option<OrderRow>> {
        let row = sqlx::query(&format!("SELECT {} FROM exchange_orders WHERE pay_token = $1", columns()))
            .bind(token)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(OrderRow::from_row).transpose()
    }

    /// Orders matching `f`, newest first, and (with `f.with_total`) how
    /// many match in all.
    pub async fn search_exchange_orders(&self, f: &OrderFilter) -> Result<(Vec<OrderRow>, Option<i64>)> {
        let mut cond = vec!["1 = 1".to_string()];
        let mut params: Vec<crate::sql::P> = Vec::new();
        let mut add = |sql: &str, p: crate::sql::P, params: &mut Vec<crate::sql::P>| {
            params.push(p);
            cond.push(sql.replace('?', &format!("${}", params.len())));
        };
        if let Some(m) = &f.merchant_id {
            add("merchant_id = ?", m.clone().into(), &mut params);
        }
        if let Some(p) = &f.partner_order_id {
            add("partner_order_id = ?", p.clone().into(), &mut params);
        }
        if let Some(s) = &f.status {
            add("status = ?", s.as_str().to_string().into(), &mut params);
        }
        if let Some(t) = f.created_from {
            add("created_at >= ?", t.into(), &mut params);
        }
        if let Some(t) = f.created_to {
            add("created_at < ?", t.into(), &mut params);
        }
        if let Some(a) = &f.before_id {
            add("id < ?", a.clone().into(), &mut params);
        }
        let cond = cond.join(" AND ");
        // Only the version-1 list reports a total; the other lists page by cursor.
        let total: Option<i64> = match f.with_total {
            true => {
                let total_sql = format!("SELECT COUNT(*) AS n FROM exchange_orders WHERE {cond}");
                Some(bind_all(sqlx::query(&total_sql), params.clone()).fetch_one(self.pool()).await?.try_get("n")?)
            }
            false => None,
        };
        let sql = format!(
            "SELECT {} FROM exchange_orders WHERE {cond} ORDER BY id DESC LIMIT {} OFFSET {}",
            columns(),
            f.limit.clamp(1, 500),
            f.offset.max(0)
        );
        let rows = bind_all(sqlx::query(&sql), params).fetch_all(self.pool()).await?;
        Ok((rows.iter().map(OrderRow::from_row).collect::<Result<_>>()?, total))
    }

    /// Orders still waiting for their payin past `now`, oldest first. One
    /// whose payin was seen (`confirmation_pending`) is not expired: the
    /// money is on its way, and the operator settles it.
    pub async fn overdue_exchange_orders(&self, now: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM exchange_orders WHERE status = 'payin_pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    /// Test-mode orders paid but not finished, last changed before `before`:
    /// the sandbox finishes them (also after a restart cut it short).
    pub async fn unfinished_test_orders(&self, before: i64, limit: i64) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT id FROM exchange_orders WHERE mode = 'test' \
             AND status IN ('auth_success', 'processing', 'processing_payout') AND updated_at <= $1 \
             ORDER BY updated_at LIMIT $2",
        )
        .bind(before)
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }
}

/// Filters of the operator's order search (and the partner's list).
#[derive(Debug, Default, Clone)]
pub struct OrderFilter {
    pub merchant_id: Option<String>,
    pub partner_order_id: Option<String>,
    pub status: Option<OrderStatus>,
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub before_id: Option<String>,
    pub limit: i64,
    pub offset: i64,
    /// Also count every match (one more query).
    pub with_total: bool,
}
