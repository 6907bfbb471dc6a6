//! Payouts: search (`search`), one payout's detail, and moving it along
//! (processing, paid, failed with a reason), which needs the operator role.
//! The unmasked destination, which the operator pays to, is shown to
//! operators and admins only; a viewer sees the masked one.

use super::action::{perform, Action, Done};
use super::layout::{details, error_page, esc, form_for, page, reason};
use super::search::{next_page, search};
use super::session::{Role, Session};
use crate::error::ApiError;
use crate::http::envelope::rfc3339;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use paygate_core::money::format_minor;
use paygate_core::payments::PayOutStatus;
use paygate_store::writer::PayOutChange;
use std::collections::HashMap;

pub async fn list(State(state): State<AppState>, s: Session, Query(q): Query<HashMap<String, String>>) -> Response {
    let statuses: Vec<&str> = PayOutStatus::ALL.iter().map(|st| st.as_str()).collect();
    let (filter, mut b) = search(&state, &q, &statuses);
    let mut rows = match state.db.list_payouts(&filter).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e.into()),
    };
    let next = next_page("/dashboard/payouts", &q, &mut rows, |r| r.id.to_string());
    b += "<table><tr><th>Id</th><th>Merchant</th><th>Order</th><th>Amount</th><th>Status</th><th>Created</th></tr>";
    for p in &rows {
        let exp = state.currencies.exponent(&p.currency).unwrap_or(0);
        b += &format!(
            "<tr><td><a href=\"/dashboard/payouts/{id}\"><code>{id}</code></a></td><td><code>{}</code></td><td>{}</td>\
             <td>{} {}</td><td>{}</td><td>{}</td></tr>",
            esc(p.merchant_id.as_str()),
            esc(p.merchant_order_id.as_str()),
            format_minor(p.amount, exp),
            esc(p.currency.as_str()),
            p.status.as_str(),
            rfc3339(p.created_at),
            id = esc(p.id.as_str()),
        );
    }
    b += "</table>";
    page(&s, "Payouts", &(b + &next))
}

pub async fn detail(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let p = match state.db.payout(None, Some(id.as_str()), None).await {
        Ok(Some(p)) => p,
        Ok(None) => return error_page(&s, &ApiError::NotFound),
        Err(e) => return error_page(&s, &e.into()),
    };
    let destination = if s.role >= Role::Operator {
        match state.master_key.open(&p.id, &p.destination_sealed) {
            Ok(full) => full,
            Err(e) => return error_page(&s, &ApiError::internal(anyhow::anyhow!("payout {}: {e}", p.id))),
        }
    } else {
        p.destination_masked.clone()
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
        ("Destination", destination),
        ("Customer", p.customer_id.clone().unwrap_or_default()),
        ("Created", rfc3339(p.created_at)),
        ("Completed", p.completed_at.map(rfc3339).unwrap_or_default()),
        ("Failure reason", p.failure_reason.clone().unwrap_or_default()),
    ];
    let mut b = details(&rows);
    let base = format!("/dashboard/payouts/{}", p.id.as_str());
    let reason_input = "<label>Reason <input name=\"reason\" required></label>";
    b += &match p.status {
        PayOutStatus::Pending => form_for(&s, Role::Operator, &format!("{base}/processing"), "", "Mark processing"),
        PayOutStatus::Processing => {
            form_for(&s, Role::Operator, &format!("{base}/success"), "", "Mark paid")
                + &form_for(&s, Role::Operator, &format!("{base}/fail"), reason_input, "Mark failed")
        }
        _ => String::new(),
    };
    page(&s, &format!("Payout {}", p.id.as_str()), &b)
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
        name: format!("payout.{what}"),
        target: Some(id.clone()),
        back: format!("/dashboard/payouts/{id}"),
    };
    let (state_ref, id_ref, what_ref) = (&state, &id, &what);
    perform(&state, &s, &headers, &body, a, |f| async move {
        let (state, id, what) = (state_ref, id_ref, what_ref);
        let (to, reason) = match what.as_str() {
            "processing" => (PayOutStatus::Processing, None),
            "success" => (PayOutStatus::Success, None),
            "fail" => (PayOutStatus::Failed, Some(reason(&f)?)),
            _ => return Err(ApiError::NotFound),
        };
        crate::payments::payout_routing::operator_may_settle(state, id).await?;
        let change = PayOutChange { id: id.clone(), merchant_id: None, path: vec![to], reason };
        state.writer.move_payout(change).await.map_err(crate::payments::api_error)?;
        Ok(Done::Back)
    })
    .await
}
