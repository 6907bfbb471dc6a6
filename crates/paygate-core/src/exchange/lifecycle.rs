//! An exchange order's life (API.md 9.7) and what each move posts (9.8).
//!
//! `payin_pending` → `confirmation_pending` → `auth_success` → `processing`
//! → `processing_payout` → `finished`; steps may be skipped forward.
//! `canceled`, `expired` and `error` end an order before `auth_success`;
//! `refunded` ends one after it (before `finished`).
//!
//! Money, per currency and in the partner's ledger (its mode):
//! - reaching `auth_success` (or any later step from before it): the payin
//!   arrives from outside (`exchange_clearing`), the net enters the operator's
//!   `exchange_book`, fee and margin go to revenue;
//! - reaching `finished`: `payout + payout_fee` leave the book in the
//!   payout currency, the payout to the outside (`exchange_payout_clearing`)
//!   or, for payout group `balance`, to the partner's `available`, the fee to
//!   revenue;
//! - `refunded`: the payin posting reversed (the payer gets it all back).

use crate::ledger::{AccountRef, Bucket, Leg, SystemAccount};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderStatus {
    PayinPending,
    ConfirmationPending,
    AuthSuccess,
    Processing,
    ProcessingPayout,
    Finished,
    Canceled,
    Expired,
    Error,
    Refunded,
}

use OrderStatus::*;

impl OrderStatus {
    pub const ALL: [OrderStatus; 10] = [
        PayinPending,
        ConfirmationPending,
        AuthSuccess,
        Processing,
        ProcessingPayout,
        Finished,
        Canceled,
        Expired,
        Error,
        Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PayinPending => "payin_pending",
            ConfirmationPending => "confirmation_pending",
            AuthSuccess => "auth_success",
            Processing => "processing",
            ProcessingPayout => "processing_payout",
            Finished => "finished",
            Canceled => "canceled",
            Expired => "expired",
            Error => "error",
            Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<OrderStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Position on the forward path; `None` for the final side exits.
    fn rank(self) -> Option<u8> {
        match self {
            PayinPending => Some(0),
            ConfirmationPending => Some(1),
            AuthSuccess => Some(2),
            Processing => Some(3),
            ProcessingPayout => Some(4),
            Finished => Some(5),
            Canceled | Expired | Error | Refunded => None,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(self, Finished | Canceled | Expired | Error | Refunded)
    }

    /// Whether the payin has been received (and posted).
    pub fn payin_received(self) -> bool {
        self.rank().is_some_and(|r| r >= 2)
    }

    /// Still waiting for the customer's payin: its crypto address stays
    /// reserved and the expiry worker watches it.
    pub fn awaits_payin(self) -> bool {
        matches!(self, PayinPending | ConfirmationPending)
    }

    pub fn can_become(self, to: OrderStatus) -> bool {
        match (self.rank(), to) {
            (None, _) => false,
            (Some(from), Canceled | Expired | Error) => from < 2,
            (Some(from), Refunded) => (2..5).contains(&from),
            (Some(from), to) => to.rank().is_some_and(|r| r > from),
        }
    }
}

/// The amounts an order posts, in minor units of their currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderMoney {
    pub payin: i64,
    pub payin_fee: i64,
    pub margin_fee: i64,
    pub payout: i64,
    pub payout_fee: i64,
    /// Payout group `balance`: the payout credits the partner's own balance.
    pub to_balance: bool,
}

/// Which currency of the order a posting is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderCurrency {
    Payin,
    Payout,
}

/// One balanced transaction of an order's move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderPosting {
    pub currency: OrderCurrency,
    pub legs: Vec<Leg>,
    pub reason: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    #[error("cannot move from {from} to {to}")]
    InvalidState { from: &'static str, to: &'static str },
}

fn leg(account: AccountRef, delta: i64) -> Leg {
    Leg { account, delta }
}

/// The postings of moving an order from `from` to `to`, or why it cannot move.
pub fn order_move(from: OrderStatus, to: OrderStatus, m: OrderMoney) -> Result<Vec<OrderPosting>, MoveError> {
    use AccountRef::{Merchant, System};
    use SystemAccount::*;
    if !from.can_become(to) {
        return Err(MoveError::InvalidState { from: from.as_str(), to: to.as_str() });
    }
    let net = m.payin - m.payin_fee - m.margin_fee;
    let payin_legs = vec![
        leg(System(ExchangeClearing), -m.payin),
        leg(System(ExchangeBook), net),
        leg(System(ExchangeFees), m.payin_fee),
        leg(System(ExchangeMargin), m.margin_fee),
    ];
    let mut postings = Vec::new();
    if !from.payin_received() && to.payin_received() {
        postings.push(OrderPosting {
            currency: OrderCurrency::Payin,
            legs: payin_legs.clone(),
            reason: "exchange_payin",
        });
    }
    if to == Finished {
        let destination = if m.to_balance { Merchant(Bucket::Available) } else { System(ExchangePayoutClearing) };
        postings.push(OrderPosting {
            currency: OrderCurrency::Payout,
            legs: vec![
                leg(System(ExchangeBook), -(m.payout + m.payout_fee)),
                leg(destination, m.payout),
                leg(System(ExchangeFees), m.payout_fee),
            ],
            reason: "exchange_payout",
        });
    }
    if to == Refunded {
        let reversed = payin_legs.iter().map(|l| leg(l.account, -l.delta)).collect();
        postings.push(OrderPosting { currency: OrderCurrency::Payin, legs: reversed, reason: "exchange_refund" });
    }
    Ok(postings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::is_balanced;

    #[test]
    fn every_move_is_either_allowed_or_refused_as_documented() {
        let allowed: Vec<(OrderStatus, OrderStatus)> = OrderStatus::ALL
            .iter()
            .flat_map(|a| OrderStatus::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| a.can_become(*b))
            .collect();
        // Forward skips (15 pairs of the 6-step path), 3 exits × 2 early
        // states, refunds from 3 states.
        assert_eq!(allowed.len(), 15 + 6 + 3);
        for final_state in [Finished, Canceled, Expired, Error, Refunded] {
            assert!(OrderStatus::ALL.iter().all(|to| !final_state.can_become(*to)), "{final_state:?}");
        }
        assert!(!AuthSuccess.can_become(Canceled));
        assert!(!PayinPending.can_become(Refunded));
        assert!(!Processing.can_become(AuthSuccess));
        assert!(PayinPending.can_become(Finished));
    }

    #[test]
    fn postings_balance_and_skipping_posts_both_sides() {
        let m = OrderMoney { payin: 1000, payin_fee: 10, margin_fee: 5, payout: 90, payout_fee: 3, to_balance: true };
        let p = order_move(PayinPending, Finished, m).unwrap();
        assert_eq!(p.len(), 2);
        assert!(p.iter().all(|x| is_balanced(&x.legs)));
        assert_eq!(p[1].legs[1], leg(AccountRef::Merchant(Bucket::Available), 90));
        let r = order_move(Processing, Refunded, m).unwrap();
        assert_eq!(r.len(), 1);
        assert!(is_balanced(&r[0].legs));
        assert!(order_move(AuthSuccess, Processing, m).unwrap().is_empty());
        assert!(matches!(order_move(Finished, Refunded, m), Err(MoveError::InvalidState { .. })));
    }
}
