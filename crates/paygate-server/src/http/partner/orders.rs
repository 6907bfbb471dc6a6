//! Orders on the Switchere-compatible API (API.md 9.5): create, the shop
//! plugins' purchase URL, reads in both versions, the version-1 list and
//! the sandbox's pay button for test partners.

use super::auth::PartnerCall;
use super::error::{PartnerErrorEnvelope, PartnerResult};
use super::input;
use crate::error::ApiError;
use crate::exchange::orders::{self as exchange, NewOrder, OrderExtras};
use crate::exchange::terms::{self, asked, load_book, parse_in, PairIn};
use crate::exchange::view::{order_out, spaced_time, v1_order_json, OrderOut};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use paygate_core::exchange::address;
use paygate_core::exchange::quote::minor_eighteen;
use paygate_store::exchange::orders::OrderRow;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Default)]
pub struct CreateIn {
    pub partner_order_id: Option<String>,
    #[schema(example = "ETH")]
    pub payin_currency: Option<String>,
    #[schema(example = "BTC")]
    pub payout_currency: Option<String>,
    /// Give exactly one of the two amounts (decimal string or JSON number).
    #[schema(value_type = Option<String>, example = "1")]
    pub payin_amount: Option<Box<RawValue>>,
    #[schema(value_type = Option<String>)]
    pub payout_amount: Option<Box<RawValue>>,
    pub payin_group: Option<String>,
    pub payout_group: Option<String>,
    #[schema(value_type = Option<u8>)]
    pub free_first: Option<Box<RawValue>>,
    /// Required for a crypto payout; checked where the format is known.
    pub dst_address: Option<String>,
    #[schema(value_type = Option<u64>)]
    pub dst_tag: Option<Box<RawValue>>,
    pub memo: Option<String>,
    pub client_email: Option<String>,
    pub callback_url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct CreateOut {
    pub client_order_id: String,
    pub partner_order_id: String,
    #[schema(example = "2020-11-10 13:51:34.864116")]
    pub created_at: String,
    pub crypto_address: Option<String>,
    pub crypto_delay: Option<i64>,
    pub dst_address: Option<String>,
    pub payin_amount: Option<String>,
    pub payin_currency: Option<String>,
    pub payin_group: Option<String>,
    pub payin_txid: Option<String>,
    pub payout_amount: Option<String>,
    pub payout_currency: String,
    pub payout_group: String,
    /// The hosted order page where the client pays.
    pub redirect: String,
    pub status: String,
    #[schema(example = 1)]
    pub success: u8,
}

/// The create request's fields as sent (amounts and tags compared as
/// numbers, so `1`, `"1"` and `"1.0"` are the same request).
fn create_digest(input: &CreateIn) -> String {
    let number = |raw: &Option<Box<RawValue>>| raw.as_deref().map(normalised_number);
    let text = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_string);
    let fields = [
        text(&input.payin_currency),
        text(&input.payout_currency),
        text(&input.payin_group),
        text(&input.payout_group),
        number(&input.payin_amount),
        number(&input.payout_amount),
        text(&input.dst_address),
        number(&input.dst_tag),
        text(&input.memo),
        text(&input.client_email),
        text(&input.callback_url),
    ];
    digest(&fields.iter().map(|f| f.as_deref()).collect::<Vec<_>>())
}

/// A JSON number or numeric string as a normalised decimal, else its text.
fn normalised_number(raw: &RawValue) -> String {
    let text = raw.get().trim().trim_matches('"');
    text.parse::<rust_decimal::Decimal>().map(|d| d.normalize().to_string()).unwrap_or_else(|_| text.to_string())
}

/// The partner's existing order with this id: `Some` when `digest` matches
/// (a repeat, answered 200), 409 `DUPLICATE_ORDER_ID` when it does not.
async fn repeat(state: &AppState, call: &PartnerCall, id: &str, digest: &str) -> Result<Option<OrderRow>, ApiError> {
    match state.db.exchange_order_by_partner_id(&call.partner.merchant_id, id).await? {
        None => Ok(None),
        Some(found) if found.request_digest == digest => Ok(Some(found)),
        Some(_) => Err(ApiError::Conflict(
            "DUPLICATE_ORDER_ID",
            "partner_order_id already used with different parameters".into(),
        )),
    }
}

fn digest(parts: &[Option<&str>]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.unwrap_or("\u{0}null").as_bytes());
        h.update([0xff]);
    }
    hex::encode(h.finalize())
}

pub fn page_url(state: &AppState, token: &str) -> String {
    format!("{}/pay/{token}", state.public_base())
}

fn amount_of(state: &AppState, currency: Option<&str>, units: Option<i64>) -> Option<String> {
    Some(minor_eighteen(units?, state.currencies.exponent(currency?)?))
}

