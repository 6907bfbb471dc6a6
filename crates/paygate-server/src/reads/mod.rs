//! The status polls merchants make most (a payin, a payout, the balance),
//! read through [`coalescer::Coalescer`]s: polls that arrive together share
//! one statement, and each gets exactly what a direct read at its arrival
//! would have given. Payins and payouts are answered with bodies rendered
//! once per version of the payment ([`rendered`]).

mod coalescer;
pub mod pages;
mod per_key;
pub mod rendered;

use crate::error::ApiError;
use crate::payments::views::EventRenderer;
use coalescer::Coalescer;
use paygate_store::balances::BalanceRow;
use paygate_store::payments::Kind;
use paygate_store::point_reads::{fold_balances, AccountBalance, PaymentKey, PollReader};
use paygate_store::{Db, StoreError};
use rendered::{Answer, Rendered};
use std::sync::Arc;

pub struct PointReads {
    payins: Coalescer<PaymentKey, Arc<Answer>>,
    payouts: Coalescer<PaymentKey, Arc<Answer>>,
    balances: Coalescer<String, AccountBalance>,
}

/// Whether a payment answers a key. A key by id matches any merchant's
/// payment; the caller checks the owner.
fn answers(key: &PaymentKey, answer: &Arc<Answer>) -> bool {
    match key {
        PaymentKey::Id(id) => answer.id == *id,
        PaymentKey::Order { merchant_id, order_id } => {
            answer.merchant_id == *merchant_id && answer.merchant_order_id == *order_id
        }
    }
}

impl PointReads {
    /// Starts the dispatchers (on the current Tokio runtime); `render`
    /// holds what a payment's body needs besides its row.
    pub fn start(db: &Db, render: Arc<EventRenderer>) -> PointReads {
        let a = Arc::new(Rendered::new(Kind::PayIn, db, render.clone()));
        let b = Arc::new(Rendered::new(Kind::PayOut, db, render));
        let c = Arc::new(db.poll_reader());
        PointReads {
            payins: Coalescer::start(move |keys| read_payments(a.clone(), keys), answers),
            payouts: Coalescer::start(move |keys| read_payments(b.clone(), keys), answers),
            balances: Coalescer::start(
                move |owners| read_balances(c.clone(), owners),
                |owner: &String, row: &AccountBalance| row.owner == *owner,
            ),
        }
    }

    /// One of `merchant_id`'s payins by id or order id (exactly one given),
    /// as the body of a `payin/get` answer.
    pub async fn payin(
        &self,
        merchant_id: &str,
        id: Option<&str>,
        order: Option<&str>,
    ) -> Result<Option<Arc<Answer>>, ApiError> {
        let rows = self.payins.read(key(merchant_id, id, order)).await.map_err(|e| ApiError::from_shared_store(&e))?;
        Ok(rows.into_iter().find(|r| r.merchant_id.as_str() == merchant_id))
    }

    pub async fn payout(
        &self,
        merchant_id: &str,
        id: Option<&str>,
        order: Option<&str>,
    ) -> Result<Option<Arc<Answer>>, ApiError> {
        let rows = self.payouts.read(key(merchant_id, id, order)).await.map_err(|e| ApiError::from_shared_store(&e))?;
        Ok(rows.into_iter().find(|r| r.merchant_id.as_str() == merchant_id))
    }

    /// As `Db::merchant_balances`: per currency in the `mode` ledger,
    /// optionally one currency, ordered by currency code.
    pub async fn balances(
        &self,
        merchant_id: &str,
        mode: &str,
        currency: Option<&str>,
    ) -> Result<Vec<BalanceRow>, ApiError> {
        let rows = self.balances.read(merchant_id.to_string()).await.map_err(|e| ApiError::from_shared_store(&e))?;
        let mine = rows
            .iter()
            .filter(|r| r.mode == mode && currency.is_none_or(|c| r.currency == c))
            .map(|r| (r.currency.as_str(), r.bucket.as_str(), r.balance));
        Ok(fold_balances(mine))
    }
}

fn key(merchant_id: &str, id: Option<&str>, order: Option<&str>) -> PaymentKey {
    match (id, order) {
        (Some(id), _) => PaymentKey::Id(id.to_string()),
        (None, order) => {
            PaymentKey::Order { merchant_id: merchant_id.to_string(), order_id: order.unwrap_or_default().to_string() }
        }
    }
}

async fn read_payments(payments: Arc<Rendered>, keys: Vec<PaymentKey>) -> Result<Vec<Arc<Answer>>, StoreError> {
    payments.read(keys).await
}

async fn read_balances(reads: Arc<PollReader>, owners: Vec<String>) -> Result<Vec<AccountBalance>, StoreError> {
    reads.balances_of_merchants(&owners).await
}
