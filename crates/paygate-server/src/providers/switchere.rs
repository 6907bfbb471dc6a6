//! The `switchere` upstream client: the partner protocol of API.md section
//! 9, spoken to another exchange (or another paygate). Requests carry
//! `API-Key` and `API-Signature` = base64(HMAC-SHA512(secret, SHA-256(path +
//! body))) in the configured padding. An answer is sorted into what routing
//! needs: the order, a refusal in the upstream's own terms (4xx, its error
//! code and message), or a failure to reach it (connection, timeout, 5xx).

use super::registry::SwitchereConfig;
use paygate_core::signature::partner_signature;
use rust_decimal::Decimal;
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::sync::OnceLock;

/// Why the upstream did not take a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Not reached, timed out, or a 5xx: counts against the breaker. The
    /// request may or may not have been acted on.
    Unreachable(String),
    /// A 4xx in the upstream's own terms: it did not act on the request.
    Refused(String),
    /// 404: the upstream has no such order.
    Missing(String),
    /// A 2xx whose body we cannot read: it may have acted on the request.
    Unreadable(String),
}

impl Failure {
    pub fn reason(&self) -> &str {
        match self {
            Failure::Unreachable(r) | Failure::Refused(r) | Failure::Missing(r) | Failure::Unreadable(r) => r,
        }
    }

    /// Whether the upstream surely did not act on the request.
    pub fn is_definite(&self) -> bool {
        matches!(self, Failure::Refused(_) | Failure::Missing(_))
    }
}

/// What an order creation returns that the payment keeps.
#[derive(Debug, Deserialize)]
pub struct CreatedOrder {
    pub client_order_id: String,
    #[serde(default)]
    pub redirect: Option<String>,
    #[serde(default)]
    pub crypto_address: Option<String>,
}

/// An order's state as the version-1 lookup gives it.
#[derive(Debug, Clone)]
pub struct OrderState {
    pub status: String,
    /// What the upstream received, exactly as it wrote it.
    pub payin_amount: Option<Decimal>,
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(concat!("paygate-switchere/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds")
    })
}

async fn post(cfg: &SwitchereConfig, path: &str, body: &Value) -> Result<Vec<u8>, Failure> {
    let raw = body.to_string();
    let message = [path.as_bytes(), raw.as_bytes()].concat();
    let signature = partner_signature(cfg.secret.expose_secret().as_bytes(), &message, cfg.padding);
    let sent = client()
        .post(format!("{}{path}", cfg.base_url))
        .timeout(cfg.timeout)
        .header("Content-Type", "application/json")
        .header("API-Key", cfg.api_key.expose_secret())
        .header("API-Signature", signature)
        .body(raw)
        .send()
        .await;
    let resp = sent.map_err(|e| {
        Failure::Unreachable(if e.is_timeout() { "timeout".into() } else { "connection failed".into() })
    })?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(|_| Failure::Unreachable("the answer was cut off".into()))?;
    if status.is_server_error() {
        return Err(Failure::Unreachable(format!("HTTP {}", status.as_u16())));
    }
    if status == reqwest::StatusCode::NOT_FOUND {
        return Err(Failure::Missing(refusal(404, &bytes)));
    }
    if !status.is_success() {
        return Err(Failure::Refused(refusal(status.as_u16(), &bytes)));
    }
    Ok(bytes.to_vec())
}

/// `HTTP 422 PAIR_NOT_AVAILABLE: …` from the upstream's error shape.
fn refusal(status: u16, body: &[u8]) -> String {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let error = parsed.as_ref().and_then(|v| v.get("error"));
    let code = error.and_then(|e| e.get("code")).and_then(Value::as_str).unwrap_or("");
    let message = error.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or("");
    let text = format!("HTTP {status} {code}: {message}");
    text.chars().filter(|c| !c.is_control()).take(300).collect()
}

pub async fn create_order(cfg: &SwitchereConfig, body: &Value) -> Result<CreatedOrder, Failure> {
    let bytes = post(cfg, "/api/v2/partner/order/create", body).await?;
    serde_json::from_slice(&bytes).map_err(|e| Failure::Unreadable(format!("an order answer we cannot read: {e}")))
}

#[derive(Deserialize)]
struct V1Order<'a> {
    status: String,
    #[serde(borrow, default)]
    payin_amount: Option<&'a RawValue>,
}

/// `POST /api/v1/partner/order`: the reconciliation question.
pub async fn order_state(cfg: &SwitchereConfig, partner_order_id: &str) -> Result<OrderState, Failure> {
    let bytes =
        post(cfg, "/api/v1/partner/order", &serde_json::json!({ "partner_order_id": partner_order_id })).await?;
    let order: V1Order = serde_json::from_slice(&bytes)
        .map_err(|e| Failure::Unreadable(format!("an order answer we cannot read: {e}")))?;
    Ok(OrderState { status: order.status, payin_amount: order.payin_amount.and_then(|r| exact_decimal(r.get())) })
}

/// A JSON number or decimal string, exactly (version 1 sends numbers,
/// version 2 strings); never through a float.
pub fn exact_decimal(text: &str) -> Option<Decimal> {
    let t = text.trim().trim_matches('"');
    t.parse::<Decimal>().ok().or_else(|| Decimal::from_scientific(t).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_read_exactly_from_numbers_and_strings() {
        assert_eq!(exact_decimal("0.05").unwrap().to_string(), "0.05");
        assert_eq!(exact_decimal("\"0.050000000000000000\"").unwrap(), exact_decimal("0.05").unwrap());
        assert_eq!(exact_decimal("1e-3").unwrap().to_string(), "0.001");
        assert!(exact_decimal("abc").is_none());
    }

    #[test]
    fn refusals_name_the_upstreams_code() {
        let body = br#"{"success":0,"error":{"code":"PAIR_NOT_AVAILABLE","message":"no rate"}}"#;
        assert_eq!(refusal(422, body), "HTTP 422 PAIR_NOT_AVAILABLE: no rate");
        assert_eq!(refusal(404, b"<html>"), "HTTP 404 : ");
    }
}
