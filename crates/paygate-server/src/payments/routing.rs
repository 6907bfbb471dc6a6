//! Placing a payment with a provider (API.md section 7): the plan's
//! providers in order, each either taking the payment or refusing it (no
//! requisites, an upstream's refusal, an upstream out of reach), every
//! refusal recorded for the operator, within the one request.

use super::api_error;
use super::input::canonical_json;
use super::providers::{manual_assignment, sandbox_requisites, Assignment};
use crate::error::ApiError;
use crate::providers::switchere::{self, Failure};
use crate::providers::{health, refused, Provider, ProviderKind};
use crate::state::AppState;
use paygate_core::money::format_minor;
use paygate_core::payments::Method;
use paygate_store::payments::PayInRow;
use paygate_store::writer::{Created, WriteError};
use serde_json::{json, Value};

/// A provider's answer to one payment.
pub(crate) enum Attempt<T> {
    Taken(T),
    /// Try the next provider; the error is the answer if none is left.
    Refused(ApiError),
}

pub async fn place_payin(state: &AppState, draft: PayInRow, plan: &[Provider]) -> Result<(PayInRow, bool), ApiError> {
    let mut last = None;
    for provider in plan {
        let attempt = match &provider.kind {
            ProviderKind::Sandbox => {
                let requisites = sandbox_requisites(draft.method, draft.currency.as_str());
                let assignment = Assignment { requisite_id: None, requisites };
                write_payin(state, with(&draft, provider, assignment)).await.map(Attempt::Taken)?
            }
            ProviderKind::Manual => manual(state, &draft, provider).await?,
            ProviderKind::Switchere(cfg) => upstream_payin(state, &draft, provider, cfg).await?,
        };
        match attempt {
            Attempt::Taken(done) => return Ok(done),
            Attempt::Refused(e) => {
                let why = e.to_string();
                refused(
                    state,
                    &provider.id,
                    "payin",
                    draft.merchant_id.as_str(),
                    draft.merchant_order_id.as_str(),
                    &why,
                )
                .await;
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| ApiError::Unavailable("no provider can take this payin now; retry shortly".into())))
}

fn with(draft: &PayInRow, provider: &Provider, a: Assignment) -> PayInRow {
    PayInRow {
        provider: provider.id.clone(),
        requisite_id: a.requisite_id,
        requisites: canonical_json(&a.requisites),
        ..draft.clone()
    }
}

async fn write_payin(state: &AppState, row: PayInRow) -> Result<(PayInRow, bool), ApiError> {
    let Created { row, created } = state.writer.create_payin(row).await.map_err(api_error)?;
    Ok((row, created))
}

/// The operator's pool: requisites no other pending payin of this amount
/// uses; a pool with none for this method and currency refuses.
async fn manual(
    state: &AppState,
    draft: &PayInRow,
    provider: &Provider,
) -> Result<Attempt<(PayInRow, bool)>, ApiError> {
    let mut excluded: Vec<String> = Vec::new();
    for _attempt in 0..4 {
        let chosen = manual_assignment(&state.db, draft.method, draft.currency.as_str(), draft.amount, &excluded).await;
        let assignment = match chosen {
            Ok(a) => a,
            Err(e @ (ApiError::Unprocessable(..) | ApiError::Unavailable(_))) => return Ok(Attempt::Refused(e)),
            Err(e) => return Err(e),
        };
        let taken = assignment.requisite_id.clone();
        match state.writer.create_payin(with(draft, provider, assignment)).await {
            Ok(Created { row, created }) => return Ok(Attempt::Taken((row, created))),
            // Another payin took these requisites for this amount a moment ago.
            Err(WriteError::RequisitesTaken) => excluded.extend(taken),
            Err(e) => return Err(api_error(e)),
        }
    }
    Ok(Attempt::Refused(ApiError::Unavailable("requisites are busy; retry shortly".into())))
}

/// The upstream's group for a payin method (Switchere's names).
fn group_of(method: Method) -> Option<&'static str> {
    match method {
        Method::Card => Some("card"),
        Method::Crypto => Some("crypto"),
        Method::Iban => Some("sepa"),
        Method::BankTransfer => Some("bank"),
        Method::Sbp => None,
    }
}

/// Where an upstream sends its callbacks about `provider`'s orders.
pub fn callback_url(state: &AppState, provider: &str) -> String {
    format!("{}/callbacks/switchere/{provider}", state.public_base())
}

