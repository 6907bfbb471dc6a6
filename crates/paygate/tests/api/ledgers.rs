//! Test and live money are separate ledgers, and repeats are answered as
//! repeats whatever the balance or the requisites pool says now.

use crate::both_backends;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;

both_backends!(
    test_money_never_becomes_live_money,
    repeated_payout_answers_200_even_when_funds_are_gone,
    repeated_live_payin_answers_200_with_a_busy_pool,
    absurd_amounts_and_filters_are_refused_cleanly,
);

async fn set_mode(app: &TestApp, m: &Merchant, mode: &str) {
    let (s, body) =
        app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({"mode": mode}))).await;
    assert_eq!(s, 200, "{body}");
}

async fn test_money_never_becomes_live_money(app: TestApp) {
    let m = app.create_merchant("modes@example.com").await;
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("t-1", "1000.00")).await;
    app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": p["data"]["id"]})).await;
    let (_, po) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("t-2", "100.00")).await;
    assert_eq!(app.balance(&m, "RUB").await, ("900.00".into(), "100.00".into(), "0.00".into()));

    set_mode(&app, &m, "live").await;
    // The live ledger is empty: test money cannot be paid out for real.
    assert_eq!(app.balance(&m, "RUB").await, ("0.00".into(), "0.00".into(), "0.00".into()));
    let before = app.snapshot().await;
    assert_error(
        &app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("l-1", "1.00")).await,
        402,
        "INSUFFICIENT_FUNDS",
    );
    assert_eq!(app.snapshot().await, before);
    // The sandbox still settles the test payout, in the test ledger only.
    let (s, body) =
        app.signed(&m, "/api/v1/sandbox/payout/settle", json!({"id": po["data"]["id"], "outcome": "failed"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(app.balance(&m, "RUB").await, ("0.00".into(), "0.00".into(), "0.00".into()));
    // An operator credit lands in the live ledger, and only there.
    app.fund(&m, "RUB", "5.00").await;
    assert_eq!(app.balance(&m, "RUB").await.0, "5.00");
    set_mode(&app, &m, "test").await;
    assert_eq!(app.balance(&m, "RUB").await, ("1000.00".into(), "0.00".into(), "0.00".into()));
    // History shows the merchant's own buckets of the current ledger, not the system side.
    let (_, hist) = app.signed(&m, "/api/v1/balance/history", json!({})).await;
    for e in hist["data"]["items"].as_array().unwrap() {
        assert!(["available", "hold", "frozen"].contains(&e["bucket"].as_str().unwrap()), "{e}");
    }
    app.assert_ledger_ok().await;
}

async fn repeated_payout_answers_200_even_when_funds_are_gone(app: TestApp) {
    let m = app.create_merchant("repeat-po@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let (s, first) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("all-in", "100.00")).await;
    assert_eq!(s, 201, "{first}");
    // The balance is now 0: the repeat must still be recognised as a repeat.
    let (s, again) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("all-in", "100.00")).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    assert_error(
        &app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("all-in", "99.00")).await,
        409,
        "DUPLICATE_ORDER_ID",
    );
    assert_eq!(app.balance(&m, "RUB").await, ("0.00".into(), "100.00".into(), "0.00".into()));
}

async fn repeated_live_payin_answers_200_with_a_busy_pool(app: TestApp) {
    let m = app.create_merchant("repeat-live@example.com").await;
    set_mode(&app, &m, "live").await;
    let pool = json!([{"id": "only", "method": "card", "currency": "RUB", "details": {"type": "card", "card_number": "2200000000000001"}}]);
    assert_eq!(app.admin(Method::PUT, "/admin/v1/requisites", Some(pool)).await.0, 200);
    let (s, first) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lp-1", "10.00")).await;
    assert_eq!(s, 201, "{first}");
    // The only requisite is busy with this very payin's amount.
    let (s, again) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lp-1", "10.00")).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["data"]["id"], first["data"]["id"]);
    assert_error(
        &app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lp-1", "11.00")).await,
        409,
        "DUPLICATE_ORDER_ID",
    );
    assert_error(
        &app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lp-2", "10.00")).await,
        503,
        "UNAVAILABLE",
    );
}

async fn absurd_amounts_and_filters_are_refused_cleanly(app: TestApp) {
    let m = app.create_merchant("absurd@example.com").await;
    let before = app.snapshot().await;
    assert_error(
        &app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("ab-1", "10000000000000.01")).await,
        422,
        "VALIDATION_ERROR",
    );
    assert_eq!(app.snapshot().await, before);
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("ab-2", "10.00")).await;
    let got = app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": p["data"]["id"], "amount": "1000.00"})).await;
    assert_error(&got, 422, "VALIDATION_ERROR");
    // A huge status list is the same filter as a short one, not a database error.
    let statuses: Vec<&str> = std::iter::repeat_n("pending", 40_000).collect();
    let (s, body) = app.signed(&m, "/api/v1/payin/list", json!({"status": statuses})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["items"].as_array().unwrap().len(), 1);
}

both_backends!(keyed_adjustments_apply_once);

async fn keyed_adjustments_apply_once(app: TestApp) {
    let m = app.create_merchant("keyed@example.com").await;
    let path = format!("/admin/v1/balances/{}/adjust", m.id);
    let body = json!({"currency": "RUB", "amount": "70.00", "reason": "settlement 42", "idempotency_key": "settle-42"});
    let (s, first) = app.admin(Method::POST, &path, Some(body.clone())).await;
    assert_eq!(s, 200, "{first}");
    // A retry after a lost answer: same posting, no second credit.
    let (s, again) = app.admin(Method::POST, &path, Some(body.clone())).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(again["data"]["ledger_transaction_id"], first["data"]["ledger_transaction_id"]);
    assert_eq!(app.balance(&m, "RUB").await.0, "70.00");
    let before = app.snapshot().await;
    let mut other = body.clone();
    other["amount"] = json!("71.00");
    assert_error(&app.admin(Method::POST, &path, Some(other)).await, 409, "DUPLICATE_ORDER_ID");
    let mut bad = body.clone();
    bad["idempotency_key"] = json!("has space");
    assert_error(&app.admin(Method::POST, &path, Some(bad)).await, 422, "VALIDATION_ERROR");
    assert_eq!(app.snapshot().await, before);
    // Concurrent retries of one key credit once.
    let app = std::sync::Arc::new(app);
    let body = json!({"currency": "RUB", "amount": "5.00", "reason": "bonus", "idempotency_key": "bonus-1"});
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (app, path, body) = (app.clone(), path.clone(), body.clone());
            tokio::spawn(async move { app.admin(Method::POST, &path, Some(body)).await.0 })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    assert_eq!(app.balance(&m, "RUB").await.0, "75.00");
    app.assert_ledger_ok().await;
}
