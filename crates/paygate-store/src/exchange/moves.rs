//! Moving an exchange order: its new state, its ledger postings and its
//! partner callback, in one transaction. What the move does is decided
//! outside (by `paygate_core::exchange` through the caller's plan); this
//! locks the row, hands it to the plan, and writes what came back.

use super::orders::{OrderRow, ORDER_COLUMNS};
use super::post::{post, PostContext, Transfer};
use crate::db::{Db, Result, StoreError};
use crate::dialect::{begin_write, for_update};
use paygate_core::exchange::lifecycle::{order_move, OrderCurrency, OrderMoney};
use paygate_core::ids::{new_monotonic_id, IdKind};
use sqlx::Row;

/// Why a plan refused a move; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum MoveOrderError<E> {
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Refused(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How choosing a purchase order's payin currency ended.
#[derive(Debug)]
pub enum Chosen {
    Done(Box<OrderRow>),
    NotFound,
    /// The plan declined (the order is past choosing).
    Declined,
    /// Every address for the currency serves a waiting order.
    NoAddress,
}

/// Renders the callback body of an order as it is after a move.
pub type RenderOrder<'a> = &'a (dyn Fn(&OrderRow) -> String + Send + Sync);

impl Db {
    /// Locks order `id` (only when it belongs to `merchant`, if given), asks
    /// `plan` for its next state, and writes that state with the postings
    /// its status change implies and one callback event.
    pub async fn move_exchange_order<E, F>(
        &self,
        id: &str,
        merchant: Option<&str>,
        now: i64,
        plan: F,
        render: RenderOrder<'_>,
    ) -> std::result::Result<OrderRow, MoveOrderError<E>>
    where
        F: FnOnce(&OrderRow) -> std::result::Result<OrderRow, E>,
        E: From<paygate_core::exchange::lifecycle::MoveError>,
    {
        let backend = self.backend();
        // The connection first: a turn holder never waits for the pool.
        let mut conn = self.pool().acquire().await.map_err(StoreError::from)?;
        let _turn = self.write_turn().await;
        let mut tx = begin_write(backend, &mut conn).await.map_err(StoreError::from)?;
        let sql =
            format!("SELECT {} FROM exchange_orders WHERE id = $1{}", ORDER_COLUMNS.join(", "), for_update(backend));
        let found = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await.map_err(StoreError::from)?;
        let current = match found {
            Some(r) => OrderRow::from_row(&r)?,
            None => return Err(MoveOrderError::NotFound),
        };
        if merchant.is_some_and(|m| m != current.merchant_id) {
            return Err(MoveOrderError::NotFound);
        }
        let next = plan(&current).map_err(MoveOrderError::Refused)?;
        let money = OrderMoney {
            payin: next.payin_amount.unwrap_or(0),
            payin_fee: next.payin_fee,
            margin_fee: next.margin_fee,
            payout: next.payout_amount.unwrap_or(0),
            payout_fee: next.payout_fee,
            to_balance: next.payout_group == "balance",
        };
        let postings = order_move(current.status, next.status, money).map_err(|e| MoveOrderError::Refused(e.into()))?;
        let payin_currency = next.payin_currency.clone().unwrap_or_default();
        let transfers: Vec<Transfer<'_>> = postings
            .into_iter()
            .map(|p| Transfer {
                currency: match p.currency {
                    OrderCurrency::Payin => payin_currency.as_str(),
                    OrderCurrency::Payout => next.payout_currency.as_str(),
                },
                legs: p.legs,
                reason: p.reason,
            })
            .collect();
        let ctx = PostContext {
            merchant: &next.merchant_id,
            mode: next.mode.as_str(),
            ref_type: "exchange_order",
            ref_id: &next.id,
            now,
        };
        post(&mut tx, backend, &ctx, &transfers).await?;
        update_row(&mut tx, &next).await?;
        let sequence: i64 = sqlx::query("SELECT COALESCE(MAX(sequence), 0) AS s FROM events WHERE object_id = $1")
            .bind(&next.id)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .try_get("s")
            .map_err(StoreError::from)?;
        sqlx::query(
            "INSERT INTO events (id, merchant_id, event_type, object_id, sequence, callback_url, body, \
             next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(new_monotonic_id(IdKind::Event))
        .bind(&next.merchant_id)
        .bind(format!("client_order.{}", next.status.as_str()))
        .bind(&next.id)
        .bind(sequence + 1)
        .bind(&next.callback_url)
        .bind(render(&next))
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(next)
    }

    /// A `purchase_url` order's payin currency, chosen by its customer:
    /// `plan` gives the order with its payin terms (`None`: it cannot choose
    /// now), and with `addresses` one free crypto address is reserved.
    pub async fn choose_exchange_payin<F>(
        &self,
        id: &str,
        merchant: &str,
        plan: F,
        addresses: &[super::orders::AddressOffer],
    ) -> Result<Chosen>
    where
        F: Fn(&OrderRow) -> Option<OrderRow>,
    {
        // Two orders may pick the same free address at once on PostgreSQL;
        // the unique index refuses the second, which then tries again.
        for _ in 0..5 {
            match self.try_choose(id, merchant, &plan, addresses).await {
                Err(StoreError::Conflict(_)) => continue,
                other => return other,
            }
        }
        Ok(Chosen::NoAddress)
    }

    async fn try_choose<F>(
        &self,
        id: &str,
        merchant: &str,
        plan: &F,
        addresses: &[super::orders::AddressOffer],
    ) -> Result<Chosen>
    where
        F: Fn(&OrderRow) -> Option<OrderRow>,
    {
        let backend = self.backend();
        // The connection first: a turn holder never waits for the pool.
        let mut conn = self.pool().acquire().await?;
        let _turn = self.write_turn().await;
        let mut tx = begin_write(backend, &mut conn).await?;
        let sql =
            format!("SELECT {} FROM exchange_orders WHERE id = $1{}", ORDER_COLUMNS.join(", "), for_update(backend));
        let Some(found) = sqlx::query(&sql).bind(id).fetch_optional(&mut *tx).await? else {
            return Ok(Chosen::NotFound);
        };
        let current = OrderRow::from_row(&found)?;
        if current.merchant_id != merchant {
            return Ok(Chosen::NotFound);
        }
        let Some(mut next) = plan(&current) else { return Ok(Chosen::Declined) };
        if !addresses.is_empty() {
            let taken: Vec<String> = sqlx::query(super::orders::TAKEN_ADDRESSES)
                .fetch_all(&mut *tx)
                .await?
                .iter()
                .map(|r| r.try_get("requisite_id"))
                .collect::<std::result::Result<_, _>>()?;
            let Some(free) = addresses.iter().find(|a| !taken.contains(&a.requisite_id)) else {
                return Ok(Chosen::NoAddress);
            };
            next.requisite_id = Some(free.requisite_id.clone());
            next.crypto_address = Some(free.address.clone());
            next.crypto_network = free.network.clone();
        }
        update_row(&mut tx, &next).await?;
        tx.commit().await?;
        Ok(Chosen::Done(Box::new(next)))
    }

    /// The operator's exchange book per mode and currency: the sum of every
    /// partner's `exchange_book` account.
    pub async fn exchange_positions(&self) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT mode, currency, CAST(SUM(balance) AS BIGINT) AS balance FROM accounts \
             WHERE bucket = 'exchange_book' GROUP BY mode, currency ORDER BY mode, currency",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(|r| Ok((r.try_get("mode")?, r.try_get("currency")?, r.try_get("balance")?))).collect()
    }
}

/// Writes every column of `row` (the id stays).
async fn update_row(conn: &mut sqlx::AnyConnection, row: &OrderRow) -> Result<()> {
    let assignments: Vec<String> =
        ORDER_COLUMNS.iter().enumerate().skip(1).map(|(i, c)| format!("{c} = ${}", i + 1)).collect();
    let update = format!("UPDATE exchange_orders SET {} WHERE id = $1", assignments.join(", "));
    crate::sql::bind_all(sqlx::query(&update), row.params()).execute(&mut *conn).await?;
    Ok(())
}
