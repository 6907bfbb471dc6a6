//! Authentication extractors.
//!
//! [`Signed<T>`] authenticates a merchant exactly as API.md section 2 fixes
//! it and then parses the body as `T`. It consumes the body because a
//! merchant may opt into signatures that cover it. Checks run in the
//! documented order so each failure maps to one code: missing header →
//! unknown token → stale timestamp → bad signature → disabled; then the IP
//! allow-list (403) and the merchant's rate limit (429). Requests that got
//! this far count against the limit, including those later refused for
//! their content type or body (415, 400, 422): only failed authentication
//! is free.

use super::body::{parse_json, read_limited, require_json_content_type};
use crate::auth_cache::CachedMerchant;
use crate::error::ApiError;
use crate::merchants::usable_secrets;
use crate::rate_limit::Limit;
use crate::state::AppState;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use paygate_core::signature::verify_merchant_request;
use paygate_store::merchants::MerchantRecord;
use paygate_store::time::now_micros;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

pub const TOKEN_HEADER: &str = "x-app-token";
pub const TS_HEADER: &str = "x-app-access-ts";
pub const SIG_HEADER: &str = "x-app-access-sig";

/// An authenticated merchant call with its parsed body.
pub struct Signed<T> {
    pub merchant: MerchantRecord,
    pub body: T,
}

fn header<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or(ApiError::AuthMissingHeaders(name))
}

impl<T: DeserializeOwned + Send> FromRequest<AppState> for Signed<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let headers = &parts.headers;
        let token = header(headers, TOKEN_HEADER)?;
        let ts = header(headers, TS_HEADER)?;
        let sig = header(headers, SIG_HEADER)?;

        let cached = state.auth_cache.get(token);
        let fresh_read = cached.is_none();
        let mut merchant = match cached {
            Some(m) => m,
            None => load_merchant(state, token).await?.ok_or(ApiError::AuthUnknownToken)?,
        };

        let now = now_micros();
        if let Err(why) = timestamp_fresh(ts, now / 1_000_000, state.settings.auth_window_secs) {
            return Err(ApiError::AuthTsExpired(why));
        }

        let bytes = read_limited(body, state.settings.max_body_bytes).await?;
        if !signature_matches(&merchant, ts, &bytes, sig, now) {
            // A cached entry may predate a rotation or a sign_body change
            // made elsewhere: decide on a fresh read before refusing.
            if fresh_read {
                return Err(ApiError::AuthBadSignature);
            }
            merchant = load_merchant(state, token).await?.ok_or(ApiError::AuthUnknownToken)?;
            if !signature_matches(&merchant, ts, &bytes, sig, now) {
                return Err(ApiError::AuthBadSignature);
            }
        }
        let merchant = merchant.record.clone();
        if !merchant.enabled {
            return Err(ApiError::MerchantDisabled);
        }
        let ip = client_ip(&parts, state.settings.trust_forwarded_for);
        if !ip_allowed(&merchant.ip_allowlist, ip) {
            return Err(ApiError::Forbidden("client address is not in the merchant's IP allow-list".into()));
        }
        let limit = Limit::for_merchant(merchant.rate_limit_per_second, state.settings.rate_limit());
        state.rate_limiter.take(&merchant.id, limit).map_err(ApiError::RateLimited)?;
        require_json_content_type(headers)?;
        let body = parse_json(&bytes)?;
        Ok(Signed { merchant, body })
    }
}

/// Reads the merchant and opens its secrets, and caches the result.
async fn load_merchant(state: &AppState, token: &str) -> Result<Option<Arc<CachedMerchant>>, ApiError> {
    let Some(record) = state.db.merchant_by_public_token(token).await? else {
        return Ok(None);
    };
    let secrets = usable_secrets(state, &record, now_micros())?;
    let prev_secret_until = record.prev_secret_expires_at;
    let cached = Arc::new(CachedMerchant { record, secrets, prev_secret_until });
    state.auth_cache.put(token, cached.clone());
    Ok(Some(cached))
}

/// Tries every usable secret with no early exit, so timing does not tell
/// which one matched. A previous secret past its grace is skipped even when
/// the entry was cached before the grace ended.
fn signature_matches(m: &CachedMerchant, ts: &str, body: &[u8], sig: &str, now: i64) -> bool {
    let signed_body = m.record.sign_body.then_some(body);
    let prev_valid = m.prev_secret_until.is_some_and(|until| until > now);
    let mut matched = false;
    for (i, secret) in m.secrets.iter().enumerate() {
        if i > 0 && !prev_valid {
            continue;
        }
        matched |= verify_merchant_request(secret.expose_secret().as_bytes(), ts, &m.record.email, signed_body, sig);
    }
    matched
}

/// `ts` must be decimal seconds within `window` of `now` either way.
/// `Ok` when `ts` is decimal Unix seconds within `window` of now; otherwise
/// the message of the 401, which names the likely mistake: milliseconds
/// (13 digits, what `Date.now()` and `time.time_ns() // 10**6` give) or
/// a clock that is off.
fn timestamp_fresh(ts: &str, now_secs: i64, window: u64) -> Result<(), String> {
    let within = format!("X-App-Access-Ts must be Unix time in seconds within {window} s of the server's clock");
    if ts.is_empty() || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{within}; it is not a decimal number"));
    }
    let millis_like = |t: i64| t / 1000 != 0 && (t / 1000).abs_diff(now_secs) <= window;
    match ts.parse::<i64>() {
        Ok(t) if t.abs_diff(now_secs) <= window => Ok(()),
        Ok(t) if millis_like(t) => Err(format!("{within}; this looks like milliseconds: send {}", t / 1000)),
        Ok(t) => Err(format!("{within}; it is {} s off (server time {now_secs})", t.abs_diff(now_secs))),
        // 20 digits and more: certainly not seconds.
        Err(_) => Err(within),
    }
}

