//! Merchant fees and amount limits, per kind (`payin`, `payout`) and
//! currency. Stored as canonical JSON on the merchant; computed here exactly.
//!
//! Fee = fixed + ceil(amount × percent / 100), in minor units. Rounding up
//! keeps the gateway from under-charging by a fraction of a minor unit, and
//! is the rule merchants can reproduce with integers only.

use crate::money::{format_minor, parse_minor, AmountError, Currencies};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Percent has at most four decimals ("1.2345"); stored ×10⁴.
const PERCENT_EXPONENT: u8 = 4;
const HUNDRED_PERCENT: i64 = 100 * 10_000;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeRule {
    /// Percent of the amount, e.g. "1.5".
    pub percent: String,
    /// Fixed part in the currency's major units, e.g. "10.00".
    #[serde(default = "zero")]
    pub fixed: String,
}

fn zero() -> String {
    "0".into()
}

/// Fees of one kind: a default rule plus per-currency overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindFees {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub currencies: BTreeMap<String, FeeRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSchedule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payin: Option<KindFees>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout: Option<KindFees>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    PayIn,
    PayOut,
}

/// A fee rule resolved for one currency, in integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct ResolvedFee {
    pub percent_e4: i64,
    pub fixed_minor: i64,
}

impl ResolvedFee {
    /// The fee on `amount` minor units; `None` on overflow.
    pub fn on(&self, amount: i64) -> Option<i64> {
        let product = i128::from(amount) * i128::from(self.percent_e4);
        let denominator = i128::from(HUNDRED_PERCENT);
        let proportional = (product + denominator - 1) / denominator;
        i64::try_from(proportional).ok()?.checked_add(self.fixed_minor)
    }

    /// The fee of a payin of `amount`: taken from what arrives, so it never
    /// exceeds it (a larger one would debit the merchant for a deposit).
    /// `None` on overflow. Every payin fee (at creation, on success with the
    /// received amount, on a dispute's restatement) comes from here.
    pub fn payin_fee(&self, amount: i64) -> Option<i64> {
        Some(self.on(amount)?.min(amount))
    }

