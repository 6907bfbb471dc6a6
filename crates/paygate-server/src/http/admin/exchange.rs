//! Operator endpoints of the exchange (API.md 9.2 and 9.8): methods, rates,
//! orders (search, detail, moves) and the book's positions.

use crate::error::{ApiError, ApiResult, ErrorEnvelope};
use crate::exchange::orders::{move_order, MoveRequest};
use crate::exchange::view::{order_out, OrderOut};
use crate::http::auth::{Admin, JsonBody, PathParam, QueryParams};
use crate::http::envelope::{ok, Envelope, Page};
use crate::http::filters;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::exchange::groups::{MethodConfig, Methods, GROUPS};
use paygate_core::exchange::lifecycle::OrderStatus;
use paygate_core::exchange::quote::{parse_amount, parse_decimal};
use paygate_core::money::format_minor;
use paygate_store::exchange::orders::OrderFilter;
use paygate_store::exchange::settings::RateRow;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_methods, put_methods))
        .routes(routes!(get_rates, put_rates))
        .routes(routes!(search_orders))
        .routes(routes!(get_order))
        .routes(routes!(move_status))
        .routes(routes!(positions))
}

/// One method as the operator writes it: limits as decimal strings per
/// currency (`{"USD": "10.00"}`), or one string for every currency.
#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct MethodIn {
    #[schema(example = "crypto")]
    pub group: String,
    pub title: String,
    #[serde(default)]
    pub info: String,
    pub currencies: Vec<String>,
    #[schema(value_type = Option<Object>)]
    pub min: Option<serde_json::Value>,
    #[schema(value_type = Option<Object>)]
    pub max: Option<serde_json::Value>,
}

#[derive(Deserialize, Serialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MethodsIn {
    #[serde(default)]
    pub payin: Vec<MethodIn>,
    #[serde(default)]
    pub payout: Vec<MethodIn>,
}

fn limits(
    state: &AppState,
    field: &str,
    m: &MethodIn,
    v: &Option<serde_json::Value>,
) -> ApiResult<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    let parse = |cur: &str, text: &str| -> ApiResult<i64> {
        let exp = state
            .currencies
            .exponent(cur)
            .ok_or_else(|| ApiError::validation(field, format!("unknown currency {cur}")))?;
        parse_amount(text, exp).map_err(|e| ApiError::validation(field, format!("{cur}: {e}")))
    };
    match v {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::String(s)) => {
            for c in &m.currencies {
                out.insert(c.clone(), parse(c, s)?);
            }
        }
        Some(serde_json::Value::Object(map)) => {
            for (cur, val) in map {
                let text = val.as_str().ok_or_else(|| ApiError::validation(field, "amounts are decimal strings"))?;
                out.insert(cur.clone(), parse(cur, text)?);
            }
        }
        Some(_) => return Err(ApiError::validation(field, "a decimal string or {currency: amount}")),
    }
    Ok(out)
}

fn method(state: &AppState, side: &str, i: usize, m: &MethodIn) -> ApiResult<MethodConfig> {
    let field = |f: &str| format!("{side}[{i}].{f}");
    if !GROUPS.contains(&m.group.as_str()) {
        return Err(ApiError::validation(&field("group"), format!("one of {}", GROUPS.join(", "))));
    }
    if m.title.trim().is_empty() || m.currencies.is_empty() {
        return Err(ApiError::validation(&field("currencies"), "a title and at least one currency are required"));
    }
    for c in &m.currencies {
        if state.currencies.exponent(c).is_none() {
            return Err(ApiError::Unprocessable(
                "UNSUPPORTED_CURRENCY",
                format!("{}: {c} is not supported", field("currencies")),
            ));
        }
    }
    Ok(MethodConfig {
        group: m.group.clone(),
        title: m.title.clone(),
        info: m.info.clone(),
        currencies: m.currencies.clone(),
        min: limits(state, &field("min"), m, &m.min)?,
        max: limits(state, &field("max"), m, &m.max)?,
    })
}

