//! The fee quote (API.md 9.4) on its three paths: partner (the partner's
//! own fees), public v2 and public v1 (the default fees).

use super::auth::{parse_body, PartnerCall};
use super::error::{PartnerErrorEnvelope, PartnerResult};
use super::input;
use crate::exchange::fees::ExchangeFeesIn;
use crate::exchange::terms::{self, asked, load_book, PairIn};
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use paygate_core::exchange::quote::{eighteen, minor_eighteen};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::ToSchema;

/// A quote or order request's pair and amount. Amounts are decimal strings
/// or JSON numbers, parsed exactly; give exactly one of them.
#[derive(Deserialize, ToSchema, Default)]
pub struct FeeIn {
    #[schema(example = "ETH")]
    pub payin_currency: Option<String>,
    #[schema(example = "BTC")]
    pub payout_currency: Option<String>,
    #[schema(value_type = Option<String>, example = "1")]
    pub payin_amount: Option<Box<RawValue>>,
    #[schema(value_type = Option<String>)]
    pub payout_amount: Option<Box<RawValue>>,
    #[schema(example = "crypto")]
    pub payin_group: Option<String>,
    pub payout_group: Option<String>,
    #[schema(value_type = Option<u8>)]
    pub free_first: Option<Box<RawValue>>,
    /// Required on the version-1 path.
    pub partner_order_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FeeOut {
    #[schema(example = "1.000000000000000000")]
    pub payin_amount: String,
    pub payout_amount: String,
    pub rate: String,
    pub payin_fee: String,
    pub payout_fee: String,
    pub margin_fee: String,
}

async fn fee(state: &AppState, fees: &ExchangeFeesIn, input: &FeeIn) -> PartnerResult<Json<FeeOut>> {
    input::free_first(input.free_first.as_deref())?;
    let payin_group = input::group(&input.payin_group);
    let payout_group = input::group(&input.payout_group);
    let pair = PairIn {
        payin_currency: input.payin_currency.as_deref().unwrap_or("").trim(),
        payout_currency: input.payout_currency.as_deref().unwrap_or("").trim(),
        payin_group: payin_group.as_deref(),
        payout_group: payout_group.as_deref(),
    };
    let book = load_book(state).await?;
    let t = terms::terms(state, &book, fees, &pair)?;
    let q = terms::quote(&t, &asked(&t, input.payin_amount.as_deref(), input.payout_amount.as_deref())?)?;
    let (ein, eout) = (t.exponents.payin, t.exponents.payout);
    Ok(Json(FeeOut {
        payin_amount: minor_eighteen(q.payin, ein),
        payout_amount: minor_eighteen(q.payout, eout),
        rate: t.price.rate().map(eighteen).unwrap_or_default(),
        payin_fee: minor_eighteen(q.payin_fee, ein),
        payout_fee: minor_eighteen(q.payout_fee, eout),
        margin_fee: minor_eighteen(q.margin_fee, ein),
    }))
}

/// A quote at the partner's own fees.
#[utoipa::path(post, path = "/api/v2/partner/order/fee", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    request_body = FeeIn,
    responses((status = 200, body = FeeOut), (status = 400, body = PartnerErrorEnvelope), (status = 401, body = PartnerErrorEnvelope),
              (status = 422, description = "VALIDATION_ERROR, UNSUPPORTED_CURRENCY, PAIR_NOT_AVAILABLE, AMOUNT_OUT_OF_LIMITS", body = PartnerErrorEnvelope)))]
pub async fn fee_partner(State(state): State<AppState>, call: PartnerCall) -> PartnerResult<Json<FeeOut>> {
    let input: FeeIn = call.json()?;
    let fees = terms::partner_fees(Some(&call.partner));
    fee(&state, &fees, &input).await
}

/// A quote at the default fees.
#[utoipa::path(post, path = "/api/v2/public/order/fee", tag = "partner", request_body = FeeIn,
    responses((status = 200, body = FeeOut), (status = 400, body = PartnerErrorEnvelope), (status = 422, body = PartnerErrorEnvelope)))]
pub async fn fee_public(State(state): State<AppState>, body: Bytes) -> PartnerResult<Json<FeeOut>> {
    let input: FeeIn = parse_body(&body)?;
    fee(&state, &ExchangeFeesIn::default(), &input).await
}

/// Version 1 of the public quote: `partner_order_id` is required.
#[utoipa::path(post, path = "/api/v1/public/order/fee", tag = "partner", request_body = FeeIn,
    responses((status = 200, body = FeeOut), (status = 400, body = PartnerErrorEnvelope), (status = 422, body = PartnerErrorEnvelope)))]
pub async fn fee_public_v1(State(state): State<AppState>, body: Bytes) -> PartnerResult<Json<FeeOut>> {
    let input: FeeIn = parse_body(&body)?;
    input::partner_order_id(&input.partner_order_id)?;
    fee(&state, &ExchangeFeesIn::default(), &input).await
}
