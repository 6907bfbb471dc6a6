//! Decimal strings ⇄ integer minor units, so the balance check compares exact
//! integers (never floats) just as the gateway's ledger does.

/// `"1500.00"` with exponent 2 → `150000`. None for anything that is not a
/// plain signed decimal with at most `exp` fractional digits.
pub fn parse_minor(s: &str, exp: u32) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int.is_empty() || frac.len() > exp as usize || !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let mut v: i64 = int.parse().ok()?;
    for i in 0..exp as usize {
        let d = frac.as_bytes().get(i).map_or(0, |b| i64::from(b - b'0'));
        v = v.checked_mul(10)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

/// `150000` with exponent 2 → `"1500.00"`.
pub fn format_minor(v: i64, exp: u32) -> String {
    let scale = 10i64.pow(exp);
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let scale = scale.unsigned_abs();
    if exp == 0 {
        format!("{sign}{a}")
    } else {
        format!("{sign}{}.{:0width$}", a / scale, a % scale, width = exp as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_minor("100000000.00", 2), Some(10_000_000_000));
        assert_eq!(parse_minor("1.00", 2), Some(100));
        assert_eq!(parse_minor("1.5", 2), Some(150));
        assert_eq!(parse_minor("0", 2), Some(0));
        assert_eq!(parse_minor("-2.01", 2), Some(-201));
        assert_eq!(parse_minor("1.001", 2), None);
        assert_eq!(parse_minor("1e3", 2), None);
        assert_eq!(parse_minor("", 2), None);
        assert_eq!(format_minor(10_000_000_000, 2), "100000000.00");
        assert_eq!(format_minor(-201, 2), "-2.01");
        assert_eq!(format_minor(5, 2), "0.05");
    }
}