/// A `switchere` upstream: an order paid in the payin's currency and paid
/// out to the operator's account there; its address or page is what the
/// payer is shown.
async fn upstream_payin(
    state: &AppState,
    draft: &PayInRow,
    provider: &Provider,
    cfg: &crate::providers::registry::SwitchereConfig,
) -> Result<Attempt<(PayInRow, bool)>, ApiError> {
    let exp = state.currencies.exponent(&draft.currency).unwrap_or(0);
    let mut body = json!({
        "partner_order_id": draft.id.as_str(),
        "payin_currency": draft.currency.as_str(),
        "payin_amount": format_minor(draft.amount, exp),
        "payout_currency": cfg.payout_currency,
        "payout_group": cfg.payout_group,
        "callback_url": callback_url(state, &provider.id),
    });
    if let Some(group) = group_of(draft.method) {
        body["payin_group"] = group.into();
    }
    if let Some(email) = &draft.customer_email {
        body["client_email"] = email.as_str().into();
    }
    // Whatever went wrong, the payin moves on: an upstream order that was
    // opened all the same is never shown to a payer, and expires there.
    let order = match open_order(state, &provider.id, cfg, &body).await {
        Ok(o) => o,
        Err(failure) => return Ok(Attempt::Refused(as_api_error(&provider.id, &failure))),
    };
    let requisites = match (&order.crypto_address, &order.redirect) {
        (Some(address), _) => {
            json!({"type": "crypto", "address": address, "network": draft.currency.as_str(), "memo": Value::Null})
        }
        (None, Some(url)) => json!({"type": "redirect", "url": url}),
        (None, None) => {
            return Ok(Attempt::Refused(ApiError::Unavailable(
                "the upstream gave neither an address nor a page to pay on".into(),
            )))
        }
    };
    let row = PayInRow {
        provider: provider.id.clone(),
        requisites: canonical_json(&requisites),
        pay_token: None,
        provider_ref: Some(order.client_order_id.clone()),
        provider_pay_url: order.redirect.clone(),
        provider_check_at: Some(draft.created_at + state.settings.provider_check_after_secs as i64 * 1_000_000),
        ..draft.clone()
    };
    let placed = write_payin(state, row).await;
    if !matches!(placed, Ok((_, true))) {
        // An error, or a repeat of a payin stored a moment ago by another
        // request: this order is nobody's.
        tracing::warn!(provider = %provider.id, upstream_order = %order.client_order_id, "an upstream order was opened for a payin that was not stored by it; it will expire upstream");
    }
    placed.map(Attempt::Taken)
}

/// Opens an upstream order, unless the breaker says another request is
/// probing the provider right now (then nothing is sent: a definite no).
pub(crate) async fn open_order(
    state: &AppState,
    provider: &str,
    cfg: &crate::providers::registry::SwitchereConfig,
    body: &Value,
) -> Result<switchere::CreatedOrder, Failure> {
    if !state.breaker.admits(provider) {
        return Err(Failure::Refused("skipped: its breaker is open".into()));
    }
    let result = switchere::create_order(cfg, body).await;
    account(state, provider, &result);
    result
}

/// Counts an upstream call for the breaker and the metrics: an answer in
/// the upstream's own terms shows it is reachable; no answer, a 5xx or an
/// unreadable one counts against it.
pub(crate) fn account<T>(state: &AppState, provider: &str, result: &Result<T, Failure>) {
    match result {
        Ok(_) => {
            state.breaker.succeeded(provider);
            health::count(provider, "ok");
        }
        Err(Failure::Unreachable(_) | Failure::Unreadable(_)) => {
            state.breaker.failed(provider);
            health::count(provider, "failed");
        }
        Err(Failure::Refused(_) | Failure::Missing(_)) => {
            state.breaker.succeeded(provider);
            health::count(provider, "refused");
        }
    }
}

/// A failure as the merchant hears it when no provider is left.
pub(crate) fn as_api_error(provider: &str, failure: &Failure) -> ApiError {
    match failure {
        Failure::Unreachable(why) | Failure::Unreadable(why) => {
            ApiError::Unavailable(format!("provider {provider} unreachable: {why}"))
        }
        Failure::Refused(why) | Failure::Missing(why) => {
            ApiError::Unprocessable("PROVIDER_REFUSED", format!("provider {provider} refused: {why}"))
        }
    }
}
