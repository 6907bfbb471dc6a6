//! What an upstream's word on an order does to the payin or payout behind
//! it (`partner_order_id` is the payment's id), the same whether it came as
//! a callback or as the reconciliation worker's answer:
//!
//! - payin: `finished` → `success` with the amount the upstream received
//!   (so an underpayment shows; without a usable amount nothing moves);
//!   `canceled`/`error`, and `refunded` before success → `failed`;
//!   `expired` → `expired`; `refunded` after `success` (which a Switchere
//!   upstream never sends, but another might) → the merchant's credit
//!   reversed by a keyed balance adjustment (`refund:{payin id}`, once);
//! - payout: `finished` → `success`; the upstream's steps → `processing`;
//!   `canceled`/`error`/`expired`/`refunded` → `failed` (the hold returns).
//!
//! A move the payment cannot make (a replay, or news older than what it
//! knows) changes nothing. A final outcome ends the upstream checks.

use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_store::providers::Waiting;
use paygate_store::writer::{Adjustment, PayInChange, PayOutChange, WriteError};
use rust_decimal::Decimal;

/// The upstream's news about one order.
#[derive(Debug, Clone)]
pub struct News {
    pub status: String,
    pub payin_amount: Option<Decimal>,
    pub error_message: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Nothing to do, or a move the payment cannot make.
    Unchanged,
}

/// Applies `news` to payment `id`, which `provider` must have taken; any
/// other id is not found (an upstream moves only its own payments).
pub async fn apply(state: &AppState, provider: &str, id: &str, news: &News) -> Result<Applied, ApiError> {
    if id.starts_with("pi_") {
        payin(state, provider, id, news).await
    } else if id.starts_with("po_") {
        payout(state, provider, id, news).await
    } else {
        Err(ApiError::NotFound)
    }
}

fn reason(news: &News) -> String {
    let text = news.error_message.clone().filter(|m| !m.trim().is_empty());
    text.unwrap_or_else(|| format!("upstream order {}", news.status)).chars().take(500).collect()
}

fn settle<T>(done: Result<T, WriteError>) -> Result<Applied, ApiError> {
    match done {
        Ok(_) => Ok(Applied::Changed),
        Err(WriteError::InvalidState { .. }) => Ok(Applied::Unchanged),
        Err(e) => Err(crate::payments::api_error(e)),
    }
}

