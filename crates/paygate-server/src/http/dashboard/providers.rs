//! Providers and routing: each provider's condition on this node (its
//! breaker, recent refusals), the providers and the routing rules as the
//! admin API's documents (editable by admins; a provider's credentials are
//! never shown, and left out they are kept), and the latest refusals.

use super::action::{perform, Action, Done};
use super::layout::{error_page, esc, form_for, page};
use super::operations::table;
use super::session::{Role, Session};
use super::settings::{json_field, textarea};
use crate::error::ApiError;
use crate::http::admin::providers::{replace_providers, replace_routes, ProvidersIn, RoutesIn};
use crate::http::envelope::rfc3339;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::json;

pub async fn providers(State(state): State<AppState>, s: Session) -> Response {
    let since = paygate_store::time::now_micros() - 3600 * 1_000_000;
    let (rows, routes, refusals) =
        match (state.db.providers().await, state.db.routes().await, state.db.refusals(None, None, 50).await) {
            (Ok(p), Ok(r), Ok(f)) => (p, r, f),
            _ => return error_page(&s, &ApiError::Unavailable("the database did not answer".into())),
        };
    let mut health = Vec::new();
    for p in &rows {
        let (condition, failures) = state.breaker.condition(&p.id);
        let refused = state.db.count_refusals_since(&p.id, since).await.unwrap_or(0);
        health.push(format!(
            "<td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{failures}</td><td>{refused}</td>",
            esc(&p.id),
            esc(&p.kind),
            if p.enabled { "yes" } else { "no" },
            serde_json::to_value(condition).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default(),
        ));
    }
    let mut b = String::from("<h2>Health on this node</h2>");
    b += &table(&["Provider", "Type", "Enabled", "Breaker", "Failures in a row", "Refusals (1 h)"], health);
    let doc: Vec<_> = rows
        .iter()
        .map(|p| {
            json!({"id": p.id, "type": p.kind, "enabled": p.enabled,
                   "config": serde_json::from_str::<serde_json::Value>(&p.config).unwrap_or_default()})
        })
        .collect();
    b += "<h2>Providers</h2><p class=\"hint\">Credentials (<code>api_key</code>, <code>secret</code>, \
          <code>callback_secret</code> in <code>config</code>) are never shown; left out, the stored ones are kept.</p>";
    let text = serde_json::to_string_pretty(&json!({ "providers": doc })).unwrap_or_default();
    b += &form_for(&s, Role::Admin, "/dashboard/providers/providers", &textarea("providers", &text), "Save providers");
    b += "<h2>Routes</h2><p class=\"hint\">The most specific matching set of rules wins (merchant, then currency, \
          then method), then priority, lowest first; with none, test merchants use sandbox and live ones manual.</p>";
    let text = serde_json::to_string_pretty(&json!({ "routes": routes })).unwrap_or_default();
    b += &form_for(&s, Role::Admin, "/dashboard/providers/routes", &textarea("routes", &text), "Save routes");
    b += "<h2>Latest refusals</h2>";
    let refused = refusals
        .iter()
        .map(|r| {
            format!(
                "<td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td>",
                rfc3339(r.at),
                esc(&r.provider_id),
                esc(&r.kind),
                esc(&r.merchant_id),
                esc(&r.merchant_order_id),
                esc(&r.reason)
            )
        })
        .collect();
    b += &table(&["When", "Provider", "Kind", "Merchant", "Order", "Why"], refused);
    page(&s, "Providers and routes", &b)
}

pub async fn save(
    State(state): State<AppState>,
    s: Session,
    Path(what): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let a =
        Action { needed: Role::Admin, name: format!("{what}.save"), target: None, back: "/dashboard/providers".into() };
    let (state_ref, what_ref) = (&state, &what);
    perform(&state, &s, &headers, &body, a, |f| async move {
        match what_ref.as_str() {
            "providers" => {
                let input: ProvidersIn =
                    json_field(&f, "providers")?.ok_or_else(|| ApiError::validation("providers", "is required"))?;
                replace_providers(state_ref, input).await?;
            }
            "routes" => {
                let input: RoutesIn =
                    json_field(&f, "routes")?.ok_or_else(|| ApiError::validation("routes", "is required"))?;
                replace_routes(state_ref, input).await?;
            }
            _ => return Err(ApiError::NotFound),
        }
        Ok(Done::Back)
    })
    .await
}
