//! Reads of the Switchere-compatible API (API.md 9.3): health, currency
//! pairs, payment methods and tickers, on public and partner paths.

use super::auth::PartnerCall;
use super::error::{PartnerError, PartnerErrorEnvelope, PartnerResult};
use crate::error::ApiError;
use crate::exchange::terms::{load_book, Book};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_core::exchange::groups::{is_crypto, pairs, MethodConfig, GROUPS};
use paygate_core::exchange::quote::eighteen;
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct HealthOut {
    #[schema(example = "OK")]
    pub status: &'static str,
}

/// Partner health check: answers when the key and signature are right.
#[utoipa::path(get, path = "/api/v2/partner/healthcheck", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    responses((status = 200, body = HealthOut), (status = 401, body = PartnerErrorEnvelope)))]
pub async fn healthcheck(_: PartnerCall) -> Json<HealthOut> {
    Json(HealthOut { status: "OK" })
}

/// Version-1 path of the partner health check.
#[utoipa::path(get, path = "/api/v1/partner/healthcheck", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    responses((status = 200, body = HealthOut), (status = 401, body = PartnerErrorEnvelope)))]
pub async fn healthcheck_v1(_: PartnerCall) -> Json<HealthOut> {
    Json(HealthOut { status: "OK" })
}

fn currency_map(book: &Book) -> BTreeMap<String, Vec<String>> {
    pairs(&book.methods, &book.rates)
}

/// Payin currency → the payout currencies it exchanges to.
#[utoipa::path(get, path = "/api/v2/public/currency", tag = "partner",
    responses((status = 200, body = BTreeMap<String, Vec<String>>, example = json!({"USD": ["BTC", "ETH"]}))))]
pub async fn currency_public(State(state): State<AppState>) -> PartnerResult<Json<BTreeMap<String, Vec<String>>>> {
    Ok(Json(currency_map(&*load_book(&state).await?)))
}

/// Version-1 path of the currency pairs.
#[utoipa::path(get, path = "/api/v1/public/currency", tag = "partner",
    responses((status = 200, body = BTreeMap<String, Vec<String>>)))]
pub async fn currency_public_v1(State(state): State<AppState>) -> PartnerResult<Json<BTreeMap<String, Vec<String>>>> {
    Ok(Json(currency_map(&*load_book(&state).await?)))
}

/// The currency pairs, signed.
#[utoipa::path(get, path = "/api/v2/partner/currency", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    responses((status = 200, body = BTreeMap<String, Vec<String>>), (status = 401, body = PartnerErrorEnvelope)))]
pub async fn currency_partner(
    State(state): State<AppState>,
    _: PartnerCall,
) -> PartnerResult<Json<BTreeMap<String, Vec<String>>>> {
    Ok(Json(currency_map(&*load_book(&state).await?)))
}

#[derive(Serialize, ToSchema)]
pub struct MethodCurrency {
    pub currency: String,
    pub is_crypto: bool,
}

#[derive(Serialize, ToSchema)]
pub struct MethodOut {
    pub group: String,
    pub info: String,
    pub list: Vec<MethodCurrency>,
    pub title: String,
}

fn methods_out(book: &Book, list: &[MethodConfig]) -> Vec<MethodOut> {
    let mut sorted: Vec<&MethodConfig> = list.iter().collect();
    sorted.sort_by_key(|m| GROUPS.iter().position(|g| *g == m.group).unwrap_or(GROUPS.len()));
    sorted
        .into_iter()
        .map(|m| MethodOut {
            group: m.group.clone(),
            info: m.info.clone(),
            list: m
                .currencies
                .iter()
                .map(|c| MethodCurrency { currency: c.clone(), is_crypto: is_crypto(&book.methods, c) })
                .collect(),
            title: m.title.clone(),
        })
        .collect()
}

async fn methods(state: &AppState, direction: &str) -> PartnerResult<Json<Vec<MethodOut>>> {
    let book = load_book(state).await?;
    let list = match direction {
        "payin" => &book.methods.payin,
        "payout" => &book.methods.payout,
        _ => return Err(PartnerError(ApiError::NotFound)),
    };
    Ok(Json(methods_out(&book, list)))
}

