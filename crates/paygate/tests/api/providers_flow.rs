//! Routing to an upstream exchange (API.md section 7) with two gateways on
//! loopback: B serves the exchange API; A has B as a `switchere` provider.
//! A payin created and paid at B, with the amount B reports; a lost
//! callback reconciled by asking B; a payout that reaches B as an order
//! paying the destination, whose failure returns the hold. Both databases.

use crate::helpers::*;
use crate::partner_support::ETH_ADDRESSES;
use crate::receiver::Receiver;
use crate::upstream_support::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

async fn an_eth_payin_is_created_and_paid_at_the_upstream(app: TestApp) {
    let a = app.restart_with(|s| s.webhook_poll_ms = 50).await;
    let (b, partner) = exchange_b(&a).await;
    route_to_upstream(&a, &b.base, &partner).await;
    let m = live_merchant(&a, "shop@example.com").await;
    let rx = Receiver::start(&m.secret, "200").await;
    a.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;

    let (s, p) = a.signed(&m, "/api/v1/payin/create", eth_payin("eth-1", "0.05")).await;
    assert_eq!(s, 201, "{p}");
    let d = &p["data"];
    let id = d["id"].as_str().unwrap().to_string();
    let upstream_order = d["provider_ref"].as_str().unwrap().to_string();
    assert_eq!(d["provider"], UPSTREAM, "{p}");
    assert!(upstream_order.starts_with("ex_"), "{p}");
    assert!(ETH_ADDRESSES.contains(&d["requisites"]["address"].as_str().unwrap()), "B's address: {p}");
    assert!(d["pay_url"].as_str().unwrap().starts_with(&format!("{}/pay/", b.base)), "B's page: {p}");

    // B holds the order: paid in ETH, paid out to A's operator's EUR balance.
    let (s, order) = b.partner_post(&partner, "/api/v2/partner/order", json!({"partner_order_id": id})).await;
    assert_eq!(s, 200, "{order}");
    assert_eq!(order["client_order_id"], upstream_order.as_str());
    assert_eq!((order["payin_currency"].as_str(), order["payout_currency"].as_str()), (Some("ETH"), Some("EUR")));
    assert_eq!(order["payin_amount"], "0.050000000000000000");

    // The customer pays a little less at B; A's merchant hears the truth.
    let pay = json!({"client_order_id": upstream_order, "payin_amount": "0.049"});
    let (s, body) = b.partner_post(&partner, "/api/v2/partner/sandbox/order/pay", pay).await;
    assert_eq!(s, 200, "{body}");
    let hooks = rx.wait_for(2, Duration::from_secs(20)).await;
    let success = hooks.iter().find(|h| h["body"]["event"] == "payin.success").unwrap_or_else(|| panic!("{hooks:?}"));
    assert_eq!(success["valid"], true, "signed with the merchant's secret");
    assert_eq!(success["body"]["data"]["amount"], "0.04900000", "{success}");
    assert_eq!(success["body"]["data"]["provider"], UPSTREAM);
    let (_, got) = a.signed(&m, "/api/v1/payin/get", json!({"id": id})).await;
    assert_eq!((got["data"]["status"].as_str(), got["data"]["amount"].as_str()), (Some("success"), Some("0.04900000")));
    a.assert_ledger_ok().await;
    b.assert_ledger_ok().await;
}

async fn a_lost_callback_is_reconciled_by_asking_the_upstream(app: TestApp) {
    // A tells B to call back where nothing listens: every callback is lost.
    let a = app
        .restart_with(|s| {
            s.public_url = Some("http://127.0.0.1:9".into());
            s.provider_check_after_secs = 1;
            s.provider_check_poll_ms = 100;
        })
        .await;
    let (b, partner) = exchange_b(&a).await;
    route_to_upstream(&a, &b.base, &partner).await;
    let m = live_merchant(&a, "shop@example.com").await;
    let (s, p) = a.signed(&m, "/api/v1/payin/create", eth_payin("eth-lost", "0.05")).await;
    assert_eq!(s, 201, "{p}");
    let id = p["data"]["id"].as_str().unwrap().to_string();
    let pay = json!({"client_order_id": p["data"]["provider_ref"], "payin_amount": "0.05"});
    assert_eq!(b.partner_post(&partner, "/api/v2/partner/sandbox/order/pay", pay).await.0, 200);
    let paid = eventually(20, || async {
        let (_, got) = a.signed(&m, "/api/v1/payin/get", json!({"id": id})).await;
        got["data"]["status"] == "success"
    })
    .await;
    assert!(paid, "A asked B and learnt the payin was paid");
    let (_, got) = a.signed(&m, "/api/v1/payin/get", json!({"id": id})).await;
    assert_eq!(got["data"]["amount"], "0.05000000");
    // The pending payin never expired under A's own clock meanwhile, and
    // nothing is asked again once the outcome is in.
    let due: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payins WHERE provider_check_at IS NOT NULL")
        .fetch_one(a.state.db.pool())
        .await
        .unwrap();
    assert_eq!(due, 0);
    a.assert_ledger_ok().await;
    b.assert_ledger_ok().await;
}

