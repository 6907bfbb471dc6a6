//! Disputes: the list (open ones first), one dispute with its receipt shown
//! inline (an image, or a PDF in the browser's viewer), and accepting it
//! with the payin's true amount or rejecting it with a reason, which needs
//! the operator role.

use super::action::{perform, Action, Done};
use super::layout::{error_page, esc, form_for, page};
use super::session::{Role, Session};
use crate::error::ApiError;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use paygate_core::disputes::{DisputeStatus, RejectionReason};
use paygate_core::money::{format_minor, parse_positive_minor};
use paygate_store::disputes::DisputeFilter;
use paygate_store::writer::DisputeChange;

pub async fn list(State(state): State<AppState>, s: Session) -> Response {
    let filter = DisputeFilter { limit: 100, ..Default::default() };
    let mut rows = match state.db.list_disputes(&filter).await {
        Ok(r) => r,
        Err(e) => return error_page(&s, &e.into()),
    };
    rows.sort_by_key(|d| d.status != DisputeStatus::Open);
    let mut b = String::from(
        "<table><tr><th>Id</th><th>Payin</th><th>Claimed</th><th>Frozen</th><th>Status</th><th>Opened</th></tr>",
    );
    for d in &rows {
        let exp = state.currencies.exponent(&d.currency).unwrap_or(0);
        b += &format!(
            "<tr><td><a href=\"/dashboard/disputes/{id}\"><code>{id}</code></a></td><td><code>{}</code></td><td>{} {}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(d.payin_id.as_str()),
            format_minor(d.claimed_amount, exp),
            esc(d.currency.as_str()),
            format_minor(d.frozen_amount, exp),
            d.status.as_str(),
            crate::http::envelope::rfc3339(d.created_at),
            id = esc(d.id.as_str()),
        );
    }
    page(&s, "Disputes", &(b + "</table>"))
}

pub async fn detail(State(state): State<AppState>, s: Session, Path(id): Path<String>) -> Response {
    let d = match state.db.dispute(None, &id).await {
        Ok(Some(d)) => d,
        Ok(None) => return error_page(&s, &ApiError::NotFound),
        Err(e) => return error_page(&s, &e.into()),
    };
    let exp = state.currencies.exponent(&d.currency).unwrap_or(0);
    let mut b = format!(
        "<dl class=\"detail\"><dt>Payin</dt><dd><a href=\"/dashboard/payins/{p}\">{p}</a></dd><dt>Status</dt><dd>{}</dd>\
         <dt>Claimed</dt><dd>{} {}</dd><dt>Frozen</dt><dd>{}</dd><dt>Comment</dt><dd>{}</dd></dl>",
        d.status.as_str(),
        format_minor(d.claimed_amount, exp),
        esc(d.currency.as_str()),
        format_minor(d.frozen_amount, exp),
        esc(d.comment.as_deref().unwrap_or("")),
        p = esc(d.payin_id.as_str()),
    );
    let src = format!("/dashboard/disputes/{}/receipt", d.id.as_str());
    b += &if d.receipt_content_type == "application/pdf" {
        format!("<object class=\"receipt\" data=\"{src}\" type=\"application/pdf\"><a href=\"{src}\">Open the PDF receipt</a></object>")
    } else {
        format!("<img class=\"receipt\" id=\"receipt\" src=\"{src}\" alt=\"The customer's receipt\">")
    };
    if d.status == DisputeStatus::Open {
        let base = format!("/dashboard/disputes/{}", d.id.as_str());
        b += &form_for(
            &s,
            Role::Operator,
            &format!("{base}/accept"),
            &format!(
                "<label>The payin's true amount <input name=\"resolved_amount\" value=\"{}\" required></label>",
                format_minor(d.claimed_amount, exp)
            ),
            "Accept",
        );
        b += &form_for(
            &s,
            Role::Operator,
            &format!("{base}/reject"),
            "<label>Reason <select name=\"reason\"><option>payment_not_found</option><option>fake_receipt</option>\
             <option>amount_mismatch</option><option>other</option></select></label>",
            "Reject",
        );
    }
    page(&s, &format!("Dispute {}", d.id.as_str()), &b)
}

/// The receipt for the page to show inline. Only PDF, PNG and JPEG were
/// accepted at upload (checked by their bytes), and `nosniff` keeps it so.
pub async fn receipt(State(state): State<AppState>, _s: Session, Path(id): Path<String>) -> Result<Response, ApiError> {
    let r = state.db.dispute_receipt(&id).await?.ok_or(ApiError::NotFound)?;
    let headers = [
        (header::CONTENT_TYPE, r.content_type),
        (header::CONTENT_DISPOSITION, "inline".to_string()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (header::X_FRAME_OPTIONS, "SAMEORIGIN".to_string()),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'self'".to_string()),
        (header::CACHE_CONTROL, "no-store".to_string()),
    ];
    Ok((headers, r.data).into_response())
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
        name: format!("dispute.{what}"),
        target: Some(id.clone()),
        back: format!("/dashboard/disputes/{id}"),
    };
    let (state_ref, id_ref, what_ref, actor) = (&state, &id, &what, s.actor.clone());
    perform(&state, &s, &headers, &body, a, |f| async move {
        let (state, id, what) = (state_ref, id_ref, what_ref);
        let d = state.db.dispute(None, id).await?.ok_or(ApiError::NotFound)?;
        let exp = state.currencies.exponent(&d.currency).unwrap_or(0);
        let (to, resolved_amount, reason) = match what.as_str() {
            "accept" => {
                let text = f.get("resolved_amount").map(|a| a.trim()).unwrap_or("");
                let amount = parse_positive_minor(text, exp)
                    .map_err(|e| ApiError::validation("resolved_amount", e.to_string()))?;
                (DisputeStatus::Accepted, Some(amount), None)
            }
            "reject" => {
                let reason = f.get("reason").and_then(|r| RejectionReason::parse(r)).ok_or_else(|| {
                    ApiError::validation("reason", "payment_not_found, fake_receipt, amount_mismatch or other")
                })?;
                (DisputeStatus::Rejected, None, Some(reason.as_str().to_string()))
            }
            _ => return Err(ApiError::NotFound),
        };
        let change = DisputeChange {
            id: d.id.to_string(),
            payin_id: d.payin_id.to_string(),
            merchant_id: d.merchant_id.to_string(),
            to,
            resolved_amount,
            reason,
            comment: Some(format!("by {actor} in the dashboard")),
        };
        state.writer.resolve_dispute(change).await.map_err(crate::payments::api_error)?;
        Ok(Done::Back)
    })
    .await
}
