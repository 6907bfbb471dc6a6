//! `/dashboard/account`: who is signed in, with which role, and, for a named
//! operator, their admin API key. The key (`opk_…`) is shown once; issuing a
//! new one replaces the old, and the admin API gives it the operator's role.

use super::audit::record;
use super::layout::{error_page, esc, fields, form, page};
use super::session::{check_form, Session};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use sha2::{Digest, Sha256};

/// A key just issued, to be shown once.
pub struct IssuedKey {
    pub email: String,
    pub role: String,
    pub api_key: String,
}

/// Issues the operator's admin API key and writes the audit entry; `None`
/// when no operator has this e-mail. `actor`, `role` and `via` name who
/// asked, for the audit log.
pub async fn issue_api_key(
    state: &AppState,
    email: &str,
    actor: &str,
    role: &str,
    via: &str,
    ip: Option<String>,
) -> Result<Option<IssuedKey>, ApiError> {
    let api_key = paygate_core::tokens::new_operator_api_key();
    let hash = hex::encode(Sha256::digest(api_key.as_bytes()));
    let Some(operator) = state.db.set_operator_api_key(email, &hash).await? else { return Ok(None) };
    record(state, actor, role, via, "operator.api-key", Some(operator.email.clone()), "ok", ip).await;
    Ok(Some(IssuedKey { email: operator.email, role: operator.role, api_key }))
}

pub async fn account(s: Session) -> Response {
    let mut b =
        format!("<p>Signed in as <strong>{}</strong>, role <strong>{}</strong>.</p>", esc(&s.actor), s.role.as_str());
    b += "<p>A viewer reads; an operator also confirms and fails payments, moves payouts, resolves disputes \
          and resends deliveries; an admin also changes merchants, partners, balances, requisites, rates and methods. \
          The admin API applies the same roles.</p>";
    if s.operator_id.is_some() {
        b += "<h2>Admin API key</h2><p>Use it as <code>Authorization: Bearer opk_…</code> on <code>/admin/v1</code>. \
              A new key replaces the old one at once.</p>";
        b += &form(&s, "/dashboard/account/api-key", "", "Issue a new API key", "inline");
    } else {
        b += "<p>You signed in with the admin token, which is itself the admin API's key.</p>";
    }
    page(&s, "Account", &b)
}

pub async fn new_api_key(State(state): State<AppState>, s: Session, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&body);
    let issued = async {
        check_form(&state, &s, &headers, f.get("csrf").map(String::as_str))?;
        if s.operator_id.is_none() {
            return Err(ApiError::Forbidden("the admin token has no key of its own".into()));
        }
        issue_api_key(&state, &s.actor, &s.actor, s.role.as_str(), "dashboard", s.ip.clone())
            .await?
            .ok_or(ApiError::NotFound)
    }
    .await;
    match issued {
        Ok(k) => page(
            &s,
            "API key issued",
            &format!(
                "<p>Your admin API key is shown <strong>only now</strong>:</p><p><code id=\"api-key\">{}</code></p>\
                 <p><a href=\"/dashboard/account\">Back to your account</a></p>",
                esc(&k.api_key)
            ),
        ),
        Err(e) => {
            record(&state, &s.actor, s.role.as_str(), "dashboard", "operator.api-key", None, "refused", s.ip.clone())
                .await;
            error_page(&s, &e)
        }
    }
}
