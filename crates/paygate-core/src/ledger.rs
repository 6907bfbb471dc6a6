//! Posting rules: which accounts every money movement touches and by how
//! much. Each rule returns legs that sum to zero (a balanced double-entry
//! transaction in one currency); the store applies them atomically with the
//! status change that causes them.
//!
//! Merchant accounts have three buckets: `available` (spendable), `hold`
//! (reserved by pending payouts) and `frozen` (under dispute). System
//! accounts stand for the outside world and may go negative:
//! `provider_clearing` (money received from payers), `payout_clearing` (money
//! sent to payees), `fees` (paygate's revenue) and `adjustments` (operator
//! corrections and settlements).

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Bucket {
    Available,
    Hold,
    Frozen,
}

impl Bucket {
    pub const ALL: [Bucket; 3] = [Bucket::Available, Bucket::Hold, Bucket::Frozen];

    pub fn as_str(self) -> &'static str {
        match self {
            Bucket::Available => "available",
            Bucket::Hold => "hold",
            Bucket::Frozen => "frozen",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SystemAccount {
    ProviderClearing,
    PayoutClearing,
    Fees,
    Adjustments,
    /// Exchange orders (API.md 9.8): customers' payins arrive from here…
    ExchangeClearing,
    /// …their net is the operator's book in that currency (its position)…
    ExchangeBook,
    /// …fee and margin are revenue…
    ExchangeFees,
    ExchangeMargin,
    /// …and payouts to the outside world leave through here.
    ExchangePayoutClearing,
}

impl SystemAccount {
    pub fn as_str(self) -> &'static str {
        match self {
            SystemAccount::ProviderClearing => "provider_clearing",
            SystemAccount::PayoutClearing => "payout_clearing",
            SystemAccount::Fees => "fees",
            SystemAccount::Adjustments => "adjustments",
            SystemAccount::ExchangeClearing => "exchange_clearing",
            SystemAccount::ExchangeBook => "exchange_book",
            SystemAccount::ExchangeFees => "exchange_fees",
            SystemAccount::ExchangeMargin => "exchange_margin",
            SystemAccount::ExchangePayoutClearing => "exchange_payout_clearing",
        }
    }
}

/// Which account a leg touches; merchant accounts belong to the merchant of
/// the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AccountRef {
    Merchant(Bucket),
    System(SystemAccount),
}

impl AccountRef {
    pub fn bucket_name(self) -> &'static str {
        match self {
            AccountRef::Merchant(b) => b.as_str(),
            AccountRef::System(s) => s.as_str(),
        }
    }

    /// Stable account id. Test and live money live in separate ledgers (a
    /// sandbox payment must never become spendable live money), and system
    /// accounts are kept per merchant too, so no row is shared by all
    /// merchants' transactions (which would serialise every writer):
    /// `<merchant>:<mode>:<CUR>:<bucket>` and `<merchant>:<mode>:<CUR>:sys:<name>`.
    pub fn account_id(self, merchant_id: &str, mode: &str, currency: &str) -> String {
        match self {
            AccountRef::Merchant(b) => format!("{merchant_id}:{mode}:{currency}:{}", b.as_str()),
            AccountRef::System(s) => format!("{merchant_id}:{mode}:{currency}:sys:{}", s.as_str()),
        }
    }

    pub fn is_merchant(self) -> bool {
        matches!(self, AccountRef::Merchant(_))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Leg {
    pub account: AccountRef,
    pub delta: i64,
}

fn leg(account: AccountRef, delta: i64) -> Leg {
    Leg { account, delta }
}

use AccountRef::{Merchant, System};
use Bucket::{Available, Frozen, Hold};
use SystemAccount::{Adjustments, Fees, PayoutClearing, ProviderClearing};

/// A payin succeeded with `amount`: the payer's money arrives, the merchant
/// gets it less `fee`. The fee never exceeds the amount (callers cap it).
pub fn payin_success(amount: i64, fee: i64) -> Vec<Leg> {
    debug_assert!(0 <= fee && fee <= amount);
    vec![leg(System(ProviderClearing), -amount), leg(Merchant(Available), amount - fee), leg(System(Fees), fee)]
}

/// A payin already credited is re-stated (accepted dispute): move exactly the
/// difference of amount and of fee.
pub fn payin_restate(amount_delta: i64, fee_delta: i64) -> Vec<Leg> {
    vec![
        leg(System(ProviderClearing), -amount_delta),
        leg(Merchant(Available), amount_delta - fee_delta),
        leg(System(Fees), fee_delta),
    ]
}

/// A payout is created: amount + fee leave `available` for `hold`.
pub fn payout_hold(total: i64) -> Vec<Leg> {
    vec![leg(Merchant(Available), -total), leg(Merchant(Hold), total)]
}

/// A payout succeeded: the hold leaves for the payee and paygate's fee.
pub fn payout_success(amount: i64, fee: i64) -> Vec<Leg> {
    vec![leg(Merchant(Hold), -(amount + fee)), leg(System(PayoutClearing), amount), leg(System(Fees), fee)]
}

/// A payout failed or was cancelled: the hold returns to `available`.
pub fn payout_release(total: i64) -> Vec<Leg> {
    vec![leg(Merchant(Hold), -total), leg(Merchant(Available), total)]
}

/// Operator credit (positive) or debit/settlement (negative) of `available`.
pub fn adjustment(amount: i64) -> Vec<Leg> {
    vec![leg(Merchant(Available), amount), leg(System(Adjustments), -amount)]
}

/// Funds under dispute move from `available` to `frozen` and back.
pub fn freeze(amount: i64) -> Vec<Leg> {
    vec![leg(Merchant(Available), -amount), leg(Merchant(Frozen), amount)]
}

pub fn unfreeze(amount: i64) -> Vec<Leg> {
    vec![leg(Merchant(Frozen), -amount), leg(Merchant(Available), amount)]
}

/// True when the legs sum to zero (no overflow possible for the sum of a few
/// i64s thanks to i128).
pub fn is_balanced(legs: &[Leg]) -> bool {
    legs.iter().map(|l| i128::from(l.delta)).sum::<i128>() == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_rule_is_balanced(a in 0i64..1_000_000_000_000, f in 0i64..1_000_000_000) {
            let f = f.min(a);
            for legs in [payin_success(a, f), payin_restate(a, f), payin_restate(-a, -f), payout_hold(a), payout_success(a, f),
                         payout_release(a), adjustment(a), adjustment(-a), freeze(a), unfreeze(a)] {
                prop_assert!(is_balanced(&legs), "{legs:?}");
            }
        }
    }

    #[test]
    fn account_ids_are_stable() {
        assert_eq!(Merchant(Available).account_id("mch_1", "live", "RUB"), "mch_1:live:RUB:available");
        assert_eq!(System(Fees).account_id("mch_1", "test", "RUB"), "mch_1:test:RUB:sys:fees");
    }
}