/// The peer address, or, when the operator says a trusted proxy sets it,
/// the last `X-Forwarded-For` hop: the one that proxy appended. Earlier
/// hops are whatever the client wrote, so trusting the first one would let
/// anyone pass an IP allow-list or dodge a throttle.
pub fn client_ip(parts: &Parts, trust_forwarded_for: bool) -> Option<IpAddr> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    forwarded_or_peer(&parts.headers, peer, trust_forwarded_for)
}

/// [`client_ip`] from the headers and the peer address.
pub fn forwarded_or_peer(headers: &HeaderMap, peer: Option<IpAddr>, trust_forwarded_for: bool) -> Option<IpAddr> {
    let forwarded = trust_forwarded_for
        .then(|| headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
        .flatten()
        .and_then(|v| v.rsplit(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    forwarded.or(peer).map(|ip| ip.to_canonical())
}

/// An empty list allows everyone; otherwise the address must fall in one of
/// the networks. A stored list that does not parse allows no one: failing
/// closed is the only safe reading of a corrupt allow-list.
pub(crate) fn ip_allowed(allowlist_json: &str, ip: Option<IpAddr>) -> bool {
    let Ok(nets) = serde_json::from_str::<Vec<ipnet::IpNet>>(allowlist_json) else {
        return false;
    };
    if nets.is_empty() {
        return true;
    }
    ip.is_some_and(|ip| nets.iter().any(|n| n.contains(&ip)))
}

/// An admin API caller whom [`crate::http::admin::gate`] has let through:
/// the admin token or a named operator's key, with the role the route needs.
pub struct Admin(pub crate::http::roles::Caller);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        // Absent only if a route escaped the gate: refuse rather than trust.
        parts.extensions.get::<crate::http::roles::Caller>().cloned().map(Admin).ok_or(ApiError::AdminUnauthorized)
    }
}

/// Query parameters with our error envelope (axum's own rejection is plain text).
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| QueryParams(q.0))
            .map_err(|e| rejected(e.status(), e.body_text()))
    }
}

/// Path parameters with our error envelope: an id that is not UTF-8 once
/// percent-decoded is refused as 400 `BAD_REQUEST` (axum's own rejection is
/// plain text).
pub struct PathParam<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequestParts<AppState> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| rejected(e.status(), e.body_text()))
    }
}

/// axum's rejection of a query or path as our error. A client's mistake is
/// 400 `BAD_REQUEST`; what axum answers 500 (a handler asking for parameters
/// its route lacks) is our bug and stays a 500.
fn rejected(status: axum::http::StatusCode, text: String) -> ApiError {
    if status.is_server_error() {
        ApiError::internal(anyhow::anyhow!("request parameters: {text}"))
    } else {
        ApiError::BadRequest(text)
    }
}

/// A JSON body for unsigned (admin) endpoints, with our error envelope.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        require_json_content_type(req.headers())?;
        let bytes = read_limited(req.into_body(), state.settings.max_body_bytes).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proxys_own_hop_counts_not_the_clients() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6, 10.0.0.7".parse().unwrap());
        let peer = Some(IpAddr::from([127, 0, 0, 1]));
        assert_eq!(forwarded_or_peer(&h, peer, true), Some(IpAddr::from([10, 0, 0, 7])));
        assert_eq!(forwarded_or_peer(&h, peer, false), peer, "untrusted: the peer");
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(forwarded_or_peer(&h, peer, true), peer);
    }

    #[test]
    fn timestamp_window_is_symmetric_and_strict() {
        assert!(timestamp_fresh("1000", 1000, 300).is_ok());
        assert!(timestamp_fresh("700", 1000, 300).is_ok());
        assert!(timestamp_fresh("1300", 1000, 300).is_ok());
        assert!(timestamp_fresh("699", 1000, 300).is_err());
        assert!(timestamp_fresh("1301", 1000, 300).is_err());
        for bad in ["", "-5", "+1000", "1000.0", "1e3", "99999999999999999999"] {
            assert!(timestamp_fresh(bad, 1000, 300).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_stale_timestamp_says_why() {
        let now = 1_764_000_000;
        let millis = timestamp_fresh("1764000000123", now, 300).unwrap_err();
        assert!(millis.contains("milliseconds") && millis.contains("send 1764000000"), "{millis}");
        let off = timestamp_fresh("1763999000", now, 300).unwrap_err();
        assert!(off.contains("1000 s off") && off.contains("seconds"), "{off}");
        assert!(timestamp_fresh("12ab", now, 300).unwrap_err().contains("not a decimal number"));
    }

    #[test]
    fn allowlist() {
        let ip: IpAddr = "10.1.2.3".parse().unwrap();
        assert!(ip_allowed("[]", Some(ip)));
        assert!(ip_allowed(r#"["10.0.0.0/8"]"#, Some(ip)));
        assert!(!ip_allowed(r#"["192.168.0.0/16"]"#, Some(ip)));
        assert!(!ip_allowed(r#"["10.0.0.0/8"]"#, None));
        assert!(!ip_allowed("not json", Some(ip)));
    }
}
