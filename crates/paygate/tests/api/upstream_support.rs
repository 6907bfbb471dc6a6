//! Two gateways for the provider tests: B, an exchange serving the partner
//! API (with A's operator as its partner), and A, which routes payments to
//! B as a `switchere` provider. Also a misbehaving upstream (answers 500,
//! or never answers) that counts the requests it gets.

#![allow(dead_code)]

use crate::helpers::*;
use crate::partner_support::{Partner, ETH_ADDRESSES};
use reqwest::Method;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// The upstream's id at A.
pub const UPSTREAM: &str = "upstream-b";

/// B, configured as an exchange that also takes EUR from a partner's
/// balance (for payouts), with A's operator as its partner.
pub async fn exchange_b(a: &TestApp) -> (TestApp, Partner) {
    let spec = AppSpec { backend: a.backend, tweak: Some(Box::new(|s| s.webhook_poll_ms = 50)) };
    let b = spawn_app(spec).await;
    b.configure_exchange().await;
    let methods = json!({
        "payin": [{"group": "crypto", "title": "Crypto", "currencies": ["ETH", "BTC"]},
                  {"group": "balance", "title": "Balance", "currencies": ["EUR"]}],
        "payout": [{"group": "crypto", "title": "Crypto", "currencies": ["BTC", "ETH"]},
                   {"group": "balance", "title": "Balance", "currencies": ["USD", "EUR"]}]
    });
    let (s, body) = b.admin(Method::PUT, "/admin/v1/exchange/methods", Some(methods)).await;
    assert_eq!(s, 200, "{body}");
    let partner = b.create_partner("operator-a@example.com", json!({})).await;
    (b, partner)
}

/// Registers `base` as a `switchere` provider at A with `partner`'s
/// credentials, and routes ETH payins and payouts to it first and to the
/// manual pool after; A's pool holds an ETH address.
pub async fn route_to_upstream(a: &TestApp, base: &str, partner: &Partner) {
    let providers = json!({"providers": [{"id": UPSTREAM, "type": "switchere", "config": {
        "base_url": base, "api_key": partner.api_key, "secret": partner.secret,
        "callback_secret": partner.callback_secret, "payout_currency": "EUR", "payout_group": "balance",
        "payout_networks": ["ERC20"], "timeout_ms": 1500}}]});
    let (s, body) = a.admin(Method::PUT, "/admin/v1/providers", Some(providers)).await;
    assert_eq!(s, 200, "{body}");
    let routes = json!({"routes": [
        {"kind": "payin", "currency": "ETH", "provider_id": UPSTREAM, "priority": 1},
        {"kind": "payin", "currency": "ETH", "provider_id": "manual", "priority": 2},
        {"kind": "payout", "currency": "ETH", "provider_id": UPSTREAM, "priority": 1},
        {"kind": "payout", "currency": "ETH", "provider_id": "manual", "priority": 2}]});
    let (s, body) = a.admin(Method::PUT, "/admin/v1/routes", Some(routes)).await;
    assert_eq!(s, 200, "{body}");
    let pool =
        json!([{"method": "crypto", "currency": "ETH", "details": {"address": ETH_ADDRESSES[2], "network": "ERC20"}}]);
    let (s, body) = a.admin(Method::PUT, "/admin/v1/requisites", Some(pool)).await;
    assert_eq!(s, 200, "{body}");
}

/// A live merchant at A.
pub async fn live_merchant(a: &TestApp, email: &str) -> Merchant {
    let (s, body) = a
        .admin(Method::POST, "/admin/v1/merchants", Some(json!({"email": email, "name": "Shop", "mode": "live"})))
        .await;
    assert_eq!(s, 201, "{body}");
    Merchant::from_json(&body["data"])
}

pub fn eth_payin(order: &str, amount: &str) -> Value {
    json!({"merchant_order_id": order, "amount": amount, "currency": "ETH", "method": "crypto", "customer_id": "c-1"})
}

/// How a [`BadUpstream`] misbehaves.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Misbehaviour {
    /// Every request answered 500.
    Fails,
    /// No request ever answered.
    Hangs,
    /// The first request never answered; every later one 404 (an order
    /// creation that timed out and never happened).
    HangsThenForgets,
}

/// An upstream that misbehaves. Counts the requests that reach it.
pub struct BadUpstream {
    pub base: String,
    pub hits: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl BadUpstream {
    pub async fn start(how: Misbehaviour) -> BadUpstream {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(AtomicUsize::new(0));
        let counted = hits.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else { return };
                let counted = counted.clone();
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    let _ = sock.read(&mut buf).await;
                    let nth = counted.fetch_add(1, Ordering::SeqCst);
                    let (status, body) = match how {
                        Misbehaviour::Hangs => return tokio::time::sleep(std::time::Duration::from_secs(60)).await,
                        Misbehaviour::HangsThenForgets if nth == 0 => {
                            return tokio::time::sleep(std::time::Duration::from_secs(60)).await
                        }
                        Misbehaviour::HangsThenForgets => {
                            ("404 Not Found", r#"{"success":0,"error":{"code":"NOT_FOUND","message":"no such order"}}"#)
                        }
                        Misbehaviour::Fails => (
                            "500 Internal Server Error",
                            r#"{"success":0,"error":{"code":"INTERNAL","message":"down"}}"#,
                        ),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = sock.write_all(format!("{head}{body}").as_bytes()).await;
                });
            }
        });
        BadUpstream { base, hits, task }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for BadUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A's refusals of `provider`, newest first.
pub async fn refusals(a: &TestApp, provider: &str) -> Vec<Value> {
    let (s, body) =
        a.admin(Method::GET, &format!("/admin/v1/providers/refusals?provider_id={provider}&limit=100"), None).await;
    assert_eq!(s, 200, "{body}");
    body["data"]["items"].as_array().unwrap().clone()
}

/// Waits until `f` holds or `secs` pass.
pub async fn eventually<F, Fut>(secs: u64, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < until {
        if f().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    false
}
