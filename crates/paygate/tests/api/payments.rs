//! PayIn and PayOut over HTTP: the full test-mode cycle with exact amounts,
//! fees, idempotency, cancellation, expiry and masking.

use crate::both_backends;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    full_cycle_is_exact_to_the_minor_unit,
    paid_amount_differs_from_requested,
    repeated_order_id_is_idempotent_or_409,
    cancel_only_while_pending,
    payout_failure_returns_the_hold,
    payout_destination_is_masked_everywhere,
    expired_payins_are_expired_by_the_worker,
    get_by_order_id_and_list_with_filters,
    balance_history_lists_every_movement,
    amounts_accept_numbers_exactly,
);

async fn set_fees(app: &TestApp, m: &Merchant, fees: Value) {
    let (s, body) =
        app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({ "fees": fees }))).await;
    assert_eq!(s, 200, "{body}");
}

async fn full_cycle_is_exact_to_the_minor_unit(app: TestApp) {
    let m = app.create_merchant("cycle@example.com").await;
    set_fees(
        &app,
        &m,
        json!({"payin": {"currencies": {"RUB": {"percent": "2", "fixed": "10.00"}}}, "payout": {"percent": "1"}}),
    )
    .await;

    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("order-1", "1500.00")).await;
    assert_eq!(s, 201, "{body}");
    let p = &body["data"];
    assert_eq!(p["status"], "pending");
    assert_eq!(p["amount"], "1500.00");
    assert_eq!(p["fee"], "40.00");
    assert_eq!(p["net_amount"], "1460.00");
    assert_eq!(p["mode"], "test");
    assert_eq!(p["requisites"]["type"], "card");
    let payin_id = p["id"].as_str().unwrap().to_string();
    assert!(payin_id.starts_with("pi_"));
    assert_eq!(app.balance(&m, "RUB").await, ("0.00".into(), "0.00".into(), "0.00".into()));

    let (s, body) = app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": payin_id})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["status"], "success");
    assert!(body["data"]["completed_at"].is_string());
    assert_eq!(app.balance(&m, "RUB").await, ("1460.00".into(), "0.00".into(), "0.00".into()));

    let (s, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("po-1", "1000.00")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["fee"], "10.00");
    assert_eq!(body["data"]["total"], "1010.00");
    let payout_id = body["data"]["id"].as_str().unwrap().to_string();
    assert_eq!(app.balance(&m, "RUB").await, ("450.00".into(), "1010.00".into(), "0.00".into()));

    // More than what is available: 402, nothing changes.
    let before = app.snapshot().await;
    let got = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("po-2", "446.00")).await;
    assert_error(&got, 402, "INSUFFICIENT_FUNDS");
    assert_eq!(app.snapshot().await, before);

    let (s, body) =
        app.signed(&m, "/api/v1/sandbox/payout/settle", json!({"id": payout_id, "outcome": "success"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["status"], "success");
    assert_eq!(app.balance(&m, "RUB").await, ("450.00".into(), "0.00".into(), "0.00".into()));

    // 446.00 + 1% = 450.46 > 450.00; 445.54 + 4.46 = 450.00 exactly.
    assert_error(
        &app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("po-3", "445.55")).await,
        402,
        "INSUFFICIENT_FUNDS",
    );
    let (s, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("po-4", "445.54")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["total"], "450.00");
    assert_eq!(app.balance(&m, "RUB").await, ("0.00".into(), "450.00".into(), "0.00".into()));
    app.assert_ledger_ok().await;
}

