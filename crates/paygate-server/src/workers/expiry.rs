//! Expires pending payins whose `ttl_seconds` have passed. It polls the
//! database (not a timer per payin), so payins created before a restart
//! expire on time after it, and several nodes can run it at once: the
//! writer refuses a second transition of the same payin.

use crate::state::AppState;
use paygate_core::payments::PayInStatus;
use paygate_store::time::now_micros;
use paygate_store::writer::{PayInChange, WriteError};
use std::time::Duration;

/// How many due payins one step handles.
const BATCH: i64 = 500;

/// Expires the payins due now; returns how many it expired.
pub async fn try_execute_task(state: &AppState) -> anyhow::Result<usize> {
    let due = state.db.due_payins(now_micros(), BATCH).await?;
    // Submitted concurrently so the writer can put them in one batch.
    let mut tasks = tokio::task::JoinSet::new();
    for id in due {
        let writer = state.writer.clone();
        let change = PayInChange { id, merchant_id: None, to: PayInStatus::Expired, amount: None, reason: None };
        tasks.spawn(async move { writer.move_payin(change).await });
    }
    let mut expired = 0;
    while let Some(joined) = tasks.join_next().await {
        match joined? {
            Ok(_) => expired += 1,
            // Paid or cancelled a moment ago, or expired by another node.
            Err(WriteError::InvalidState { .. }) | Err(WriteError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    if expired > 0 {
        tracing::info!(expired, "expired pending payins");
        metrics::counter!("paygate_payins_expired_total").increment(expired as u64);
    }
    Ok(expired)
}

/// Runs until `shutdown` fires, once a second (sooner while there is a backlog).
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    loop {
        let pause = match try_execute_task(&state).await {
            Ok(n) if n as i64 == BATCH => Duration::from_millis(10),
            Ok(_) => Duration::from_secs(1),
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "payin expiry failed; retrying");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
    }
}