pub fn methods_out(state: &AppState, m: &Methods) -> MethodsIn {
    let side = |list: &[MethodConfig]| {
        list.iter()
            .map(|c| {
                let amounts = |map: &BTreeMap<String, i64>| {
                    (!map.is_empty()).then(|| {
                        serde_json::Value::Object(
                            map.iter()
                                .map(|(cur, v)| {
                                    let exp = state.currencies.exponent(cur).unwrap_or(0);
                                    (cur.clone(), serde_json::Value::String(format_minor(*v, exp)))
                                })
                                .collect(),
                        )
                    })
                };
                MethodIn {
                    group: c.group.clone(),
                    title: c.title.clone(),
                    info: c.info.clone(),
                    currencies: c.currencies.clone(),
                    min: amounts(&c.min),
                    max: amounts(&c.max),
                }
            })
            .collect()
    };
    MethodsIn { payin: side(&m.payin), payout: side(&m.payout) }
}

/// The exchange's payment methods.
#[utoipa::path(get, path = "/admin/v1/exchange/methods", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = inline(Envelope<MethodsIn>))))]
async fn get_methods(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let book = crate::exchange::terms::load_book(&state).await?;
    Ok(ok(methods_out(&state, &book.methods)))
}

/// Replaces the exchange's payment methods.
#[utoipa::path(put, path = "/admin/v1/exchange/methods", tag = "admin", security(("admin" = [])), request_body = MethodsIn,
    responses((status = 200, body = inline(Envelope<MethodsIn>)), (status = 422, body = ErrorEnvelope)))]
async fn put_methods(
    _: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<MethodsIn>,
) -> ApiResult<Response> {
    let methods = apply_methods(&state, &input).await?;
    Ok(ok(methods_out(&state, &methods)))
}

/// Validates and saves the methods (also the dashboard's form).
pub async fn apply_methods(state: &AppState, input: &MethodsIn) -> ApiResult<Methods> {
    let payin =
        input.payin.iter().enumerate().map(|(i, m)| method(state, "payin", i, m)).collect::<ApiResult<Vec<_>>>()?;
    let payout =
        input.payout.iter().enumerate().map(|(i, m)| method(state, "payout", i, m)).collect::<ApiResult<Vec<_>>>()?;
    let methods = Methods { payin, payout };
    state.db.put_exchange_methods(&serde_json::to_string(&methods).map_err(ApiError::internal)?).await?;
    crate::exchange::cache::forget_book(state);
    Ok(methods)
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct RateIn {
    /// `BASE-QUOTE`.
    #[schema(example = "BTC-USD")]
    pub name: String,
    /// What paygate pays in QUOTE for one BASE (decimal string).
    #[schema(example = "29950.5")]
    pub bid: String,
    /// What one BASE costs in QUOTE.
    #[schema(example = "30050.5")]
    pub ask: String,
    /// Shown to partners; defaults to the mid of bid and ask.
    pub floating_rate: Option<String>,
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatesIn {
    pub rates: Vec<RateIn>,
}

/// The exchange rates.
#[utoipa::path(get, path = "/admin/v1/rates", tag = "admin", security(("admin" = [])), responses((status = 200, body = inline(Envelope<RatesIn>))))]
async fn get_rates(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let rates = state.db.rates().await?;
    let rates = rates
        .into_iter()
        .map(|r| RateIn { name: r.name, bid: r.bid, ask: r.ask, floating_rate: Some(r.floating_rate) })
        .collect();
    Ok(ok(RatesIn { rates }))
}

/// Replaces every rate (a pair left out is no longer offered).
#[utoipa::path(put, path = "/admin/v1/rates", tag = "admin", security(("admin" = [])), request_body = RatesIn,
    responses((status = 200, body = inline(Envelope<RatesIn>)), (status = 422, body = ErrorEnvelope)))]
