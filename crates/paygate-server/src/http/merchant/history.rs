//! `/api/v1/balance/history`: the merchant's ledger entries (API.md 3.3).

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::{ok, Envelope, Page};
use crate::payments::input::currency_exponent;
use crate::payments::views::{entry_out, EntryOut};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct HistoryIn {
    pub currency: Option<String>,
    /// 1-100, default 50.
    #[serde(default, deserialize_with = "crate::http::body::whole_number")]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Every movement of your balances, newest first: signed amount, bucket,
/// balance after, and what caused it.
#[utoipa::path(post, path = "/api/v1/balance/history", tag = "merchant", security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = HistoryIn, responses((status = 200, body = inline(Envelope<Page<EntryOut>>))))]
pub async fn history(State(state): State<AppState>, req: Signed<HistoryIn>) -> ApiResult<Response> {
    let limit = req.body.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::validation("limit", "must be between 1 and 100"));
    }
    if let Some(c) = &req.body.currency {
        currency_exponent(&state.currencies, c)?;
    }
    let rows = state
        .db
        .balance_history(
            &req.merchant.id,
            req.merchant.mode.as_str(),
            req.body.currency.as_deref(),
            req.body.cursor.as_deref(),
            limit + 1,
        )
        .await?;
    Ok(ok(super::paging::page(&rows, limit + 1, |e| e.id.clone(), |e| entry_out(e, &state.currencies))))
}
