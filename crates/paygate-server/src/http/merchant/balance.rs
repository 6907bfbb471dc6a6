//! `/api/v1/balance`: the merchant's balances per currency (API.md 3.3).

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::ok;
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::money::format_minor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct BalanceIn {
    /// Only this currency.
    pub currency: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct BalanceOut {
    #[schema(example = "RUB")]
    pub currency: String,
    #[schema(example = "1500.00")]
    pub available: String,
    pub hold: String,
    pub frozen: String,
    /// available + hold + frozen.
    pub total: String,
}

#[derive(Serialize, ToSchema)]
pub struct BalancesOut {
    pub balances: Vec<BalanceOut>,
}

/// Balances per currency in the merchant's current mode (test and live money
/// are separate ledgers). A merchant that never moved money gets an empty list.
#[utoipa::path(post, path = "/api/v1/balance", tag = "merchant",
    security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = BalanceIn,
    responses((status = 200, body = inline(crate::http::envelope::Envelope<BalancesOut>)),
              (status = 401, body = crate::error::ErrorEnvelope),
              (status = 422, description = "UNSUPPORTED_CURRENCY", body = crate::error::ErrorEnvelope)))]
pub async fn balance(State(state): State<AppState>, req: Signed<BalanceIn>) -> ApiResult<Response> {
    if let Some(c) = &req.body.currency {
        if state.currencies.exponent(c).is_none() {
            return Err(ApiError::Unprocessable("UNSUPPORTED_CURRENCY", format!("currency {c:?} is not supported")));
        }
    }
    let rows = state.reads.balances(&req.merchant.id, req.merchant.mode.as_str(), req.body.currency.as_deref()).await?;
    Ok(ok(balances_out(&state, rows)?))
}

/// Formats balance rows with each currency's exponent.
pub fn balances_out(state: &AppState, rows: Vec<paygate_store::balances::BalanceRow>) -> ApiResult<BalancesOut> {
    let balances = rows
        .into_iter()
        .map(|b| {
            let exp = state.currencies.exponent(&b.currency).unwrap_or(0);
            // Each bucket is non-negative and bounded by the ledger, but the
            // sum is computed checked anyway: an overflow must not wrap.
            let total = b.available.checked_add(b.hold).and_then(|t| t.checked_add(b.frozen));
            let total = total.ok_or_else(|| ApiError::internal(anyhow::anyhow!("balance total overflows")))?;
            Ok(BalanceOut {
                available: format_minor(b.available, exp),
                hold: format_minor(b.hold, exp),
                frozen: format_minor(b.frozen, exp),
                total: format_minor(total, exp),
                currency: b.currency,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(BalancesOut { balances })
}