fn create_out(state: &AppState, o: &OrderRow) -> CreateOut {
    CreateOut {
        client_order_id: o.id.clone(),
        partner_order_id: o.partner_order_id.clone(),
        created_at: spaced_time(o.created_at),
        crypto_address: o.crypto_address.clone(),
        crypto_delay: o.crypto_delay,
        dst_address: o.dst_address.clone(),
        payin_amount: amount_of(state, o.payin_currency.as_deref(), o.payin_amount),
        payin_currency: o.payin_currency.clone(),
        payin_group: o.payin_group.clone(),
        payin_txid: o.payin_txid.clone(),
        payout_amount: amount_of(state, Some(&o.payout_currency), o.payout_amount),
        payout_currency: o.payout_currency.clone(),
        payout_group: o.payout_group.clone(),
        redirect: page_url(state, &o.pay_token),
        status: o.status.as_str().into(),
        success: 1,
    }
}

/// Creates an exchange order at the partner's fees; the rate is locked in it.
#[utoipa::path(post, path = "/api/v2/partner/order/create", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    request_body = CreateIn,
    responses((status = 201, body = CreateOut), (status = 200, description = "An identical repeat: the existing order", body = CreateOut),
              (status = 400, body = PartnerErrorEnvelope), (status = 401, body = PartnerErrorEnvelope),
              (status = 409, description = "DUPLICATE_ORDER_ID", body = PartnerErrorEnvelope),
              (status = 422, body = PartnerErrorEnvelope), (status = 503, description = "No free crypto address", body = PartnerErrorEnvelope)))]
pub async fn create(State(state): State<AppState>, call: PartnerCall) -> PartnerResult<Response> {
    let input: CreateIn = call.json()?;
    let partner_order_id = input::partner_order_id(&input.partner_order_id)?;
    // A replay is answered from the order it made, whatever changed since
    // (rates, methods, the address pool): the scheme has no timestamp, so
    // partners retry by sending the same request again.
    let digest = create_digest(&input);
    if let Some(found) = repeat(&state, &call, &partner_order_id, &digest).await? {
        return Ok((StatusCode::OK, Json(create_out(&state, &found))).into_response());
    }
    input::free_first(input.free_first.as_deref())?;
    let payin_group = input::group(&input.payin_group);
    let payout_group = input::group(&input.payout_group);
    let pair = PairIn {
        payin_currency: input.payin_currency.as_deref().unwrap_or("").trim(),
        payout_currency: input.payout_currency.as_deref().unwrap_or("").trim(),
        payin_group: payin_group.as_deref(),
        payout_group: payout_group.as_deref(),
    };
    let book = load_book(&state).await?;
    let t = terms::terms(&state, &book, &terms::partner_fees(Some(&call.partner)), &pair)?;
    let wanted = asked(&t, input.payin_amount.as_deref(), input.payout_amount.as_deref())?;
    let q = terms::quote(&t, &wanted)?;
    let dst_address = input::text("dst_address", &input.dst_address, 128)?;
    if t.payout_method.group == "crypto" {
        let addr = dst_address
            .as_deref()
            .ok_or_else(|| ApiError::validation("dst_address", "is required for a crypto payout"))?;
        address::check(&t.payout_currency, None, addr)
            .map_err(|e| ApiError::validation("dst_address", e.to_string()))?;
    }
    let dst_tag = input::dst_tag(input.dst_tag.as_deref())?;
    let memo = input::text("memo", &input.memo, 128)?;
    let client_email = input::email(&input.client_email)?;
    let callback_url = input::callback_url(&state, &input.callback_url)?;
    let extras = OrderExtras {
        partner_order_id,
        digest,
        dst_address,
        dst_tag,
        memo,
        client_email,
        callback_url,
        website: None,
        plugin_name: None,
    };
    let row = exchange::new_row(&state, &call.merchant, NewOrder::Exchange { terms: &t, quote: &q }, extras);
    let created = exchange::create(&state, row).await?;
    let status = if created.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(create_out(&state, &created.row))).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct PurchaseIn {
    pub partner_order_id: Option<String>,
    #[schema(example = "EUR")]
    pub purchase_currency: Option<String>,
    #[schema(value_type = String, example = "25.00")]
    pub purchase_amount: Option<Box<RawValue>>,
    pub client_email: Option<String>,
    pub website: Option<String>,
    pub plugin_name: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PurchaseOut {
    #[schema(example = 1)]
    pub success: u8,
    pub partner_order_id: String,
    /// The hosted page where the customer picks a currency and pays.
    pub url: String,
}

/// A shop plugin's order: the payout goes to the partner's own balance in
/// `purchase_currency`; the customer picks the payin currency on the page.
#[utoipa::path(post, path = "/api/v2/partner/ecommerce/purchase_url", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    request_body = PurchaseIn,
    responses((status = 201, body = PurchaseOut), (status = 200, description = "An identical repeat", body = PurchaseOut),
              (status = 409, body = PartnerErrorEnvelope), (status = 422, body = PartnerErrorEnvelope)))]
