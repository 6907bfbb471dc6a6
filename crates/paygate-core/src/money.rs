//! Exact money: amounts are `i64` minor units; decimal text is parsed and
//! printed only here, digit by digit, never through a float.

use std::collections::BTreeMap;

/// Largest exponent a currency may have (API.md section 1).
pub const MAX_EXPONENT: u8 = 8;

#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum AmountError {
    #[error("not a decimal number")]
    NotANumber,
    #[error("more than {0} decimals")]
    TooManyDecimals(u8),
    #[error("must be greater than zero")]
    NotPositive,
    #[error("too large")]
    TooLarge,
}

/// Parses `text` as a non-negative decimal with at most `exponent` decimals
/// and returns it in minor units. Accepts `12`, `12.5`, `12.50`, `0.001`;
/// refuses signs, exponents, spaces, `NaN`, `Infinity`, empty parts (`.5`,
/// `5.`) and values that do not fit in `i64`.
pub fn parse_minor(text: &str, exponent: u8) -> Result<i64, AmountError> {
    let (int_part, frac_part) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text, None),
    };
    let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits_only(int_part) || frac_part.is_some_and(|f| !digits_only(f)) {
        return Err(AmountError::NotANumber);
    }
    let frac = frac_part.unwrap_or("");
    // Trailing zeros beyond the exponent carry no value ("1.500" for RUB is 1.50).
    let significant = frac.trim_end_matches('0');
    if significant.len() > usize::from(exponent) {
        return Err(AmountError::TooManyDecimals(exponent));
    }
    let int_trimmed = int_part.trim_start_matches('0');
    if int_trimmed.len() > 19 {
        return Err(AmountError::TooLarge);
    }
    let mut value: i64 = 0;
    for b in int_trimmed.bytes() {
        value = value.checked_mul(10).and_then(|v| v.checked_add(i64::from(b - b'0'))).ok_or(AmountError::TooLarge)?;
    }
    for i in 0..usize::from(exponent) {
        let digit = significant.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        value = value.checked_mul(10).and_then(|v| v.checked_add(digit)).ok_or(AmountError::TooLarge)?;
    }
    Ok(value)
}

/// The largest amount one payment may carry, in minor units (10^15: ten
/// trillion RUB, ten million BTC). Anything larger is an input error, not a
/// payment, and a bound keeps sums over millions of payments far from
/// overflowing `i64`.
pub const MAX_PAYMENT_MINOR: i64 = 1_000_000_000_000_000;

/// Like [`parse_minor`] but refuses zero and absurd values: what a payment
/// amount must be.
pub fn parse_positive_minor(text: &str, exponent: u8) -> Result<i64, AmountError> {
    match parse_minor(text, exponent)? {
        0 => Err(AmountError::NotPositive),
        v if v > MAX_PAYMENT_MINOR => Err(AmountError::TooLarge),
        v => Ok(v),
    }
}

/// Formats minor units with exactly `exponent` decimals (`150000`, 2 → `"1500.00"`).
pub fn format_minor(minor: i64, exponent: u8) -> String {
    format_minor_wide(i128::from(minor), exponent)
}

/// [`format_minor`] for sums over many payments, which may exceed `i64`.
pub fn format_minor_wide(minor: i128, exponent: u8) -> String {
    let mut out = String::with_capacity(24);
    // Writing into a String cannot fail.
    let _ = write_minor_wide(&mut out, minor, exponent);
    out
}

/// [`format_minor_wide`] into `out`, for text written in one piece (an
/// hourly year of statistics is 52k amounts).
pub fn write_minor_wide(out: &mut impl std::fmt::Write, minor: i128, exponent: u8) -> std::fmt::Result {
    let abs = minor.unsigned_abs();
    let scale = 10u128.pow(u32::from(exponent));
    if minor < 0 {
        out.write_char('-')?;
    }
    // In 64 bits when both fit, as nearly every amount does: 128-bit
    // division and formatting are library calls, and every payment view
    // formats three or four amounts, an hourly year of statistics 52k.
    match (u64::try_from(abs), u64::try_from(scale)) {
        (Ok(abs), Ok(scale)) => put_decimal(out, abs / scale, abs % scale, exponent),
        _ => put_decimal(out, abs / scale, abs % scale, exponent),
    }
}

/// `int`, then `.` and `frac` in exactly `exponent` digits unless it is 0.
fn put_decimal<T: std::fmt::Display>(
    out: &mut impl std::fmt::Write,
    int: T,
    frac: T,
    exponent: u8,
) -> std::fmt::Result {
    if exponent == 0 {
        write!(out, "{int}")
    } else {
        write!(out, "{int}.{frac:0width$}", width = usize::from(exponent))
    }
}

/// Parses a signed amount (`"-12.50"`), for ledger adjustments.
pub fn parse_signed_minor(text: &str, exponent: u8) -> Result<i64, AmountError> {
    match text.strip_prefix('-') {
        Some(rest) => parse_minor(rest, exponent).map(|v| -v),
        None => parse_minor(text, exponent),
    }
}

/// The currencies paygate accepts, by ISO-like code, with their exponents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Currencies(BTreeMap<String, u8>);

crate::text_newtype!(
    /// A currency code (`RUB`, `USDT`, …) that the configuration knew when the
    /// payment was made. Made at the edge by [`Currencies::code`], or read back
    /// from storage, where only such codes are written.
    CurrencyCode
);

