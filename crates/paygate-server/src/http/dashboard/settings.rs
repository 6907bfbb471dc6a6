//! Settings edited as the admin API's JSON documents, validated by the same
//! code: a merchant's fees and limits, and the exchange's rates. Admins only.

use super::action::{perform, Action, Done};
use super::layout::{error_page, esc, form_for, page};
use super::session::{Role, Session};
use crate::error::ApiError;
use crate::http::admin::exchange::{apply_rates, RatesIn};
use crate::http::admin::merchants::{validate_patch, PatchMerchantIn};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

pub(super) fn textarea(name: &str, value: &str) -> String {
    format!("<label>{name} (JSON)<textarea name=\"{name}\" rows=\"8\" cols=\"60\">{}</textarea></label>", esc(value))
}

pub async fn merchant_page(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let m = match state.db.merchant(&id).await {
        Ok(Some(m)) => m,
        Ok(None) => return error_page(&s, &ApiError::NotFound),
        Err(e) => return error_page(&s, &e.into()),
    };
    let mut b = format!(
        "<p>Merchant <code>{}</code> ({}). Fees: <code>{{\"payin\": {{\"percent\": \"1.5\", \"fixed\": \"0\", \
         \"currencies\": {{\"USD\": {{\"percent\": \"2\"}}}}}}, \"payout\": {{…}}}}</code>; limits: \
         <code>{{\"payin\": {{\"RUB\": {{\"min\": \"10\", \"max\": \"100000\"}}}}}}</code>, as in the admin API.</p>",
        esc(&m.id),
        esc(&m.email)
    );
    b += &format!("<h2>Fees</h2><pre>{}</pre><h2>Limits</h2><pre>{}</pre>", esc(&m.fees), esc(&m.limits));
    let fields = textarea("fees", &m.fees) + &textarea("limits", &m.limits);
    b +=
        &form_for(&s, Role::Admin, &format!("/dashboard/merchants/{}/settings", m.id), &fields, "Save fees and limits");
    page(&s, "Fees and limits", &b)
}

pub(super) fn json_field<T: serde::de::DeserializeOwned>(
    f: &std::collections::HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError> {
    match f.get(name).map(|t| t.trim()).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) => serde_json::from_str(text).map(Some).map_err(|e| ApiError::validation(name, e.to_string())),
    }
}

pub async fn save_merchant(
    State(state): State<AppState>,
    s: Session,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let a = Action {
        needed: Role::Admin,
        name: "merchant.settings".into(),
        target: Some(id.clone()),
        back: format!("/dashboard/merchants/{id}/settings"),
    };
    let (state_ref, id_ref) = (&state, &id);
    perform(&state, &s, &headers, &body, a, |f| async move {
        let (state, id) = (state_ref, id_ref);
        let input =
            PatchMerchantIn { fees: json_field(&f, "fees")?, limits: json_field(&f, "limits")?, ..Default::default() };
        let patch = validate_patch(state, input)?;
        let m = state.db.update_merchant(id, patch).await?.ok_or(ApiError::NotFound)?;
        state.forget_merchant(&m);
        Ok(Done::Back)
    })
    .await
}

/// The rates form for the exchange page.
pub async fn rates_form(state: &AppState, s: &Session) -> String {
    let rates = state.db.rates().await.unwrap_or_default();
    let doc: Vec<serde_json::Value> = rates
        .iter()
        .map(|r| serde_json::json!({"name": r.name, "bid": r.bid, "ask": r.ask, "floating_rate": r.floating_rate}))
        .collect();
    let text = serde_json::to_string_pretty(&serde_json::json!({ "rates": doc })).unwrap_or_default();
    form_for(s, Role::Admin, "/dashboard/exchange/rates", &textarea("rates", &text), "Save rates")
}

pub async fn save_rates(State(state): State<AppState>, s: Session, headers: HeaderMap, body: Bytes) -> Response {
    let a = Action { needed: Role::Admin, name: "rates.save".into(), target: None, back: "/dashboard/exchange".into() };
    let state_ref = &state;
    perform(&state, &s, &headers, &body, a, |f| async move {
        let state = state_ref;
        let input: RatesIn = json_field(&f, "rates")?.ok_or_else(|| ApiError::validation("rates", "is required"))?;
        apply_rates(state, &input).await?;
        Ok(Done::Back)
    })
    .await
}

/// The requisites form for the requisites page: the whole pool as the
/// admin API's document.
pub async fn requisites_form(state: &AppState, s: &Session) -> String {
    let pool = state.db.list_requisites().await.unwrap_or_default();
    let doc: Vec<_> = pool.iter().map(|r| crate::http::admin::money::requisite_out(state, r)).collect();
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    form_for(s, Role::Admin, "/dashboard/requisites", &textarea("requisites", &text), "Save the pool")
}

pub async fn save_requisites(State(state): State<AppState>, s: Session, headers: HeaderMap, body: Bytes) -> Response {
    let a = Action {
        needed: Role::Admin,
        name: "requisites.save".into(),
        target: None,
        back: "/dashboard/requisites".into(),
    };
    let state_ref = &state;
    perform(&state, &s, &headers, &body, a, |f| async move {
        let state = state_ref;
        let items: Vec<crate::http::admin::money::RequisiteIo> =
            json_field(&f, "requisites")?.ok_or_else(|| ApiError::validation("requisites", "is required"))?;
        crate::http::admin::money::apply_requisites(state, &items).await?;
        Ok(Done::Back)
    })
    .await
}

/// The payment methods form for the exchange page.
pub async fn methods_form(state: &AppState, s: &Session) -> String {
    let book = crate::exchange::terms::read_book(state).await.map(|b| b.methods).unwrap_or_default();
    let doc = crate::http::admin::exchange::methods_out(state, &book);
    let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
    form_for(s, Role::Admin, "/dashboard/exchange/methods", &textarea("methods", &text), "Save methods")
}

pub async fn save_methods(State(state): State<AppState>, s: Session, headers: HeaderMap, body: Bytes) -> Response {
    let a =
        Action { needed: Role::Admin, name: "methods.save".into(), target: None, back: "/dashboard/exchange".into() };
    let state_ref = &state;
    perform(&state, &s, &headers, &body, a, |f| async move {
        let state = state_ref;
        let input: crate::http::admin::exchange::MethodsIn =
            json_field(&f, "methods")?.ok_or_else(|| ApiError::validation("methods", "is required"))?;
        crate::http::admin::exchange::apply_methods(state, &input).await?;
        Ok(Done::Back)
    })
    .await
}
