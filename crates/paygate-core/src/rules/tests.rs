use super::*;
use crate::ledger::{is_balanced, AccountRef, Bucket, SystemAccount};
use proptest::prelude::*;
use std::collections::BTreeMap;

const RULE: ResolvedFee = ResolvedFee { percent_e4: 15_000, fixed_minor: 100 }; // 1.5% + 1.00

/// Net effect of postings per account.
fn net(postings: &[Posting]) -> BTreeMap<AccountRef, i64> {
    let mut sums = BTreeMap::new();
    for l in postings.iter().flat_map(|p| &p.legs) {
        *sums.entry(l.account).or_insert(0) += l.delta;
    }
    sums.retain(|_, v| *v != 0);
    sums
}

#[test]
fn a_payin_settles_with_what_arrived_and_its_fee_recomputed() {
    let moved = payin_move(PayInStatus::Pending, PayInStatus::Success, (100_000, 1_600), Some(50_000), &RULE).unwrap();
    assert_eq!((moved.amount, moved.fee), (50_000, 850));
    let p = moved.posting.unwrap();
    assert_eq!((p.reason, p.about), ("payin_success", Subject::PayIn));
    assert_eq!(net(&[p])[&AccountRef::Merchant(Bucket::Available)], 49_150);
    // A fee larger than the payin is capped at it: nothing is debited.
    let tiny = payin_move(PayInStatus::Pending, PayInStatus::Success, (50, 0), None, &RULE).unwrap();
    assert_eq!((tiny.amount, tiny.fee), (50, 50));
    let cancelled = payin_move(PayInStatus::Pending, PayInStatus::Cancelled, (100, 7), None, &RULE).unwrap();
    assert_eq!(cancelled, PayInMove { amount: 100, fee: 7, posting: None });
    assert_eq!(
        payin_move(PayInStatus::Success, PayInStatus::Failed, (1, 0), None, &RULE),
        Err(RuleError::InvalidState { current: "success", wanted: "failed" })
    );
}

#[test]
fn a_payout_holds_then_settles_or_releases() {
    assert_eq!(payout_hold(i64::MAX, 1), Err(RuleError::Overflow));
    let hold = payout_hold(1_000, 50).unwrap();
    let settled = payout_moves(PayOutStatus::Pending, &[PayOutStatus::Processing, PayOutStatus::Success], 1_000, 50);
    let settled = settled.unwrap();
    assert_eq!(settled.iter().map(|s| s.to).collect::<Vec<_>>(), [PayOutStatus::Processing, PayOutStatus::Success]);
    assert!(settled[0].posting.is_none());
    let mut all = vec![hold.clone()];
    all.extend(settled.into_iter().filter_map(|s| s.posting));
    let sums = net(&all);
    assert_eq!(sums[&AccountRef::Merchant(Bucket::Available)], -1_050);
    assert_eq!(sums.get(&AccountRef::Merchant(Bucket::Hold)), None, "the hold is used up");
    assert_eq!(sums[&AccountRef::System(SystemAccount::PayoutClearing)], 1_000);
    let released = payout_moves(PayOutStatus::Pending, &[PayOutStatus::Cancelled], 1_000, 50).unwrap();
    let mut back = vec![hold];
    back.extend(released.into_iter().filter_map(|s| s.posting));
    assert!(net(&back).is_empty(), "a released payout leaves no trace in the balances");
    assert_eq!(
        payout_moves(PayOutStatus::Pending, &[PayOutStatus::Success], 1, 0),
        Err(RuleError::InvalidState { current: "pending", wanted: "success" })
    );
    assert_eq!(
        payout_moves(PayOutStatus::Pending, &[PayOutStatus::Processing, PayOutStatus::Cancelled], 1, 0),
        Err(RuleError::InvalidState { current: "processing", wanted: "cancelled" }),
        "every step is checked from the one before"
    );
}

