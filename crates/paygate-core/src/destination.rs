//! Payout destinations: validated per method (Luhn for cards, the ISO 13616
//! checksum for IBANs, E.164 for phones) and masked for every response and
//! log line. The full destination is what the provider needs; the masked one
//! is what everyone else sees.

use crate::payments::Method;
use serde_json::{json, Map, Value};

#[derive(Debug, PartialEq, Eq)]
pub struct DestinationError {
    pub field: String,
    pub issue: String,
}

fn err(field: &str, issue: &str) -> DestinationError {
    DestinationError { field: format!("destination.{field}"), issue: issue.into() }
}

/// A checked destination: normalised full form and masked form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    pub full: Value,
    pub masked: Value,
}

fn text<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<&'a str, DestinationError> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim()),
        Some(Value::String(_)) | None => Err(err(field, "is required")),
        Some(_) => Err(err(field, "must be a string")),
    }
}

fn optional_text<'a>(obj: &'a Map<String, Value>, field: &str) -> Result<Option<&'a str>, DestinationError> {
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(_) => text(obj, field).map(Some),
    }
}

fn holder(obj: &Map<String, Value>) -> Result<String, DestinationError> {
    let h = text(obj, "holder_name")?;
    if h.chars().count() > 128 || h.chars().any(char::is_control) {
        return Err(err("holder_name", "must be 1-128 printable characters"));
    }
    Ok(h.to_string())
}

fn only_fields(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), DestinationError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(err(k, &format!("unknown field for this method (allowed: {})", allowed.join(", ")))),
        None => Ok(()),
    }
}

/// Validates `raw` for `method`.
pub fn parse(method: Method, raw: &Value) -> Result<Destination, DestinationError> {
    let obj = raw
        .as_object()
        .ok_or_else(|| DestinationError { field: "destination".into(), issue: "must be an object".into() })?;
    match method {
        Method::Card => {
            only_fields(obj, &["card_number"])?;
            let digits: String = text(obj, "card_number")?.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
            if !(12..=19).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(err("card_number", "must be 12-19 digits"));
            }
            if !luhn_valid(&digits) {
                return Err(err("card_number", "fails the Luhn check"));
            }
            Ok(Destination { masked: json!({"card_number": mask_card(&digits)}), full: json!({"card_number": digits}) })
        }
        Method::Sbp => {
            only_fields(obj, &["phone", "bank_code"])?;
            let phone = text(obj, "phone")?;
            if !e164_valid(phone) {
                return Err(err("phone", "must be E.164: + and 8-15 digits"));
            }
            let bank = text(obj, "bank_code")?;
            if !code_valid(bank, 32) {
                return Err(err("bank_code", "must be 1-32 letters, digits, _ or -"));
            }
            Ok(Destination {
                masked: json!({"phone": mask_keep(phone, 2, 4), "bank_code": bank}),
                full: json!({"phone": phone, "bank_code": bank}),
            })
        }
        Method::BankTransfer => {
            only_fields(obj, &["account_number", "bank_code", "holder_name"])?;
            let account = text(obj, "account_number")?;
            if !(5..=34).contains(&account.len()) || !account.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(err("account_number", "must be 5-34 letters or digits"));
            }
            let bank = text(obj, "bank_code")?;
            if !code_valid(bank, 32) {
                return Err(err("bank_code", "must be 1-32 letters, digits, _ or -"));
            }
            let holder = holder(obj)?;
            Ok(Destination {
                masked: json!({"account_number": mask_keep(account, 0, 4), "bank_code": bank, "holder_name": holder}),
                full: json!({"account_number": account, "bank_code": bank, "holder_name": holder}),
            })
        }
        Method::Iban => {
            only_fields(obj, &["iban", "holder_name"])?;
            let iban: String =
                text(obj, "iban")?.chars().filter(|c| *c != ' ').collect::<String>().to_ascii_uppercase();
            if !iban_valid(&iban) {
                return Err(err("iban", "is not a valid IBAN (checksum)"));
            }
            let holder = holder(obj)?;
            Ok(Destination {
                masked: json!({"iban": mask_keep(&iban, 4, 4), "holder_name": holder}),
                full: json!({"iban": iban, "holder_name": holder}),
            })
        }
        Method::Crypto => {
            only_fields(obj, &["address", "network", "memo"])?;
            let address = text(obj, "address")?;
            if !(20..=128).contains(&address.len()) || !address.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(err("address", "must be 20-128 letters or digits"));
            }
            let network = text(obj, "network")?;
            if !code_valid(network, 20) {
                return Err(err("network", "must be 1-20 letters, digits, _ or -"));
            }
            let memo = optional_text(obj, "memo")?;
            if memo.is_some_and(|m| m.len() > 64 || m.chars().any(char::is_control)) {
                return Err(err("memo", "must be at most 64 printable characters"));
            }
            Ok(Destination {
                masked: json!({"address": mask_keep(address, 6, 4), "network": network, "memo": memo}),
                full: json!({"address": address, "network": network, "memo": memo}),
            })
        }
    }
}

