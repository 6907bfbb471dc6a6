//! The exchange's arithmetic (API.md 9.4), exact in decimals:
//!
//! - `payin_fee = payin × payin_percent` and `margin_fee = payin ×
//!   margin_percent`, each rounded **up** to the payin currency's exponent;
//! - `payout = (payin − payin_fee − margin_fee) × rate − payout_fee`, rounded
//!   **down** to the payout currency's exponent (never promise more than the
//!   payin buys);
//! - given a payout instead, the payin is the smallest amount in the payin
//!   currency's exponent whose payout reaches it.
//!
//! Amounts are integers of minor units on both sides, as everywhere else in
//! paygate; decimals appear only inside the computation.

use rust_decimal::{Decimal, RoundingStrategy};

/// Which price of a pair `BASE-QUOTE` an order uses: paying QUOTE to
/// receive BASE uses `ask` (payout = net ÷ ask); paying BASE to receive
/// QUOTE uses `bid` (payout = net × bid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Ask,
    Bid,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Ask => "ask",
            Side::Bid => "bid",
        }
    }

    pub fn parse(s: &str) -> Option<Side> {
        match s {
            "ask" => Some(Side::Ask),
            "bid" => Some(Side::Bid),
            _ => None,
        }
    }
}

/// The locked price of an order: a positive decimal and how it applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub side: Side,
    pub value: Decimal,
}

impl Price {
    /// Payout currency per one unit of payin currency, rounded down to 18
    /// decimals (what the quote shows as `rate`).
    pub fn rate(&self) -> Option<Decimal> {
        let r = match self.side {
            Side::Bid => self.value,
            Side::Ask => Decimal::ONE.checked_div(self.value)?,
        };
        Some(r.round_dp_with_strategy(18, RoundingStrategy::ToZero))
    }

    /// `net` converted, exactly when the result is representable.
    fn convert(&self, net: Decimal) -> Option<Decimal> {
        match self.side {
            Side::Bid => net.checked_mul(self.value),
            Side::Ask => net.checked_div(self.value),
        }
    }

    /// Whether `payout` (decimal) costs no more than `net` at this price,
    /// checked by multiplication only, so it is exact where a division
    /// rounded in its 28th digit.
    fn affordable(&self, payout: Decimal, net: Decimal) -> Option<bool> {
        Some(match self.side {
            Side::Bid => payout <= net.checked_mul(self.value)?,
            Side::Ask => payout.checked_mul(self.value)? <= net,
        })
    }
}

/// Fees of one partner for one order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fees {
    /// Percent of the payin (`1.5` is 1.5 %).
    pub payin_percent: Decimal,
    pub margin_percent: Decimal,
    /// Minor units of the payout currency, taken from the payout.
    pub payout_fixed: i64,
}

/// What a quote or an order computes; every amount in minor units of its
/// own currency (fees of the payin in the payin currency, `payout_fee` in
/// the payout currency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    pub payin: i64,
    pub payin_fee: i64,
    pub margin_fee: i64,
    pub payout_fee: i64,
    /// `payout + payout_fee` is what the net payin buys (rounded down).
    pub payout: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuoteError {
    /// Fees and the payout's fixed fee take everything: nothing to pay out.
    #[error("the amount does not cover the fees")]
    TooSmall,
    #[error("the amount is too large")]
    Overflow,
}

/// Exponents of the two currencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exponents {
    pub payin: u8,
    pub payout: u8,
}

fn minor(units: i64, exponent: u8) -> Decimal {
    Decimal::new(units, u32::from(exponent))
}

/// `d` in minor units of `exponent`, rounded with `strategy`.
fn to_minor(d: Decimal, exponent: u8, strategy: RoundingStrategy) -> Option<i64> {
    let rounded = d.round_dp_with_strategy(u32::from(exponent), strategy);
    let scaled = rounded.checked_mul(Decimal::from(10i64.checked_pow(u32::from(exponent))?))?;
    i64::try_from(scaled.trunc()).ok()
}

fn percent_of(amount: Decimal, percent: Decimal, exponent: u8) -> Option<i64> {
    let fee = amount.checked_mul(percent)?.checked_div(Decimal::ONE_HUNDRED)?;
    to_minor(fee, exponent, RoundingStrategy::AwayFromZero)
}

