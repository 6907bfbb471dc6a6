//! Addresses and replays: the crypto address pool kept apart from payins,
//! replays answered from the order whatever changed since, orders whose
//! payin was seen never expiring, and live orders never paid by the sandbox.

use crate::helpers::*;
use crate::partner_support::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

async fn replays_are_answered_from_the_order_whatever_changed_since(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("replay@example.com", json!({})).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let (s, o) = app.eth_btc_order(&p, &format!("r-{i}"), "1").await;
        assert_eq!(s, 201, "{o}");
        ids.push(o["client_order_id"].clone());
    }
    // Every address is taken, yet a replay is answered, not refused 503.
    let again = app.eth_btc_order(&p, "r-0", "1").await;
    assert_eq!(again.0, 200, "{}", again.1);
    assert_eq!(again.1["client_order_id"], ids[0]);
    // The same amount as a JSON number is the same request.
    let number = json!({"partner_order_id": "r-1", "payin_currency": "ETH", "payout_currency": "BTC",
                        "payin_amount": 1, "dst_address": BTC_ADDRESS});
    assert_eq!(app.partner_post(&p, "/api/v2/partner/order/create", number).await.0, 200);
    assert_partner_error(&app.eth_btc_order(&p, "r-0", "2").await, 409, "DUPLICATE_ORDER_ID");
    // The rate is gone: new orders are refused, replays still answered.
    assert_eq!(app.admin(Method::PUT, "/admin/v1/rates", Some(json!({"rates": []}))).await.0, 200);
    assert_eq!(app.eth_btc_order(&p, "r-2", "1").await.0, 200);
    assert_partner_error(&app.eth_btc_order(&p, "r-9", "1").await, 422, "PAIR_NOT_AVAILABLE");
    // purchase_url replays the same way.
    let cart = json!({"partner_order_id": "cart", "purchase_currency": "EUR", "purchase_amount": "25.00"});
    let first = app.partner_post(&p, "/api/v2/partner/ecommerce/purchase_url", cart.clone()).await;
    assert_eq!(first.0, 201, "{}", first.1);
    let second = app.partner_post(&p, "/api/v2/partner/ecommerce/purchase_url", cart).await;
    assert_eq!((second.0, &second.1["url"]), (200, &first.1["url"]));
    assert_eq!(app.exchange_order_count().await, 4);
}

async fn addresses_for_payins_and_for_exchange_never_mix(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("mix@example.com", json!({})).await;
    // Only a payins address for ETH: exchange orders cannot take it.
    let payins_only = json!([{"method": "crypto", "currency": "ETH",
                              "details": {"address": ETH_ADDRESSES[0], "network": "ERC20"}}]);
    let (s, pool) = app.admin(Method::PUT, "/admin/v1/requisites", Some(payins_only)).await;
    assert_eq!(s, 200, "{pool}");
    assert_eq!(pool["data"][0]["purpose"], "payins", "the default purpose");
    assert_partner_error(&app.eth_btc_order(&p, "m-1", "1").await, 422, "PAIR_NOT_AVAILABLE");
    let card =
        json!([{"method": "card", "currency": "USD", "purpose": "exchange", "details": {"card_number": "4111"}}]);
    assert_error(&app.admin(Method::PUT, "/admin/v1/requisites", Some(card)).await, 422, "VALIDATION_ERROR");
    let bad = json!([{"method": "crypto", "currency": "ETH", "purpose": "exchange",
                      "details": {"address": "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD"}}]);
    assert_error(&app.admin(Method::PUT, "/admin/v1/requisites", Some(bad)).await, 422, "VALIDATION_ERROR");
}

