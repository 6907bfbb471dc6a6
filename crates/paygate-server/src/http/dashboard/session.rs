//! Dashboard sessions: sign-in with the admin token or a named operator's
//! password gives a random session id in an `HttpOnly`, `SameSite=Strict`
//! cookie (`Secure` when `public_url` is https); the server keeps only its
//! SHA-256, the operator's role and a CSRF token. Sessions end after 30
//! minutes idle or 12 hours in all, and at sign-out.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Redirect, Response};
use paygate_store::operators::SessionRow;
use paygate_store::time::now_micros;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub const COOKIE: &str = "paygate_session";
pub const IDLE_MICROS: i64 = 30 * 60 * 1_000_000;
pub const ABSOLUTE_MICROS: i64 = 12 * 3600 * 1_000_000;

pub use crate::http::roles::Role;

/// A signed-in operator.
#[derive(Clone, Debug)]
pub struct Session {
    pub actor: String,
    pub role: Role,
    /// `None` for a sign-in with the admin token.
    pub operator_id: Option<String>,
    pub csrf: String,
    pub id_hash: String,
    pub ip: Option<String>,
}

impl Session {
    /// 403 unless the role may do what needs `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("this needs the {} role", needed.as_str())))
        }
    }
}

pub fn hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(';')).find_map(|c| {
        let (k, v) = c.trim().split_once('=')?;
        (k == COOKIE).then(|| v.to_string())
    })
}

/// Starts a session and returns the `Set-Cookie` header value.
pub async fn start(state: &AppState, operator_id: Option<String>, actor: &str, role: Role) -> Result<String, ApiError> {
    let id = paygate_core::tokens::new_pay_token();
    let now = now_micros();
    let row = SessionRow {
        id_hash: hash(&id),
        operator_id,
        actor: actor.into(),
        role: role.as_str().into(),
        csrf_token: paygate_core::tokens::new_pay_token(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + ABSOLUTE_MICROS,
    };
    state.db.insert_session(&row).await?;
    Ok(cookie(state, &id, ABSOLUTE_MICROS / 1_000_000))
}

pub fn cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = if state.public_base().starts_with("https://") { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
}

/// Not signed in: to the sign-in page.
pub struct SignIn;

impl IntoResponse for SignIn {
    fn into_response(self) -> Response {
        Redirect::to("/dashboard/sign-in").into_response()
    }
}

impl FromRequestParts<AppState> for Session {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(id) = cookie_value(&parts.headers) else { return Err(SignIn.into_response()) };
        let id_hash = hash(&id);
        let found = state
            .db
            .touch_session(&id_hash, now_micros(), IDLE_MICROS)
            .await
            .map_err(|e| ApiError::from(e).into_response())?;
        let Some(s) = found else { return Err(SignIn.into_response()) };
        let role = Role::parse(&s.role).ok_or_else(|| SignIn.into_response())?;
        let ip = crate::http::auth::client_ip(parts, state.settings.trust_forwarded_for).map(|i| i.to_string());
        Ok(Session { actor: s.actor, role, operator_id: s.operator_id, csrf: s.csrf_token, id_hash, ip })
    }
}

/// A form post's CSRF token must be the session's, and a browser's
/// `Origin` (sent with every POST) must be this gateway's.
pub fn check_form(
    state: &AppState,
    session: &Session,
    headers: &HeaderMap,
    token: Option<&str>,
) -> Result<(), ApiError> {
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        if origin != state.public_base() {
            return Err(ApiError::Forbidden("the form was posted from another origin".into()));
        }
    }
    let ok = token.is_some_and(|t| bool::from(t.as_bytes().ct_eq(session.csrf.as_bytes())));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Forbidden("the form's CSRF token is missing or wrong; reload the page".into()))
    }
}
