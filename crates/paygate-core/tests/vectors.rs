//! The published signature vectors (Python `hmac`, PHP, Perl) must all verify
//! (merchant requests and webhooks, partner requests and callbacks),
//! and every one-character mutation of any input must fail.
//!
//! The vectors are kept in `tests/data` so the repository tests stand alone;
//! when the shared contract folder sits beside the checkout, the copy must
//! equal it, so a changed contract cannot go unnoticed.

use paygate_core::signature::*;
use serde_json::Value;

fn vectors() -> Value {
    let copy = include_str!("data/signatures.json");
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors/signatures.json");
    if let Ok(text) = std::fs::read_to_string(&shared) {
        assert_eq!(text, copy, "tests/data/signatures.json drifted from shared/vectors");
    }
    serde_json::from_str(copy).unwrap()
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_else(|| panic!("vector field {k}"))
}

/// Replaces one character with a different one (keeps it valid UTF-8).
fn mutate(text: &str, at: usize) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let i = at % chars.len();
    chars[i] = if chars[i] == 'a' { 'b' } else { 'a' };
    chars.into_iter().collect()
}

#[test]
fn merchant_auth_vectors_verify_and_mutations_fail() {
    let v = vectors();
    let list = v["merchant_auth"].as_array().unwrap();
    assert!(list.len() >= 3);
    for vec in list {
        let (secret, email, ts, sig) =
            (s(vec, "secret_token"), s(vec, "email"), s(vec, "timestamp"), s(vec, "x_app_access_sig"));
        assert_eq!(format!("{ts}{email}"), s(vec, "sign_str"));
        assert_eq!(merchant_request_signature(secret.as_bytes(), ts, email, None), sig);
        assert!(verify_merchant_request(secret.as_bytes(), ts, email, None, sig));
        for i in 0..sig.len() {
            let bad = mutate(sig, i);
            assert!(!verify_merchant_request(secret.as_bytes(), ts, email, None, &bad), "sig mutated at {i}");
        }
        for i in 0..email.chars().count() {
            assert!(!verify_merchant_request(secret.as_bytes(), ts, &mutate(email, i), None, sig), "email at {i}");
        }
        for i in 0..ts.len() {
            assert!(!verify_merchant_request(secret.as_bytes(), &mutate(ts, i), email, None, sig), "ts at {i}");
        }
        for i in 0..secret.chars().count() {
            assert!(!verify_merchant_request(mutate(secret, i).as_bytes(), ts, email, None, sig), "secret at {i}");
        }
    }
}

#[test]
fn merchant_webhook_vectors_verify_and_mutations_fail() {
    let v = vectors();
    for vec in v["merchant_webhook"].as_array().unwrap() {
        let (secret, body, sig) = (s(vec, "secret_token"), s(vec, "body"), s(vec, "x_signature"));
        assert_eq!(webhook_signature(secret.as_bytes(), body.as_bytes()), sig);
        assert!(verify_webhook(secret.as_bytes(), body.as_bytes(), sig));
        for i in 0..body.chars().count() {
            assert!(!verify_webhook(secret.as_bytes(), mutate(body, i).as_bytes(), sig), "body at {i}");
        }
        assert!(!verify_webhook(secret.as_bytes(), body.as_bytes(), &mutate(sig, 0)));
        assert!(!verify_webhook(mutate(secret, 0).as_bytes(), body.as_bytes(), sig));
    }
}

#[test]
fn partner_callback_vectors_verify_in_both_paddings() {
    let v = vectors();
    for vec in v["partner_callback"].as_array().unwrap() {
        let (secret, content) = (s(vec, "secret"), s(vec, "content"));
        let (php, perl) = (s(vec, "api_signature_php"), s(vec, "api_signature_perl"));
        assert_eq!(partner_signature(secret.as_bytes(), content.as_bytes(), Base64Padding::Padded), php);
        assert_eq!(partner_signature(secret.as_bytes(), content.as_bytes(), Base64Padding::Unpadded), perl);
        assert_eq!(perl.len(), 86);
        assert!(verify_partner_signature(secret.as_bytes(), content.as_bytes(), php));
        assert!(verify_partner_signature(secret.as_bytes(), content.as_bytes(), perl));
        assert!(!verify_partner_signature(secret.as_bytes(), mutate(content, 3).as_bytes(), php));
        assert!(!verify_partner_signature(mutate(secret, 0).as_bytes(), content.as_bytes(), php));
        assert!(!verify_partner_signature(secret.as_bytes(), content.as_bytes(), &mutate(perl, 5)));
    }
}

#[test]
fn partner_request_vectors_sign_path_and_body_in_every_padding() {
    let v = vectors();
    let list = v["partner_request"].as_array().unwrap();
    assert!(list.iter().any(|vec| s(vec, "content").is_empty()), "a GET (empty body) is among them");
    for vec in list {
        let (secret, path, content) = (s(vec, "secret"), s(vec, "path"), s(vec, "content"));
        let message = format!("{path}{content}");
        let padded = s(vec, "api_signature_php_padded");
        assert_eq!(partner_signature(secret.as_bytes(), message.as_bytes(), Base64Padding::Padded), padded);
        for unpadded in [s(vec, "api_signature_php_trimmed"), s(vec, "api_signature_perl")] {
            assert_eq!(partner_signature(secret.as_bytes(), message.as_bytes(), Base64Padding::Unpadded), unpadded);
        }
        for presented in [padded, s(vec, "api_signature_perl")] {
            assert!(verify_partner_signature(secret.as_bytes(), message.as_bytes(), presented));
            // The path is signed too: the same body on another path is refused.
            let elsewhere = format!("{}{content}", mutate(path, 5));
            assert!(!verify_partner_signature(secret.as_bytes(), elsewhere.as_bytes(), presented));
            assert!(!verify_partner_signature(mutate(secret, 0).as_bytes(), message.as_bytes(), presented));
        }
    }
}
