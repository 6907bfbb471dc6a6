//! The door of the admin API: who is calling (the admin token, or a named
//! operator's `opk_…` key), whether their role may call this route, and an
//! audit entry for every request that may change something (any method but
//! GET and HEAD), let through or refused.

use crate::error::ApiError;
use crate::http::dashboard::record;
use crate::http::roles::{needed_for_admin_api, Caller, Role};
use crate::state::AppState;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use subtle::ConstantTimeEq;

pub async fn admin_api_gate(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if !path.starts_with("/admin/") {
        return next.run(req).await;
    }
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_string()).unwrap_or_else(|| path.clone());
    let ip = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_canonical().to_string());
    let caller = match authenticate(&state, req.headers()).await {
        Ok(c) => c,
        // Not an operator action: no audit entry, so that anyone on the
        // network cannot fill the log.
        Err(e) => return e.into_response(),
    };
    let needed = needed_for_admin_api(&method, &route);
    let resp = if caller.role >= needed {
        req.extensions_mut().insert(caller.clone());
        next.run(req).await
    } else {
        let why = format!("this needs the {} role; this key has the {} role", needed.as_str(), caller.role.as_str());
        ApiError::Forbidden(why).into_response()
    };
    if method != Method::GET && method != Method::HEAD {
        let target = (route != path).then_some(path);
        let outcome = resp.status().as_u16().to_string();
        let action = format!("{method} {route}");
        record(&state, &caller.actor, caller.role.as_str(), "admin-api", &action, target, &outcome, ip).await;
    }
    resp
}

/// `Authorization: Bearer <admin token>` (compared in constant time) or
/// `Bearer opk_…` (looked up by its SHA-256, only for an enabled operator).
async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let presented = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or(ApiError::AdminUnauthorized)?;
    if is_admin_token(state, presented) {
        return Ok(Caller { actor: "admin token".into(), role: Role::Admin });
    }
    if !presented.starts_with("opk_") {
        return Err(ApiError::AdminUnauthorized);
    }
    let hash = hex::encode(Sha256::digest(presented.as_bytes()));
    let operator = state.db.operator_by_api_key(&hash).await?.ok_or(ApiError::AdminUnauthorized)?;
    let role = Role::parse(&operator.role).ok_or(ApiError::AdminUnauthorized)?;
    Ok(Caller { actor: operator.email, role })
}

/// The admin token, compared in constant time (the dashboard's sign-in uses
/// it too).
pub fn is_admin_token(state: &AppState, presented: &str) -> bool {
    let expected = state.admin_token.expose_secret().as_bytes();
    presented.len() == expected.len() && bool::from(presented.as_bytes().ct_eq(expected))
}
