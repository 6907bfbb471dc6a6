//! The balances a write reads, and the only way to change them: posting
//! balanced transactions, all or nothing. This is where the two invariants
//! that protect money are enforced, in release builds too:
//! - every transaction sums to zero (an unbalanced one is refused, never
//!   written);
//! - no merchant bucket (`available`, `hold`, `frozen`) goes below zero
//!   (the request is refused with [`PostError::InsufficientFunds`]).
//!
//! The store loads the balances a batch may touch into a [`Book`], the
//! batch's decisions post to it, and the store writes back what it reports
//! (every entry with its balance after, and every touched account).

use crate::ledger::{is_balanced, AccountRef, Leg};
use std::collections::{BTreeSet, HashMap};

/// Why a posting was refused; nothing of it was applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    #[error("a merchant bucket would go below zero")]
    InsufficientFunds,
    #[error("a balance would overflow")]
    Overflow,
    /// A rule produced legs that do not sum to zero: a bug, refused.
    #[error("unbalanced transaction: {0:?}")]
    Unbalanced(Vec<Leg>),
    /// The account was not loaded before posting: a bug, refused.
    #[error("account {0} was not loaded")]
    NotLoaded(String),
}

/// One leg as applied: which account, by how much, and its balance after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub account_id: String,
    pub account: AccountRef,
    pub delta: i64,
    pub balance_after: i64,
}

/// Whose ledger a transaction posts to: test and live money, and each
/// currency, are separate ledgers of a merchant.
#[derive(Debug, Clone, Copy)]
pub struct LedgerOf<'a> {
    pub merchant: &'a str,
    pub mode: &'a str,
    pub currency: &'a str,
}

impl LedgerOf<'_> {
    pub fn account_id(&self, account: AccountRef) -> String {
        account.account_id(self.merchant, self.mode, self.currency)
    }
}

#[derive(Debug, Default)]
pub struct Book {
    balances: HashMap<String, i64>,
    touched: BTreeSet<String>,
}

impl Book {
    /// An account's balance as loaded (`None`: not loaded).
    pub fn load(&mut self, account_id: String, balance: i64) {
        self.balances.insert(account_id, balance);
    }

    pub fn balance(&self, account_id: &str) -> Option<i64> {
        self.balances.get(account_id).copied()
    }

    /// Accounts whose balance changed, in id order.
    pub fn touched(&self) -> impl Iterator<Item = (&str, i64)> {
        self.touched.iter().map(|id| (id.as_str(), self.balances[id]))
    }

    /// Posts `transactions` to `ledger`, all or none: every new balance is
    /// computed and checked before any is kept. Returns each transaction's
    /// entries (legs of zero are skipped).
    pub fn post(&mut self, ledger: LedgerOf<'_>, transactions: &[Vec<Leg>]) -> Result<Vec<Vec<Entry>>, PostError> {
        let mut tentative: HashMap<String, i64> = HashMap::new();
        let mut posted = Vec::with_capacity(transactions.len());
        for legs in transactions {
            if !is_balanced(legs) {
                return Err(PostError::Unbalanced(legs.clone()));
            }
            let mut entries = Vec::with_capacity(legs.len());
            for leg in legs.iter().filter(|l| l.delta != 0) {
                let account_id = ledger.account_id(leg.account);
                let before = match tentative.get(&account_id).or_else(|| self.balances.get(&account_id)) {
                    Some(b) => *b,
                    None => return Err(PostError::NotLoaded(account_id)),
                };
                let after = before.checked_add(leg.delta).ok_or(PostError::Overflow)?;
                if leg.account.is_merchant() && after < 0 {
                    return Err(PostError::InsufficientFunds);
                }
                tentative.insert(account_id.clone(), after);
                entries.push(Entry { account_id, account: leg.account, delta: leg.delta, balance_after: after });
            }
            posted.push(entries);
        }
        self.touched.extend(tentative.keys().cloned());
        self.balances.extend(tentative);
        Ok(posted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{self, AccountRef, Bucket, SystemAccount};
    use proptest::prelude::*;

    const L: LedgerOf<'static> = LedgerOf { merchant: "m", mode: "test", currency: "RUB" };

    fn loaded(available: i64) -> Book {
        let mut book = Book::default();
        for b in Bucket::ALL {
            book.load(L.account_id(AccountRef::Merchant(b)), if b == Bucket::Available { available } else { 0 });
        }
        for s in [SystemAccount::ProviderClearing, SystemAccount::PayoutClearing, SystemAccount::Fees] {
            book.load(L.account_id(AccountRef::System(s)), 0);
        }
        book
    }

    #[test]
    fn refuses_overdraft_and_keeps_nothing_of_the_refused_posting() {
        let mut book = loaded(100);
        // The first transaction alone fits; with the second the hold cannot be covered.
        let refused = book.post(L, &[ledger::payout_hold(60), ledger::payout_hold(60)]);
        assert_eq!(refused, Err(PostError::InsufficientFunds));
        assert_eq!(book.balance("m:test:RUB:available"), Some(100));
        assert_eq!(book.touched().count(), 0);
        let entries = book.post(L, &[ledger::payout_hold(100)]).unwrap();
        assert_eq!(entries[0].iter().map(|e| e.balance_after).collect::<Vec<_>>(), vec![0, 100]);
        assert_eq!(book.touched().collect::<Vec<_>>(), vec![("m:test:RUB:available", 0), ("m:test:RUB:hold", 100)]);
    }

    #[test]
    fn refuses_unbalanced_and_unloaded() {
        let mut book = loaded(100);
        let lopsided = vec![Leg { account: AccountRef::Merchant(Bucket::Available), delta: -1 }];
        assert!(matches!(book.post(L, &[lopsided]), Err(PostError::Unbalanced(_))));
        let elsewhere = LedgerOf { merchant: "other", ..L };
        assert!(matches!(book.post(elsewhere, &[ledger::payout_hold(1)]), Err(PostError::NotLoaded(_))));
        let mut full = loaded(i64::MAX);
        assert_eq!(full.post(L, &[ledger::payin_success(1, 0)]), Err(PostError::Overflow));
        assert_eq!(book.balance("m:test:RUB:available"), Some(100));
    }

    proptest! {
        /// Whatever is posted in whatever order, merchant buckets stay at or
        /// above zero and every account equals its opening balance plus the
        /// entries accepted for it.
        #[test]
        fn random_postings_keep_the_invariants(ops in proptest::collection::vec((0u8..6, 0i64..1_000), 1..60)) {
            let mut book = loaded(500);
            let mut sums: HashMap<String, i64> = HashMap::new();
            for (kind, amount) in ops {
                let fee = amount / 10;
                let legs = match kind {
                    0 => ledger::payin_success(amount, fee),
                    1 => ledger::payout_hold(amount),
                    2 => ledger::payout_success(amount - fee, fee),
                    3 => ledger::payout_release(amount),
                    4 => ledger::freeze(amount),
                    _ => ledger::unfreeze(amount),
                };
                if let Ok(entries) = book.post(L, &[legs]) {
                    for e in entries.into_iter().flatten() {
                        *sums.entry(e.account_id).or_default() += e.delta;
                    }
                }
            }
            for b in Bucket::ALL {
                let id = L.account_id(AccountRef::Merchant(b));
                let opening = if b == Bucket::Available { 500 } else { 0 };
                let balance = book.balance(&id).unwrap();
                prop_assert!(balance >= 0, "{id} = {balance}");
                prop_assert_eq!(balance, opening + sums.get(&id).copied().unwrap_or(0));
            }
        }
    }
}
