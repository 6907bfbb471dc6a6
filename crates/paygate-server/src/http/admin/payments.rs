//! Operator endpoints for payins and payouts (API.md section 5): search
//! across merchants, read, and drive the manual provider's statuses.

use crate::error::{ApiError, ApiResult};
use crate::http::auth::{Admin, JsonBody, PathParam, QueryParams};
use crate::http::envelope::{ok, Envelope, Page};
use crate::http::filters::{self, comma_list, AmountBounds};
use crate::http::merchant::paging::page;
use crate::http::merchant::payouts::payout_change;
use crate::payments::api_error;
use crate::payments::input::AmountIn;
use crate::payments::views::{payin_out, payout_out, PayInOut, PayOutOut};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_store::payments::ListFilter;
use paygate_store::writer::{PayInChange, PayOutChange};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(search_payins))
        .routes(routes!(get_payin))
        .routes(routes!(confirm_payin))
        .routes(routes!(fail_payin))
        .routes(routes!(search_payouts))
        .routes(routes!(get_payout))
        .routes(routes!(payout_processing))
        .routes(routes!(payout_success))
        .routes(routes!(payout_fail))
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    pub merchant_id: Option<String>,
    /// Comma-separated statuses.
    pub status: Option<String>,
    pub currency: Option<String>,
    /// RFC 3339, inclusive.
    pub date_from: Option<String>,
    /// RFC 3339, exclusive.
    pub date_to: Option<String>,
    /// Decimal; needs `currency`.
    pub amount_min: Option<String>,
    pub amount_max: Option<String>,
    /// Comma-separated ids.
    pub id: Option<String>,
    pub merchant_order_id: Option<String>,
    /// 1-100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn search_filter(state: &AppState, p: &SearchParams, status_ok: impl Fn(&str) -> bool) -> ApiResult<ListFilter> {
    let amounts = AmountBounds::new(state, &p.currency)?;
    Ok(ListFilter {
        merchant_id: p.merchant_id.clone(),
        statuses: filters::statuses(comma_list(&p.status), status_ok)?,
        currency: p.currency.clone(),
        created_from: filters::time(&p.date_from, "date_from")?,
        created_to: filters::time(&p.date_to, "date_to")?,
        amount_min: amounts.parse(&p.amount_min, "amount_min")?,
        amount_max: amounts.parse(&p.amount_max, "amount_max")?,
        ids: comma_list(&p.id),
        merchant_order_id: p.merchant_order_id.clone(),
        before_id: p.cursor.clone(),
        limit: filters::limit_plus_one(p.limit)?,
    })
}

/// Search payins across merchants, newest first.
#[utoipa::path(get, path = "/admin/v1/payins", tag = "admin", security(("admin" = [])), params(SearchParams),
    responses((status = 200, body = inline(Envelope<Page<PayInOut>>))))]
async fn search_payins(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(p): QueryParams<SearchParams>,
) -> ApiResult<Response> {
    let filter = search_filter(&state, &p, |s| PayInStatus::parse(s).is_some())?;
    let rows = state.db.list_payins(&filter).await?;
    Ok(ok(page(
        &rows,
        filter.limit,
        |r| r.id.to_string(),
        |r| PayInOut {
            merchant_id: Some(r.merchant_id.to_string()),
            ..payin_out(r, &state.currencies, &state.public_base())
        },
    )))
}

/// Read any payin.
#[utoipa::path(get, path = "/admin/v1/payins/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = inline(Envelope<PayInOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
async fn get_payin(_: Admin, State(state): State<AppState>, PathParam(id): PathParam<String>) -> ApiResult<Response> {
    let r = state.db.payin(None, Some(&id), None).await?.ok_or(ApiError::NotFound)?;
    Ok(ok(PayInOut {
        merchant_id: Some(r.merchant_id.to_string()),
        ..payin_out(&r, &state.currencies, &state.public_base())
    }))
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct ConfirmIn {
    /// The amount actually received; the payin's amount when absent.
    pub amount: Option<AmountIn>,
}

/// Money received (manual provider): the payin becomes `success` with the
/// received amount, and the merchant is credited less the fee.
#[utoipa::path(post, path = "/admin/v1/payins/{id}/confirm", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    request_body = ConfirmIn, responses((status = 200, body = inline(Envelope<PayInOut>)), (status = 404, body = crate::error::ErrorEnvelope),
                                        (status = 409, description = "INVALID_STATE", body = crate::error::ErrorEnvelope)))]
