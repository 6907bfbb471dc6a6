//! Operator endpoints for disputes (API.md section 5): search, read, accept
//! with a resolved amount, reject with a reason, and download the receipt.

use crate::error::{ApiError, ApiResult};
use crate::http::auth::{Admin, JsonBody, PathParam, QueryParams};
use crate::http::envelope::{ok, Envelope, Page};
use crate::http::filters::{comma_list, AmountBounds};
use crate::http::merchant::disputes::dispute_filter;
use crate::http::merchant::paging::page;
use crate::payments::api_error;
use crate::payments::disputes::{dispute_out, optional_text, DisputeOut};
use crate::payments::input::AmountIn;
use crate::state::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use paygate_core::disputes::{DisputeStatus, RejectionReason};
use paygate_store::disputes::{DisputeFilter, DisputeRow};
use paygate_store::writer::DisputeChange;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const MAX_RESOLUTION_COMMENT_CHARS: usize = 2000;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_disputes))
        .routes(routes!(get_dispute))
        .routes(routes!(accept_dispute))
        .routes(routes!(reject_dispute))
        .routes(routes!(dispute_receipt))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DisputeSearchParams {
    pub merchant_id: Option<String>,
    /// Comma-separated: open, accepted, rejected, cancelled.
    pub status: Option<String>,
    pub payin_id: Option<String>,
    pub currency: Option<String>,
    /// RFC 3339, opened at or after.
    pub date_from: Option<String>,
    /// RFC 3339, opened before.
    pub date_to: Option<String>,
    /// Claimed amount, decimal; needs `currency`.
    pub amount_min: Option<String>,
    pub amount_max: Option<String>,
    /// Comma-separated dispute ids.
    pub id: Option<String>,
    /// 1-100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn operator_view(r: &DisputeRow, state: &AppState) -> DisputeOut {
    DisputeOut { merchant_id: Some(r.merchant_id.to_string()), ..dispute_out(r, &state.currencies) }
}

/// Search disputes across merchants, newest first.
#[utoipa::path(get, path = "/admin/v1/disputes", tag = "admin", security(("admin" = [])), params(DisputeSearchParams),
    responses((status = 200, body = inline(Envelope<Page<DisputeOut>>)), (status = 422, body = crate::error::ErrorEnvelope)))]
async fn search_disputes(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(p): QueryParams<DisputeSearchParams>,
) -> ApiResult<Response> {
    let amounts = AmountBounds::new(&state, &p.currency)?;
    let filter = DisputeFilter {
        merchant_id: p.merchant_id.clone(),
        ids: comma_list(&p.id),
        payin_id: p.payin_id.clone(),
        currency: p.currency.clone(),
        amount_min: amounts.parse(&p.amount_min, "amount_min")?,
        amount_max: amounts.parse(&p.amount_max, "amount_max")?,
        before_id: p.cursor.clone(),
        ..dispute_filter(comma_list(&p.status), &p.date_from, &p.date_to, p.limit)?
    };
    let rows = state.db.list_disputes(&filter).await?;
    Ok(ok(page(&rows, filter.limit, |r| r.id.to_string(), |r| operator_view(r, &state))))
}