async fn payin(state: &AppState, provider: &str, id: &str, news: &News) -> Result<Applied, ApiError> {
    let p = state.db.payin(None, Some(id), None).await?.filter(|p| p.provider == provider).ok_or(ApiError::NotFound)?;
    let exp = state.currencies.exponent(&p.currency).unwrap_or(0);
    let change = |to, amount, reason| PayInChange { id: id.into(), merchant_id: None, to, amount, reason };
    let applied = match news.status.as_str() {
        "finished" => {
            // Credited with what arrived, never with what was asked: without
            // a usable amount nothing moves and the payin stays checked.
            let Some(received) = news.payin_amount.and_then(|a| to_minor(a, exp)).filter(|a| *a > 0) else {
                let why = format!("finished without a usable payin_amount ({:?}); left pending", news.payin_amount);
                super::refused(state, provider, "payin", p.merchant_id.as_str(), p.merchant_order_id.as_str(), &why)
                    .await;
                return Ok(Applied::Unchanged);
            };
            let applied = settle(state.writer.move_payin(change(PayInStatus::Success, Some(received), None)).await)?;
            if applied == Applied::Unchanged && p.status != PayInStatus::Success {
                // Paid upstream after it was closed here: the money is in the
                // operator's account there, and someone must act on it.
                let why = format!(
                    "paid upstream after it was {} here; the funds are with the operator upstream",
                    p.status.as_str()
                );
                super::refused(state, provider, "payin", p.merchant_id.as_str(), p.merchant_order_id.as_str(), &why)
                    .await;
            }
            applied
        }
        // A refund before `finished` (Switchere's only kind, API.md 9.7)
        // means nothing reached the operator: the payin failed.
        "canceled" | "error" | "refunded" if p.status != PayInStatus::Success => {
            settle(state.writer.move_payin(change(PayInStatus::Failed, None, Some(reason(news)))).await)?
        }
        "expired" => settle(state.writer.move_payin(change(PayInStatus::Expired, None, None)).await)?,
        "refunded" if p.status == PayInStatus::Success => {
            let key = format!("refund:{id}");
            if state.db.adjustment_posted(p.merchant_id.as_str(), &key).await? {
                state.db.end_provider_checks(Waiting::PayIns, id).await?;
                return Ok(Applied::Unchanged);
            }
            let reversal = Adjustment {
                merchant_id: p.merchant_id.clone(),
                mode: p.mode,
                currency: p.currency.clone(),
                amount: -(p.amount - p.fee),
                reason: format!("upstream refunded payin {id}"),
                // Two refunds at once still post once: the writer keys it.
                idempotency_key: Some(key),
            };
            match state.writer.adjust(reversal).await {
                Ok(_) => Applied::Changed,
                // The merchant has already spent it: the operator settles it.
                Err(WriteError::InsufficientFunds) => {
                    let why = "upstream refunded a paid payin; the merchant's balance cannot cover the reversal";
                    super::refused(state, provider, "payin", p.merchant_id.as_str(), p.merchant_order_id.as_str(), why)
                        .await;
                    Applied::Unchanged
                }
                Err(e) => return Err(crate::payments::api_error(e)),
            }
        }
        _ => Applied::Unchanged,
    };
    // The writer clears the checks with any final status it writes; this
    // ends them for news the payment could not take (already settled here).
    if matches!(news.status.as_str(), "finished" | "canceled" | "error" | "expired" | "refunded") {
        state.db.end_provider_checks(Waiting::PayIns, id).await?;
    }
    Ok(applied)
}

async fn payout(state: &AppState, provider: &str, id: &str, news: &News) -> Result<Applied, ApiError> {
    let p =
        state.db.payout(None, Some(id), None).await?.filter(|p| p.provider == provider).ok_or(ApiError::NotFound)?;
    let (path, reason) = match (news.status.as_str(), p.status) {
        ("finished", PayOutStatus::Pending) => (vec![PayOutStatus::Processing, PayOutStatus::Success], None),
        ("finished", _) => (vec![PayOutStatus::Success], None),
        ("canceled" | "error" | "expired" | "refunded", _) => (vec![PayOutStatus::Failed], Some(reason(news))),
        ("confirmation_pending" | "auth_success" | "processing" | "processing_payout", PayOutStatus::Pending) => {
            (vec![PayOutStatus::Processing], None)
        }
        _ => return Ok(Applied::Unchanged),
    };
    let last = *path.last().expect("a path has a step");
    let applied =
        settle(state.writer.move_payout(PayOutChange { id: id.into(), merchant_id: None, path, reason }).await)?;
    if matches!(last, PayOutStatus::Success | PayOutStatus::Failed) {
        state.db.end_provider_checks(Waiting::PayOuts, id).await?;
    }
    Ok(applied)
}

/// An upstream decimal in minor units, rounded down (never credit more
/// than arrived); `None` when it does not fit.
pub fn to_minor(amount: Decimal, exponent: u8) -> Option<i64> {
    let scaled = amount.checked_mul(Decimal::from(10i64.checked_pow(u32::from(exponent))?))?;
    i64::try_from(scaled.trunc()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_amounts_become_minor_units_rounded_down() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(to_minor(d("0.050000000000000000"), 18), Some(50_000_000_000_000_000));
        assert_eq!(to_minor(d("1500.009"), 2), Some(150_000));
        assert_eq!(to_minor(d("99999999999999999999"), 2), None);
    }
}
