//! Payins: search (`search`), one payin's detail, and the
//! manual provider's moves (confirm with the amount received, fail with a
//! reason), which need the operator role.

use super::action::{perform, Action, Done};
use super::layout::{details, error_page, esc, form_for, page, reason};
use super::search::{next_page, search};
use super::session::{Role, Session};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use paygate_core::money::{format_minor, parse_positive_minor};
use paygate_core::payments::PayInStatus;
use paygate_store::writer::PayInChange;
use std::collections::HashMap;

const STATUSES: [&str; 5] = ["pending", "success", "failed", "expired", "cancelled"];

pub async fn list(State(state): State<AppState>, s: Session, Query(q): Query<HashMap<String, String>>) -> Response {
    let (filter, mut b) = search(&state, &q, &STATUSES);
    let mut rows = match state.db.list_payins(&filter).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e.into()),
    };
    let next = next_page("/dashboard/payins", &q, &mut rows, |r| r.id.to_string());
    b += "<table><tr><th>Id</th><th>Merchant</th><th>Order</th><th>Amount</th><th>Status</th><th>Created</th></tr>";
    for r in &rows {
        let exp = state.currencies.exponent(&r.currency).unwrap_or(0);
        b += &format!(
            "<tr><td><a href=\"/dashboard/payins/{id}\"><code>{id}</code></a></td><td><code>{}</code></td><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            esc(r.merchant_id.as_str()),
            esc(r.merchant_order_id.as_str()),
            format_minor(r.amount, exp),
            esc(r.currency.as_str()),
            r.status.as_str(),
            crate::http::envelope::rfc3339(r.created_at),
            id = esc(r.id.as_str()),
        );
    }
    b += "</table>";
    page(&s, "Payins", &(b + &next))
}

pub async fn detail(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let p = match state.db.payin(None, Some(id.as_str()), None).await {
        Ok(Some(p)) => p,
        Ok(None) => return error_page(&s, &ApiError::NotFound),
        Err(e) => return error_page(&s, &e.into()),
    };
    let exp = state.currencies.exponent(&p.currency).unwrap_or(0);
    let rows = [
        ("Id", p.id.to_string()),
        ("Merchant", p.merchant_id.to_string()),
        ("Order id", p.merchant_order_id.to_string()),
        ("Status", p.status.as_str().to_string()),
        ("Amount", format!("{} {}", format_minor(p.amount, exp), p.currency.as_str())),
        ("Fee", format_minor(p.fee, exp)),
        ("Method", p.method.as_str().to_string()),
        ("Provider", p.provider.clone()),
        ("Requisites", p.requisites.clone()),
        ("Customer", p.customer_id.clone()),
        ("Created", crate::http::envelope::rfc3339(p.created_at)),
        ("Failure reason", p.failure_reason.clone().unwrap_or_default()),
    ];
    let mut b = details(&rows);
    if p.status == PayInStatus::Pending {
        let action = format!("/dashboard/payins/{}/confirm", p.id.as_str());
        b += &form_for(
            &s,
            Role::Operator,
            &action,
            &format!(
                "<label>Amount received <input name=\"amount\" value=\"{}\"></label>",
                format_minor(p.amount, exp)
            ),
            "Confirm payment",
        );
        let action = format!("/dashboard/payins/{}/fail", p.id.as_str());
        b += &form_for(
            &s,
            Role::Operator,
            &action,
            "<label>Reason <input name=\"reason\" required></label>",
            "Fail payin",
        );
    }
    page(&s, &format!("Payin {}", p.id.as_str()), &b)
}

pub async fn act(
    State(state): State<AppState>,
    s: Session,
    Path((id, what)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let a = Action {
        needed: Role::Operator,
        name: format!("payin.{what}"),
        target: Some(id.clone()),
        back: format!("/dashboard/payins/{id}"),
    };
    let (state_ref, id_ref, what_ref) = (&state, &id, &what);
    perform(&state, &s, &headers, &body, a, |f| async move {
        let (state, id, what) = (state_ref, id_ref, what_ref);
        let p = state.db.payin(None, Some(id.as_str()), None).await?.ok_or(ApiError::NotFound)?;
        let exp = state.currencies.exponent(&p.currency).unwrap_or(0);
        let change = match what.as_str() {
            "confirm" => {
                let amount = match f.get("amount").map(|a| a.trim()).filter(|a| !a.is_empty()) {
                    Some(a) => {
                        Some(parse_positive_minor(a, exp).map_err(|e| ApiError::validation("amount", e.to_string()))?)
                    }
                    None => None,
                };
                PayInChange { id: id.clone(), merchant_id: None, to: PayInStatus::Success, amount, reason: None }
            }
            "fail" => {
                let reason = reason(&f)?;
                PayInChange {
                    id: id.clone(),
                    merchant_id: None,
                    to: PayInStatus::Failed,
                    amount: None,
                    reason: Some(reason),
                }
            }
            _ => return Err(ApiError::NotFound),
        };
        state.writer.move_payin(change).await.map_err(crate::payments::api_error)?;
        Ok(Done::Back)
    })
    .await
}
