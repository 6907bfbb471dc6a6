//! Every decision about money in a payment's life, as pure functions of the
//! state the write path read: which moves are allowed, which fees they
//! recompute, and which ledger transactions they post. The batching writer
//! (paygate-store) loads rows and balances, asks these functions, posts
//! their transactions to a [`crate::book::Book`] (which refuses overdrafts
//! and unbalanced transactions) and writes the result. It decides nothing.
//!
//! Where each rule is:
//! - fees: [`crate::fees::ResolvedFee::payin_fee`] (capped at the payin) and
//!   [`crate::fees::ResolvedFee::payout_fee`] (on top of the payout);
//! - a payin settles, fails, expires or is cancelled: [`payin_move`];
//! - a payout is created (its hold): [`payout_hold`]; it moves (settles,
//!   is released): [`payout_moves`];
//! - a dispute opens (what it freezes): [`dispute_freeze`]; it is resolved
//!   (unfreeze, re-statement or late credit): [`dispute_resolution`];
//! - an operator's adjustment: [`crate::ledger::adjustment`];
//! - which accounts each transaction touches: [`crate::ledger`].

use crate::disputes::{amount_at_risk, DisputeStatus};
use crate::fees::ResolvedFee;
use crate::ledger::{self, Leg};
use crate::payments::{PayInStatus, PayOutStatus};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("cannot move from {current} to {wanted}")]
    InvalidState { current: &'static str, wanted: &'static str },
    #[error("an amount would overflow")]
    Overflow,
}

fn invalid(current: &'static str, wanted: &'static str) -> RuleError {
    RuleError::InvalidState { current, wanted }
}

/// What a ledger transaction is about: its entries point at this object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    PayIn,
    PayOut,
    Dispute,
}

impl Subject {
    pub fn as_str(self) -> &'static str {
        match self {
            Subject::PayIn => "payin",
            Subject::PayOut => "payout",
            Subject::Dispute => "dispute",
        }
    }
}

/// One balanced ledger transaction and why it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posting {
    pub legs: Vec<Leg>,
    /// The entries' `reason` (`payin_success`, `payout_hold`, …).
    pub reason: &'static str,
    pub about: Subject,
}

fn posting(legs: Vec<Leg>, reason: &'static str, about: Subject) -> Posting {
    Posting { legs, reason, about }
}

/// A payin after a move: its amount and fee, and what it posts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayInMove {
    pub amount: i64,
    pub fee: i64,
    pub posting: Option<Posting>,
}

/// A pending payin moves to `to`. On success the merchant is credited with
/// what arrived (`received`, else the amount asked) less the fee, which is
/// recomputed under the payin's own rule for that amount.
pub fn payin_move(
    from: PayInStatus,
    to: PayInStatus,
    (amount, fee): (i64, i64),
    received: Option<i64>,
    rule: &ResolvedFee,
) -> Result<PayInMove, RuleError> {
    if !from.can_become(to, false) {
        return Err(invalid(from.as_str(), to.as_str()));
    }
    if to != PayInStatus::Success {
        return Ok(PayInMove { amount, fee, posting: None });
    }
    let amount = received.unwrap_or(amount);
    let fee = rule.payin_fee(amount).ok_or(RuleError::Overflow)?;
    Ok(PayInMove {
        amount,
        fee,
        posting: Some(posting(ledger::payin_success(amount, fee), "payin_success", Subject::PayIn)),
    })
}

/// A payout is created: `amount + fee` leave `available` for `hold` (the
/// book refuses it when `available` cannot cover it).
pub fn payout_hold(amount: i64, fee: i64) -> Result<Posting, RuleError> {
    let total = amount.checked_add(fee).ok_or(RuleError::Overflow)?;
    Ok(posting(ledger::payout_hold(total), "payout_hold", Subject::PayOut))
}

/// One step of a payout's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOutStep {
    pub to: PayOutStatus,
    pub posting: Option<Posting>,
}

