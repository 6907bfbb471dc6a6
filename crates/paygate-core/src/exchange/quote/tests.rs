use super::*;
use proptest::prelude::*;

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

const ETH_BTC: Exponents = Exponents { payin: 8, payout: 8 };
const USD_BTC: Exponents = Exponents { payin: 2, payout: 8 };

fn fees(p: &str, m: &str, fixed: i64) -> Fees {
    Fees { payin_percent: d(p), margin_percent: d(m), payout_fixed: fixed }
}

#[test]
fn the_documented_formula_with_rounding_in_each_direction() {
    // 1 ETH at bid 0.05 BTC, 1% + 0.5%, 1000 sat payout fee.
    let price = Price { side: Side::Bid, value: d("0.05") };
    let q = from_payin(100_000_000, price, fees("1", "0.5", 1000), ETH_BTC).unwrap();
    assert_eq!((q.payin_fee, q.margin_fee), (1_000_000, 500_000));
    // (1 − 0.015) × 0.05 = 0.04925 BTC, less 1000 sat.
    assert_eq!(q.payout, 4_925_000 - 1000);
    // 100.01 USD at ask 30000: fee 1.0001 → 1.01 (up), payout rounded down.
    let price = Price { side: Side::Ask, value: d("30000") };
    let q = from_payin(10_001, price, fees("1", "0", 0), USD_BTC).unwrap();
    assert_eq!(q.payin_fee, 101);
    // 99.00 / 30000 = 0.0033 BTC exactly.
    assert_eq!(q.payout, 330_000);
    assert_eq!(price.rate().unwrap().to_string(), "0.000033333333333333");
}

#[test]
fn amounts_that_fees_eat_are_refused() {
    let price = Price { side: Side::Bid, value: d("0.05") };
    assert_eq!(from_payin(1, price, fees("1", "0", 0), ETH_BTC), Err(QuoteError::TooSmall));
    assert_eq!(from_payin(100, price, fees("0", "0", 1_000_000), ETH_BTC), Err(QuoteError::TooSmall));
    assert_eq!(from_payin(0, price, fees("0", "0", 0), ETH_BTC), Err(QuoteError::TooSmall));
}

#[test]
fn amounts_parse_exactly() {
    assert_eq!(parse_amount("1500.5", 2), Ok(150_050));
    assert_eq!(parse_amount("0.00000001", 8), Ok(1));
    assert_eq!(parse_amount("1.001", 2), Err(AmountError::TooManyDecimals(2)));
    assert_eq!(parse_amount("1.000", 2), Ok(100), "trailing zeros are not decimals");
    for bad in ["", "-1", "1e3", "NaN", ".5", "5.", "1,5", " "] {
        assert_eq!(parse_amount(bad, 2), Err(AmountError::NotANumber), "{bad:?}");
    }
    assert_eq!(parse_amount("0", 2), Err(AmountError::NotPositive));
    assert_eq!(parse_amount("99999999999999999999999999999999", 2), Err(AmountError::TooLarge));
    assert_eq!(eighteen(d("0.0037831500")), "0.003783150000000000");
    assert_eq!(minor_eighteen(150, 2), "1.500000000000000000");
    // Large amounts keep all 18 decimals (Decimal::rescale would drop some).
    assert_eq!(minor_eighteen(MAX_UNITS, 2), "10000000000000.000000000000000000");
    assert_eq!(eighteen(d("123456789012.5")), "123456789012.500000000000000000");
    // A payout whose payin would pass the bound is refused, not computed.
    let cheap = Price { side: Side::Ask, value: d("1000000") };
    assert_eq!(
        from_payout(MAX_UNITS, cheap, fees("0", "0", 0), Exponents { payin: 6, payout: 8 }),
        Err(QuoteError::Overflow)
    );
}

fn price_strategy() -> impl Strategy<Value = Price> {
    (prop_oneof![Just(Side::Ask), Just(Side::Bid)], 1i64..100_000_000_000, 0u32..10)
        .prop_map(|(side, units, scale)| Price { side, value: Decimal::new(units, scale) })
}

fn fees_strategy() -> impl Strategy<Value = Fees> {
    (0i64..500, 0i64..500, 0i64..10_000).prop_map(|(p, m, f)| Fees {
        payin_percent: Decimal::new(p, 2),
        margin_percent: Decimal::new(m, 2),
        payout_fixed: f,
    })
}

fn exps() -> impl Strategy<Value = Exponents> {
    (0u8..=8, 0u8..=8).prop_map(|(payin, payout)| Exponents { payin, payout })
}

proptest! {
    /// The payout never exceeds what the net payin buys at the price.
    #[test]
    fn payout_never_exceeds_the_net_payin(payin in 1i64..10_000_000_000_000, price in price_strategy(),
                                          fees in fees_strategy(), exp in exps()) {
        if let Ok(q) = from_payin(payin, price, fees, exp) {
            let net = minor(q.payin - q.payin_fee - q.margin_fee, exp.payin);
            let paid = minor(q.payout + q.payout_fee, exp.payout);
            prop_assert!(price.affordable(paid, net).unwrap(), "{q:?} at {price:?}");
            // …and not by a whole unit less than it could.
            let one_more = minor(q.payout + q.payout_fee + 1, exp.payout);
            prop_assert!(!price.affordable(one_more, net).unwrap(), "{q:?} at {price:?}");
            prop_assert!(q.payin_fee >= 0 && q.margin_fee >= 0);
            // Fees rounded up: never below the exact percentage.
            let exact = minor(payin, exp.payin) * fees.payin_percent / Decimal::ONE_HUNDRED;
            prop_assert!(minor(q.payin_fee, exp.payin) >= exact);
        }
    }

    /// A quote from a payout is the smallest payin that reaches it, checked
    /// by brute force over small amounts, in both directions of a pair.
    #[test]
    fn quote_from_payout_is_the_smallest_payin(target in 1i64..5_000, price in price_strategy(),
                                               fees in fees_strategy(), exp in exps()) {
        if let Ok(q) = from_payout(target, price, fees, exp) {
            prop_assert!(q.payout >= target);
            if q.payin <= 20_000 {
                for smaller in 1..q.payin {
                    let reaches = matches!(from_payin(smaller, price, fees, exp), Ok(s) if s.payout >= target);
                    prop_assert!(!reaches, "{smaller} < {} also reaches {target}", q.payin);
                }
            }
            // The quote and an order from its payin agree.
            prop_assert_eq!(from_payin(q.payin, price, fees, exp), Ok(q));
        }
    }

    #[test]
    fn amounts_round_trip(units in 1i64..MAX_UNITS, exp in 0u8..=8) {
        let text = minor(units, exp).to_string();
        prop_assert_eq!(parse_amount(&text, exp), Ok(units));
    }
}
