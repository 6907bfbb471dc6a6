//! The exchange's background work: orders still waiting for their payin
//! past their window expire (their crypto address is free again), and paid
//! test orders the sandbox left half-way (a restart in the middle) are
//! finished. It polls the database, so both survive restarts, and several
//! nodes may run it: a move that lost a race is refused `INVALID_STATE`.

use crate::error::ApiError;
use crate::exchange::orders::{move_order, MoveRequest};
use crate::state::AppState;
use paygate_core::exchange::lifecycle::OrderStatus;
use paygate_store::time::now_micros;
use std::time::Duration;

const BATCH: i64 = 200;

/// A paid test order untouched this long is the sandbox's to finish.
const SANDBOX_STALL_MICROS: i64 = 2_000_000;

/// One round; returns how many orders it moved.
pub async fn try_execute_task(state: &AppState) -> anyhow::Result<usize> {
    let mut moved = 0;
    for id in state.db.overdue_exchange_orders(now_micros(), BATCH).await? {
        match move_order(state, &id, None, OrderStatus::Expired, MoveRequest::default()).await {
            Ok(_) => moved += 1,
            Err(ApiError::Conflict(..)) | Err(ApiError::NotFound) => {}
            Err(e) => return Err(anyhow::anyhow!("expiring {id}: {e}")),
        }
    }
    for id in state.db.unfinished_test_orders(now_micros() - SANDBOX_STALL_MICROS, BATCH).await? {
        match crate::exchange::sandbox::finish(state, &id).await {
            Ok(_) => moved += 1,
            Err(ApiError::Conflict(..)) => {}
            Err(e) => return Err(anyhow::anyhow!("finishing sandbox order {id}: {e}")),
        }
    }
    if moved > 0 {
        tracing::info!(moved, "exchange orders expired or finished");
    }
    Ok(moved)
}

/// Runs until `shutdown` fires, once a second.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let pause = match try_execute_task(&state).await {
            Ok(n) if n as i64 >= BATCH => Duration::from_millis(10),
            Ok(_) => Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "exchange worker step failed; retrying");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
    }
}
