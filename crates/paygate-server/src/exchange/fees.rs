//! A partner's exchange fees: percentages of the payin and fixed fees per
//! payout currency, stored as JSON on the partner and defaulted from config.

use crate::error::ApiError;
use paygate_core::exchange::quote::{parse_amount, parse_decimal, Fees};
use paygate_core::money::Currencies;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// As stored and as the operator sends it: decimal strings.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ExchangeFeesIn {
    /// Percent of the payin taken as a fee (`"1.5"` is 1.5 %).
    #[schema(example = "1.5")]
    pub payin_percent: Option<String>,
    /// Percent of the payin kept as the operator's margin.
    #[schema(example = "0.5")]
    pub margin_percent: Option<String>,
    /// Fixed fee per payout currency, taken from the payout: `{"BTC": "0.0001"}`.
    #[serde(default)]
    pub payout_fixed: BTreeMap<String, String>,
}

fn percent(field: &str, text: &str) -> Result<Decimal, ApiError> {
    let d = parse_decimal(text).ok_or_else(|| ApiError::validation(field, "must be a decimal number such as 1.5"))?;
    if d >= Decimal::from(50) {
        return Err(ApiError::validation(field, "must be below 50"));
    }
    // More decimals would push a fee's product past Decimal's 28 digits,
    // where it would round instead of rounding up.
    if d.normalize().scale() > 8 {
        return Err(ApiError::validation(field, "at most 8 decimals"));
    }
    Ok(d)
}

impl ExchangeFeesIn {
    /// Checks every value (so a stored document always resolves).
    pub fn validate(&self, currencies: &Currencies) -> Result<(), ApiError> {
        let p = self.payin_percent.as_deref().map(|t| percent("exchange_fees.payin_percent", t)).transpose()?;
        let m = self.margin_percent.as_deref().map(|t| percent("exchange_fees.margin_percent", t)).transpose()?;
        if p.unwrap_or_default() + m.unwrap_or_default() >= Decimal::from(50) {
            return Err(ApiError::validation("exchange_fees", "payin_percent + margin_percent must be below 50"));
        }
        for (cur, amount) in &self.payout_fixed {
            let field = format!("exchange_fees.payout_fixed.{cur}");
            let exp = currencies.exponent(cur).ok_or_else(|| ApiError::validation(&field, "unknown currency"))?;
            parse_amount(amount, exp).map_err(|e| ApiError::validation(&field, e.to_string()))?;
        }
        Ok(())
    }

    /// The fees of an order paying out in `payout` (exponent `exp`), with
    /// `defaults` for what the partner has not set.
    pub fn resolve(&self, defaults: &ExchangeFeesIn, payout: &str, exp: u8) -> Fees {
        let pick = |own: &Option<String>, def: &Option<String>| {
            own.as_deref().or(def.as_deref()).and_then(parse_decimal).unwrap_or(Decimal::ZERO)
        };
        let fixed = self.payout_fixed.get(payout).or_else(|| defaults.payout_fixed.get(payout));
        Fees {
            payin_percent: pick(&self.payin_percent, &defaults.payin_percent),
            margin_percent: pick(&self.margin_percent, &defaults.margin_percent),
            payout_fixed: fixed.and_then(|t| parse_amount(t, exp).ok()).unwrap_or(0),
        }
    }
}
