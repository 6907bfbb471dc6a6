//! `/api/v1/payout/*` (API.md 3.2).

use super::paging::{list_filter, ListIn};
use super::payins::{GetIn, IdIn};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::{created, ok, ok_rendered, Envelope, Page};
use crate::payments::api_error;
use crate::payments::payout::{self, PayOutCreateIn};
use crate::payments::views::{payout_out, PayOutOut};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::payments::PayOutStatus;
use paygate_store::writer::PayOutChange;

/// Create a payout. `amount + fee` moves from `available` to `hold` in the
/// same transaction that stores it; 402 `INSUFFICIENT_FUNDS` when it does not
/// fit. Idempotent on `merchant_order_id` like payins.
#[utoipa::path(post, path = "/api/v1/payout/create", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = PayOutCreateIn,
    responses((status = 201, body = inline(Envelope<PayOutOut>)), (status = 200, description = "idempotent repeat", body = inline(Envelope<PayOutOut>)),
              (status = 402, description = "INSUFFICIENT_FUNDS", body = crate::error::ErrorEnvelope),
              (status = 409, description = "DUPLICATE_ORDER_ID", body = crate::error::ErrorEnvelope),
              (status = 422, body = crate::error::ErrorEnvelope)))]
pub async fn create_payout(State(state): State<AppState>, req: Signed<PayOutCreateIn>) -> ApiResult<Response> {
    let (row, is_new) = payout::create(&state, &req.merchant, req.body).await?;
    let view = payout_out(&row, &state.currencies);
    Ok(if is_new { created(view) } else { ok(view) })
}

/// Read one of your payouts.
#[utoipa::path(post, path = "/api/v1/payout/get", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = GetIn, responses((status = 200, body = inline(Envelope<PayOutOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get_payout(State(state): State<AppState>, req: Signed<GetIn>) -> ApiResult<Response> {
    let (id, order) = req.body.keys()?;
    let payout = state.reads.payout(&req.merchant.id, id, order).await?.ok_or(ApiError::NotFound)?;
    Ok(ok_rendered(payout.body.clone()))
}

/// List your payouts, newest first.
#[utoipa::path(post, path = "/api/v1/payout/list", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = ListIn, responses((status = 200, body = inline(Envelope<Page<PayOutOut>>))))]
pub async fn list_payouts(State(state): State<AppState>, req: Signed<ListIn>) -> ApiResult<Response> {
    let filter = list_filter(&state, &req.body, Some(&req.merchant.id), |s| PayOutStatus::parse(s).is_some())?;
    let body = state.payout_pages.page(filter).await?;
    Ok(ok_rendered(body))
}

/// Cancel a payout while it is pending; its hold returns to `available`.
#[utoipa::path(post, path = "/api/v1/payout/cancel", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = IdIn, responses((status = 200, body = inline(Envelope<PayOutOut>)), (status = 404, body = crate::error::ErrorEnvelope),
                                   (status = 409, description = "INVALID_STATE", body = crate::error::ErrorEnvelope)))]
pub async fn cancel_payout(State(state): State<AppState>, req: Signed<IdIn>) -> ApiResult<Response> {
    let change = PayOutChange {
        id: req.body.id,
        merchant_id: Some(req.merchant.id.clone()),
        path: vec![PayOutStatus::Cancelled],
        reason: Some("cancelled by merchant".into()),
    };
    payout_change(&state, change).await
}

pub async fn payout_change(state: &AppState, change: PayOutChange) -> ApiResult<Response> {
    let row = state.writer.move_payout(change).await.map_err(api_error)?;
    Ok(ok(payout_out(&row, &state.currencies)))
}