async fn put_rates(
    caller: Admin,
    State(state): State<AppState>,
    JsonBody(input): JsonBody<RatesIn>,
) -> ApiResult<Response> {
    apply_rates(&state, &input).await?;
    get_rates(caller, State(state)).await
}

/// Validates and saves every rate at once (also the dashboard's form).
pub async fn apply_rates(state: &AppState, input: &RatesIn) -> ApiResult<()> {
    let now = paygate_store::time::now_micros();
    let mut rows: Vec<RateRow> = Vec::new();
    for (i, r) in input.rates.iter().enumerate() {
        let field = |f: &str| format!("rates[{i}].{f}");
        let (base, quote) =
            r.name.split_once('-').ok_or_else(|| ApiError::validation(&field("name"), "must be BASE-QUOTE"))?;
        for c in [base, quote] {
            if state.currencies.exponent(c).is_none() {
                return Err(ApiError::Unprocessable(
                    "UNSUPPORTED_CURRENCY",
                    format!("{}: {c} is not supported", field("name")),
                ));
            }
        }
        if base == quote || rows.iter().any(|x| x.name == r.name || (x.base == quote && x.quote == base)) {
            return Err(ApiError::validation(&field("name"), "each pair once, in one direction"));
        }
        let price = |f: &str, t: &str| -> ApiResult<Decimal> {
            parse_decimal(t)
                .filter(|d| *d > Decimal::ZERO && d.normalize().scale() <= 18)
                .ok_or_else(|| ApiError::validation(&field(f), "must be a positive decimal with at most 18 decimals"))
        };
        let (bid, ask) = (price("bid", &r.bid)?, price("ask", &r.ask)?);
        if bid > ask {
            return Err(ApiError::validation(&field("bid"), "must not exceed ask"));
        }
        let floating = match &r.floating_rate {
            Some(f) => price("floating_rate", f)?,
            None => (bid + ask) / Decimal::TWO,
        };
        rows.push(RateRow {
            name: r.name.clone(),
            base: base.into(),
            quote: quote.into(),
            bid: bid.normalize().to_string(),
            ask: ask.normalize().to_string(),
            floating_rate: floating.normalize().to_string(),
            updated_at: now,
        });
    }
    state.db.put_rates(&rows).await?;
    crate::exchange::cache::forget_book(state);
    Ok(())
}

#[derive(Deserialize, IntoParams, Default)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OrderSearch {
    pub partner_order_id: Option<String>,
    pub merchant_id: Option<String>,
    pub status: Option<String>,
    /// RFC 3339, inclusive.
    pub date_from: Option<String>,
    /// RFC 3339, exclusive.
    pub date_to: Option<String>,
    /// 1-100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Exchange orders across partners, newest first.
#[utoipa::path(get, path = "/admin/v1/exchange/orders", tag = "admin", security(("admin" = [])), params(OrderSearch),
    responses((status = 200, body = inline(Envelope<Page<OrderOut>>)), (status = 422, body = ErrorEnvelope)))]
async fn search_orders(
    _: Admin,
    State(state): State<AppState>,
    QueryParams(p): QueryParams<OrderSearch>,
) -> ApiResult<Response> {
    let status = match &p.status {
        Some(s) => Some(OrderStatus::parse(s).ok_or_else(|| ApiError::validation("status", "unknown order status"))?),
        None => None,
    };
    let limit = filters::limit_plus_one(p.limit)?;
    let filter = OrderFilter {
        merchant_id: p.merchant_id.clone(),
        partner_order_id: p.partner_order_id.clone(),
        status,
        created_from: filters::time(&p.date_from, "date_from")?,
        created_to: filters::time(&p.date_to, "date_to")?,
        before_id: p.cursor.clone(),
        limit,
        offset: 0,
        with_total: false,
    };
    let (mut rows, _) = state.db.search_exchange_orders(&filter).await?;
    let next_cursor = (rows.len() as i64 == limit).then(|| {
        rows.pop();
        rows.last().map(|o| o.id.clone())
    });
    let items = rows.iter().map(|o| order_out(&state.currencies, o)).collect();
    Ok(ok(Page { items, next_cursor: next_cursor.flatten() }))
}