/// Read any dispute.
#[utoipa::path(get, path = "/admin/v1/disputes/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = inline(Envelope<DisputeOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
async fn get_dispute(_: Admin, State(state): State<AppState>, PathParam(id): PathParam<String>) -> ApiResult<Response> {
    let row = state.db.dispute(None, &id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok(operator_view(&row, &state)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptIn {
    /// The payin's amount from now on, in its currency.
    pub resolved_amount: AmountIn,
    pub comment: Option<String>,
}

/// Accept: the payin becomes `success` with `amount = resolved_amount`
/// (`original_amount` keeps the first value), the frozen funds return, and
/// the ledger posts exactly the difference of amount and fee. 402 when the
/// merchant's `available` cannot cover a reduction (nothing changes).
#[utoipa::path(post, path = "/admin/v1/disputes/{id}/accept", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    request_body = AcceptIn,
    responses((status = 200, body = inline(Envelope<DisputeOut>)), (status = 404, body = crate::error::ErrorEnvelope),
              (status = 402, description = "INSUFFICIENT_FUNDS", body = crate::error::ErrorEnvelope),
              (status = 409, description = "INVALID_STATE: not open", body = crate::error::ErrorEnvelope),
              (status = 422, body = crate::error::ErrorEnvelope)))]
async fn accept_dispute(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<AcceptIn>,
) -> ApiResult<Response> {
    let dispute = state.db.dispute(None, &id).await?.ok_or(ApiError::NotFound)?;
    let exp = state.currencies.exponent(&dispute.currency).unwrap_or(0);
    let resolved =
        input.resolved_amount.minor(exp, &dispute.currency).map_err(|e| ApiError::validation("resolved_amount", e))?;
    let comment = optional_text(&input.comment, "comment", MAX_RESOLUTION_COMMENT_CHARS)?;
    resolve(&state, dispute, DisputeStatus::Accepted, Some(resolved), None, comment).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectIn {
    pub reason: String,
    pub comment: Option<String>,
}

/// Reject: nothing moves except the frozen funds, which return to `available`.
#[utoipa::path(post, path = "/admin/v1/disputes/{id}/reject", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    request_body = RejectIn,
    responses((status = 200, body = inline(Envelope<DisputeOut>)), (status = 404, body = crate::error::ErrorEnvelope),
              (status = 409, description = "INVALID_STATE: not open", body = crate::error::ErrorEnvelope),
              (status = 422, body = crate::error::ErrorEnvelope)))]
async fn reject_dispute(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<RejectIn>,
) -> ApiResult<Response> {
    let reason = RejectionReason::parse(&input.reason).ok_or_else(|| {
        ApiError::validation("reason", "must be payment_not_found, fake_receipt, amount_mismatch or other")
    })?;
    let comment = optional_text(&input.comment, "comment", MAX_RESOLUTION_COMMENT_CHARS)?;
    let dispute = state.db.dispute(None, &id).await?.ok_or(ApiError::NotFound)?;
    resolve(&state, dispute, DisputeStatus::Rejected, None, Some(reason.as_str().into()), comment).await
}

async fn resolve(
    state: &AppState,
    dispute: DisputeRow,
    to: DisputeStatus,
    resolved_amount: Option<i64>,
    reason: Option<String>,
    comment: Option<String>,
) -> ApiResult<Response> {
    let change = DisputeChange {
        id: dispute.id.into(),
        payin_id: dispute.payin_id.into(),
        merchant_id: dispute.merchant_id.into(),
        to,
        resolved_amount,
        reason,
        comment,
    };
    let row = state.writer.resolve_dispute(change).await.map_err(api_error)?;
    Ok(ok(operator_view(&row, state)))
}

/// The stored receipt, byte for byte, with its sniffed content type. Served
/// as an attachment that browsers must not sniff or run.
#[utoipa::path(get, path = "/admin/v1/disputes/{id}/receipt", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, description = "the receipt bytes, in the type sniffed from them when it was uploaded",
               content((String = "application/pdf"), (String = "image/png"), (String = "image/jpeg"))),
              (status = 404, body = crate::error::ErrorEnvelope)))]
async fn dispute_receipt(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    let receipt = state.db.dispute_receipt(&id).await?.ok_or(ApiError::NotFound)?;
    let headers = [
        (header::CONTENT_TYPE, receipt.content_type),
        (header::CONTENT_DISPOSITION, content_disposition(&receipt.filename)),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
        (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_string()),
        (header::CACHE_CONTROL, "no-store".to_string()),
    ];
    Ok((headers, receipt.data).into_response())
}

/// `attachment` with an ASCII `filename` and the exact UTF-8 name in
/// `filename*` (RFC 6266); the stored name holds no quotes or control
/// characters, so neither can break the header.
fn content_disposition(name: &str) -> String {
    let ascii: String = name.chars().map(|c| if c.is_ascii() && !c.is_ascii_control() { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}
