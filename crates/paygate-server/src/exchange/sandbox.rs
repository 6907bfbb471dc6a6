//! The sandbox of test partners: a payment that "arrives" and an order that
//! then runs through to `finished` with generated transaction ids. Each
//! step is its own transaction with its own callback; if the process stops
//! half-way, the exchange worker finishes what is left.

use super::orders::{move_order, sandbox_txid, MoveRequest};
use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::exchange::lifecycle::OrderStatus::{self, *};
use paygate_store::exchange::orders::OrderRow;

/// The customer pays (`received`, else the quoted amount) and the order
/// runs to `finished`.
pub async fn pay(state: &AppState, id: &str, received: Option<i64>) -> Result<OrderRow, ApiError> {
    let req = MoveRequest { payin_amount: received, payin_txid: Some(sandbox_txid()), ..MoveRequest::default() };
    move_order(state, id, None, AuthSuccess, req).await?;
    finish(state, id).await
}

/// The next step of a paid test order on its way to `finished`.
pub fn next_step(status: OrderStatus) -> Option<OrderStatus> {
    match status {
        AuthSuccess => Some(Processing),
        Processing => Some(ProcessingPayout),
        ProcessingPayout => Some(Finished),
        _ => None,
    }
}

/// Steps a paid test order through to `finished`.
pub async fn finish(state: &AppState, id: &str) -> Result<OrderRow, ApiError> {
    let mut order = state.db.exchange_order(id).await?.ok_or(ApiError::NotFound)?;
    // At most one refusal per step: the exchange worker may be finishing
    // the same order, and a step it took first is re-read, not failed.
    let mut races = 0;
    while let Some(to) = next_step(order.status) {
        let req = MoveRequest {
            payout_txid: (to == Finished && order.payout_txid.is_none()).then(sandbox_txid),
            ..MoveRequest::default()
        };
        order = match move_order(state, id, None, to, req).await {
            Ok(moved) => moved,
            Err(ApiError::Conflict(..)) if races < 3 => {
                races += 1;
                state.db.exchange_order(id).await?.ok_or(ApiError::NotFound)?
            }
            Err(e) => return Err(e),
        };
    }
    Ok(order)
}
