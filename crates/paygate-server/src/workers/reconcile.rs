//! Reconciliation: asks an upstream (`POST /api/v1/partner/order`) about
//! every payin and payout whose outcome is overdue, so that a lost callback
//! never leaves a payment open forever. Due checks live in the payment rows
//! (`provider_check_at`), so they survive restarts; each check is claimed
//! by moving its time on with a conditional update, so of several nodes
//! only one asks. The gap grows with the payment's age (a quarter of it,
//! between the configured delay and six hours).

use crate::providers::outcome::{apply, News};
use crate::providers::switchere::Failure;
use crate::providers::{registry, ProviderKind};
use crate::state::AppState;
use paygate_store::providers::Waiting;
use paygate_store::time::now_micros;
use std::time::Duration;

const BATCH: i64 = 50;
const MAX_GAP_MICROS: i64 = 6 * 3600 * 1_000_000;

/// One pass over both tables; returns how many upstream answers it applied.
pub async fn try_execute_task(state: &AppState) -> anyhow::Result<usize> {
    let mut asked = 0;
    for which in [Waiting::PayIns, Waiting::PayOuts] {
        let now = now_micros();
        for due in state.db.due_provider_checks(which, now, BATCH).await? {
            let first_gap = state.settings.provider_check_after_secs as i64 * 1_000_000;
            let gap = ((now - due.created_at) / 4).clamp(first_gap, MAX_GAP_MICROS.max(first_gap));
            if !state.db.claim_provider_check(which, &due.id, due.check_at, Some(now + gap)).await? {
                continue; // another node asks
            }
            if check(state, &due.provider, &due.id).await {
                asked += 1;
            }
        }
    }
    Ok(asked)
}

/// Asks the provider about one payment and applies the answer; false when
/// it could not be asked (the next check is already scheduled).
async fn check(state: &AppState, provider: &str, id: &str) -> bool {
    let found = match registry::load(state).await {
        Ok(r) => r.providers.iter().find(|p| p.id == provider).cloned(),
        Err(e) => {
            tracing::warn!(error = %e, "reconciliation could not read the providers");
            return false;
        }
    };
    let Some(ProviderKind::Switchere(cfg)) = found.map(|p| p.kind) else {
        tracing::warn!(provider, payment = id, "reconciliation: the provider is gone or not an upstream");
        return false;
    };
    let answer = crate::providers::switchere::order_state(&cfg, id).await;
    crate::payments::routing::account(state, provider, &answer);
    let news = match answer {
        Ok(s) => News { status: s.status, payin_amount: s.payin_amount, error_message: None },
        // A payout whose order creation went unanswered, and the upstream
        // has no such order: it never took it, so the payout fails and its
        // hold returns.
        Err(Failure::Missing(_)) if never_confirmed_payout(state, id).await => News {
            status: "error".into(),
            payin_amount: None,
            error_message: Some("the upstream has no order for this payout".into()),
        },
        Err(e) => {
            tracing::warn!(provider, payment = id, error = e.reason(), "reconciliation: no answer from the upstream");
            return false;
        }
    };
    match apply(state, provider, id, &news).await {
        Ok(applied) => {
            tracing::info!(provider, payment = id, status = %news.status, ?applied, "reconciled with the upstream");
            metrics::counter!("paygate_provider_reconciliations_total", "provider" => provider.to_string())
                .increment(1);
            true
        }
        Err(e) => {
            tracing::warn!(provider, payment = id, error = %e, "reconciliation: the answer could not be applied");
            false
        }
    }
}

/// A payout stored with an upstream whose order was never confirmed (no
/// reference): the create went unanswered.
async fn never_confirmed_payout(state: &AppState, id: &str) -> bool {
    id.starts_with("po_")
        && matches!(state.db.payout(None, Some(id), None).await, Ok(Some(p)) if p.provider_ref.is_none())
}

/// Runs until `shutdown` fires, every `provider_check_poll_ms`.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let pause = Duration::from_millis(state.settings.provider_check_poll_ms);
    loop {
        if let Err(e) = try_execute_task(&state).await {
            tracing::warn!(error = format!("{e:#}"), "reconciliation failed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => return,
        }
    }
}
