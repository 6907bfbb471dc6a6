//! Parsing of the filters every list and search endpoint shares: page size,
//! statuses, RFC 3339 bounds and decimal amount bounds. One place, so that
//! merchants and operators get the same rules and the same error details.

use crate::error::{ApiError, ApiResult};
use crate::payments::input::{currency_exponent, parse_time};
use crate::state::AppState;
use paygate_core::money::parse_minor;

/// `limit` (1-100, default 50) plus one: queries fetch a look-ahead row to
/// know whether there is a next page.
pub fn limit_plus_one(limit: Option<i64>) -> ApiResult<i64> {
    let limit = limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    Ok(limit + 1)
}

/// Every entry must be a known status; duplicates are dropped.
pub fn statuses(mut given: Vec<String>, known: impl Fn(&str) -> bool) -> ApiResult<Vec<String>> {
    if let Some(bad) = given.iter().find(|s| !known(s)) {
        return Err(ApiError::validation("status", format!("unknown status {bad:?}")));
    }
    given.sort();
    given.dedup();
    Ok(given)
}

/// `a,b, c` → `["a", "b", "c"]` (query-string lists).
pub fn comma_list(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .map(|s| s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect())
        .unwrap_or_default()
}

/// An optional RFC 3339 bound, in µs UTC.
pub fn time(v: &Option<String>, field: &str) -> ApiResult<Option<i64>> {
    v.as_deref()
        .map(|t| parse_time(t).ok_or_else(|| ApiError::validation(field, "must be an RFC 3339 time")))
        .transpose()
}

/// Optional decimal amount bounds in `currency`'s minor units; they need a
/// currency to be read in.
pub struct AmountBounds {
    exponent: Option<u8>,
}

impl AmountBounds {
    pub fn new(state: &AppState, currency: &Option<String>) -> ApiResult<AmountBounds> {
        let exponent = currency.as_deref().map(|c| currency_exponent(&state.currencies, c)).transpose()?;
        Ok(AmountBounds { exponent })
    }

    pub fn parse(&self, v: &Option<String>, field: &str) -> ApiResult<Option<i64>> {
        match (v, self.exponent) {
            (None, _) => Ok(None),
            (Some(_), None) => Err(ApiError::validation(field, "amount filters need currency")),
            (Some(t), Some(e)) => parse_minor(t, e).map(Some).map_err(|e| ApiError::validation(field, e.to_string())),
        }
    }
}