/// The quote for a payin of `payin` minor units.
pub fn from_payin(payin: i64, price: Price, fees: Fees, exp: Exponents) -> Result<Quote, QuoteError> {
    if payin <= 0 {
        return Err(QuoteError::TooSmall);
    }
    let amount = minor(payin, exp.payin);
    let payin_fee = percent_of(amount, fees.payin_percent, exp.payin).ok_or(QuoteError::Overflow)?;
    let margin_fee = percent_of(amount, fees.margin_percent, exp.payin).ok_or(QuoteError::Overflow)?;
    let net_units = payin.checked_sub(payin_fee).and_then(|n| n.checked_sub(margin_fee)).ok_or(QuoteError::Overflow)?;
    if net_units <= 0 {
        return Err(QuoteError::TooSmall);
    }
    let net = minor(net_units, exp.payin);
    let gross = price.convert(net).ok_or(QuoteError::Overflow)?;
    let mut gross_units = to_minor(gross, exp.payout, RoundingStrategy::ToZero).ok_or(QuoteError::Overflow)?;
    // A division rounded in its last digit may have landed on the next unit.
    while gross_units > 0 && !price.affordable(minor(gross_units, exp.payout), net).ok_or(QuoteError::Overflow)? {
        gross_units -= 1;
    }
    let payout = gross_units.checked_sub(fees.payout_fixed).ok_or(QuoteError::Overflow)?;
    if payout <= 0 {
        return Err(QuoteError::TooSmall);
    }
    // Every amount an order holds stays within the bound its inputs have,
    // so sums of many orders on one account stay far from i64's limit.
    if payin > MAX_UNITS || payout > MAX_UNITS {
        return Err(QuoteError::Overflow);
    }
    Ok(Quote { payin, payin_fee, margin_fee, payout_fee: fees.payout_fixed, payout })
}

/// The quote for the smallest payin whose payout reaches `payout`.
pub fn from_payout(payout: i64, price: Price, fees: Fees, exp: Exponents) -> Result<Quote, QuoteError> {
    if payout <= 0 {
        return Err(QuoteError::TooSmall);
    }
    let reaches = |p: i64| matches!(from_payin(p, price, fees, exp), Ok(q) if q.payout >= payout);
    // Grow an upper bound, then bisect. The payout is not strictly monotone
    // in the payin (two fees rounded up may both step at once), but it never
    // falls by more than the two roundings, so the smallest payin is at most
    // a few units below the bisection's answer: those are checked one by one.
    let mut hi: i64 = 1;
    while !reaches(hi) {
        hi = hi.checked_mul(2).filter(|h| *h <= MAX_UNITS * 2).ok_or(QuoteError::Overflow)?;
    }
    let mut lo = hi / 2;
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    let window = non_monotone_window(fees);
    let smallest = (hi.saturating_sub(window).max(1)..hi).find(|p| reaches(*p)).unwrap_or(hi);
    from_payin(smallest, price, fees, exp)
}

/// How far below a payin that reaches a payout a smaller one may still
/// reach it: the net of two payins `d` units apart differs by at least
/// `d × (1 − fees) − 2` units, so beyond `2 ÷ (1 − fees)` units nothing can.
fn non_monotone_window(fees: Fees) -> i64 {
    let kept = Decimal::ONE_HUNDRED - fees.payin_percent - fees.margin_percent;
    if kept <= Decimal::ZERO {
        return 0;
    }
    let w = (Decimal::from(200) / kept).ceil() + Decimal::TWO;
    i64::try_from(w).unwrap_or(1000).min(1000)
}

/// An 18-decimal string, as the Switchere-compatible API writes amounts.
pub fn eighteen(d: Decimal) -> String {
    // Padded as text: `Decimal::rescale(18)` silently keeps fewer decimals
    // once the integer part is large (28 digits in all).
    let text = d.round_dp_with_strategy(18, RoundingStrategy::ToZero).to_string();
    let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
    format!("{int}.{frac:0<18}")
}

/// Minor units as an 18-decimal string.
pub fn minor_eighteen(units: i64, exponent: u8) -> String {
    eighteen(minor(units, exponent))
}

/// Minor units as a decimal (for JSON numbers written exactly).
pub fn minor_decimal(units: i64, exponent: u8) -> Decimal {
    minor(units, exponent).normalize()
}

/// Parses an amount exactly into minor units of `exponent`: digits with an
/// optional fraction, no sign, no exponent, at most `exponent` decimals.
pub fn parse_amount(text: &str, exponent: u8) -> Result<i64, AmountError> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') || t.starts_with('.') || t.ends_with('.') {
        return Err(AmountError::NotANumber);
    }
    let d: Decimal = t.parse().map_err(|_| AmountError::TooLarge)?;
    if d.normalize().scale() > u32::from(exponent) {
        return Err(AmountError::TooManyDecimals(exponent));
    }
    let units = to_minor(d, exponent, RoundingStrategy::ToZero).ok_or(AmountError::TooLarge)?;
    if units <= 0 {
        return Err(AmountError::NotPositive);
    }
    if units > MAX_UNITS {
        return Err(AmountError::TooLarge);
    }
    Ok(units)
}

/// A bound far beyond any real payment (10^15 minor units) that keeps every
/// product of the arithmetic inside `Decimal`'s 28 digits.
pub const MAX_UNITS: i64 = 1_000_000_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a positive decimal number (digits and an optional point)")]
    NotANumber,
    #[error("more than {0} decimals")]
    TooManyDecimals(u8),
    #[error("must be greater than zero")]
    NotPositive,
    #[error("is too large")]
    TooLarge,
}

/// Parses a positive decimal (a rate or a percentage) exactly.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'.') || t.starts_with('.') || t.ends_with('.') {
        return None;
    }
    t.parse::<Decimal>().ok()
}

#[cfg(test)]
mod tests;
