//! Placing a payout with a provider (API.md section 7). A payout holds its
//! funds before any provider sees it, so an upstream is treated with more
//! care than for a payin:
//!
//! - the payout is stored, then moved to `processing` *before* the upstream
//!   is asked, so neither the merchant (cancel) nor the operator (paid,
//!   failed) can close it while the upstream may still pay it; only the
//!   upstream's word (callback or reconciliation) settles it;
//! - only a definite refusal (a 4xx: nothing was done) hands it to the
//!   next provider; a timeout, a 5xx or an unreadable answer leave it with
//!   that upstream, to be asked about (`workers::reconcile`), since the
//!   order may exist and paying elsewhere too would pay twice;
//! - an upstream pays crypto destinations only, on a network its
//!   `payout_networks` names.

use super::api_error;
use super::routing::{callback_url, open_order};
use crate::error::ApiError;
use crate::providers::registry::SwitchereConfig;
use crate::providers::{refused, Provider, ProviderKind};
use crate::state::AppState;
use paygate_core::money::format_minor;
use paygate_core::payments::{Method, PayOutStatus};
use paygate_store::payments::PayOutRow;
use paygate_store::writer::{Created, PayOutChange};
use serde_json::{json, Value};

/// The longest an upstream request may take (`timeout_ms` is at most 30 s).
const MAX_TIMEOUT_MICROS: i64 = 30_000_000;

/// Why a provider cannot pay this payout, if it cannot.
fn cannot_pay(provider: &Provider, method: Method, destination: &Value) -> Option<String> {
    let ProviderKind::Switchere(cfg) = &provider.kind else { return None };
    if method != Method::Crypto {
        return Some(format!("does not pay by {}", method.as_str()));
    }
    let network = destination.get("network").and_then(Value::as_str).unwrap_or("");
    (!cfg.payout_networks.iter().any(|n| n == network))
        .then(|| format!("does not pay on network {network:?} (its payout_networks: {:?})", cfg.payout_networks))
}

pub async fn place_payout(
    state: &AppState,
    draft: PayOutRow,
    destination: &Value,
    plan: &[Provider],
) -> Result<(PayOutRow, bool), ApiError> {
    let (merchant, order) = (draft.merchant_id.to_string(), draft.merchant_order_id.to_string());
    let mut able = Vec::new();
    for p in plan {
        match cannot_pay(p, draft.method, destination) {
            None => able.push(p),
            Some(why) => refused(state, &p.id, "payout", &merchant, &order, &why).await,
        }
    }
    let Some(first) = able.first() else {
        // A repeat still gets its payout (or its 409), as with any provider.
        if let Some(existing) = state.db.payout(Some(&merchant), None, Some(&order)).await? {
            return if existing.request_digest == draft.request_digest {
                Ok((existing, false))
            } else {
                Err(ApiError::Conflict(
                    "DUPLICATE_ORDER_ID",
                    "merchant_order_id was already used with different parameters".into(),
                ))
            };
        }
        return Err(if plan.is_empty() {
            ApiError::Unavailable("no provider can take this payout now; retry shortly".into())
        } else {
            ApiError::Unprocessable("UNSUPPORTED_METHOD", "no provider pays out to this destination".into())
        });
    };
    let upstream = matches!(first.kind, ProviderKind::Switchere(_));
    let after = state.settings.provider_check_after_secs as i64 * 1_000_000;
    // Not asked about before every order create this request may send has
    // had its answer (a lookup racing an unanswered create could find no
    // order that is about to exist); the time is moved up once they have.
    let in_flight = MAX_TIMEOUT_MICROS * able.len() as i64;
    let row = PayOutRow {
        provider: first.id.clone(),
        provider_check_at: upstream.then(|| draft.created_at + after + in_flight),
        ..draft
    };
    let Created { row, created } = state.writer.create_payout(row).await.map_err(api_error)?;
    if !created || !upstream {
        return Ok((row, created));
    }
    let handed =
        PayOutChange { id: row.id.to_string(), merchant_id: None, path: vec![PayOutStatus::Processing], reason: None };
    let row = state.writer.move_payout(handed).await.map_err(api_error)?;
    for p in &able {
        let ProviderKind::Switchere(cfg) = &p.kind else {
            // The operator's pool takes it from here (it is processing).
            state.db.set_payout_provider(row.id.as_str(), &p.id, None, None).await?;
            return Ok((PayOutRow { provider: p.id.clone(), provider_check_at: None, ..row }, true));
        };
        match open_order(state, &p.id, cfg, &order_body(state, &row, destination, cfg, &p.id)).await {
            Ok(opened) => {
                let check_at = Some(paygate_store::time::now_micros() + after);
                state.db.set_payout_provider(row.id.as_str(), &p.id, Some(&opened.client_order_id), check_at).await?;
                let placed = PayOutRow {
                    provider: p.id.clone(),
                    provider_ref: Some(opened.client_order_id),
                    provider_check_at: check_at,
                    ..row
                };
                return Ok((placed, true));
            }
            Err(f) if f.is_definite() => refused(state, &p.id, "payout", &merchant, &order, f.reason()).await,
            Err(f) => {
                let why = format!("no clear answer ({}); the payout stays with it and it will be asked", f.reason());
                refused(state, &p.id, "payout", &merchant, &order, &why).await;
                let check_at = Some(paygate_store::time::now_micros() + after);
                state.db.set_payout_provider(row.id.as_str(), &p.id, None, check_at).await?;
                return Ok((PayOutRow { provider: p.id.clone(), provider_check_at: check_at, ..row }, true));
            }
        }
    }
    let change = PayOutChange {
        id: row.id.to_string(),
        merchant_id: None,
        path: vec![PayOutStatus::Failed],
        reason: Some("no provider could take this payout".into()),
    };
    Ok((state.writer.move_payout(change).await.map_err(api_error)?, true))
}

/// An order paid from the operator's account upstream to the destination.
fn order_body(state: &AppState, row: &PayOutRow, destination: &Value, cfg: &SwitchereConfig, provider: &str) -> Value {
    let exp = state.currencies.exponent(&row.currency).unwrap_or(0);
    let mut body = json!({
        "partner_order_id": row.id.as_str(),
        "payin_currency": cfg.payout_currency,
        "payin_group": cfg.payin_group,
        "payout_currency": row.currency.as_str(),
        "payout_group": "crypto",
        "payout_amount": format_minor(row.amount, exp),
        "dst_address": destination.get("address").cloned().unwrap_or(Value::Null),
        "callback_url": callback_url(state, provider),
    });
    if let Some(memo) = destination.get("memo").filter(|m| !m.is_null()) {
        body["memo"] = memo.clone();
    }
    body
}

/// The operator may mark a payout paid or failed, unless an upstream holds
/// it: then only the upstream's word settles it.
pub async fn operator_may_settle(state: &AppState, id: &str) -> Result<(), ApiError> {
    let Some(p) = state.db.payout(None, Some(id), None).await? else { return Ok(()) };
    let with_upstream = ![crate::providers::SANDBOX, crate::providers::MANUAL].contains(&p.provider.as_str())
        && matches!(p.status, PayOutStatus::Pending | PayOutStatus::Processing);
    if with_upstream {
        return Err(ApiError::Conflict(
            "INVALID_STATE",
            format!("payout {id} is with upstream {}; its outcome comes from there", p.provider),
        ));
    }
    Ok(())
}
