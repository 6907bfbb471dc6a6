//! Where a webhook event goes and how it is signed: a merchant's webhook
//! (`X-Signature`) or a partner's callback (`API-Signature`), and how a
//! failed POST is described in the attempt log.

use crate::state::AppState;
use paygate_core::signature::{partner_signature, webhook_signature};
use paygate_store::events::EventRow;
use secrecy::ExposeSecret;

/// Events of exchange orders are partner callbacks (API.md section 8).
pub const PARTNER_EVENT_PREFIX: &str = "client_order.";

/// Where an event goes and how it is signed.
pub enum Destination {
    Ready {
        url: String,
        header: &'static str,
        signature: String,
    },
    /// No URL yet: the event waits (not an attempt).
    None,
    /// An attempt that failed before sending; `retry` unless it never can work.
    Broken {
        url: Option<String>,
        error: String,
        retry: bool,
    },
}

/// A merchant webhook: the object's `callback_url`, else the merchant's
/// `webhook_url`, signed `X-Signature` with the SecretToken.
pub fn merchant_destination(
    state: &AppState,
    merchant: &paygate_store::merchants::MerchantRecord,
    event: &EventRow,
) -> Destination {
    let Some(url) = event.callback_url.clone().or(merchant.webhook_url.clone()) else {
        return Destination::None;
    };
    match state.master_key.open(&merchant.id, &merchant.secret.0) {
        Ok(s) => {
            let secret = secrecy::SecretString::from(s);
            let signature = webhook_signature(secret.expose_secret().as_bytes(), event.body.as_bytes());
            Destination::Ready { url, header: "X-Signature", signature }
        }
        Err(e) => {
            Destination::Broken { url: Some(url), error: format!("cannot open the merchant secret: {e}"), retry: true }
        }
    }
}

/// A partner callback: the order's `callback_url`, else the partner's,
/// signed `API-Signature` with the callback secret in the partner's padding.
pub async fn partner_destination(state: &AppState, merchant_id: &str, event: &EventRow) -> Destination {
    let partner = match state.db.partner(merchant_id).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Destination::Broken { url: None, error: "the merchant is no longer a partner".into(), retry: false }
        }
        Err(e) => return Destination::Broken { url: None, error: format!("store: {e}"), retry: true },
    };
    let Some(url) = event.callback_url.clone().or(partner.callback_url.clone()) else {
        return Destination::None;
    };
    match crate::exchange::partners::callback_secret(state, &partner) {
        Ok(secret) => {
            let padding = crate::exchange::partners::padding(&partner);
            let signature = partner_signature(secret.expose_secret().as_bytes(), event.body.as_bytes(), padding);
            Destination::Ready { url, header: "API-Signature", signature }
        }
        Err(e) => Destination::Broken { url: Some(url), error: e.to_string(), retry: true },
    }
}

/// A short cause without the URL (which may carry tokens in its query),
/// printable characters only.
pub fn describe(e: &reqwest::Error) -> String {
    describe_raw(e).chars().filter(|c| !c.is_control()).collect()
}

fn describe_raw(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "request failed"
    };
    let mut cause = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        cause = s.to_string();
        source = s.source();
    }
    if cause.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {cause}")
    }
}
