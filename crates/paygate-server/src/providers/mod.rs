//! Providers and routing (API.md section 7): the operator's provider
//! instances and rules (`registry`), the choice of providers for one
//! payment (`plan`), skipping a failing provider for a while (`breaker`),
//! the `switchere` upstream client (`switchere`), and what an upstream's
//! answer does to a payin or payout (`outcome`), shared by its callbacks
//! (`crate::http::callbacks`) and the reconciliation worker.

pub mod breaker;
pub mod health;
pub mod outcome;
pub mod registry;
pub mod switchere;

pub use registry::{Provider, ProviderKind, Registry};

/// The built-in providers' ids (`paygate_store::providers::BUILT_IN`).
pub const SANDBOX: &str = "sandbox";
pub const MANUAL: &str = "manual";

use crate::error::ApiError;
use crate::state::AppState;
use paygate_core::routing::{candidates, Wanted};
use paygate_core::tokens::Mode;

/// The providers to try for a payment, in order. Test merchants are served
/// by `sandbox` alone, whatever the rules say: their balances are play
/// money, which must never reach a real provider. Live merchants get the
/// most specific matching rules by priority (never `sandbox`), or `manual`
/// when no rule matches. Disabled providers are left out; so are those
/// whose breaker is open, unless it is time for one request to probe them
/// (the probe is claimed when the request is sent). Empty when every
/// routed provider is disabled or skipped.
pub async fn plan(state: &AppState, wanted: &Wanted<'_>, mode: Mode) -> Result<Vec<Provider>, ApiError> {
    let registry = registry::load(state).await?;
    let ids: Vec<&str> = match mode {
        Mode::Test => vec![SANDBOX],
        Mode::Live => {
            let routed: Vec<&str> =
                candidates(&registry.routes, wanted).into_iter().filter(|id| *id != SANDBOX).collect();
            if routed.is_empty() {
                vec![MANUAL]
            } else {
                routed
            }
        }
    };
    Ok(ids
        .into_iter()
        .filter_map(|id| registry.providers.iter().find(|p| p.id == id))
        .filter(|p| p.enabled && state.breaker.may_try(&p.id))
        .cloned()
        .collect())
}

/// Records a refusal for the operator (best effort: the payment goes on to
/// the next provider whether or not the log is written).
pub async fn refused(state: &AppState, provider: &str, kind: &str, merchant_id: &str, order_id: &str, reason: &str) {
    tracing::warn!(provider, kind, merchant_id, reason, "provider refused");
    let row = paygate_store::providers::RefusalRow {
        id: paygate_core::ids::new_monotonic_id(paygate_core::ids::IdKind::Refusal),
        at: paygate_store::time::now_micros(),
        provider_id: provider.into(),
        kind: kind.into(),
        merchant_id: merchant_id.into(),
        merchant_order_id: order_id.into(),
        reason: reason.chars().take(500).collect(),
    };
    if let Err(e) = state.db.record_refusal(&row).await {
        tracing::error!(error = %e, "could not record a provider refusal");
    }
}
