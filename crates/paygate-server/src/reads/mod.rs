//! The status polls merchants make most (a payin, a payout, the balance),
//! read through [`coalescer::Coalescer`]s: polls that arrive together share
//! one statement, and each gets exactly what a direct read at its arrival
//! would have given.

mod coalescer;
pub mod pages;
mod per_key;

use crate::error::ApiError;
use coalescer::Coalescer;
use paygate_store::balances::BalanceRow;
use paygate_store::payments::{PayInRow, PayOutRow};
use paygate_store::point_reads::{fold_balances, AccountBalance, PaymentKey};
use paygate_store::{Db, StoreError};

pub struct PointReads {
    payins: Coalescer<PaymentKey, PayInRow>,
    payouts: Coalescer<PaymentKey, PayOutRow>,
    balances: Coalescer<String, AccountBalance>,
}

/// Whether a payment row answers a key. A key by id matches any merchant's
/// payment; the caller checks the owner ([`owned`]).
macro_rules! payment_matches {
    ($row:ty) => {
        |key: &PaymentKey, row: &$row| match key {
            PaymentKey::Id(id) => row.id.as_str() == id,
            PaymentKey::Order { merchant_id, order_id } => {
                row.merchant_id.as_str() == merchant_id && row.merchant_order_id.as_str() == order_id
            }
        }
    };
}

impl PointReads {
    /// Starts the dispatchers (on the current Tokio runtime).
    pub fn start(db: &Db) -> PointReads {
        let (a, b, c) = (db.clone(), db.clone(), db.clone());
        PointReads {
            payins: Coalescer::start(move |keys| read_payins(a.clone(), keys), payment_matches!(PayInRow)),
            payouts: Coalescer::start(move |keys| read_payouts(b.clone(), keys), payment_matches!(PayOutRow)),
            balances: Coalescer::start(
                move |owners| read_balances(c.clone(), owners),
                |owner: &String, row: &AccountBalance| row.owner == *owner,
            ),
        }
    }

    /// One of `merchant_id`'s payins by id or order id (exactly one given).
    pub async fn payin(
        &self,
        merchant_id: &str,
        id: Option<&str>,
        order: Option<&str>,
    ) -> Result<Option<PayInRow>, ApiError> {
        let rows = self.payins.read(key(merchant_id, id, order)).await.map_err(|e| ApiError::from_shared_store(&e))?;
        Ok(rows.into_iter().find(|r| r.merchant_id.as_str() == merchant_id))
    }

    pub async fn payout(
        &self,
        merchant_id: &str,
        id: Option<&str>,
        order: Option<&str>,
    ) -> Result<Option<PayOutRow>, ApiError> {
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

async fn read_payins(db: Db, keys: Vec<PaymentKey>) -> Result<Vec<PayInRow>, StoreError> {
    db.payins_by_keys(&keys).await
}

async fn read_payouts(db: Db, keys: Vec<PaymentKey>) -> Result<Vec<PayOutRow>, StoreError> {
    db.payouts_by_keys(&keys).await
}

async fn read_balances(db: Db, owners: Vec<String>) -> Result<Vec<AccountBalance>, StoreError> {
    db.balances_of_merchants(&owners).await
}
