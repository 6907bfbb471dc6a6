//! `/api/v1/payin/*` (API.md 3.1).

use super::paging::{list_filter, ListIn};
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::{created, ok, ok_rendered, Envelope, Page};
use crate::payments::api_error;
use crate::payments::payin::{self, PayInCreateIn};
use crate::payments::views::{payin_out, PayInOut};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::payments::PayInStatus;
use paygate_store::writer::PayInChange;
use serde::Deserialize;
use utoipa::ToSchema;

/// Create a payin. The first request answers 201; repeating it with the same
/// `merchant_order_id` and identical fields answers 200 with the same payin;
/// the same id with any field different is 409 `DUPLICATE_ORDER_ID`.
#[utoipa::path(post, path = "/api/v1/payin/create", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = PayInCreateIn,
    responses((status = 201, body = inline(Envelope<PayInOut>)), (status = 200, description = "idempotent repeat", body = inline(Envelope<PayInOut>)),
              (status = 409, description = "DUPLICATE_ORDER_ID", body = crate::error::ErrorEnvelope),
              (status = 422, description = "VALIDATION_ERROR, UNSUPPORTED_CURRENCY, UNSUPPORTED_METHOD, AMOUNT_OUT_OF_LIMITS", body = crate::error::ErrorEnvelope)))]
pub async fn create_payin(State(state): State<AppState>, req: Signed<PayInCreateIn>) -> ApiResult<Response> {
    let (row, is_new) = payin::create(&state, &req.merchant, req.body).await?;
    let view = payin_out(&row, &state.currencies, &state.public_base());
    Ok(if is_new { created(view) } else { ok(view) })
}

/// `{id}` or `{merchant_order_id}`: exactly one.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GetIn {
    pub id: Option<String>,
    pub merchant_order_id: Option<String>,
}

impl GetIn {
    pub fn keys(&self) -> Result<(Option<&str>, Option<&str>), ApiError> {
        match (&self.id, &self.merchant_order_id) {
            (Some(_), Some(_)) | (None, None) => {
                Err(ApiError::validation("id", "give exactly one of id and merchant_order_id"))
            }
            (id, order) => Ok((id.as_deref(), order.as_deref())),
        }
    }
}

/// Read one of your payins.
#[utoipa::path(post, path = "/api/v1/payin/get", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = GetIn, responses((status = 200, body = inline(Envelope<PayInOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
pub async fn get_payin(State(state): State<AppState>, req: Signed<GetIn>) -> ApiResult<Response> {
    let (id, order) = req.body.keys()?;
    let payin = state.reads.payin(&req.merchant.id, id, order).await?.ok_or(ApiError::NotFound)?;
    Ok(ok_rendered(payin.body.clone()))
}

/// List your payins, newest first.
#[utoipa::path(post, path = "/api/v1/payin/list", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = ListIn, responses((status = 200, body = inline(Envelope<Page<PayInOut>>))))]
pub async fn list_payins(State(state): State<AppState>, req: Signed<ListIn>) -> ApiResult<Response> {
    let filter = list_filter(&state, &req.body, Some(&req.merchant.id), |s| PayInStatus::parse(s).is_some())?;
    let body = state.payin_pages.page(filter).await?;
    Ok(ok_rendered(body))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdIn {
    pub id: String,
}

/// Cancel a payin while it is pending (409 `INVALID_STATE` otherwise).
#[utoipa::path(post, path = "/api/v1/payin/cancel", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = IdIn, responses((status = 200, body = inline(Envelope<PayInOut>)), (status = 404, body = crate::error::ErrorEnvelope),
                                   (status = 409, description = "INVALID_STATE", body = crate::error::ErrorEnvelope)))]
pub async fn cancel_payin(State(state): State<AppState>, req: Signed<IdIn>) -> ApiResult<Response> {
    let change = PayInChange {
        id: req.body.id,
        merchant_id: Some(req.merchant.id.clone()),
        to: PayInStatus::Cancelled,
        amount: None,
        reason: None,
    };
    let row = state.writer.move_payin(change).await.map_err(api_error)?;
    Ok(ok(payin_out(&row, &state.currencies, &state.public_base())))
}
