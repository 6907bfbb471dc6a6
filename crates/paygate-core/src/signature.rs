//! The three signature schemes fixed by the documents merchants and partners
//! already code against (API.md sections 2, 4 and 8). Each is a pure function
//! so the published test vectors can pin it byte for byte.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;
type HmacSha512 = Hmac<Sha512>;

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// `X-App-Access-Sig`: lowercase hex of HMAC-SHA256(SecretToken, ts + email).
/// `body` is `Some` only for merchants who switched on body signing, where
/// the message becomes ts + email + raw body.
pub fn merchant_request_signature(secret: &[u8], ts: &str, email: &str, body: Option<&[u8]>) -> String {
    let mut parts: Vec<&[u8]> = vec![ts.as_bytes(), email.as_bytes()];
    if let Some(b) = body {
        parts.push(b);
    }
    hex::encode(hmac_sha256(secret, &parts))
}

/// Checks a presented `X-App-Access-Sig` in constant time. Upper-case hex is
/// accepted (API.md section 2); anything that is not 64 hex digits fails.
pub fn verify_merchant_request(secret: &[u8], ts: &str, email: &str, body: Option<&[u8]>, presented: &str) -> bool {
    let Some(presented) = decode_hex_32(presented) else {
        return false;
    };
    let mut parts: Vec<&[u8]> = vec![ts.as_bytes(), email.as_bytes()];
    if let Some(b) = body {
        parts.push(b);
    }
    let expected = hmac_sha256(secret, &parts);
    expected.ct_eq(&presented).into()
}

/// `X-Signature` of a merchant webhook: lowercase hex of
/// HMAC-SHA256(SecretToken, exact body bytes).
pub fn webhook_signature(secret: &[u8], body: &[u8]) -> String {
    hex::encode(hmac_sha256(secret, &[body]))
}

/// Constant-time check of a webhook signature (used by tests and by anyone
/// embedding paygate-core to verify our callbacks).
pub fn verify_webhook(secret: &[u8], body: &[u8], presented: &str) -> bool {
    decode_hex_32(presented).is_some_and(|p| hmac_sha256(secret, &[body]).ct_eq(&p).into())
}

/// Padded (PHP `base64_encode`) or unpadded (Perl `hmac_sha512_base64`) form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Base64Padding {
    Padded,
    Unpadded,
}

/// `API-Signature` as Switchere computes it: base64(HMAC-SHA512(secret,
/// SHA-256(message) as 32 raw bytes)).
pub fn partner_signature(secret: &[u8], message: &[u8], padding: Base64Padding) -> String {
    let mac = partner_mac(secret, message);
    match padding {
        Base64Padding::Padded => STANDARD.encode(mac),
        Base64Padding::Unpadded => STANDARD_NO_PAD.encode(mac),
    }
}

/// Verifies an `API-Signature` in either base64 form, in constant time:
/// exactly the padded form or exactly the unpadded one (so `…==` with an
/// extra `=` or a missing one is refused, like any other changed character).
pub fn verify_partner_signature(secret: &[u8], message: &[u8], presented: &str) -> bool {
    let mac = partner_mac(secret, message);
    let padded = STANDARD.encode(&mac);
    let unpadded = STANDARD_NO_PAD.encode(&mac);
    // Slices of different lengths compare unequal (in time independent of
    // their contents), so each form is checked exactly.
    let p = presented.as_bytes();
    bool::from(p.ct_eq(padded.as_bytes())) | bool::from(p.ct_eq(unpadded.as_bytes()))
}

fn partner_mac(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let digest = Sha256::digest(message);
    let mut mac = HmacSha512::new_from_slice(secret).expect("HMAC accepts keys of any length");
    mac.update(&digest);
    mac.finalize().into_bytes().to_vec()
}

fn decode_hex_32(s: &str) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_signature_is_lowercase_hex_of_ts_then_email() {
        let sig = merchant_request_signature(b"k", "1", "a@b.c", None);
        assert_eq!(sig.len(), 64);
        assert_eq!(sig, sig.to_lowercase());
        assert!(verify_merchant_request(b"k", "1", "a@b.c", None, &sig));
        assert!(verify_merchant_request(b"k", "1", "a@b.c", None, &sig.to_uppercase()));
        assert!(!verify_merchant_request(b"k", "1", "a@b.c", None, &sig[..63]));
        assert!(!verify_merchant_request(b"k", "1", "a@b.c", None, "zz"));
        // The body mode must not verify a signature made without the body.
        assert!(!verify_merchant_request(b"k", "1", "a@b.c", Some(b"{}"), &sig));
    }

    #[test]
    fn partner_signature_accepts_both_paddings_only() {
        let padded = partner_signature(b"s", b"m", Base64Padding::Padded);
        let unpadded = partner_signature(b"s", b"m", Base64Padding::Unpadded);
        assert_eq!(padded.trim_end_matches('='), unpadded);
        assert!(verify_partner_signature(b"s", b"m", &padded));
        assert!(verify_partner_signature(b"s", b"m", &unpadded));
        assert!(!verify_partner_signature(b"s", b"n", &padded));
        assert!(!verify_partner_signature(b"s", b"m", "not base64!"));
        assert!(!verify_partner_signature(b"s", b"m", &format!("{padded}=")));
        assert!(!verify_partner_signature(b"s", b"m", &padded[..padded.len() - 1]));
    }
}