async fn paid_amount_differs_from_requested(app: TestApp) {
    let m = app.create_merchant("partial@example.com").await;
    set_fees(&app, &m, json!({"payin": {"percent": "1.5"}})).await;
    let (_, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("o-1", "1000.00")).await;
    let id = body["data"]["id"].as_str().unwrap();
    let (s, body) = app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id, "amount": "999.99"})).await;
    assert_eq!(s, 200, "{body}");
    let d = &body["data"];
    assert_eq!(d["amount"], "999.99");
    assert_eq!(d["original_amount"], "1000.00");
    // 1.5% of 999.99 = 14.99985 → rounded up to 15.00.
    assert_eq!(d["fee"], "15.00");
    assert_eq!(d["net_amount"], "984.99");
    assert_eq!(app.balance(&m, "RUB").await.0, "984.99");
    // A second payment of the same payin is a state error.
    assert_error(&app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await, 409, "INVALID_STATE");
    app.assert_ledger_ok().await;
}

async fn repeated_order_id_is_idempotent_or_409(app: TestApp) {
    let m = app.create_merchant("idem@example.com").await;
    let body = json!({"merchant_order_id": "same", "amount": "10.00", "currency": "RUB", "method": "sbp", "customer_id": "c",
                      "metadata": {"b": 1, "a": [1, 2]}});
    let (s1, first) = app.signed(&m, "/api/v1/payin/create", body.clone()).await;
    assert_eq!(s1, 201, "{first}");
    // Same fields, keys in another order, amount as a number: the same request.
    let again = json!({"metadata": {"a": [1, 2], "b": 1}, "customer_id": "c", "method": "sbp", "currency": "RUB", "amount": 10, "merchant_order_id": "same"});
    let (s2, second) = app.signed(&m, "/api/v1/payin/create", again).await;
    assert_eq!(s2, 200, "{second}");
    assert_eq!(first["data"]["id"], second["data"]["id"]);
    let before = app.snapshot().await;
    for changed in [
        json!({"amount": "10.01"}),
        json!({"customer_id": "other"}),
        json!({"method": "card"}),
        json!({"metadata": {"b": 2}}),
    ] {
        let mut b = body.clone();
        for (k, v) in changed.as_object().unwrap() {
            b[k] = v.clone();
        }
        assert_error(&app.signed(&m, "/api/v1/payin/create", b).await, 409, "DUPLICATE_ORDER_ID");
    }
    // Payouts: same rules, separate namespace from payins.
    app.fund(&m, "RUB", "100.00").await;
    let before_payout = app.snapshot().await;
    assert_ne!(before, before_payout);
    let (s, po1) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("same", "5.00")).await;
    assert_eq!(s, 201, "{po1}");
    let (s, po2) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("same", "5.00")).await;
    assert_eq!(s, 200, "{po2}");
    assert_eq!(po1["data"]["id"], po2["data"]["id"]);
    assert_error(
        &app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("same", "6.00")).await,
        409,
        "DUPLICATE_ORDER_ID",
    );
    // The repeat did not hold the money twice.
    assert_eq!(app.balance(&m, "RUB").await, ("95.00".into(), "5.00".into(), "0.00".into()));
    // A node that never saw these order ids (a second node, or this one
    // after a restart) answers repeats the same way, by the careful path.
    let (mut node, base) = start_server(&app, &[]).await;
    let other = TestApp::detached(&app, &base);
    let (s, again) = other.signed(&m, "/api/v1/payin/create", body.clone()).await;
    assert_eq!((s, &again["data"]["id"]), (200, &first["data"]["id"]), "{again}");
    let mut changed = body.clone();
    changed["amount"] = json!("10.01");
    assert_error(&other.signed(&m, "/api/v1/payin/create", changed).await, 409, "DUPLICATE_ORDER_ID");
    let (s, po3) = other.signed(&m, "/api/v1/payout/create", TestApp::payout_body("same", "5.00")).await;
    assert_eq!((s, &po3["data"]["id"]), (200, &po1["data"]["id"]), "{po3}");
    kill_hard(&mut node).await;
    assert_eq!(app.balance(&m, "RUB").await, ("95.00".into(), "5.00".into(), "0.00".into()));
    app.assert_ledger_ok().await;
}