    /// The fee of a payout of `amount`: paid on top, held with the amount
    /// (`amount + fee` leaves `available`), so it is not capped by the amount;
    /// a merchant may pay a fixed fee larger than a small payout. `None` on
    /// overflow.
    pub fn payout_fee(&self, amount: i64) -> Option<i64> {
        self.on(amount)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{field}: {issue}")]
pub struct RuleError {
    pub field: String,
    pub issue: String,
}

fn rule_err(field: impl Into<String>, issue: impl Into<String>) -> RuleError {
    RuleError { field: field.into(), issue: issue.into() }
}

fn parse_percent(text: &str, field: &str) -> Result<i64, RuleError> {
    let v = parse_minor(text, PERCENT_EXPONENT).map_err(|e| rule_err(field, format!("percent {e}")))?;
    if v > HUNDRED_PERCENT {
        return Err(rule_err(field, "percent must be between 0 and 100"));
    }
    Ok(v)
}

fn parse_fixed(text: &str, exponent: u8, field: &str) -> Result<i64, RuleError> {
    parse_minor(text, exponent).map_err(|e: AmountError| rule_err(field, format!("fixed {e}")))
}

impl FeeSchedule {
    /// Checks every rule against the configured currencies. A default fixed
    /// part must be representable in every currency it may apply to.
    pub fn validate(&self, currencies: &Currencies) -> Result<(), RuleError> {
        for (name, kind) in [("payin", &self.payin), ("payout", &self.payout)] {
            let Some(k) = kind else { continue };
            if let Some(p) = &k.percent {
                parse_percent(p, &format!("fees.{name}.percent"))?;
            }
            if let Some(f) = &k.fixed {
                for (code, exp) in currencies.codes() {
                    parse_fixed(f, exp, &format!("fees.{name}.fixed"))
                        .map_err(|e| rule_err(e.field, format!("{} (for {code}; use a per-currency rule)", e.issue)))?;
                }
            }
            for (code, rule) in &k.currencies {
                let field = format!("fees.{name}.currencies.{code}");
                let exp = currencies.exponent(code).ok_or_else(|| rule_err(&field, "unsupported currency"))?;
                parse_percent(&rule.percent, &field)?;
                parse_fixed(&rule.fixed, exp, &field)?;
            }
        }
        Ok(())
    }

    /// The rule for `kind` in `currency` (exponent `exp`); no rule is no fee.
    pub fn resolve(&self, kind: Kind, currency: &str, exp: u8) -> Result<ResolvedFee, RuleError> {
        let k = match kind {
            Kind::PayIn => &self.payin,
            Kind::PayOut => &self.payout,
        };
        let Some(k) = k else {
            return Ok(ResolvedFee::default());
        };
        if let Some(rule) = k.currencies.get(currency) {
            return Ok(ResolvedFee {
                percent_e4: parse_percent(&rule.percent, "percent")?,
                fixed_minor: parse_fixed(&rule.fixed, exp, "fixed")?,
            });
        }
        Ok(ResolvedFee {
            percent_e4: k.percent.as_deref().map(|p| parse_percent(p, "percent")).transpose()?.unwrap_or(0),
            fixed_minor: k.fixed.as_deref().map(|f| parse_fixed(f, exp, "fixed")).transpose()?.unwrap_or(0),
        })
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limit {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
}

/// Per-kind, per-currency amount limits: `{payin: {RUB: {min, max}}}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub payin: BTreeMap<String, Limit>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub payout: BTreeMap<String, Limit>,
}

impl Limits {
    pub fn validate(&self, currencies: &Currencies) -> Result<(), RuleError> {
        for (name, map) in [("payin", &self.payin), ("payout", &self.payout)] {
            for (code, limit) in map {
                let field = format!("limits.{name}.{code}");
                let exp = currencies.exponent(code).ok_or_else(|| rule_err(&field, "unsupported currency"))?;
                let (min, max) = limit.bounds(exp).map_err(|e| rule_err(&field, e.to_string()))?;
                if let (Some(lo), Some(hi)) = (min, max) {
                    if lo > hi {
                        return Err(rule_err(&field, "min is greater than max"));
                    }
                }
            }
        }
        Ok(())
    }

    /// `Ok(())` when `amount` is within the limit of `kind` in `currency`;
    /// otherwise the human text of the violated bound.
    pub fn check(&self, kind: Kind, currency: &str, exp: u8, amount: i64) -> Result<(), String> {
        let map = match kind {
            Kind::PayIn => &self.payin,
            Kind::PayOut => &self.payout,
        };
        let Some(limit) = map.get(currency) else {
            return Ok(());
        };
        let (min, max) = limit.bounds(exp).map_err(|e| e.to_string())?;
        if let Some(lo) = min.filter(|lo| amount < *lo) {
            return Err(format!("below the minimum of {} {currency}", format_minor(lo, exp)));
        }
        if let Some(hi) = max.filter(|hi| amount > *hi) {
            return Err(format!("above the maximum of {} {currency}", format_minor(hi, exp)));
        }
        Ok(())
    }
}

impl Limit {
    fn bounds(&self, exp: u8) -> Result<(Option<i64>, Option<i64>), AmountError> {
        let parse = |s: &Option<String>| s.as_deref().map(|t| parse_minor(t, exp)).transpose();
        Ok((parse(&self.min)?, parse(&self.max)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn schedule(json: &str) -> FeeSchedule {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn fee_rounds_up_and_prefers_currency_rule() {
        let s =
            schedule(r#"{"payin":{"percent":"1.5","fixed":"0","currencies":{"RUB":{"percent":"2","fixed":"10.00"}}}}"#);
        let c = Currencies::default();
        s.validate(&c).unwrap();
        let rub = s.resolve(Kind::PayIn, "RUB", 2).unwrap();
        assert_eq!(rub.on(150000), Some(3000 + 1000));
        let usd = s.resolve(Kind::PayIn, "USD", 2).unwrap();
        assert_eq!(usd.on(1), Some(1)); // 0.015 of a cent rounds up to 1
        assert_eq!(usd.on(200), Some(3));
        assert_eq!(s.resolve(Kind::PayOut, "USD", 2).unwrap().on(5000), Some(0));
    }

    #[test]
    fn validation_catches_bad_rules() {
        let c = Currencies::default();
        assert!(schedule(r#"{"payin":{"percent":"100.5"}}"#).validate(&c).is_err());
        assert!(schedule(r#"{"payin":{"percent":"1.23456"}}"#).validate(&c).is_err());
        assert!(schedule(r#"{"payin":{"percent":"1","fixed":"0.5"}}"#).validate(&c).is_err()); // not for JPY
        assert!(schedule(r#"{"payin":{"currencies":{"XXX":{"percent":"1"}}}}"#).validate(&c).is_err());
        assert!(serde_json::from_str::<FeeSchedule>(r#"{"payin":{"pct":"1"}}"#).is_err());
        let limits: Limits = serde_json::from_str(r#"{"payin":{"RUB":{"min":"10.00","max":"5.00"}}}"#).unwrap();
        assert!(limits.validate(&c).is_err());
    }

    #[test]
    fn limits_check() {
        let limits: Limits = serde_json::from_str(r#"{"payin":{"RUB":{"min":"10.00","max":"500"}}}"#).unwrap();
        assert!(limits.check(Kind::PayIn, "RUB", 2, 999).is_err());
        assert!(limits.check(Kind::PayIn, "RUB", 2, 1000).is_ok());
        assert!(limits.check(Kind::PayIn, "RUB", 2, 50000).is_ok());
        assert!(limits.check(Kind::PayIn, "RUB", 2, 50001).is_err());
        assert!(limits.check(Kind::PayOut, "RUB", 2, 1).is_ok());
    }

    proptest! {
        #[test]
        fn fee_is_exact_ceiling(amount in 0i64..1_000_000_000_000, pct in 0i64..=1_000_000, fixed in 0i64..100_000) {
            let f = ResolvedFee { percent_e4: pct, fixed_minor: fixed };
            let fee = f.on(amount).unwrap();
            let prop = fee - fixed;
            // prop is the least integer with prop * 10^6 >= amount * pct.
            prop_assert!(i128::from(prop) * 1_000_000 >= i128::from(amount) * i128::from(pct));
            prop_assert!(prop == 0 || i128::from(prop - 1) * 1_000_000 < i128::from(amount) * i128::from(pct));
        }

        #[test]
        fn payin_fee_never_exceeds_the_payin_and_payout_fee_is_on_top(
            amount in 0i64..1_000_000_000_000, pct in 0i64..=1_000_000, fixed in 0i64..1_000_000_000,
        ) {
            let f = ResolvedFee { percent_e4: pct, fixed_minor: fixed };
            let payin = f.payin_fee(amount).unwrap();
            prop_assert!(0 <= payin && payin <= amount);
            prop_assert_eq!(payin, f.on(amount).unwrap().min(amount));
            prop_assert_eq!(f.payout_fee(amount), f.on(amount));
        }
    }
}