#[test]
fn a_dispute_freezes_what_is_at_risk_within_what_is_there() {
    // 1000.00 credited, 900.00 claimed: 98.50 at risk.
    let (frozen, p) = dispute_freeze(PayInStatus::Success, 100_000, 90_000, &RULE, 1_000_000).unwrap();
    assert_eq!(frozen, 9_850);
    assert_eq!(p.unwrap().reason, "dispute_freeze");
    let (frozen, p) = dispute_freeze(PayInStatus::Success, 100_000, 90_000, &RULE, 1_000).unwrap();
    assert_eq!((frozen, p.is_some()), (1_000, true), "capped by available");
    let (frozen, p) = dispute_freeze(PayInStatus::Success, 100_000, 90_000, &RULE, -5).unwrap();
    assert_eq!((frozen, p), (0, None));
}

#[test]
fn resolutions() {
    let credited = DisputedPayIn { status: PayInStatus::Success, amount: 100_000, fee: 1_600, rule: &RULE };
    let accepted = dispute_resolution(DisputeStatus::Open, DisputeStatus::Accepted, 9_850, credited, Some(90_000));
    let accepted = accepted.unwrap();
    assert_eq!(accepted.payin, Some(Restated { status: PayInStatus::Success, amount: 90_000, fee: 1_450 }));
    assert_eq!(accepted.postings.iter().map(|p| p.reason).collect::<Vec<_>>(), ["dispute_unfreeze", "dispute_restate"]);
    // Unfrozen, then exactly the difference of net credits (98.50) taken back.
    assert_eq!(net(&accepted.postings).get(&AccountRef::Merchant(Bucket::Available)), None);
    assert_eq!(net(&accepted.postings).get(&AccountRef::Merchant(Bucket::Frozen)), Some(&-9_850));

    let expired = DisputedPayIn { status: PayInStatus::Expired, amount: 100_000, fee: 1_600, rule: &RULE };
    let late = dispute_resolution(DisputeStatus::Open, DisputeStatus::Accepted, 0, expired, Some(100_000)).unwrap();
    assert_eq!(late.payin, Some(Restated { status: PayInStatus::Success, amount: 100_000, fee: 1_600 }));
    assert_eq!(late.postings.iter().map(|p| p.reason).collect::<Vec<_>>(), ["payin_success"]);

    let rejected = dispute_resolution(DisputeStatus::Open, DisputeStatus::Rejected, 500, credited, None).unwrap();
    assert_eq!((rejected.payin, rejected.postings.len()), (None, 1));
    assert_eq!(
        dispute_resolution(DisputeStatus::Rejected, DisputeStatus::Accepted, 0, credited, Some(1)),
        Err(RuleError::InvalidState { current: "rejected", wanted: "accepted" })
    );
}

proptest! {
    /// Every posting any rule makes is balanced, and accepting a dispute on a
    /// credited payin leaves the ledger exactly as if the payin had been
    /// credited with the resolved amount in the first place.
    #[test]
    fn rules_post_balanced_and_restatement_equals_crediting_the_resolved_amount(
        amount in 1i64..1_000_000_000_000, resolved in 1i64..1_000_000_000_000,
        pct in 0i64..100_000, fixed in 0i64..100_000, frozen in 0i64..1_000_000,
    ) {
        let rule = ResolvedFee { percent_e4: pct, fixed_minor: fixed };
        let paid = payin_move(PayInStatus::Pending, PayInStatus::Success, (amount, 0), None, &rule).unwrap();
        let first = paid.posting.clone().unwrap();
        let payin = DisputedPayIn { status: PayInStatus::Success, amount: paid.amount, fee: paid.fee, rule: &rule };
        let res = dispute_resolution(DisputeStatus::Open, DisputeStatus::Accepted, frozen, payin, Some(resolved)).unwrap();
        let restated = res.postings.iter().find(|p| p.reason == "dispute_restate").unwrap().clone();
        let direct = payin_move(PayInStatus::Pending, PayInStatus::Success, (resolved, 0), None, &rule).unwrap();
        prop_assert_eq!(net(&[first, restated]), net(&[direct.posting.unwrap()]));
        for p in res.postings.iter().chain(payout_moves(PayOutStatus::Pending, &[PayOutStatus::Processing,
            PayOutStatus::Failed], amount, fixed).unwrap().iter().filter_map(|s| s.posting.as_ref())) {
            prop_assert!(is_balanced(&p.legs), "{:?}", p);
        }
    }
}