/// Payment methods by direction (`payin` or `payout`).
#[utoipa::path(get, path = "/api/v2/public/payment/{direction}", tag = "partner",
    params(("direction" = String, Path, description = "payin or payout")),
    responses((status = 200, body = Vec<MethodOut>), (status = 404, body = PartnerErrorEnvelope)))]
pub async fn methods_public(
    State(state): State<AppState>,
    Path(direction): Path<String>,
) -> PartnerResult<Json<Vec<MethodOut>>> {
    methods(&state, &direction).await
}

/// Version-1 path of the payment methods.
#[utoipa::path(get, path = "/api/v1/public/payment/{direction}", tag = "partner",
    params(("direction" = String, Path, description = "payin or payout")),
    responses((status = 200, body = Vec<MethodOut>), (status = 404, body = PartnerErrorEnvelope)))]
pub async fn methods_public_v1(
    State(state): State<AppState>,
    Path(direction): Path<String>,
) -> PartnerResult<Json<Vec<MethodOut>>> {
    methods(&state, &direction).await
}

/// Payment methods by direction, signed.
#[utoipa::path(get, path = "/api/v2/partner/payment/{direction}", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    params(("direction" = String, Path, description = "payin or payout")),
    responses((status = 200, body = Vec<MethodOut>), (status = 401, body = PartnerErrorEnvelope), (status = 404, body = PartnerErrorEnvelope)))]
pub async fn methods_partner(
    State(state): State<AppState>,
    Path(direction): Path<String>,
    _: PartnerCall,
) -> PartnerResult<Json<Vec<MethodOut>>> {
    methods(&state, &direction).await
}

#[derive(Serialize, ToSchema)]
pub struct TickerOut {
    #[schema(example = "BTC-USD")]
    pub name: String,
    pub ask: String,
    pub bid: String,
    pub floating_rate: String,
}

fn tickers(book: &Book) -> Vec<TickerOut> {
    book.rates
        .iter()
        .map(|r| TickerOut {
            name: r.name(),
            ask: eighteen(r.ask),
            bid: eighteen(r.bid),
            floating_rate: eighteen(r.floating),
        })
        .collect()
}

/// Every pair's prices.
#[utoipa::path(get, path = "/api/v2/public/ticker", tag = "partner", responses((status = 200, body = Vec<TickerOut>)))]
pub async fn tickers_public(State(state): State<AppState>) -> PartnerResult<Json<Vec<TickerOut>>> {
    Ok(Json(tickers(&*load_book(&state).await?)))
}

/// Every pair's prices, signed.
#[utoipa::path(get, path = "/api/v2/partner/ticker", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    responses((status = 200, body = Vec<TickerOut>), (status = 401, body = PartnerErrorEnvelope)))]
pub async fn tickers_partner(State(state): State<AppState>, _: PartnerCall) -> PartnerResult<Json<Vec<TickerOut>>> {
    Ok(Json(tickers(&*load_book(&state).await?)))
}

async fn one_ticker(state: &AppState, pair: &str) -> PartnerResult<Response> {
    let book = load_book(state).await?;
    let t = tickers(&book).into_iter().find(|t| t.name == pair).ok_or(PartnerError(ApiError::NotFound))?;
    Ok(Json(t).into_response())
}

/// One pair's prices; an unknown pair is 404.
#[utoipa::path(get, path = "/api/v2/public/ticker/{pair}", tag = "partner", params(("pair" = String, Path, example = "BTC-USD")),
    responses((status = 200, body = TickerOut), (status = 404, body = PartnerErrorEnvelope)))]
pub async fn ticker_public(State(state): State<AppState>, Path(pair): Path<String>) -> PartnerResult<Response> {
    one_ticker(&state, &pair).await
}

/// One pair's prices, signed.
#[utoipa::path(get, path = "/api/v2/partner/ticker/{pair}", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    params(("pair" = String, Path, example = "BTC-USD")),
    responses((status = 200, body = TickerOut), (status = 401, body = PartnerErrorEnvelope), (status = 404, body = PartnerErrorEnvelope)))]
pub async fn ticker_partner(
    State(state): State<AppState>,
    Path(pair): Path<String>,
    _: PartnerCall,
) -> PartnerResult<Response> {
    one_ticker(&state, &pair).await
}
