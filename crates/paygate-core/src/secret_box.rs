//! Encryption at rest for merchant SecretTokens (API.md section 10).
//!
//! We must be able to recover the plaintext (HMAC verification needs it), so
//! secrets are sealed with ChaCha20-Poly1305 under the operator's master key.
//! The row id is bound as associated data: a ciphertext copied onto another
//! merchant's row does not open.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;

const VERSION_PREFIX: &str = "v1.";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MasterKeyError {
    #[error("master key must be 32 bytes written as 64 hex digits or base64")]
    BadFormat,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("stored secret cannot be opened with this master key")]
pub struct OpenError;

/// The master key. `Debug` never prints the key material.
#[derive(Clone)]
pub struct MasterKey(Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        MasterKey(Key::from(k))
    }

    /// Parses 64 hex digits or base64 (padded or not) of exactly 32 bytes.
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let mut bytes = [0u8; 32];
        if hex::decode_to_slice(text, &mut bytes).is_ok() {
            return Ok(MasterKey(Key::from(bytes)));
        }
        let decoded = STANDARD_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| MasterKeyError::BadFormat)?;
        let arr: [u8; 32] = decoded.try_into().map_err(|_| MasterKeyError::BadFormat)?;
        Ok(MasterKey(Key::from(arr)))
    }

    /// Hex form, for writing the generated key file.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0.as_slice())
    }

    /// Seals `plaintext` for the row `bound_to`; the result is printable text.
    pub fn seal(&self, bound_to: &str, plaintext: &str) -> String {
        let cipher = ChaCha20Poly1305::new(&self.0);
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext.as_bytes(), aad: bound_to.as_bytes() })
            .expect("ChaCha20-Poly1305 encryption of a short message cannot fail");
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&sealed);
        format!("{VERSION_PREFIX}{}", STANDARD_NO_PAD.encode(raw))
    }

    pub fn open(&self, bound_to: &str, sealed: &str) -> Result<String, OpenError> {
        let body = sealed.strip_prefix(VERSION_PREFIX).ok_or(OpenError)?;
        let raw = STANDARD_NO_PAD.decode(body).map_err(|_| OpenError)?;
        if raw.len() < 12 + 16 {
            return Err(OpenError);
        }
        let (nonce, ct) = raw.split_at(12);
        let cipher = ChaCha20Poly1305::new(&self.0);
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: bound_to.as_bytes() })
            .map_err(|_| OpenError)?;
        String::from_utf8(plain).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let key = MasterKey::generate();
        let sealed = key.seal("mch_1", "sk_test_abc");
        assert!(!sealed.contains("sk_test_abc"));
        assert_eq!(key.open("mch_1", &sealed).unwrap(), "sk_test_abc");
        assert_eq!(key.open("mch_2", &sealed), Err(OpenError));
        assert_eq!(MasterKey::generate().open("mch_1", &sealed), Err(OpenError));
        assert_eq!(key.open("mch_1", "garbage"), Err(OpenError));
    }

    #[test]
    fn master_key_parses_hex_and_base64_and_hides_itself() {
        let key = MasterKey::generate();
        let hex_form = key.to_hex();
        let again = MasterKey::parse(&hex_form).unwrap();
        assert_eq!(again.to_hex(), hex_form);
        let b64 = base64::engine::general_purpose::STANDARD.encode(hex::decode(&hex_form).unwrap());
        assert_eq!(MasterKey::parse(&b64).unwrap().to_hex(), hex_form);
        assert_eq!(MasterKey::parse("short").unwrap_err(), MasterKeyError::BadFormat);
        assert!(!format!("{key:?}").contains(&hex_form));
    }
}