/// One exchange order.
#[utoipa::path(get, path = "/admin/v1/exchange/orders/{client_order_id}", tag = "admin", security(("admin" = [])),
    params(("client_order_id" = String, Path)), responses((status = 200, body = inline(Envelope<OrderOut>)), (status = 404, body = ErrorEnvelope)))]
async fn get_order(_: Admin, State(state): State<AppState>, PathParam(id): PathParam<String>) -> ApiResult<Response> {
    let o = state.db.exchange_order(&id).await?.ok_or(ApiError::NotFound)?;
    Ok(ok(order_out(&state.currencies, &o)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusIn {
    #[schema(example = "auth_success")]
    pub status: String,
    /// What actually arrived; the payout is recomputed at the locked rate.
    pub payin_amount: Option<String>,
    pub payin_txid: Option<String>,
    /// Required to finish a payout to the outside.
    pub payout_txid: Option<String>,
    pub error_message: Option<String>,
}

/// Moves an order (API.md 9.7); every illegal move is 409 `INVALID_STATE`.
#[utoipa::path(post, path = "/admin/v1/exchange/orders/{client_order_id}/status", tag = "admin", security(("admin" = [])),
    params(("client_order_id" = String, Path)), request_body = StatusIn,
    responses((status = 200, body = inline(Envelope<OrderOut>)), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "INVALID_STATE", body = ErrorEnvelope), (status = 422, body = ErrorEnvelope)))]
async fn move_status(
    _: Admin,
    State(state): State<AppState>,
    PathParam(id): PathParam<String>,
    JsonBody(input): JsonBody<StatusIn>,
) -> ApiResult<Response> {
    let to = OrderStatus::parse(&input.status).ok_or_else(|| ApiError::validation("status", "unknown order status"))?;
    let order = state.db.exchange_order(&id).await?.ok_or(ApiError::NotFound)?;
    let payin_amount = match &input.payin_amount {
        Some(text) => {
            let exp =
                order.payin_currency.as_deref().and_then(|c| state.currencies.exponent(c)).ok_or_else(|| {
                    ApiError::validation("payin_amount", "the customer has not chosen a payin currency")
                })?;
            Some(parse_amount(text, exp).map_err(|e| ApiError::validation("payin_amount", e.to_string()))?)
        }
        None => None,
    };
    let text = |f: &str, v: &Option<String>| crate::http::partner::input_text(f, v, 256);
    let req = MoveRequest {
        payin_amount,
        payin_txid: text("payin_txid", &input.payin_txid)?,
        payout_txid: text("payout_txid", &input.payout_txid)?,
        error_message: text("error_message", &input.error_message)?,
    };
    let moved = move_order(&state, &id, None, to, req).await?;
    tracing::info!(order = %id, status = to.as_str(), "exchange order moved by the operator");
    Ok(ok(order_out(&state.currencies, &moved)))
}

#[derive(Serialize, ToSchema)]
pub struct PositionOut {
    pub mode: String,
    pub currency: String,
    /// The book's balance: what the operator holds (negative: owes).
    pub balance: String,
}

/// The operator's exchange book per mode and currency.
#[utoipa::path(get, path = "/admin/v1/exchange/positions", tag = "admin", security(("admin" = [])),
    responses((status = 200, body = inline(Envelope<Vec<PositionOut>>))))]
async fn positions(_: Admin, State(state): State<AppState>) -> ApiResult<Response> {
    let rows = state.db.exchange_positions().await?;
    let out: Vec<PositionOut> = rows
        .into_iter()
        .map(|(mode, currency, balance)| {
            let exp = state.currencies.exponent(&currency).unwrap_or(0);
            PositionOut { mode, balance: format_minor(balance, exp), currency }
        })
        .collect();
    Ok(ok(out))
}
