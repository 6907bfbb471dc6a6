//! A partner's whole journey as Switchere's documentation describes it:
//! quote, create (idempotent), pay in the sandbox, receive verified
//! callbacks through `finished`, read the order in both versions, and see
//! the money in the ledger.

use crate::helpers::*;
use crate::partner_support::*;
use crate::php_endpoint::PhpEndpoint;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

async fn quote_then_create_locks_the_quote_and_repeats_answer_the_order(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("quote@example.com", json!({})).await;
    let quote = app
        .partner_post(
            &p,
            "/api/v2/partner/order/fee",
            json!({"payin_currency": "ETH", "payout_currency": "BTC", "payin_amount": 1}),
        )
        .await;
    assert_eq!(quote.0, 200, "{}", quote.1);
    // 1 ETH − 1 % − 0.5 % = 0.985 ETH at bid 0.05 = 0.04925 BTC.
    assert_eq!(quote.1["payout_amount"], "0.049250000000000000");
    assert_eq!(quote.1["payin_fee"], "0.010000000000000000");
    assert_eq!(quote.1["margin_fee"], "0.005000000000000000");
    assert_eq!(quote.1["rate"], "0.050000000000000000");

    let created = app.eth_btc_order(&p, "o-1", "1").await;
    assert_eq!(created.0, 201, "{}", created.1);
    let o = &created.1;
    assert_eq!(o["success"], 1);
    assert_eq!(o["status"], "payin_pending");
    assert_eq!(o["payin_amount"], quote.1["payin_amount"]);
    assert_eq!(o["payout_amount"], quote.1["payout_amount"]);
    assert!(ETH_ADDRESSES.contains(&o["crypto_address"].as_str().unwrap()), "{o}");
    assert_eq!(o["crypto_delay"], 900);
    let created_at = o["created_at"].as_str().unwrap();
    assert_eq!(created_at.len(), "2020-11-10 13:51:34.864116".len(), "{created_at}");

    // The same request again: the same order, 200. Other fields: 409.
    let again = app.eth_btc_order(&p, "o-1", "1").await;
    assert_eq!(again.0, 200, "{}", again.1);
    assert_eq!(again.1["client_order_id"], o["client_order_id"]);
    assert_partner_error(&app.eth_btc_order(&p, "o-1", "2").await, 409, "DUPLICATE_ORDER_ID");
    assert_eq!(app.exchange_order_count().await, 1);

    // By payout amount: the smallest payin that reaches it.
    let by_payout = app
        .partner_post(
            &p,
            "/api/v2/partner/order/fee",
            json!({"payin_currency": "ETH", "payout_currency": "BTC", "payout_amount": "0.04925"}),
        )
        .await;
    assert_eq!(by_payout.1["payin_amount"], "1.000000000000000000", "{}", by_payout.1);

    // The hosted page shows where to pay, found by its token only.
    let redirect = o["redirect"].as_str().unwrap();
    let token = redirect.rsplit('/').next().unwrap();
    let page = app.http.get(app.url(&format!("/pay/{token}"))).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(o["crypto_address"].as_str().unwrap()), "{html}");
    let missing = app.http.get(app.url(&format!("/pay/{}", "0".repeat(48)))).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

