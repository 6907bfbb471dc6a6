//! The sandbox's pay button for test partners (API.md 9.7).

use super::auth::PartnerCall;
use super::error::{PartnerError, PartnerErrorEnvelope, PartnerResult};
use super::input;
use crate::error::ApiError;
use crate::exchange::orders as exchange;
use crate::exchange::terms::{self, parse_in};
use crate::exchange::view::{order_out, OrderOut};
use crate::state::AppState;
use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Default)]
pub struct SandboxPayIn {
    pub client_order_id: Option<String>,
    /// What the customer paid, when it differs from the quote.
    #[schema(value_type = Option<String>)]
    pub payin_amount: Option<Box<RawValue>>,
    /// For a `purchase_url` order: the currency the customer picks.
    pub payin_currency: Option<String>,
}

/// Test partners only: pays an order in the sandbox and takes it through to
/// `finished` with generated transaction ids, sending every callback.
#[utoipa::path(post, path = "/api/v2/partner/sandbox/order/pay", tag = "partner", security(("partner_key" = [], "partner_signature" = [])),
    request_body = SandboxPayIn,
    responses((status = 200, body = OrderOut), (status = 403, description = "A live order", body = PartnerErrorEnvelope),
              (status = 404, body = PartnerErrorEnvelope), (status = 409, body = PartnerErrorEnvelope), (status = 422, body = PartnerErrorEnvelope)))]
pub async fn sandbox_pay(State(state): State<AppState>, call: PartnerCall) -> PartnerResult<Json<OrderOut>> {
    let input: SandboxPayIn = call.json()?;
    let id = input::required("client_order_id", &input.client_order_id)?.to_string();
    let order = state
        .db
        .exchange_order(&id)
        .await?
        .filter(|o| o.merchant_id == call.partner.merchant_id)
        .ok_or(ApiError::NotFound)?;
    // The order's own ledger decides: a live order is never paid by the
    // sandbox, even if its merchant has since been switched to test.
    if order.mode != paygate_core::tokens::Mode::Test {
        return Err(PartnerError(ApiError::Forbidden("the sandbox pays test orders only".into())));
    }
    let chosen = input::group(&input.payin_currency);
    let order = match (&order.payin_currency, chosen) {
        (None, Some(cur)) => exchange::choose_payin_currency(&state, &call.partner, &id, &cur).await?,
        (None, None) => {
            return Err(ApiError::validation("payin_currency", "pick the currency the customer pays in").into())
        }
        _ => order,
    };
    let received = match input.payin_amount.as_deref() {
        None => None,
        Some(raw) => match terms::amount_text("payin_amount", raw)? {
            None => None,
            Some(text) => {
                let exp = order.payin_currency.as_deref().and_then(|c| state.currencies.exponent(c)).unwrap_or(0);
                Some(parse_in("payin_amount", &text, exp)?)
            }
        },
    };
    let done = crate::exchange::sandbox::pay(&state, &order.id, received).await?;
    Ok(Json(order_out(&state.currencies, &done)))
}
