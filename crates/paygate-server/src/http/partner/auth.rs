//! Partner authentication, as Switchere fixes it (API.md 9.1): `API-Key`
//! names the partner and `API-Signature = base64(HMAC-SHA512(secret,
//! SHA-256(path + raw body)))`, padded or unpadded, where the path has no
//! scheme, host or query (the path with its query is accepted too) and a
//! GET's body is empty. Header names are case-insensitive (axum's headers
//! are). The compare is constant-time and tries every usable secret. The
//! partner's merchant's IP allow-list and request rate limit apply too.

use super::error::PartnerError;
use crate::error::ApiError;
use crate::exchange::cache::{self, CachedPartner};
use crate::http::auth::{client_ip, ip_allowed};
use crate::http::body::read_limited;
use crate::rate_limit::Limit;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::request::Parts;
use paygate_core::signature::verify_partner_signature;
use paygate_store::exchange::partners::PartnerRecord;
use paygate_store::merchants::MerchantRecord;
use paygate_store::time::now_micros;
use secrecy::ExposeSecret;

pub const KEY_HEADER: &str = "api-key";
pub const SIGNATURE_HEADER: &str = "api-signature";

/// An authenticated partner call with its raw body.
pub struct PartnerCall {
    pub partner: PartnerRecord,
    pub merchant: MerchantRecord,
    pub body: Bytes,
}

fn header<'a>(parts: &'a Parts, name: &'static str, shown: &'static str) -> Result<&'a str, ApiError> {
    parts
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::AuthMissingHeaders(shown))
}

impl FromRequest<AppState> for PartnerCall {
    type Rejection = PartnerError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, PartnerError> {
        let (parts, body) = req.into_parts();
        let key = header(&parts, KEY_HEADER, "API-Key")?.to_string();
        let signature = header(&parts, SIGNATURE_HEADER, "API-Signature")?.to_string();
        let path = parts.uri.path().to_string();
        let path_and_query = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| path.clone());
        let body = read_limited(body, state.settings.max_body_bytes).await?;
        let mut found = cache::partner(state, &key, false).await?.ok_or(ApiError::AuthUnknownToken)?;
        let message = |p: &str| [p.as_bytes(), &body[..]].concat();
        let messages = [message(&path), message(&path_and_query)];
        if !signed_by(&found, &messages, &signature) {
            // A cached entry may predate a rotation made elsewhere.
            found = cache::partner(state, &key, true).await?.ok_or(ApiError::AuthUnknownToken)?;
            if !signed_by(&found, &messages, &signature) {
                return Err(ApiError::AuthBadSignature.into());
            }
        }
        if !found.merchant.enabled || !found.partner.enabled {
            return Err(ApiError::MerchantDisabled.into());
        }
        // The partner is its merchant: the same allow-list and request budget.
        let ip = client_ip(&parts, state.settings.trust_forwarded_for);
        if !ip_allowed(&found.merchant.ip_allowlist, ip) {
            return Err(ApiError::Forbidden("client address is not in the merchant's IP allow-list".into()).into());
        }
        let limit = Limit::for_merchant(found.merchant.rate_limit_per_second, state.settings.rate_limit());
        state.rate_limiter.take(&found.merchant.id, limit).map_err(ApiError::RateLimited)?;
        let (partner, merchant) = (found.partner.clone(), found.merchant.clone());
        Ok(PartnerCall { partner, merchant, body })
    }
}

/// Tries every usable secret over both messages, with no early exit, so
/// timing does not tell which matched. A previous secret whose grace ended
/// since the entry was cached is skipped.
fn signed_by(p: &CachedPartner, messages: &[Vec<u8>], signature: &str) -> bool {
    let prev_valid = p.partner.prev_secret_expires_at.is_some_and(|until| until > now_micros());
    let mut matched = false;
    for (i, secret) in p.secrets.iter().enumerate() {
        if i > 0 && !prev_valid {
            continue;
        }
        for m in messages {
            matched |= verify_partner_signature(secret.expose_secret().as_bytes(), m, signature);
        }
    }
    matched
}

impl PartnerCall {
    /// The body as JSON (`{}` when empty); not JSON is 400 `BAD_JSON`.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, PartnerError> {
        parse_body(&self.body)
    }
}

pub fn parse_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, PartnerError> {
    let bytes: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { body };
    if serde_json::from_slice::<serde_json::Value>(bytes).is_err() {
        return Err(ApiError::BadJson("the body is not JSON".into()).into());
    }
    crate::http::body::parse_json(bytes).map_err(PartnerError)
}