async fn a_payout_reaches_the_upstream_and_its_failure_returns_the_hold(app: TestApp) {
    let a = app.restart_with(|s| s.webhook_poll_ms = 50).await;
    let (b, partner) = exchange_b(&a).await;
    route_to_upstream(&a, &b.base, &partner).await;
    let m = live_merchant(&a, "payouts@example.com").await;
    a.fund(&m, "ETH", "1.00000000").await;
    let body = json!({"merchant_order_id": "out-1", "amount": "0.10000000", "currency": "ETH", "method": "crypto",
                      "destination": {"address": ETH_ADDRESSES[0], "network": "ERC20"}});
    let (s, p) = a.signed(&m, "/api/v1/payout/create", body).await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(p["data"]["provider"], UPSTREAM, "{p}");
    let id = p["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(a.balance(&m, "ETH").await.1, "0.10000000", "held at A");

    let (s, order) = b.partner_post(&partner, "/api/v2/partner/order", json!({"partner_order_id": id})).await;
    assert_eq!(s, 200, "{order}");
    assert_eq!(order["dst_address"], ETH_ADDRESSES[0]);
    assert_eq!(
        (order["payout_currency"].as_str(), order["payout_amount"].as_str()),
        (Some("ETH"), Some("0.100000000000000000"))
    );
    assert_eq!(order["payin_currency"], "EUR", "paid from A's operator's balance at B");

    // B's operator fails the order: A's payout fails and the hold returns.
    let upstream_order = order["client_order_id"].as_str().unwrap();
    let fail = json!({"status": "error", "error_message": "compliance check failed"});
    let (s, moved) =
        b.admin(Method::POST, &format!("/admin/v1/exchange/orders/{upstream_order}/status"), Some(fail)).await;
    assert_eq!(s, 200, "{moved}");
    let failed = eventually(20, || async {
        let (_, got) = a.signed(&m, "/api/v1/payout/get", json!({"id": id})).await;
        got["data"]["status"] == "failed"
    })
    .await;
    assert!(failed, "B's callback failed the payout at A");
    let (_, got) = a.signed(&m, "/api/v1/payout/get", json!({"id": id})).await;
    assert!(got["data"]["failure_reason"].as_str().unwrap().contains("compliance"), "{got}");
    assert_eq!(a.balance(&m, "ETH").await, ("1.00000000".into(), "0.00000000".into(), "0.00000000".into()));
    a.assert_ledger_ok().await;
    b.assert_ledger_ok().await;
}

async fn a_refund_after_success_reverses_the_credit_once(app: TestApp) {
    let (b, partner) = exchange_b(&app).await;
    route_to_upstream(&app, &b.base, &partner).await;
    let m = live_merchant(&app, "refunds@example.com").await;
    let (s, p) = app.signed(&m, "/api/v1/payin/create", eth_payin("eth-refund", "0.05")).await;
    assert_eq!(s, 201, "{p}");
    let id = p["data"]["id"].as_str().unwrap().to_string();
    let pay = json!({"client_order_id": p["data"]["provider_ref"], "payin_amount": "0.05"});
    assert_eq!(b.partner_post(&partner, "/api/v2/partner/sandbox/order/pay", pay).await.0, 200);
    let credited = eventually(20, || async { app.balance(&m, "ETH").await.0 == "0.05000000" }).await;
    assert!(credited, "the payin was credited: {:?}", app.balance(&m, "ETH").await);
    // The upstream refunds the customer: the credit goes back, once.
    let body = json!({"client_order": {"partner_order_id": id, "status": "refunded", "payin_amount": "0.05"},
                      "type": "client_order", "version": 2})
    .to_string();
    let sig = paygate_core::signature::partner_signature(
        partner.callback_secret.as_bytes(),
        body.as_bytes(),
        paygate_core::signature::Base64Padding::Padded,
    );
    for expected in [true, false] {
        let r = app
            .http
            .post(app.url(&format!("/callbacks/switchere/{UPSTREAM}")))
            .header("API-Signature", &sig)
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let (s, answer) = read(r).await;
        assert_eq!((s, answer["changed"].as_bool()), (200, Some(expected)), "{answer}");
    }
    assert_eq!(app.balance(&m, "ETH").await.0, "0.00000000");
    let (_, history) = app.signed(&m, "/api/v1/balance/history", json!({"currency": "ETH"})).await;
    let reasons = history.to_string();
    assert!(reasons.contains(&format!("upstream refunded payin {id}")), "{history}");
    app.assert_ledger_ok().await;
    b.assert_ledger_ok().await;
}

crate::both_backends!(
    a_refund_after_success_reverses_the_credit_once,
    an_eth_payin_is_created_and_paid_at_the_upstream,
    a_lost_callback_is_reconciled_by_asking_the_upstream,
    a_payout_reaches_the_upstream_and_its_failure_returns_the_hold,
);
