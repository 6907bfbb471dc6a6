//! Request fields every payment endpoint shares: exact amounts, currencies,
//! metadata, times, and the digest that decides whether a repeated
//! `merchant_order_id` is the same request.

use crate::error::{ApiError, FieldIssue};
use paygate_core::money::{parse_positive_minor, AmountError, Currencies, CurrencyCode};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// An amount as sent: a JSON string (`"1500.00"`) or number (`1500.00`),
/// kept as its raw text so it is never read through a float.
#[derive(Deserialize, Debug)]
#[serde(transparent)]
pub struct AmountIn(Box<RawValue>);

impl AmountIn {
    /// The decimal text the client sent.
    pub fn text(&self) -> Result<String, String> {
        let raw = self.0.get().trim();
        if raw.starts_with('"') {
            serde_json::from_str::<String>(raw).map_err(|_| "must be a decimal string or number".into())
        } else if raw.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            Ok(raw.to_string())
        } else {
            Err("must be a decimal string or number".into())
        }
    }

    /// Minor units of `currency` (exponent `exp`); > 0.
    pub fn minor(&self, exp: u8, currency: &str) -> Result<i64, String> {
        let text = self.text()?;
        parse_positive_minor(&text, exp).map_err(|e| match e {
            AmountError::TooManyDecimals(n) => format!("more than {n} decimals for {currency}"),
            AmountError::NotPositive => "must be greater than zero".into(),
            AmountError::TooLarge => "is too large".into(),
            AmountError::NotANumber => "must be a positive decimal number".into(),
        })
    }
}

impl utoipa::PartialSchema for AmountIn {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
        // The decimals a currency allows (its exponent) and the merchant's
        // limits are checked against the currency: 422 beyond them.
        OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(r"^[0-9]+(\.[0-9]+)?$")).examples(["1500.00"]))
            .item(ObjectBuilder::new().schema_type(Type::Number).exclusive_minimum(Some(0)))
            .description(Some("A positive decimal, as a string (`\"1500.00\"`) or a JSON number, with at most the currency's decimals"))
            .into()
    }
}

impl utoipa::ToSchema for AmountIn {
    fn name() -> std::borrow::Cow<'static, str> {
        "Amount".into()
    }
}

/// Looks up the currency's exponent or answers `UNSUPPORTED_CURRENCY`.
pub fn currency_exponent(currencies: &Currencies, code: &str) -> Result<u8, ApiError> {
    Ok(currency(currencies, code)?.1)
}

/// `code` as a configured currency, with its exponent, or 422 `UNSUPPORTED_CURRENCY`.
pub fn currency(currencies: &Currencies, code: &str) -> Result<(CurrencyCode, u8), ApiError> {
    currencies
        .code(code)
        .ok_or_else(|| ApiError::Unprocessable("UNSUPPORTED_CURRENCY", format!("currency {code:?} is not supported")))
}

/// Collects field problems so one answer lists all of them.
#[derive(Default)]
pub struct Issues(pub Vec<FieldIssue>);

impl Issues {
    pub fn add(&mut self, field: &str, issue: impl Into<String>) {
        self.0.push(FieldIssue::new(field, issue));
    }

    pub fn check(&mut self, ok: bool, field: &str, issue: &str) {
        if !ok {
            self.add(field, issue);
        }
    }

    pub fn into_result(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

/// `metadata`: a JSON object of at most 4 KiB, stored in canonical form.
pub fn metadata(value: &Option<Value>, issues: &mut Issues) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(v @ Value::Object(_)) => {
            let text = canonical_json(v);
            if text.len() > 4096 {
                issues.add("metadata", "must be at most 4 KiB");
            }
            Some(text)
        }
        Some(_) => {
            issues.add("metadata", "must be an object");
            None
        }
    }
}

/// JSON with object keys sorted at every level, so equal documents give
/// equal text whatever order the client wrote them in. serde_json's `Value`
/// keeps objects in a `BTreeMap` (its `preserve_order` feature is off), so
/// writing it out sorts the keys; `canonical_json_sorts_keys` fails if a
/// dependency ever turns that feature on.
pub fn canonical_json(v: &Value) -> String {
    v.to_string()
}

/// SHA-256 over the fields that define a request, each length-prefixed so
/// that no two different field lists share a digest.
pub fn request_digest(fields: &[Option<&str>]) -> String {
    let mut h = Sha256::new();
    for f in fields {
        match f {
            Some(s) => {
                h.update((s.len() as u64).to_be_bytes());
                h.update(s.as_bytes());
            }
            None => h.update(u64::MAX.to_be_bytes()),
        }
    }
    hex::encode(h.finalize())
}

/// RFC 3339 time → µs since the epoch, rounded up to the next whole µs.
/// Stored times are whole µs, so for the bounds we use (`>= from`, `< to`)
/// rounding up keeps a sub-µs bound exact, where truncating would let in a
/// row created before `from` or drop one created before `to`.
pub fn parse_time(text: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(text).ok()?;
    let micros = t.timestamp_micros();
    Some(if t.timestamp_subsec_nanos() % 1000 != 0 { micros.checked_add(1)? } else { micros })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(json: &str) -> AmountIn {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn sub_microsecond_bounds_round_up() {
        assert_eq!(parse_time("1970-01-01T00:00:00.000001Z"), Some(1));
        assert_eq!(parse_time("1970-01-01T00:00:00.0000001Z"), Some(1));
        assert_eq!(parse_time("1970-01-01T00:00:00.0000019+00:00"), Some(2));
        assert_eq!(parse_time("1970-01-01T05:30:00+05:30"), Some(0));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn amounts_are_exact_from_strings_and_numbers() {
        assert_eq!(amount(r#""1500.00""#).minor(2, "RUB"), Ok(150000));
        assert_eq!(amount("1500.5").minor(2, "RUB"), Ok(150050));
        assert_eq!(amount("0.1").minor(8, "BTC"), Ok(10_000_000));
        // 0.1 + 0.2 style values that floats get wrong stay exact.
        assert!(amount("0.30000000000000004").minor(8, "X").is_err());
        assert!(amount("1e3").minor(2, "RUB").is_err());
        assert!(amount("-5").minor(2, "RUB").is_err());
        assert!(amount("0").minor(2, "RUB").is_err());
        assert!(amount(r#""1.001""#).minor(2, "RUB").unwrap_err().contains("more than 2 decimals"));
        assert!(amount("true").minor(2, "RUB").is_err());
        assert!(amount("null").minor(2, "RUB").is_err());
        assert!(amount(r#"{"a":1}"#).minor(2, "RUB").is_err());
    }

    #[test]
    fn canonical_json_sorts_keys() {
        let a: Value = serde_json::from_str(r#"{"b":1,"a":{"d":2,"c":3}}"#).unwrap();
        assert_eq!(canonical_json(&a), r#"{"a":{"c":3,"d":2},"b":1}"#);
        assert_ne!(request_digest(&[Some("ab"), Some("c")]), request_digest(&[Some("a"), Some("bc")]));
        assert_ne!(request_digest(&[None]), request_digest(&[Some("")]));
    }
}
