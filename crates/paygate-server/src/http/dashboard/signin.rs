//! Signing in (the admin token, or a named operator's e-mail and password)
//! and out. Every outcome is in the audit log; a failure says the same
//! whatever was wrong, and unknown e-mails cost a password check too, so
//! neither the answer nor its time tells which accounts exist. Repeated
//! failures are throttled per address and per e-mail (`throttle`).

use super::audit::record;
use super::layout::{fields, public_page};
use super::session::{self, Role, Session};
use crate::state::AppState;
use argon2::password_hash::{PasswordHash, PasswordVerifier};
use argon2::Argon2;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

const FORM: &str = "<form method=\"post\" action=\"/dashboard/sign-in\" class=\"stack\">\
    <label>E-mail <input name=\"email\" type=\"email\" autocomplete=\"username\"></label>\
    <label>Password <input name=\"password\" type=\"password\" autocomplete=\"current-password\"></label>\
    <p class=\"hint\">or, leaving those empty, the gateway's admin token:</p>\
    <label>Admin token <input name=\"admin_token\" type=\"password\" autocomplete=\"off\"></label>\
    <button>Sign in</button></form>";

/// The argon2id hash of a random password, made once: unknown e-mails are
/// checked against it, so they take as long as known ones.
fn dummy_hash() -> &'static str {
    static HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HASH.get_or_init(|| hash_password(&paygate_core::tokens::new_pay_token()).unwrap_or_default())
}

/// An argon2id PHC string of `password` with a random salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt)?.to_string())
}

pub async fn sign_in_page() -> Response {
    public_page(StatusCode::OK, "Sign in", FORM)
}

fn refused() -> Response {
    public_page(
        StatusCode::UNAUTHORIZED,
        "Sign in",
        &format!("<p class=\"error\">Wrong e-mail, password or token.</p>{FORM}"),
    )
}

pub async fn sign_in(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if origin != state.public_base() {
            return public_page(StatusCode::FORBIDDEN, "Sign in", "<p class=\"error\">Posted from another origin.</p>");
        }
    }
    let f = fields(&body);
    let get = |k: &str| f.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let ip = sign_in_ip(&state, &headers, peer);
    // The admin token has no account to protect: its tries count against
    // the address only, so no one can lock everyone out of it.
    let email_key = get("email").map(|e| format!("email:{}", e.to_lowercase()));
    let keys: Vec<String> = std::iter::once(format!("ip:{ip}")).chain(email_key.clone()).collect();
    let tried = get("email").unwrap_or_else(|| "admin token".into());
    if let Some(secs) = state.sign_in_throttle.blocked(&keys) {
        record(&state, &tried, "-", "dashboard", "sign-in", None, "throttled", Some(ip)).await;
        let mut r = public_page(
            StatusCode::TOO_MANY_REQUESTS,
            "Sign in",
            &format!("<p class=\"error\">Too many wrong sign-ins. Try again in {} minutes.</p>", secs.div_ceil(60)),
        );
        r.headers_mut().insert(header::RETRY_AFTER, secs.into());
        return r;
    }
    let who = match (get("email"), get("password"), get("admin_token")) {
        (None, None, Some(token)) => crate::http::admin::gate::is_admin_token(&state, &token)
            .then(|| (None, "admin token".to_string(), Role::Admin)),
        (Some(email), Some(password), None) => {
            let found = state.db.operator_by_email(&email.to_lowercase()).await.ok().flatten();
            let hash = found.as_ref().map(|o| o.password_hash.0.clone()).unwrap_or_else(|| dummy_hash().to_string());
            // argon2 takes tens of milliseconds of CPU on purpose: off the
            // request threads.
            let verified = tokio::task::spawn_blocking(move || {
                PasswordHash::new(&hash)
                    .is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
            })
            .await
            .unwrap_or(false);
            found
                .filter(|o| verified && o.enabled)
                .and_then(|o| Role::parse(&o.role).map(|r| (Some(o.id.clone()), o.email.clone(), r)))
        }
        _ => None,
    };
    let Some((operator_id, actor, role)) = who else {
        state.sign_in_throttle.failed(&keys);
        record(&state, &tried, "-", "dashboard", "sign-in", None, "refused", Some(ip)).await;
        return refused();
    };
    if let Some(key) = &email_key {
        state.sign_in_throttle.succeeded(key);
    }
    match session::start(&state, operator_id, &actor, role).await {
        Ok(cookie) => {
            record(&state, &actor, role.as_str(), "dashboard", "sign-in", None, "ok", Some(ip)).await;
            (StatusCode::SEE_OTHER, [(header::LOCATION, "/dashboard".to_string()), (header::SET_COOKIE, cookie)])
                .into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The address a sign-in came from, as allow-lists see it
/// (`crate::http::auth::client_ip`): with a trusted proxy, the hop it
/// appended, else everyone behind it would share one throttle.
fn sign_in_ip(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    crate::http::auth::forwarded_or_peer(headers, Some(peer.ip()), state.settings.trust_forwarded_for)
        .unwrap_or(peer.ip())
        .to_string()
}

pub async fn sign_out(State(state): State<AppState>, s: Session, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&body);
    if let Err(e) = session::check_form(&state, &s, &headers, f.get("csrf").map(String::as_str)) {
        return super::layout::error_page(&s, &e);
    }
    let _ = state.db.end_session(&s.id_hash).await;
    record(&state, &s.actor, s.role.as_str(), "dashboard", "sign-out", None, "ok", s.ip.clone()).await;
    let gone = session::cookie(&state, "", 0);
    (StatusCode::SEE_OTHER, [(header::LOCATION, "/dashboard/sign-in".to_string()), (header::SET_COOKIE, gone)])
        .into_response()
}
