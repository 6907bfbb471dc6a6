//! Merchants: the list, creating one (its secret shown once), disabling and
//! enabling. Creating and disabling need the admin role.

use super::action::{perform, Action, Done};
use super::audit::record;
use super::layout::{error_page, esc, fields, form_for, page};
use super::session::{check_form, Role, Session};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
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
        let base = format!("/dashboard/merchants/{}", m.id);
        let mut actions =
            format!("<a href=\"{base}/settings\">Fees and limits</a> <a href=\"{base}/partner\">Exchange partner</a>");
        actions += &form_for(&s, Role::Admin, &format!("{base}/{}", toggle.0), "", toggle.1);
        actions += &form_for(&s, Role::Admin, &format!("{base}/rotate"), "", "Rotate secret");
        actions += &form_for(
            &s,
            Role::Admin,
            &format!("{base}/webhook"),
            &format!(
                "<input name=\"webhook_url\" placeholder=\"https://…\" value=\"{}\">",
                esc(m.webhook_url.as_deref().unwrap_or(""))
            ),
            "Set webhook URL",
        );
        if m.mode == paygate_core::tokens::Mode::Test {
            actions += &form_for(
                &s,
                Role::Operator,
                &format!("{base}/test-payin"),
                "<input name=\"amount\" value=\"100.00\" size=\"8\"><input name=\"currency\" value=\"RUB\" size=\"4\">",
                "Create a test payin",
            );
        }
        b += &format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{actions}</td></tr>",
            esc(&m.id),
            esc(&m.email),
            esc(&m.name),
            m.mode.as_str(),
            if m.enabled { "yes" } else { "no" },
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

/// Rotating a secret (shown once), setting the webhook URL, or creating a
/// test payin whose page a customer can pay on (test merchants only).
pub async fn manage(
    State(state): State<AppState>,
    s: Session,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if what == "enable" || what == "disable" {
        return toggle(State(state), s, Path((id, what)), headers, body).await;
    }
    let f = fields(&body);
    let shown = async {
        check_form(&state, &s, &headers, f.get("csrf").map(String::as_str))?;
        let m = state.db.merchant(&id).await?.ok_or(crate::error::ApiError::NotFound)?;
        match what.as_str() {
            "rotate" => {
                s.require(Role::Admin)?;
                let rotated = crate::merchants::rotate_secret(&state, &id).await?;
                Ok(format!(
                    "<p>The new secret token, shown <strong>only now</strong> (the old one works for the grace period):</p>\
                     <p><code id=\"secret\">{}</code></p>",
                    esc(secrecy::ExposeSecret::expose_secret(&rotated.secret_token))
                ))
            }
            "webhook" => {
                s.require(Role::Admin)?;
                let url = f.get("webhook_url").map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
                let input = crate::http::admin::merchants::PatchMerchantIn { webhook_url: Some(url), ..Default::default() };
                let patch = crate::http::admin::merchants::validate_patch(&state, input)?;
                let m = state.db.update_merchant(&id, patch).await?.ok_or(crate::error::ApiError::NotFound)?;
                state.forget_merchant(&m);
                Ok(format!("<p>Webhook URL: <code>{}</code></p>", esc(m.webhook_url.as_deref().unwrap_or("none"))))
            }
            "test-payin" => {
                s.require(Role::Operator)?;
                if m.mode != paygate_core::tokens::Mode::Test {
                    return Err(crate::error::ApiError::Forbidden("test payins are for test merchants".into()));
                }
                let order = format!("dashboard-{}", &paygate_core::tokens::new_pay_token()[..16]);
                let input = serde_json::json!({"merchant_order_id": order, "amount": f.get("amount").map(|a| a.trim()).unwrap_or(""),
                    "currency": f.get("currency").map(|c| c.trim()).unwrap_or(""), "method": "card", "customer_id": "dashboard"});
                let input = serde_json::from_value(input).map_err(|e| crate::error::ApiError::validation("amount", e.to_string()))?;
                let (row, _) = crate::payments::payin::create(&state, &m, input).await?;
                let url = format!("{}/pay/{}", state.public_base(), row.pay_token.unwrap_or_default());
                Ok(format!(
                    "<p>Test payin <code>{}</code> created. Its customer pays on <a id=\"pay-url\" href=\"{u}\">{u}</a>.</p>",
                    esc(row.id.as_str()),
                    u = esc(&url)
                ))
            }
            _ => Err(crate::error::ApiError::NotFound),
        }
    }
    .await;
    let outcome = if shown.is_ok() { "ok" } else { "refused" };
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
    match shown {
        Ok(body) => page(&s, "Done", &(body + "<p><a href=\"/dashboard/merchants\">Back to the merchants</a></p>")),
        Err(e) => error_page(&s, &e),
    }
}

pub async fn toggle(
    State(state): State<AppState>,
    s: Session,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let a = Action {
        needed: Role::Admin,
        name: format!("merchant.{what}"),
        target: Some(id.clone()),
        back: "/dashboard/merchants".into(),
    };
    let (state_ref, id_ref, what_ref) = (&state, &id, &what);
    perform(&state, &s, &headers, &body, a, |_f| async move {
        let (state, id, what) = (state_ref, id_ref, what_ref);
        let enabled = match what.as_str() {
            "enable" => true,
            "disable" => false,
            _ => return Err(crate::error::ApiError::NotFound),
        };
        let patch = MerchantPatch { enabled: Some(enabled), ..Default::default() };
        let m = state.db.update_merchant(id, patch).await?.ok_or(crate::error::ApiError::NotFound)?;
        state.forget_merchant(&m);
        crate::exchange::cache::forget_partner(state, &m.id);
        Ok(Done::Back)
    })
    .await
}
