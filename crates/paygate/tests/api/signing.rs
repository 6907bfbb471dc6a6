//! The merchant signature computed independently of paygate-core, as a
//! merchant's own code would, and the headers that carry it.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::{SystemTime, UNIX_EPOCH};

pub fn now_secs() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// The documented signature, computed independently of paygate-core.
pub fn sign(secret: &str, ts: &str, email: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(email.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub fn sign_with_body(secret: &str, ts: &str, email: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(ts.as_bytes());
    mac.update(email.as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The three authentication headers, for calls built by hand.
pub fn auth_triplet<'a>(token: &'a str, ts: &'a str, sig: &'a str) -> [(&'static str, &'a str); 3] {
    [("X-App-Token", token), ("X-App-Access-Ts", ts), ("X-App-Access-Sig", sig)]
}

pub fn auth_headers(token: &str, ts: &str, sig: &str) -> reqwest::header::HeaderMap {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("X-App-Token", token.parse().unwrap());
    h.insert("X-App-Access-Ts", ts.parse().unwrap());
    h.insert("X-App-Access-Sig", sig.parse().unwrap());
    h.insert("Accept", "application/json, text/plain".parse().unwrap());
    h
}