pub async fn purchase_url(State(state): State<AppState>, call: PartnerCall) -> PartnerResult<Response> {
    let input: PurchaseIn = call.json()?;
    let partner_order_id = input::partner_order_id(&input.partner_order_id)?;
    let text = |v: &Option<String>| v.as_deref().map(str::trim).map(str::to_string);
    let amount = input.purchase_amount.as_deref().map(normalised_number);
    let sent = [
        Some("purchase".to_string()),
        text(&input.purchase_currency),
        amount,
        text(&input.client_email),
        text(&input.website),
        text(&input.plugin_name),
    ];
    let digest = digest(&sent.iter().map(|f| f.as_deref()).collect::<Vec<_>>());
    if let Some(found) = repeat(&state, &call, &partner_order_id, &digest).await? {
        let out = PurchaseOut {
            success: 1,
            partner_order_id: found.partner_order_id.clone(),
            url: page_url(&state, &found.pay_token),
        };
        return Ok((StatusCode::OK, Json(out)).into_response());
    }
    let currency = input::required("purchase_currency", &input.purchase_currency)?.to_string();
    let exp = state.currencies.exponent(&currency).ok_or_else(|| {
        ApiError::Unprocessable("UNSUPPORTED_CURRENCY", format!("purchase_currency: {currency} is not supported"))
    })?;
    let raw = input.purchase_amount.as_deref().ok_or_else(|| ApiError::validation("purchase_amount", "is required"))?;
    let text = terms::amount_text("purchase_amount", raw)?
        .ok_or_else(|| ApiError::validation("purchase_amount", "is required"))?;
    let amount = parse_in("purchase_amount", &text, exp)?;
    let client_email = input::email(&input.client_email)?;
    let website = input::text("website", &input.website, 256)?;
    let plugin_name = input::text("plugin_name", &input.plugin_name, 128)?;
    let fees = terms::partner_fees(Some(&call.partner)).resolve(&terms::default_fees(&state), &currency, exp);
    let extras = OrderExtras {
        partner_order_id,
        digest,
        dst_address: None,
        dst_tag: None,
        memo: None,
        client_email,
        callback_url: None,
        website,
        plugin_name,
    };
    let row =
        exchange::new_row(&state, &call.merchant, NewOrder::Purchase { currency: &currency, amount, fees }, extras);
    let created = exchange::create(&state, row).await?;
    let status = if created.created { StatusCode::CREATED } else { StatusCode::OK };
    let out = PurchaseOut {
        success: 1,
        partner_order_id: created.row.partner_order_id.clone(),
        url: page_url(&state, &created.row.pay_token),
    };
    Ok((status, Json(out)).into_response())
}

#[derive(Deserialize, ToSchema, Default)]
pub struct OrderLookupIn {
    pub partner_order_id: Option<String>,
    pub client_order_id: Option<String>,
}

async fn find(state: &AppState, call: &PartnerCall, q: &OrderLookupIn) -> Result<OrderRow, ApiError> {
    let merchant = &call.partner.merchant_id;
    let found = match (q.client_order_id.as_deref(), q.partner_order_id.as_deref()) {
        (Some(id), _) => state.db.exchange_order(id).await?.filter(|o| &o.merchant_id == merchant),
        (None, Some(pid)) => state.db.exchange_order_by_partner_id(merchant, pid).await?,
        (None, None) => {
            return Err(ApiError::validation("partner_order_id", "give partner_order_id or client_order_id"))
        }
    };
    found.ok_or(ApiError::NotFound)
}

/// The full order object (API.md 9.6), by either id.
#[utoipa::path(post, path = "/api/v2/partner/order", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    request_body = OrderLookupIn, responses((status = 200, body = OrderOut), (status = 404, body = PartnerErrorEnvelope)))]
pub async fn order_v2(State(state): State<AppState>, call: PartnerCall) -> PartnerResult<Json<OrderOut>> {
    let q: OrderLookupIn = call.json()?;
    let o = find(&state, &call, &q).await?;
    Ok(Json(order_out(&state.currencies, &o)))
}

/// The version-1 flat order, amounts as JSON numbers written exactly.
#[utoipa::path(post, path = "/api/v1/partner/order", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    request_body = OrderLookupIn, responses((status = 200, body = Object), (status = 404, body = PartnerErrorEnvelope)))]
pub async fn order_v1(State(state): State<AppState>, call: PartnerCall) -> PartnerResult<Response> {
    let q: OrderLookupIn = call.json()?;
    input::partner_order_id(&q.partner_order_id)?;
    let o = find(&state, &call, &OrderLookupIn { client_order_id: None, ..q }).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], v1_order_json(&state.currencies, &o)).into_response())
}
