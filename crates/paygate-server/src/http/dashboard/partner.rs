//! A merchant's exchange-partner settings (API.md 9.1): make it a partner
//! (its API key and secrets shown once), change the callback URL, the
//! signature padding, access and exchange fees with the admin API's own
//! checks, and rotate the secrets (shown once again). Admins only.

use super::action::{perform, Action, Done};
use super::audit::record;
use super::layout::{error_page, esc, fields, form_for, page};
use super::session::{check_form, Role, Session};
use crate::error::ApiError;
use crate::exchange::partners::{self, parse_padding, PartnerWithSecretsOut};
use crate::http::admin::partners::{apply_patch, PartnerPatchIn};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

pub async fn show(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let (m, p) = match (state.db.merchant(&id).await, state.db.partner(&id).await) {
        (Ok(Some(m)), Ok(p)) => (m, p),
        (Ok(None), _) => return error_page(&s, &ApiError::NotFound),
        (Err(e), _) | (_, Err(e)) => return error_page(&s, &e.into()),
    };
    let base = format!("/dashboard/merchants/{}/partner", m.id);
    let padding = |current: &str| {
        ["padded", "unpadded"]
            .iter()
            .map(|v| format!("<option{}>{v}</option>", if *v == current { " selected" } else { "" }))
            .collect::<String>()
    };
    let mut b = format!("<p>Merchant <code>{}</code> ({}).</p>", esc(&m.id), esc(&m.email));
    let Some(p) = p else {
        b += "<p>Not an exchange partner. Making it one issues an API key, a request secret and a callback \
              secret, shown once.</p>";
        let inputs = format!(
            "<label>Callback URL <input name=\"callback_url\" placeholder=\"https://…\"></label>\
             <label>Signature padding <select name=\"signature_padding\">{}</select></label>",
            padding("padded")
        );
        b += &form_for(&s, Role::Admin, &format!("{base}/enable"), &inputs, "Make it a partner");
        return page(&s, "Exchange partner", &b);
    };
    let fees: serde_json::Value = serde_json::from_str(&p.exchange_fees).unwrap_or_default();
    for (k, v) in [
        ("API key", p.api_key.clone()),
        ("Signature padding", p.signature_padding.clone()),
        ("Callback URL", p.callback_url.clone().unwrap_or_else(|| "none".into())),
        ("Enabled", if p.enabled { "yes" } else { "no" }.into()),
        ("Exchange fees", fees.to_string()),
    ] {
        b += &format!("<p>{k}: <code>{}</code></p>", esc(&v));
    }
    let enabled = |yes: bool| if yes == p.enabled { " selected" } else { "" };
    let inputs = format!(
        "<label>Callback URL <input name=\"callback_url\" value=\"{}\"></label>\
         <label>Signature padding <select name=\"signature_padding\">{}</select></label>\
         <label>Enabled <select name=\"enabled\"><option{}>yes</option><option{}>no</option></select></label>\
         <label>Exchange fees (JSON: payin_percent, margin_percent, payout_fixed) \
         <textarea name=\"exchange_fees\" rows=\"4\" cols=\"60\">{}</textarea></label>",
        esc(p.callback_url.as_deref().unwrap_or("")),
        padding(&p.signature_padding),
        enabled(true),
        enabled(false),
        esc(&fees.to_string())
    );
    b += &form_for(&s, Role::Admin, &base, &inputs, "Save partner settings");
    b += &form_for(&s, Role::Admin, &format!("{base}/rotate"), "", "Rotate partner secrets");
    page(&s, "Exchange partner", &b)
}

pub async fn save(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let back = format!("/dashboard/merchants/{id}/partner");
    let a = Action { needed: Role::Admin, name: "partner.settings".into(), target: Some(id.clone()), back };
    let (state_ref, id_ref) = (&state, &id);
    perform(&state, &s, &headers, &body, a, |f| async move {
        let text = |k: &str| f.get(k).map(|v| v.trim().to_string());
        let exchange_fees = match text("exchange_fees").filter(|t| !t.is_empty()) {
            Some(t) => {
                Some(serde_json::from_str(&t).map_err(|e| ApiError::validation("exchange_fees", e.to_string()))?)
            }
            None => None,
        };
        let enabled = match text("enabled").as_deref() {
            Some("yes") => Some(true),
            Some("no") => Some(false),
            _ => None,
        };
        let input = PartnerPatchIn {
            callback_url: text("callback_url").map(|u| Some(u).filter(|u| !u.is_empty())),
            signature_padding: text("signature_padding"),
            enabled,
            exchange_fees,
        };
        apply_patch(state_ref, id_ref, input).await?;
        Ok(Done::Back)
    })
    .await
}

/// `enable` or `rotate`: both end on a page that shows the secrets once.
pub async fn credentials(
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
        match what.as_str() {
            "enable" => {
                let url = f.get("callback_url").map(|u| u.trim().to_string()).filter(|u| !u.is_empty());
                let padding = parse_padding(f.get("signature_padding").map(String::as_str).unwrap_or("padded"))?;
                partners::enable(&state, &id, url, padding).await
            }
            "rotate" => {
                let rotated = partners::rotate(&state, &id).await?;
                crate::exchange::cache::forget_partner(&state, &id);
                Ok(rotated)
            }
            _ => Err(ApiError::NotFound),
        }
    }
    .await;
    let outcome = if done.is_ok() { "ok" } else { "refused" };
    let action = format!("partner.{}", if what == "enable" { "enable" } else { "rotate" });
    record(&state, &s.actor, s.role.as_str(), "dashboard", &action, Some(id.clone()), outcome, s.ip.clone()).await;
    match done {
        Ok(p) => page(&s, "Partner credentials", &shown_once(&p)),
        Err(e) => error_page(&s, &e),
    }
}

fn shown_once(p: &PartnerWithSecretsOut) -> String {
    format!(
        "<p>The secrets are shown <strong>only now</strong>; give them to the partner.</p>\
         <p>API key: <code id=\"partner-api-key\">{}</code></p><p>Request secret: <code id=\"partner-secret\">{}</code></p>\
         <p>Callback secret: <code id=\"partner-callback-secret\">{}</code></p>\
         <p><a href=\"/dashboard/merchants/{}/partner\">Back to the partner settings</a></p>",
        esc(&p.api_key),
        esc(&p.secret),
        esc(&p.callback_secret),
        esc(&p.merchant_id)
    )
}