async fn cancel_only_while_pending(app: TestApp) {
    let m = app.create_merchant("cancel@example.com").await;
    let (_, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("c-1", "50.00")).await;
    let id = body["data"]["id"].as_str().unwrap();
    let (s, body) = app.signed(&m, "/api/v1/payin/cancel", json!({"id": id})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["status"], "cancelled");
    let before = app.snapshot().await;
    assert_error(&app.signed(&m, "/api/v1/payin/cancel", json!({"id": id})).await, 409, "INVALID_STATE");
    assert_error(&app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await, 409, "INVALID_STATE");
    assert_eq!(app.snapshot().await, before);

    app.fund(&m, "RUB", "100.00").await;
    let (_, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("c-2", "30.00")).await;
    let po = body["data"]["id"].as_str().unwrap();
    assert_eq!(app.balance(&m, "RUB").await, ("70.00".into(), "30.00".into(), "0.00".into()));
    let (s, body) = app.signed(&m, "/api/v1/payout/cancel", json!({"id": po})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["status"], "cancelled");
    assert_eq!(app.balance(&m, "RUB").await, ("100.00".into(), "0.00".into(), "0.00".into()));
    assert_error(&app.signed(&m, "/api/v1/payout/cancel", json!({"id": po})).await, 409, "INVALID_STATE");
    // Processing payouts can no longer be cancelled.
    let (_, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("c-3", "30.00")).await;
    let po = body["data"]["id"].as_str().unwrap().to_string();
    let (s, _) = app.admin(Method::POST, &format!("/admin/v1/payouts/{po}/processing"), None).await;
    assert_eq!(s, 200);
    assert_error(&app.signed(&m, "/api/v1/payout/cancel", json!({"id": po})).await, 409, "INVALID_STATE");
    app.assert_ledger_ok().await;
}

async fn payout_failure_returns_the_hold(app: TestApp) {
    let m = app.create_merchant("fail@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let (_, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("f-1", "60.00")).await;
    let po = body["data"]["id"].as_str().unwrap().to_string();
    let (s, body) = app.signed(&m, "/api/v1/sandbox/payout/settle", json!({"id": po, "outcome": "failed"})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["status"], "failed");
    assert!(body["data"]["failure_reason"].is_string());
    assert_eq!(app.balance(&m, "RUB").await, ("100.00".into(), "0.00".into(), "0.00".into()));
    // Operator path: processing then fail with a reason.
    let (_, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("f-2", "60.00")).await;
    let po = body["data"]["id"].as_str().unwrap().to_string();
    app.admin(Method::POST, &format!("/admin/v1/payouts/{po}/processing"), None).await;
    let (s, body) = app
        .admin(Method::POST, &format!("/admin/v1/payouts/{po}/fail"), Some(json!({"reason": "bank rejected"})))
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["failure_reason"], "bank rejected");
    assert_eq!(app.balance(&m, "RUB").await, ("100.00".into(), "0.00".into(), "0.00".into()));
    assert_error(
        &app.admin(Method::POST, &format!("/admin/v1/payouts/{po}/success"), None).await,
        409,
        "INVALID_STATE",
    );
    app.assert_ledger_ok().await;
}