fn code_valid(s: &str, max: usize) -> bool {
    (1..=max).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The Luhn (mod 10) check every card number carries.
pub fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        if !b.is_ascii_digit() {
            return false;
        }
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// ISO 13616: country letters, two check digits, then the BBAN; moving the
/// first four characters to the end and reading letters as 10..35 gives a
/// number that is 1 modulo 97.
pub fn iban_valid(iban: &str) -> bool {
    let b = iban.as_bytes();
    if !(15..=34).contains(&b.len())
        || !b[..2].iter().all(u8::is_ascii_uppercase)
        || !b[2..4].iter().all(u8::is_ascii_digit)
        || !b.iter().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return false;
    }
    let mut rem: u32 = 0;
    for &c in b[4..].iter().chain(&b[..4]) {
        let v = if c.is_ascii_digit() { u32::from(c - b'0') } else { u32::from(c - b'A') + 10 };
        rem = if v >= 10 { (rem * 100 + v) % 97 } else { (rem * 10 + v) % 97 };
    }
    rem == 1
}

/// E.164: `+`, a non-zero first digit, 8 to 15 digits in all.
pub fn e164_valid(phone: &str) -> bool {
    phone
        .strip_prefix('+')
        .is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()) && !d.starts_with('0'))
}

/// `4111111111111111` → `411111******1111`. Shorter numbers show fewer
/// leading digits, so at least six always stay hidden.
pub fn mask_card(digits: &str) -> String {
    let n = digits.len();
    let head = n.saturating_sub(10).min(6);
    let tail = 4.min(n);
    // Card numbers are ASCII digits (checked before masking), so byte slicing is safe.
    format!("{}{}{}", &digits[..head], "*".repeat(n - head - tail), &digits[n - tail..])
}

/// Keeps `head` leading and `tail` trailing characters and stars the rest,
/// but never shows more than half of the value.
pub fn mask_keep(s: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let tail = tail.min(n / 2);
    let head = head.min(n / 2 - tail);
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(n - head - tail));
    out.extend(&chars[n - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cards() {
        assert!(luhn_valid("4111111111111111"));
        assert!(!luhn_valid("4111111111111112"));
        let d = parse(Method::Card, &json!({"card_number": "4111 1111 1111 1111"})).unwrap();
        assert_eq!(d.masked, json!({"card_number": "411111******1111"}));
        assert_eq!(d.full, json!({"card_number": "4111111111111111"}));
        assert!(parse(Method::Card, &json!({"card_number": "4111111111111112"})).is_err());
        assert!(parse(Method::Card, &json!({"card_number": "41111"})).is_err());
        assert!(parse(Method::Card, &json!({"card_number": 4111111111111111u64})).is_err());
        assert!(parse(Method::Card, &json!({"card_number": "4111111111111111", "cvv": "123"})).is_err());
    }

    #[test]
    fn ibans() {
        for ok in ["DE89370400440532013000", "GB82WEST12345698765432", "FR1420041010050500013M02606"] {
            assert!(iban_valid(ok), "{ok}");
        }
        assert!(!iban_valid("DE89370400440532013001"));
        assert!(!iban_valid("DE8937040044"));
        let d = parse(Method::Iban, &json!({"iban": "de89 3704 0044 0532 0130 00", "holder_name": "Max Mustermann"}))
            .unwrap();
        assert_eq!(d.full["iban"], "DE89370400440532013000");
        assert_eq!(d.masked["iban"], "DE89**************3000");
    }

    #[test]
    fn phones_and_crypto() {
        assert!(e164_valid("+79161234567"));
        assert!(!e164_valid("79161234567"));
        assert!(!e164_valid("+0123456789"));
        assert!(!e164_valid("+1234567"));
        let d = parse(Method::Sbp, &json!({"phone": "+79161234567", "bank_code": "sber"})).unwrap();
        assert_eq!(d.masked["phone"], "+7******4567");
        let c = parse(Method::Crypto, &json!({"address": "TQn9Y2khEsLJW1ChVWFMSMeRDow5KcbLSE", "network": "TRC20"}))
            .unwrap();
        assert_eq!(c.masked["address"], "TQn9Y2************************bLSE");
        assert!(parse(Method::Crypto, &json!({"address": "short", "network": "TRC20"})).is_err());
        assert!(parse(
            Method::BankTransfer,
            &json!({"account_number": "40817810099910004312", "bank_code": "044525225"})
        )
        .is_err());
    }

    #[test]
    fn short_values_never_show_more_than_half() {
        assert_eq!(mask_card("400000000006"), "40******0006");
        assert_eq!(mask_keep("12345", 0, 4), "***45");
        assert_eq!(mask_keep("+79161234567", 2, 4), "+7******4567");
    }

    proptest! {
        #[test]
        fn masks_never_reveal_the_middle(s in "[0-9]{12,19}") {
            let m = mask_card(&s);
            let head = (s.len() - 10).min(6);
            prop_assert_eq!(m.len(), s.len());
            prop_assert_eq!(&m[..head], &s[..head]);
            prop_assert_eq!(&m[s.len() - 4..], &s[s.len() - 4..]);
            prop_assert!(m[head..s.len() - 4].bytes().all(|b| b == b'*'));
            prop_assert!(m.bytes().filter(|b| *b == b'*').count() >= 6);
        }

        #[test]
        fn one_digit_change_breaks_luhn(s in "[0-9]{15,18}", i in 0usize..15, d in 1u8..10) {
            // Compute the check digit that makes s valid, then change one digit.
            let check = (0..10).map(|c| format!("{s}{c}")).find(|n| luhn_valid(n)).unwrap();
            let mut bytes = check.into_bytes();
            let i = i % bytes.len();
            bytes[i] = b'0' + (bytes[i] - b'0' + d) % 10;
            prop_assert!(!luhn_valid(std::str::from_utf8(&bytes).unwrap()));
        }
    }
}