async fn sandbox_pay_runs_to_finished_with_callbacks_verified_by_php(app: TestApp) {
    app.configure_exchange().await;
    let merchant = app.create_merchant("cb@example.com").await;
    // The callback secret is only known once the partner exists: start the
    // endpoint after, then point the partner at it.
    let (s, made) =
        app.admin(Method::POST, &format!("/admin/v1/merchants/{}/partner", merchant.id), Some(json!({}))).await;
    assert_eq!(s, 201, "{made}");
    let d = &made["data"];
    let php = PhpEndpoint::start(d["callback_secret"].as_str().unwrap()).await;
    let (s, b) = app
        .admin(
            Method::PATCH,
            &format!("/admin/v1/merchants/{}/partner", merchant.id),
            Some(json!({"callback_url": php.url})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let p = Partner {
        merchant,
        api_key: d["api_key"].as_str().unwrap().into(),
        secret: d["secret"].as_str().unwrap().into(),
        callback_secret: d["callback_secret"].as_str().unwrap().into(),
    };
    let (_, o) = app.eth_btc_order(&p, "paid-1", "1").await;
    let id = o["client_order_id"].as_str().unwrap();
    let paid = app.partner_post(&p, "/api/v2/partner/sandbox/order/pay", json!({"client_order_id": id})).await;
    assert_eq!(paid.0, 200, "{}", paid.1);
    assert_eq!(paid.1["status"], "finished");
    assert!(paid.1["payout_txid"].as_str().is_some_and(|t| !t.is_empty()));
    let statuses: Vec<&str> =
        paid.1["status_log"].as_array().unwrap().iter().map(|e| e["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["payin_pending", "auth_success", "processing", "processing_payout", "finished"]);

    let got = php.wait_for(4, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 4, "{got:?}");
    let mut seen = Vec::new();
    for r in &got {
        assert_eq!(r["valid"], true, "PHP refused {r}");
        assert_eq!(r["signature"].as_str().unwrap().len(), 88, "padded by default");
        let raw = r["raw"].as_str().unwrap();
        assert!(!raw.contains(": ") && !raw.contains('\n'), "compact: {raw}");
        let body: serde_json::Value = serde_json::from_str(raw).unwrap();
        assert_eq!(body["type"], "client_order");
        assert_eq!(body["version"], 2);
        assert_eq!(body["client_order"]["client_order_id"], id);
        seen.push(body["client_order"]["status"].as_str().unwrap().to_string());
    }
    assert_eq!(seen, ["auth_success", "processing", "processing_payout", "finished"], "in order");

    // Version 1: JSON numbers written exactly.
    let path = "/api/v1/partner/order";
    let raw = json!({"partner_order_id": "paid-1"}).to_string();
    let sig = paygate_core::signature::partner_signature(
        p.secret.as_bytes(),
        format!("{path}{raw}").as_bytes(),
        paygate_core::signature::Base64Padding::Unpadded,
    );
    let resp = app
        .http
        .post(app.url(path))
        .header("API-KEY", &p.api_key)
        .header("api-signature", sig)
        .body(raw)
        .send()
        .await
        .unwrap();
    let text = resp.text().await.unwrap();
    assert!(text.contains("\"payin_amount\":1,") && text.contains("\"payout_amount\":0.04925,"), "{text}");
    // The ledger: balanced, the book long 0.985 ETH and short 0.04925 BTC.
    app.assert_ledger_ok().await;
    let (_, pos) = app.admin(Method::GET, "/admin/v1/exchange/positions", None).await;
    let book: Vec<(String, String)> = pos["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["currency"].as_str().unwrap().to_string(), r["balance"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(book, [("BTC".to_string(), "-0.04925000".to_string()), ("ETH".to_string(), "0.98500000".to_string())]);
}

async fn purchase_url_order_credits_the_partner_balance(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("shop@example.com", json!({})).await;
    let made = app
        .partner_post(
            &p,
            "/api/v2/partner/ecommerce/purchase_url",
            json!({"partner_order_id": "cart-7", "purchase_currency": "EUR", "purchase_amount": 25, "plugin_name": "woo"}),
        )
        .await;
    assert_eq!(made.0, 201, "{}", made.1);
    assert_eq!(made.1["success"], 1);
    assert!(made.1["url"].as_str().unwrap().contains("/pay/"));
    let (_, order) = app.partner_post(&p, "/api/v2/partner/order", json!({"partner_order_id": "cart-7"})).await;
    assert_eq!(order["expected_payout_amount"], "25.000000000000000000");
    assert_eq!(order["payout_group"], "balance");
    let id = order["client_order_id"].as_str().unwrap();
    let refused = app.partner_post(&p, "/api/v2/partner/sandbox/order/pay", json!({"client_order_id": id})).await;
    assert_partner_error(&refused, 422, "VALIDATION_ERROR");
    let paid = app
        .partner_post(&p, "/api/v2/partner/sandbox/order/pay", json!({"client_order_id": id, "payin_currency": "ETH"}))
        .await;
    assert_eq!(paid.0, 200, "{}", paid.1);
    assert_eq!(paid.1["status"], "finished");
    assert_eq!(paid.1["payin_currency"], "ETH");
    assert_eq!(app.balance(&p.merchant, "EUR").await.0, "25.00");
    app.assert_ledger_ok().await;
}

async fn an_underpaid_payin_is_recomputed_at_the_locked_rate(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("under@example.com", json!({})).await;
    let (_, o) = app.eth_btc_order(&p, "u-1", "1").await;
    // The rate changes after the order: the order keeps its own.
    let rates = json!({"rates": [{"name": "ETH-BTC", "bid": "0.01", "ask": "0.02"}]});
    assert_eq!(app.admin(Method::PUT, "/admin/v1/rates", Some(rates)).await.0, 200);
    let paid = app
        .partner_post(
            &p,
            "/api/v2/partner/sandbox/order/pay",
            json!({"client_order_id": o["client_order_id"], "payin_amount": "0.5"}),
        )
        .await;
    assert_eq!(paid.0, 200, "{}", paid.1);
    // 0.5 − 0.005 − 0.0025 = 0.4925 ETH × 0.05 = 0.024625 BTC.
    assert_eq!(paid.1["payin_amount"], "0.500000000000000000");
    assert_eq!(paid.1["payout_amount"], "0.024625000000000000");
    assert_eq!(paid.1["expected_payout_amount"], "0.049250000000000000");
    app.assert_ledger_ok().await;
}

async fn partners_never_see_each_others_orders(app: TestApp) {
    app.configure_exchange().await;
    let a = app.create_partner("a@example.com", json!({})).await;
    let b = app.create_partner("b@example.com", json!({})).await;
    let (_, o) = app.eth_btc_order(&a, "mine", "1").await;
    let id = o["client_order_id"].clone();
    assert_partner_error(
        &app.partner_post(&b, "/api/v2/partner/order", json!({"client_order_id": id})).await,
        404,
        "NOT_FOUND",
    );
    assert_partner_error(
        &app.partner_post(&b, "/api/v2/partner/order", json!({"partner_order_id": "mine"})).await,
        404,
        "NOT_FOUND",
    );
    assert_partner_error(
        &app.partner_post(&b, "/api/v1/partner/order", json!({"partner_order_id": "mine"})).await,
        404,
        "NOT_FOUND",
    );
    let pay = app.partner_post(&b, "/api/v2/partner/sandbox/order/pay", json!({"client_order_id": id})).await;
    assert_partner_error(&pay, 404, "NOT_FOUND");
    let (_, list) = app.partner_call(&b, Method::GET, "/api/v1/partner/order/list?page=1&rows=10", None).await;
    assert_eq!(list["total"], 0, "{list}");
    // The same partner_order_id is free for another partner.
    assert_eq!(app.eth_btc_order(&b, "mine", "1").await.0, 201);
    let (_, list) =
        app.partner_call(&a, Method::GET, "/api/v1/partner/order/list?page=1&rows=10&timestamp=0", None).await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["data"][0]["partner_order_id"], "mine");
}

async fn twelve_concurrent_identical_creates_make_one_order(app: TestApp) {
    app.configure_exchange().await;
    let p = std::sync::Arc::new(app.create_partner("race@example.com", json!({})).await);
    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..12 {
        let (app, p) = (app.clone(), p.clone());
        tasks.spawn(async move { app.eth_btc_order(&p, "same", "1").await });
    }
    let mut statuses = Vec::new();
    let mut ids = std::collections::BTreeSet::new();
    while let Some(r) = tasks.join_next().await {
        let (s, b) = r.unwrap();
        statuses.push(s);
        ids.insert(b["client_order_id"].as_str().unwrap_or("none").to_string());
    }
    statuses.sort();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 11, "{statuses:?}");
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(app.exchange_order_count().await, 1);
}

async fn a_partners_own_fees_apply_to_its_quotes(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("fees@example.com", json!({})).await;
    let fees =
        json!({"exchange_fees": {"payin_percent": "2", "margin_percent": "0", "payout_fixed": {"BTC": "0.0001"}}});
    let (s, b) = app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", p.merchant.id), Some(fees.clone())).await;
    assert_eq!(s, 200, "{b}");
    let (_, q) = app
        .partner_post(
            &p,
            "/api/v2/partner/order/fee",
            json!({"payin_currency": "ETH", "payout_currency": "BTC", "payin_amount": "1"}),
        )
        .await;
    // 1 ETH − 2 % = 0.98 ETH × 0.05 = 0.049 BTC, less the 0.0001 BTC payout fee.
    assert_eq!(
        (q["payin_fee"].as_str(), q["margin_fee"].as_str()),
        (Some("0.020000000000000000"), Some("0.000000000000000000"))
    );
    assert_eq!(q["payout_fee"], "0.000100000000000000");
    assert_eq!(q["payout_amount"], "0.048900000000000000");
    // The public quote keeps the defaults; a merchant that is no partner has no exchange fees.
    let public = app
        .http
        .post(app.url("/api/v2/public/order/fee"))
        .body(json!({"payin_currency": "ETH", "payout_currency": "BTC", "payin_amount": "1"}).to_string());
    assert_eq!(read(public.send().await.unwrap()).await.1["payout_amount"], "0.049250000000000000");
    let plain = app.create_merchant("plain@example.com").await;
    let refused = app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", plain.id), Some(fees)).await;
    assert_error(&refused, 422, "VALIDATION_ERROR");
    let absurd = json!({"exchange_fees": {"payin_percent": "60"}});
    assert_error(
        &app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}/partner", p.merchant.id), Some(absurd)).await,
        422,
        "VALIDATION_ERROR",
    );
}

crate::both_backends!(
    a_partners_own_fees_apply_to_its_quotes,
    quote_then_create_locks_the_quote_and_repeats_answer_the_order,
    sandbox_pay_runs_to_finished_with_callbacks_verified_by_php,
    purchase_url_order_credits_the_partner_balance,
    an_underpaid_payin_is_recomputed_at_the_locked_rate,
    partners_never_see_each_others_orders,
    twelve_concurrent_identical_creates_make_one_order,
);
