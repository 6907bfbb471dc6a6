//! Sandbox endpoints: test-mode merchants play the payer and the payout
//! provider (API.md section 3).

use super::payouts::payout_change;
use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::{ok, Envelope};
use crate::payments::api_error;
use crate::payments::input::AmountIn;
use crate::payments::views::{payin_out, PayInOut, PayOutOut};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_store::writer::{PayInChange, PayOutChange};
use serde::Deserialize;
use utoipa::ToSchema;

/// Sandbox endpoints act only on payments the sandbox provider holds (made
/// in test mode): whatever mode the merchant is in now, a live payment can
/// never be paid or settled by the merchant itself.
fn require_sandbox(provider: &str, mode: paygate_core::tokens::Mode) -> Result<(), ApiError> {
    if provider == crate::providers::SANDBOX && mode == paygate_core::tokens::Mode::Test {
        Ok(())
    } else {
        Err(ApiError::Forbidden("sandbox endpoints act only on test-mode payments".into()))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxPayIn {
    pub id: String,
    /// What the simulated payer sends; the payin's amount when absent.
    pub amount: Option<AmountIn>,
}

/// Simulate the payer paying a pending payin: it becomes `success` with the
/// amount paid, and the merchant's balance is credited less the fee.
#[utoipa::path(post, path = "/api/v1/sandbox/payin/pay", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = SandboxPayIn, responses((status = 200, body = inline(Envelope<PayInOut>)), (status = 403, body = crate::error::ErrorEnvelope),
                                           (status = 404, description = "no such payin", body = crate::error::ErrorEnvelope),
                                           (status = 409, description = "INVALID_STATE", body = crate::error::ErrorEnvelope)))]
pub async fn sandbox_pay(State(state): State<AppState>, req: Signed<SandboxPayIn>) -> ApiResult<Response> {
    let payin = state.db.payin(Some(&req.merchant.id), Some(&req.body.id), None).await?.ok_or(ApiError::NotFound)?;
    require_sandbox(&payin.provider, payin.mode)?;
    let amount = match &req.body.amount {
        Some(a) => Some(
            a.minor(state.currencies.exponent(&payin.currency).unwrap_or(0), &payin.currency)
                .map_err(|e| ApiError::validation("amount", e))?,
        ),
        None => None,
    };
    // A simulated overpayment is fine; an absurd one only pollutes the test ledger.
    if amount.is_some_and(|a| a / 10 > payin.original_amount) {
        return Err(ApiError::validation("amount", "at most ten times the payin's amount in the sandbox"));
    }
    let change = PayInChange {
        id: payin.id.into(),
        merchant_id: Some(req.merchant.id.clone()),
        to: PayInStatus::Success,
        amount,
        reason: None,
    };
    let row = state.writer.move_payin(change).await.map_err(api_error)?;
    Ok(ok(payin_out(&row, &state.currencies, &state.public_base())))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SandboxSettle {
    pub id: String,
    #[schema(value_type = SettleOutcome)]
    pub outcome: String,
}

/// How the simulated provider finishes a payout.
#[derive(ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)] // documents `SandboxSettle::outcome`, which is read as text
pub enum SettleOutcome {
    Success,
    Failed,
}

/// Simulate the provider finishing a payout: `success` releases the hold to
/// the payee, `failed` returns it to `available`. A pending payout passes
/// through `processing` first (two webhooks).
#[utoipa::path(post, path = "/api/v1/sandbox/payout/settle", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = SandboxSettle, responses((status = 200, body = inline(Envelope<PayOutOut>)), (status = 403, body = crate::error::ErrorEnvelope),
                                            (status = 404, description = "no such payout", body = crate::error::ErrorEnvelope),
                                            (status = 409, description = "INVALID_STATE", body = crate::error::ErrorEnvelope)))]
pub async fn sandbox_settle(State(state): State<AppState>, req: Signed<SandboxSettle>) -> ApiResult<Response> {
    let outcome = match req.body.outcome.as_str() {
        "success" => PayOutStatus::Success,
        "failed" => PayOutStatus::Failed,
        _ => return Err(ApiError::validation("outcome", "must be success or failed")),
    };
    let payout = state.db.payout(Some(&req.merchant.id), Some(&req.body.id), None).await?.ok_or(ApiError::NotFound)?;
    require_sandbox(&payout.provider, payout.mode)?;
    let path = match payout.status {
        PayOutStatus::Pending => vec![PayOutStatus::Processing, outcome],
        _ => vec![outcome],
    };
    let reason = (outcome == PayOutStatus::Failed).then(|| "sandbox: failed by request".to_string());
    payout_change(
        &state,
        PayOutChange { id: payout.id.into(), merchant_id: Some(req.merchant.id.clone()), path, reason },
    )
    .await
}