async fn confirm_payin(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<ConfirmIn>,
) -> ApiResult<Response> {
    let payin = state.db.payin(None, Some(&id), None).await?.ok_or(ApiError::NotFound)?;
    let amount = match &input.amount {
        Some(a) => Some(
            a.minor(state.currencies.exponent(&payin.currency).unwrap_or(0), &payin.currency)
                .map_err(|e| ApiError::validation("amount", e))?,
        ),
        None => None,
    };
    payin_change(&state, PayInChange { id, merchant_id: None, to: PayInStatus::Success, amount, reason: None }).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonIn {
    /// Up to 500 characters, not only blanks.
    #[schema(pattern = r"\S", max_length = 500)]
    pub reason: String,
}

fn reason(input: &ReasonIn) -> ApiResult<String> {
    let r = input.reason.trim();
    if r.is_empty() || r.chars().count() > 500 {
        return Err(ApiError::validation("reason", "must be 1-500 characters"));
    }
    Ok(r.to_string())
}

/// Mark a pending payin `failed`.
#[utoipa::path(post, path = "/admin/v1/payins/{id}/fail", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    request_body = ReasonIn, responses((status = 200, body = inline(Envelope<PayInOut>)), (status = 404, body = crate::error::ErrorEnvelope),
                                       (status = 409, body = crate::error::ErrorEnvelope)))]
async fn fail_payin(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<ReasonIn>,
) -> ApiResult<Response> {
    let why = reason(&input)?;
    payin_change(
        &state,
        PayInChange { id, merchant_id: None, to: PayInStatus::Failed, amount: None, reason: Some(why) },
    )
    .await
}

async fn payin_change(state: &AppState, change: PayInChange) -> ApiResult<Response> {
    let row = state.writer.move_payin(change).await.map_err(api_error)?;
    Ok(ok(PayInOut {
        merchant_id: Some(row.merchant_id.to_string()),
        ..payin_out(&row, &state.currencies, &state.public_base())
    }))
}

/// Search payouts across merchants, newest first.
#[utoipa::path(get, path = "/admin/v1/payouts", tag = "admin", security(("admin" = [])), params(SearchParams),
    responses((status = 200, body = inline(Envelope<Page<PayOutOut>>))))]
async fn search_payouts(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(p): QueryParams<SearchParams>,
) -> ApiResult<Response> {
    let filter = search_filter(&state, &p, |s| PayOutStatus::parse(s).is_some())?;
    let rows = state.db.list_payouts(&filter).await?;
    Ok(ok(page(
        &rows,
        filter.limit,
        |r| r.id.to_string(),
        |r| PayOutOut { merchant_id: Some(r.merchant_id.to_string()), ..payout_out(r, &state.currencies) },
    )))
}

/// Read any payout, with its unmasked destination for operators and admins
/// (they pay it); a viewer's key gets the masked one only.
#[utoipa::path(get, path = "/admin/v1/payouts/{id}", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = inline(Envelope<PayOutOut>)), (status = 404, body = crate::error::ErrorEnvelope)))]
async fn get_payout(
    Admin(caller): Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    let r = state.db.payout(None, Some(&id), None).await?.ok_or(ApiError::NotFound)?;
    if caller.role < crate::http::roles::Role::Operator {
        return Ok(ok(PayOutOut { merchant_id: Some(r.merchant_id.to_string()), ..payout_out(&r, &state.currencies) }));
    }
    let full = state
        .master_key
        .open(&r.id, &r.destination_sealed)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("payout {}: {e}", r.id)))?;
    Ok(ok(PayOutOut {
        merchant_id: Some(r.merchant_id.to_string()),
        destination_full: serde_json::from_str(&full).ok(),
        ..payout_out(&r, &state.currencies)
    }))
}

/// Hand a pending payout to the provider: `processing`.
#[utoipa::path(post, path = "/admin/v1/payouts/{id}/processing", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = inline(Envelope<PayOutOut>)), (status = 404, body = crate::error::ErrorEnvelope),
              (status = 409, body = crate::error::ErrorEnvelope)))]
async fn payout_processing(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    crate::payments::payout_routing::operator_may_settle(&state, &id).await?;
    payout_change(&state, PayOutChange { id, merchant_id: None, path: vec![PayOutStatus::Processing], reason: None })
        .await
}

/// The payee was paid: `success`; the hold leaves the merchant's balance.
#[utoipa::path(post, path = "/admin/v1/payouts/{id}/success", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    responses((status = 200, body = inline(Envelope<PayOutOut>)), (status = 404, body = crate::error::ErrorEnvelope),
              (status = 409, body = crate::error::ErrorEnvelope)))]
async fn payout_success(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
) -> ApiResult<Response> {
    crate::payments::payout_routing::operator_may_settle(&state, &id).await?;
    payout_change(&state, PayOutChange { id, merchant_id: None, path: vec![PayOutStatus::Success], reason: None }).await
}

/// The payout failed: `failed`; the hold returns to `available`.
#[utoipa::path(post, path = "/admin/v1/payouts/{id}/fail", tag = "admin", security(("admin" = [])), params(("id" = String, Path)),
    request_body = ReasonIn, responses((status = 200, body = inline(Envelope<PayOutOut>)), (status = 404, body = crate::error::ErrorEnvelope),
                                       (status = 409, body = crate::error::ErrorEnvelope)))]
async fn payout_fail(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<ReasonIn>,
) -> ApiResult<Response> {
    let why = reason(&input)?;
    crate::payments::payout_routing::operator_may_settle(&state, &id).await?;
    payout_change(&state, PayOutChange { id, merchant_id: None, path: vec![PayOutStatus::Failed], reason: Some(why) })
        .await
}