async fn an_order_whose_payin_was_seen_does_not_expire(app: TestApp) {
    let app = app.restart_with(|s| s.exchange_payin_window_secs = 1).await;
    app.configure_exchange().await;
    let p = app.create_partner("seen@example.com", json!({})).await;
    let (_, o) = app.eth_btc_order(&p, "seen-1", "1").await;
    let id = o["client_order_id"].as_str().unwrap();
    let path = format!("/admin/v1/exchange/orders/{id}/status");
    let status = |to: &'static str| app.admin(Method::POST, &path, Some(json!({"status": to})));
    assert_eq!(status("confirmation_pending").await.0, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    paygate_server::workers::exchange::try_execute_task(&app.state).await.unwrap();
    let (_, now) = app.partner_post(&p, "/api/v2/partner/order", json!({"client_order_id": id})).await;
    assert_eq!(now["status"], "confirmation_pending", "{now}");
    let (s, paid) = status("auth_success").await;
    assert_eq!(s, 200, "{paid}");
    app.assert_ledger_ok().await;
}

async fn a_live_order_is_never_paid_by_the_sandbox(app: TestApp) {
    app.configure_exchange().await;
    let (s, m) = app
        .admin(
            Method::POST,
            "/admin/v1/merchants",
            Some(json!({"email": "live@example.com", "name": "Live", "mode": "live"})),
        )
        .await;
    assert_eq!(s, 201, "{m}");
    let merchant = Merchant::from_json(&m["data"]);
    let (_, made) =
        app.admin(Method::POST, &format!("/admin/v1/merchants/{}/partner", merchant.id), Some(json!({}))).await;
    let p = Partner {
        merchant,
        api_key: made["data"]["api_key"].as_str().unwrap().into(),
        secret: made["data"]["secret"].as_str().unwrap().into(),
        callback_secret: made["data"]["callback_secret"].as_str().unwrap().into(),
    };
    let (s, o) = app.eth_btc_order(&p, "live-1", "1").await;
    assert_eq!(s, 201, "{o}");
    let pay = json!({"client_order_id": o["client_order_id"]});
    let before = app.snapshot().await;
    assert_partner_error(
        &app.partner_post(&p, "/api/v2/partner/sandbox/order/pay", pay.clone()).await,
        403,
        "FORBIDDEN",
    );
    // Switching the merchant to test does not make its live order a test one.
    let to_test = json!({"mode": "test"});
    assert_eq!(app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", p.merchant.id), Some(to_test)).await.0, 200);
    assert_partner_error(&app.partner_post(&p, "/api/v2/partner/sandbox/order/pay", pay).await, 403, "FORBIDDEN");
    let after = app.snapshot().await;
    let money = |snap: &Vec<(String, String)>| {
        snap.iter()
            .filter(|(k, _)| k == "ledger_entries" || k == "exchange orders changed")
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(money(&after), money(&before));
}

async fn choosing_a_currency_when_every_address_is_taken_is_503(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("full@example.com", json!({})).await;
    let cart = json!({"partner_order_id": "cart-full", "purchase_currency": "EUR", "purchase_amount": "25.00"});
    assert_eq!(app.partner_post(&p, "/api/v2/partner/ecommerce/purchase_url", cart).await.0, 201);
    for i in 0..3 {
        assert_eq!(app.eth_btc_order(&p, &format!("f-{i}"), "1").await.0, 201);
    }
    let (_, order) = app.partner_post(&p, "/api/v2/partner/order", json!({"partner_order_id": "cart-full"})).await;
    let pay = json!({"client_order_id": order["client_order_id"], "payin_currency": "ETH"});
    assert_partner_error(&app.partner_post(&p, "/api/v2/partner/sandbox/order/pay", pay).await, 503, "UNAVAILABLE");
    let (_, still) = app.partner_post(&p, "/api/v2/partner/order", json!({"partner_order_id": "cart-full"})).await;
    assert!(still["payin_currency"].is_null(), "nothing chosen: {still}");
}

crate::both_backends!(
    replays_are_answered_from_the_order_whatever_changed_since,
    addresses_for_payins_and_for_exchange_never_mix,
    an_order_whose_payin_was_seen_does_not_expire,
    a_live_order_is_never_paid_by_the_sandbox,
    choosing_a_currency_when_every_address_is_taken_is_503,
);
