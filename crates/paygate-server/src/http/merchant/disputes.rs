//! `/api/v1/dispute/*` (API.md 3.4): a merchant disputes one of its payins
//! with a receipt, reads its disputes, and may cancel an open one.

use super::payins::IdIn;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::{created, ok, Envelope, Page};
use crate::http::filters;
use crate::payments::api_error;
use crate::payments::disputes::{dispute_out, new_dispute, DisputeCreateIn, DisputeOut};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::disputes::DisputeStatus;
use paygate_store::disputes::DisputeFilter;
use paygate_store::writer::DisputeChange;
use serde::Deserialize;
use utoipa::ToSchema;

/// Open a dispute on a payin in `success`, `failed`, `expired` or
/// `cancelled`, within 7 days of its creation, with the customer's receipt.
/// On a successful payin claimed lower than credited, the difference of the
/// net credits is frozen while the dispute is open (capped by `available`).
/// One open dispute per payin, at most 5 in all. Events: `dispute.open`, then
/// `dispute.accepted|rejected|cancelled`; an accepted dispute also sends
/// `payin.success` with the payin's new amount (again, if it was already
/// `success`: webhook bodies carry the current state).
#[utoipa::path(post, path = "/api/v1/dispute/create", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = DisputeCreateIn,
    responses((status = 201, body = inline(Envelope<DisputeOut>)),
              (status = 404, description = "no such payin", body = crate::error::ErrorEnvelope),
              (status = 409, description = "DISPUTE_ALREADY_OPEN, or INVALID_STATE (pending payin, or older than 7 days)", body = crate::error::ErrorEnvelope),
              (status = 413, description = "receipt larger than 5 MiB", body = crate::error::ErrorEnvelope),
              (status = 415, description = "receipt is not a PDF, PNG or JPEG", body = crate::error::ErrorEnvelope),
              (status = 422, description = "VALIDATION_ERROR", body = crate::error::ErrorEnvelope)))]
pub async fn create_dispute(State(state): State<AppState>, req: Signed<DisputeCreateIn>) -> ApiResult<Response> {
    let input = &req.body;
    let (id, order) = match (&input.payin_id, &input.merchant_order_id) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ApiError::validation("payin_id", "give exactly one of payin_id and merchant_order_id"))
        }
        (id, order) => (id.as_deref(), order.as_deref()),
    };
    let payin = state.db.payin(Some(&req.merchant.id), id, order).await?.ok_or(ApiError::NotFound)?;
    let cmd = new_dispute(input, &payin, &state.currencies)?;
    let row = state.writer.open_dispute(cmd).await.map_err(api_error)?;
    Ok(created(dispute_out(&row, &state.currencies)))
}

/// Read one of your disputes.
#[utoipa::path(post, path = "/api/v1/dispute/get", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = IdIn, responses((status = 200, body = inline(Envelope<DisputeOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get_dispute(State(state): State<AppState>, req: Signed<IdIn>) -> ApiResult<Response> {
    let row = state.db.dispute(Some(&req.merchant.id), &req.body.id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok(dispute_out(&row, &state.currencies)))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct DisputeListIn {
    /// Any of open, accepted, rejected, cancelled.
    #[serde(default, rename = "status")]
    pub statuses: Vec<String>,
    pub payin_id: Option<String>,
    /// RFC 3339; opened at or after.
    pub date_from: Option<String>,
    /// RFC 3339; opened before.
    pub date_to: Option<String>,
    /// 1-100, default 50.
    #[serde(default, deserialize_with = "crate::http::body::whole_number")]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Statuses, times and page size shared by the merchant list and the
/// operator search.
pub fn dispute_filter(
    statuses: Vec<String>,
    date_from: &Option<String>,
    date_to: &Option<String>,
    limit: Option<i64>,
) -> ApiResult<DisputeFilter> {
    Ok(DisputeFilter {
        statuses: filters::statuses(statuses, |s| DisputeStatus::parse(s).is_some())?,
        created_from: filters::time(date_from, "date_from")?,
        created_to: filters::time(date_to, "date_to")?,
        limit: filters::limit_plus_one(limit)?,
        ..Default::default()
    })
}

/// List your disputes, newest first.
#[utoipa::path(post, path = "/api/v1/dispute/list", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = DisputeListIn, responses((status = 200, body = inline(Envelope<Page<DisputeOut>>))))]
pub async fn list_disputes(State(state): State<AppState>, req: Signed<DisputeListIn>) -> ApiResult<Response> {
    let input = req.body;
    let filter = DisputeFilter {
        merchant_id: Some(req.merchant.id.clone()),
        payin_id: input.payin_id.clone(),
        before_id: input.cursor.clone(),
        ..dispute_filter(input.statuses, &input.date_from, &input.date_to, input.limit)?
    };
    let rows = state.db.list_disputes(&filter).await?;
    Ok(ok(super::paging::page(&rows, filter.limit, |r| r.id.to_string(), |r| dispute_out(r, &state.currencies))))
}

/// Withdraw an open dispute: whatever it froze returns to `available`.
#[utoipa::path(post, path = "/api/v1/dispute/cancel", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = IdIn, responses((status = 200, body = inline(Envelope<DisputeOut>)), (status = 404, body = crate::error::ErrorEnvelope),
                                   (status = 409, description = "INVALID_STATE: no longer open", body = crate::error::ErrorEnvelope)))]
pub async fn cancel_dispute(State(state): State<AppState>, req: Signed<IdIn>) -> ApiResult<Response> {
    let dispute = state.db.dispute(Some(&req.merchant.id), &req.body.id).await?.ok_or(ApiError::NotFound)?;
    let change = DisputeChange {
        id: dispute.id.into(),
        payin_id: dispute.payin_id.into(),
        merchant_id: dispute.merchant_id.into(),
        to: DisputeStatus::Cancelled,
        resolved_amount: None,
        reason: None,
        comment: None,
    };
    let row = state.writer.resolve_dispute(change).await.map_err(api_error)?;
    Ok(ok(dispute_out(&row, &state.currencies)))
}