async fn payout_destination_is_masked_everywhere(app: TestApp) {
    let m = app.create_merchant("mask@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let (s, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("m-1", "1.00")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["destination"], json!({"card_number": "411111******1111"}));
    assert!(!body.to_string().contains("4111111111111111"));
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let (_, got) = app.signed(&m, "/api/v1/payout/get", json!({"id": id})).await;
    assert!(!got.to_string().contains("4111111111111111"));
    let (_, list) = app.signed(&m, "/api/v1/payout/list", json!({})).await;
    assert!(!list.to_string().contains("4111111111111111"));
    let (_, search) = app.admin(Method::GET, "/admin/v1/payouts", None).await;
    assert!(!search.to_string().contains("4111111111111111"));
    // Only the operator's single view shows the full number (the manual provider pays it)…
    let (_, admin) = app.admin(Method::GET, &format!("/admin/v1/payouts/{id}"), None).await;
    assert_eq!(admin["data"]["destination_full"]["card_number"], "4111111111111111");
    // …and the database holds it sealed, not in clear.
    use sqlx::Row;
    let row = sqlx::query("SELECT destination_masked, destination_sealed FROM payouts WHERE id = $1")
        .bind(&id)
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    let masked: String = row.get("destination_masked");
    let sealed: String = row.get("destination_sealed");
    assert!(!masked.contains("4111111111111111") && !sealed.contains("4111111111111111"));
    for (method, dest, shown) in [
        ("iban", json!({"iban": "DE89 3704 0044 0532 0130 00", "holder_name": "Max"}), "DE89**************3000"),
        ("sbp", json!({"phone": "+79161234567", "bank_code": "sber"}), "+7******4567"),
    ] {
        let b = json!({"merchant_order_id": format!("m-{method}"), "amount": "1.00", "currency": "RUB", "method": method, "destination": dest});
        let (s, body) = app.signed(&m, "/api/v1/payout/create", b).await;
        assert_eq!(s, 201, "{body}");
        assert!(body["data"]["destination"].to_string().contains(shown), "{body}");
    }
}

async fn expired_payins_are_expired_by_the_worker(app: TestApp) {
    let m = app.create_merchant("expiry@example.com").await;
    let (_, body) = app
        .signed(
            &m,
            "/api/v1/payin/create",
            json!({"merchant_order_id": "e-1", "amount": "5.00", "currency": "RUB",
        "method": "card", "customer_id": "c", "ttl_seconds": 60}),
        )
        .await;
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let (_, other) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("e-2", "5.00")).await;
    // Move the deadline into the past instead of waiting a minute.
    sqlx::query("UPDATE payins SET expires_at = $1 WHERE id = $2")
        .bind(paygate_store::time::now_micros() - 1_000_000)
        .bind(&id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let mut status = String::new();
    for _ in 0..50 {
        let (_, got) = app.signed(&m, "/api/v1/payin/get", json!({"id": id})).await;
        status = got["data"]["status"].as_str().unwrap().to_string();
        if status == "expired" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, "expired", "the worker should expire a due payin within seconds");
    let (_, still) = app.signed(&m, "/api/v1/payin/get", json!({"id": other["data"]["id"]})).await;
    assert_eq!(still["data"]["status"], "pending");
    assert_error(&app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": id})).await, 409, "INVALID_STATE");
    use sqlx::Row;
    let n: i64 = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM events WHERE object_id = $1 AND event_type = 'payin.expired'",
    )
    .bind(&id)
    .fetch_one(app.state.db.pool())
    .await
    .unwrap()
    .get("n");
    assert_eq!(n, 1, "exactly one payin.expired event");
}

async fn get_by_order_id_and_list_with_filters(app: TestApp) {
    let m = app.create_merchant("list@example.com").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let mut b = TestApp::payin_body(&format!("l-{i}"), "1.00");
        if i == 4 {
            b["currency"] = json!("USD");
        }
        let (_, body) = app.signed(&m, "/api/v1/payin/create", b).await;
        ids.push(body["data"]["id"].as_str().unwrap().to_string());
    }
    app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": ids[0]})).await;
    let (s, got) = app.signed(&m, "/api/v1/payin/get", json!({"merchant_order_id": "l-2"})).await;
    assert_eq!(s, 200);
    assert_eq!(got["data"]["id"], ids[2].as_str());
    assert_error(&app.signed(&m, "/api/v1/payin/get", json!({})).await, 422, "VALIDATION_ERROR");
    assert_error(&app.signed(&m, "/api/v1/payin/get", json!({"merchant_order_id": "nope"})).await, 404, "NOT_FOUND");
    let (_, page1) = app.signed(&m, "/api/v1/payin/list", json!({"limit": 2})).await;
    let items = page1["data"]["items"].as_array().unwrap();
    assert_eq!(
        items.iter().map(|i| i["id"].as_str().unwrap()).collect::<Vec<_>>(),
        vec![ids[4].as_str(), ids[3].as_str()],
        "newest first"
    );
    let cursor = page1["data"]["next_cursor"].as_str().unwrap();
    let (_, page2) = app.signed(&m, "/api/v1/payin/list", json!({"limit": 2, "cursor": cursor})).await;
    assert_eq!(page2["data"]["items"][0]["id"], ids[2].as_str());
    let (_, succ) = app.signed(&m, "/api/v1/payin/list", json!({"status": ["success"]})).await;
    assert_eq!(succ["data"]["items"].as_array().unwrap().len(), 1);
    let (_, usd) = app.signed(&m, "/api/v1/payin/list", json!({"currency": "USD"})).await;
    assert_eq!(usd["data"]["items"].as_array().unwrap().len(), 1);
    let (_, future) = app.signed(&m, "/api/v1/payin/list", json!({"date_from": "2999-01-01T00:00:00Z"})).await;
    assert_eq!(future["data"]["items"], json!([]));
    assert_error(&app.signed(&m, "/api/v1/payin/list", json!({"status": ["paid"]})).await, 422, "VALIDATION_ERROR");
    assert_error(&app.signed(&m, "/api/v1/payin/list", json!({"limit": 101})).await, 422, "VALIDATION_ERROR");
    assert_error(&app.signed(&m, "/api/v1/payin/list", json!({"date_to": "yesterday"})).await, 422, "VALIDATION_ERROR");
}

