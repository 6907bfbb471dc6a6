//! Merchants: the list, creating one (its secret shown once), disabling and
//! enabling. Creating and disabling need the admin role.

use super::audit::record;
use super::layout::{error_page, esc, fields, form_for, page};
use super::session::{check_form, Role, Session};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use paygate_store::merchants::MerchantPatch;

pub async fn list(State(state): State<AppState>, s: Session) -> Response {
    let merchants = match state.db.list_merchants(None, 100).await {
        Ok(m) => m,
        Err(e) => return error_page(&s, &e.into()),
    };
    let mut b = String::new();
    if s.role >= Role::Admin {
        b += &form_for(
            &s,
            Role::Admin,
            "/dashboard/merchants",
            "<label>E-mail <input name=\"email\" type=\"email\" required></label>\
             <label>Name <input name=\"name\" required></label>\
             <label>Mode <select name=\"mode\"><option>test</option><option>live</option></select></label>",
            "Create merchant",
        );
    }
    b += "<table><tr><th>Id</th><th>E-mail</th><th>Name</th><th>Mode</th><th>Enabled</th><th></th></tr>";
    for m in &merchants {
        let toggle = if m.enabled { ("disable", "Disable") } else { ("enable", "Enable") };
        b += &format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&m.id),
            esc(&m.email),
            esc(&m.name),
            m.mode.as_str(),
            if m.enabled { "yes" } else { "no" },
            form_for(&s, Role::Admin, &format!("/dashboard/merchants/{}/{}", m.id, toggle.0), "", toggle.1)
        );
    }
    b += "</table>";
    page(&s, "Merchants", &b)
}

pub async fn create(State(state): State<AppState>, s: Session, headers: HeaderMap, body: Bytes) -> Response {
    let f = fields(&body);
    let done = async {
        check_form(&state, &s, &headers, f.get("csrf").map(String::as_str))?;
        s.require(Role::Admin)?;
        let mode = crate::http::admin::merchants::parse_mode(f.get("mode").map(String::as_str).unwrap_or("test"))?;
        let email = f.get("email").map(String::as_str).unwrap_or("");
        crate::merchants::create(&state, email, f.get("name").map(String::as_str).unwrap_or(""), mode).await
    }
    .await;
    match done {
        Ok(made) => {
            record(
                &state,
                &s.actor,
                s.role.as_str(),
                "dashboard",
                "merchant.create",
                Some(made.merchant.id.clone()),
                "ok",
                s.ip.clone(),
            )
            .await;
            let body = format!(
                "<p>Merchant <code>{}</code> created. Its secret token is shown <strong>only now</strong>:</p>\
                 <p><code id=\"secret\">{}</code></p><p>Public token: <code>{}</code></p>\
                 <p><a href=\"/dashboard/merchants\">Back to the merchants</a></p>",
                esc(&made.merchant.id),
                esc(secrecy::ExposeSecret::expose_secret(&made.secret_token)),
                esc(&made.merchant.public_token)
            );
            page(&s, "Merchant created", &body)
        }
        Err(e) => {
            record(&state, &s.actor, s.role.as_str(), "dashboard", "merchant.create", None, "refused", s.ip.clone())
                .await;
            error_page(&s, &e)
        }
    }
}

pub async fn toggle(
    State(state): State<AppState>,
    s: Session,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let f = fields(&body);
    let done = async {
        check_form(&state, &s, &headers, f.get("csrf").map(String::as_str))?;
        s.require(Role::Admin)?;
        let enabled = match what.as_str() {
            "enable" => true,
            "disable" => false,
            _ => return Err(crate::error::ApiError::NotFound),
        };
        let patch = MerchantPatch { enabled: Some(enabled), ..Default::default() };
        let m = state.db.update_merchant(&id, patch).await?.ok_or(crate::error::ApiError::NotFound)?;
        state.auth_cache.forget(&m.public_token);
        crate::exchange::cache::forget_partner(&state, &m.id);
        Ok(())
    }
    .await;
    let outcome = if done.is_ok() { "ok" } else { "refused" };
    record(
        &state,
        &s.actor,
        s.role.as_str(),
        "dashboard",
        &format!("merchant.{what}"),
        Some(id),
        outcome,
        s.ip.clone(),
    )
    .await;
    match done {
        Ok(()) => (StatusCode::SEE_OTHER, [(header::LOCATION, "/dashboard/merchants")]).into_response(),
        Err(e) => error_page(&s, &e),
    }
}
