//! Merchant credentials and the admin token.

use rand::RngCore;

/// Merchant mode: test merchants are served by the sandbox provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Test => "test",
            Mode::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "test" => Some(Mode::Test),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// `pk_test_…` / `pk_live_…`: identifies the merchant; not a secret.
pub fn new_public_token(mode: Mode) -> String {
    format!("pk_{}_{}", mode.as_str(), random_hex(16))
}

/// `sk_test_…` / `sk_live_…`: 192 bits of entropy, the HMAC key.
pub fn new_secret_token(mode: Mode) -> String {
    format!("sk_{}_{}", mode.as_str(), random_hex(24))
}

/// The token of a payment's hosted page (`/pay/{token}`): 192 random bits
/// as 48 hex digits, unrelated to the payment's (time-ordered) id.
pub fn new_pay_token() -> String {
    random_hex(24)
}

/// Whether `s` has the shape of a page token (checked before any lookup).
pub fn is_pay_token(s: &str) -> bool {
    s.len() == 48 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// A generated admin token when the operator did not configure one.
pub fn new_admin_token() -> String {
    format!("adm_{}", random_hex(24))
}

/// A named operator's admin API key (`opk_…`); shown once, kept hashed.
pub fn new_operator_api_key() -> String {
    format!("opk_{}", random_hex(24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_carry_mode_and_are_random() {
        assert!(new_public_token(Mode::Live).starts_with("pk_live_"));
        assert!(new_secret_token(Mode::Test).starts_with("sk_test_"));
        assert_ne!(new_secret_token(Mode::Test), new_secret_token(Mode::Test));
        assert_eq!(Mode::parse("live"), Some(Mode::Live));
        assert_eq!(Mode::parse("LIVE"), None);
    }
}