impl Default for Currencies {
    fn default() -> Self {
        let list = [
            ("RUB", 2),
            ("USD", 2),
            ("EUR", 2),
            ("GBP", 2),
            ("KZT", 2),
            ("UAH", 2),
            ("TRY", 2),
            ("JPY", 0),
            ("USDT", 6),
            ("USDC", 6),
            ("BTC", 8),
            ("ETH", 8),
            ("LTC", 8),
            ("TRX", 6),
        ];
        Currencies(list.iter().map(|(c, e)| (c.to_string(), *e)).collect())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CurrencyConfigError {
    #[error("currency code {0:?} must be 2-10 upper-case letters or digits")]
    BadCode(String),
    #[error("currency {0} has exponent {1}, more than {MAX_EXPONENT}")]
    BadExponent(String, u8),
}

impl Currencies {
    /// Builds the set from configuration, checking every entry.
    pub fn from_entries(entries: impl IntoIterator<Item = (String, u8)>) -> Result<Self, CurrencyConfigError> {
        let mut map = BTreeMap::new();
        for (code, exp) in entries {
            let ok =
                (2..=10).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(CurrencyConfigError::BadCode(code));
            }
            if exp > MAX_EXPONENT {
                return Err(CurrencyConfigError::BadExponent(code, exp));
            }
            map.insert(code, exp);
        }
        Ok(Currencies(map))
    }

    pub fn exponent(&self, code: &str) -> Option<u8> {
        self.0.get(code).copied()
    }

    /// `code` as a currency of this configuration, with its exponent; the
    /// only way request text becomes a [`CurrencyCode`].
    pub fn code(&self, code: &str) -> Option<(CurrencyCode, u8)> {
        self.0.get_key_value(code).map(|(c, e)| (CurrencyCode(c.clone()), *e))
    }

    pub fn codes(&self) -> impl Iterator<Item = (&str, u8)> {
        self.0.iter().map(|(c, e)| (c.as_str(), *e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_minor("1500", 2), Ok(150000));
        assert_eq!(parse_minor("1500.5", 2), Ok(150050));
        assert_eq!(parse_minor("1500.50", 2), Ok(150050));
        assert_eq!(parse_minor("1500.500", 2), Ok(150050));
        assert_eq!(parse_minor("0.00123456", 8), Ok(123456));
        assert_eq!(parse_minor("7", 0), Ok(7));
        assert_eq!(parse_minor("0.001", 2), Err(AmountError::TooManyDecimals(2)));
        assert_eq!(parse_minor("1.5", 0), Err(AmountError::TooManyDecimals(0)));
        for bad in ["", ".5", "5.", "-1", "+1", "1e3", "NaN", "Infinity", " 1", "1 ", "1,5", "0x10", "١"] {
            assert_eq!(parse_minor(bad, 2), Err(AmountError::NotANumber), "{bad:?}");
        }
        assert_eq!(parse_minor("92233720368547758.08", 2), Err(AmountError::TooLarge));
        assert_eq!(parse_minor("92233720368547758.07", 2), Ok(i64::MAX));
        assert_eq!(parse_minor("99999999999999999999999", 0), Err(AmountError::TooLarge));
        assert_eq!(parse_positive_minor("0.00", 2), Err(AmountError::NotPositive));
        assert_eq!(parse_positive_minor("10000000000000.00", 2), Ok(MAX_PAYMENT_MINOR));
        assert_eq!(parse_positive_minor("10000000000000.01", 2), Err(AmountError::TooLarge));
        assert_eq!(parse_signed_minor("-12.50", 2), Ok(-1250));
    }

    #[test]
    fn formats_exactly() {
        assert_eq!(format_minor(150000, 2), "1500.00");
        assert_eq!(format_minor(123456, 8), "0.00123456");
        assert_eq!(format_minor(7, 0), "7");
        assert_eq!(format_minor(-1250, 2), "-12.50");
        assert_eq!(format_minor(i64::MIN, 2), "-92233720368547758.08");
        assert_eq!(format_minor_wide(i128::from(i64::MAX) * 1000 + 5, 2), "92233720368547758070.05");
        assert_eq!(format_minor_wide(i128::MIN, 8), "-1701411834604692317316873037158.84105728");
        assert_eq!(format_minor_wide(i128::MAX, 0), "170141183460469231731687303715884105727");
        assert_eq!(format_minor_wide(0, 8), "0.00000000");
        // Either side of the 64-bit path.
        assert_eq!(format_minor_wide(i128::from(u64::MAX), 2), "184467440737095516.15");
        assert_eq!(format_minor_wide(i128::from(u64::MAX) + 1, 2), "184467440737095516.16");
        assert_eq!(format_minor_wide(-i128::from(u64::MAX) - 1, 3), "-18446744073709551.616");
        assert_eq!(format_minor_wide(12_345, 20), "0.00000000000000012345");
    }

    proptest! {
        #[test]
        fn format_then_parse_round_trips(v in 0i64..=i64::MAX, e in 0u8..=8) {
            prop_assert_eq!(parse_minor(&format_minor(v, e), e), Ok(v));
        }

        #[test]
        fn wide_format_agrees_with_narrow(v in any::<i64>(), e in 0u8..=8) {
            prop_assert_eq!(format_minor_wide(i128::from(v), e), format_minor(v, e));
        }

        #[test]
        fn parse_never_panics(s in "[0-9.\\-+eE ]{0,30}", e in 0u8..=8) {
            let _ = parse_minor(&s, e);
        }
    }
}