/// A payout moves along `path` (e.g. `[processing, success]`); every step
/// must be allowed from the one before. Success sends the held amount to the
/// payee and the fee to paygate; failure or cancellation returns the hold.
pub fn payout_moves(
    from: PayOutStatus,
    path: &[PayOutStatus],
    amount: i64,
    fee: i64,
) -> Result<Vec<PayOutStep>, RuleError> {
    let total = amount.checked_add(fee).ok_or(RuleError::Overflow)?;
    let mut current = from;
    let mut steps = Vec::with_capacity(path.len());
    for &to in path {
        if !current.can_become(to) {
            return Err(invalid(current.as_str(), to.as_str()));
        }
        let posting = match to {
            PayOutStatus::Success => {
                Some(posting(ledger::payout_success(amount, fee), "payout_success", Subject::PayOut))
            }
            PayOutStatus::Failed | PayOutStatus::Cancelled => {
                Some(posting(ledger::payout_release(total), "payout_release", Subject::PayOut))
            }
            PayOutStatus::Pending | PayOutStatus::Processing => None,
        };
        steps.push(PayOutStep { to, posting });
        current = to;
    }
    Ok(steps)
}

/// What a newly opened dispute freezes: what accepting the claim would take
/// back (see [`amount_at_risk`]), capped by what `available` holds now (a
/// bucket never goes negative; the money may already be paid out).
pub fn dispute_freeze(
    payin_status: PayInStatus,
    credited: i64,
    claimed: i64,
    rule: &ResolvedFee,
    available: i64,
) -> Result<(i64, Option<Posting>), RuleError> {
    let risk = amount_at_risk(payin_status, credited, claimed, rule).ok_or(RuleError::Overflow)?;
    let frozen = risk.min(available.max(0));
    let freeze = (frozen > 0).then(|| posting(ledger::freeze(frozen), "dispute_freeze", Subject::Dispute));
    Ok((frozen, freeze))
}

/// The payin as an accepted dispute leaves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restated {
    pub status: PayInStatus,
    pub amount: i64,
    pub fee: i64,
}

/// A dispute resolved: its postings, all or nothing, and for an accepted
/// one the payin's new state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolution {
    pub postings: Vec<Posting>,
    pub payin: Option<Restated>,
}

/// The payin a dispute is about, as the dispute's resolution reads it.
#[derive(Debug, Clone, Copy)]
pub struct DisputedPayIn<'a> {
    pub status: PayInStatus,
    pub amount: i64,
    pub fee: i64,
    pub rule: &'a ResolvedFee,
}

/// An open dispute moves to `to` (accepted with `resolved` as the payin's
/// true amount, rejected, or cancelled). Every resolution returns the frozen
/// funds. Accepting re-states a payin that was credited by exactly the
/// difference of amount and fee, or credits one that never was (it becomes
/// `success`).
pub fn dispute_resolution(
    from: DisputeStatus,
    to: DisputeStatus,
    frozen: i64,
    payin: DisputedPayIn<'_>,
    resolved: Option<i64>,
) -> Result<Resolution, RuleError> {
    if !from.can_become(to) {
        return Err(invalid(from.as_str(), to.as_str()));
    }
    let mut postings = Vec::new();
    if frozen > 0 {
        postings.push(posting(ledger::unfreeze(frozen), "dispute_unfreeze", Subject::Dispute));
    }
    let (DisputeStatus::Accepted, Some(resolved)) = (to, resolved) else {
        return Ok(Resolution { postings, payin: None });
    };
    let fee = payin.rule.payin_fee(resolved).ok_or(RuleError::Overflow)?;
    let status = if payin.status == PayInStatus::Success {
        let amount_delta = resolved.checked_sub(payin.amount).ok_or(RuleError::Overflow)?;
        let fee_delta = fee.checked_sub(payin.fee).ok_or(RuleError::Overflow)?;
        postings.push(posting(ledger::payin_restate(amount_delta, fee_delta), "dispute_restate", Subject::PayIn));
        payin.status
    } else {
        if !payin.status.can_become(PayInStatus::Success, true) {
            return Err(invalid(payin.status.as_str(), PayInStatus::Success.as_str()));
        }
        postings.push(posting(ledger::payin_success(resolved, fee), "payin_success", Subject::PayIn));
        PayInStatus::Success
    };
    Ok(Resolution { postings, payin: Some(Restated { status, amount: resolved, fee }) })
}

#[cfg(test)]
mod tests;