async fn balance_history_lists_every_movement(app: TestApp) {
    let m = app.create_merchant("history@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let (_, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("h-1", "40.00")).await;
    let po = body["data"]["id"].as_str().unwrap().to_string();
    let (s, hist) = app.signed(&m, "/api/v1/balance/history", json!({})).await;
    assert_eq!(s, 200, "{hist}");
    let items = hist["data"]["items"].as_array().unwrap();
    // Newest first: the hold (available -40, hold +40), then the funding.
    let got: Vec<(String, String, String)> = items
        .iter()
        .map(|e| {
            (
                e["bucket"].as_str().unwrap().into(),
                e["amount"].as_str().unwrap().into(),
                e["balance_after"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{hist}");
    assert!(got.contains(&("hold".into(), "40.00".into(), "40.00".into())));
    assert!(got.contains(&("available".into(), "-40.00".into(), "60.00".into())));
    assert_eq!(got[2], ("available".into(), "100.00".into(), "100.00".into()));
    assert!(items.iter().any(|e| e["ref_id"] == po.as_str() && e["reason"] == "payout_hold"));
    assert!(items[2]["reason"].as_str().unwrap().contains("test funding"));
}

async fn amounts_accept_numbers_exactly(app: TestApp) {
    let m = app.create_merchant("numbers@example.com").await;
    let mut b = TestApp::payin_body("n-1", "0");
    b["amount"] = serde_json::from_str("1234567.89").unwrap();
    let (s, body) = app.signed(&m, "/api/v1/payin/create", b).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["amount"], "1234567.89");
    let mut b = TestApp::payin_body("n-2", "0");
    b["currency"] = json!("BTC");
    b["method"] = json!("crypto");
    b["amount"] = json!("0.00000001");
    let (s, body) = app.signed(&m, "/api/v1/payin/create", b).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["amount"], "0.00000001");
    let mut b = TestApp::payin_body("n-3", "0");
    b["currency"] = json!("JPY");
    b["amount"] = json!(1500);
    let (_, body) = app.signed(&m, "/api/v1/payin/create", b).await;
    assert_eq!(body["data"]["amount"], "1500");
}
