//! Live merchants are served by the manual provider: requisites come from
//! the operator's pool, concurrent payins on one requisite differ in amount,
//! and the operator confirms receipt and settles payouts.

use crate::both_backends;
use crate::helpers::*;
use reqwest::Method;
use serde_json::json;
use std::sync::Arc;

both_backends!(
    live_payins_use_the_pool_and_operator_confirms,
    concurrent_payins_are_told_apart,
    sandbox_is_refused_for_live_merchants,
    concurrent_pool_replacements_leave_one_of_the_lists
);

async fn live_merchant(app: &TestApp, email: &str) -> Merchant {
    let m = app.create_merchant(email).await;
    let (s, _) =
        app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({"mode": "live"}))).await;
    assert_eq!(s, 200);
    m
}

async fn put_pool(app: &TestApp, n: usize) -> Vec<String> {
    let items: Vec<_> = (0..n)
        .map(|i| json!({"id": format!("card-{i}"), "method": "card", "currency": "RUB",
                         "details": {"type": "card", "card_number": format!("220000000000000{i}"), "bank_name": "Bank", "holder_name": "OPERATOR"},
                         "max_amount": "100000.00"}))
        .collect();
    let (s, body) = app.admin(Method::PUT, "/admin/v1/requisites", Some(json!(items))).await;
    assert_eq!(s, 200, "{body}");
    body["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_string()).collect()
}

async fn live_payins_use_the_pool_and_operator_confirms(app: TestApp) {
    let m = live_merchant(&app, "live@example.com").await;
    // No pool yet: the method cannot be served.
    assert_error(
        &app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lv-0", "10.00")).await,
        422,
        "UNSUPPORTED_METHOD",
    );
    put_pool(&app, 2).await;
    let (s, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lv-1", "500.00")).await;
    assert_eq!(s, 201, "{body}");
    assert_eq!(body["data"]["mode"], "live");
    assert!(body["data"]["requisites"]["card_number"].as_str().unwrap().starts_with("22000000000000"));
    let id = body["data"]["id"].as_str().unwrap().to_string();
    let (s, body) =
        app.admin(Method::POST, &format!("/admin/v1/payins/{id}/confirm"), Some(json!({"amount": "499.50"}))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["status"], "success");
    assert_eq!(body["data"]["amount"], "499.50");
    assert_eq!(app.balance(&m, "RUB").await.0, "499.50");
    // Operator failure of another payin; confirm after fail is refused.
    let (_, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lv-2", "10.00")).await;
    let id2 = body["data"]["id"].as_str().unwrap().to_string();
    let (s, _) = app
        .admin(Method::POST, &format!("/admin/v1/payins/{id2}/fail"), Some(json!({"reason": "no money arrived"})))
        .await;
    assert_eq!(s, 200);
    assert_error(
        &app.admin(Method::POST, &format!("/admin/v1/payins/{id2}/confirm"), Some(json!({}))).await,
        409,
        "INVALID_STATE",
    );
    // Payout lifecycle by the operator.
    let (_, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("lv-3", "100.00")).await;
    let po = body["data"]["id"].as_str().unwrap().to_string();
    assert_error(
        &app.admin(Method::POST, &format!("/admin/v1/payouts/{po}/success"), None).await,
        409,
        "INVALID_STATE",
    );
    app.admin(Method::POST, &format!("/admin/v1/payouts/{po}/processing"), None).await;
    let (s, body) = app.admin(Method::POST, &format!("/admin/v1/payouts/{po}/success"), None).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(app.balance(&m, "RUB").await, ("399.50".into(), "0.00".into(), "0.00".into()));
    // Admin search finds across merchants with filters.
    let (_, found) =
        app.admin(Method::GET, &format!("/admin/v1/payins?merchant_id={}&status=success,failed", m.id), None).await;
    assert_eq!(found["data"]["items"].as_array().unwrap().len(), 2);
    let (_, found) =
        app.admin(Method::GET, "/admin/v1/payins?currency=RUB&amount_min=400&amount_max=499.50", None).await;
    assert_eq!(found["data"]["items"].as_array().unwrap().len(), 1);
    assert_error(&app.admin(Method::GET, "/admin/v1/payins?amount_min=1", None).await, 422, "VALIDATION_ERROR");
    // Several ids at once, and dates with any offset.
    let (_, found) = app.admin(Method::GET, &format!("/admin/v1/payins?id={id2},{id}, pi_none"), None).await;
    let mut ids: Vec<&str> =
        found["data"]["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want = vec![id.as_str(), id2.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let (_, found) = app.admin(Method::GET, &format!("/admin/v1/payouts?id={po}&status=success"), None).await;
    assert_eq!(found["data"]["items"][0]["id"], po.as_str());
    let (_, none) = app.admin(Method::GET, "/admin/v1/payins?date_to=2000-01-01T05:00:00%2B05:00", None).await;
    assert_eq!(none["data"]["items"].as_array().unwrap().len(), 0);
    app.assert_ledger_ok().await;
}

async fn concurrent_payins_are_told_apart(app: TestApp) {
    let m = live_merchant(&app, "pool@example.com").await;
    put_pool(&app, 3).await;
    let app = Arc::new(app);
    // Eight payins of the same amount on three requisites: three fit, the rest
    // must wait for a requisite to free up (503), never share one.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (app, m) = (app.clone(), m.clone());
            tokio::spawn(async move {
                app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("same-{i}"), "100.00")).await
            })
        })
        .collect();
    let mut cards = Vec::new();
    for t in tasks {
        let (s, body) = t.await.unwrap();
        match s {
            201 => cards.push(body["data"]["requisites"]["card_number"].as_str().unwrap().to_string()),
            503 => assert_eq!(body["error"]["code"], "UNAVAILABLE"),
            other => panic!("{other}: {body}"),
        }
    }
    cards.sort();
    cards.dedup();
    assert_eq!(cards.len(), 3, "each pending payin of one amount has its own requisites");
    // A different amount may share a requisite.
    let (s, _) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("other-amount", "100.01")).await;
    assert_eq!(s, 201);
}

async fn sandbox_is_refused_for_live_merchants(app: TestApp) {
    let m = live_merchant(&app, "nosandbox@example.com").await;
    put_pool(&app, 1).await;
    let (_, body) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("ns-1", "10.00")).await;
    let before = app.snapshot().await;
    assert_error(
        &app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": body["data"]["id"]})).await,
        403,
        "FORBIDDEN",
    );
    assert_eq!(app.snapshot().await, before);
}

/// `PUT /admin/v1/requisites` replaces the pool: eight operators replacing
/// it at once all succeed, one after the other, and the pool is then exactly
/// one of their lists, never a mix (nor a 500 from a busy SQLite lock, nor a
/// 503 from replacements that hold every pooled connection while waiting
/// for one more, which a pool of four connections would show).
async fn concurrent_pool_replacements_leave_one_of_the_lists(app: TestApp) {
    let app = app.restart_with(|s| s.max_db_connections = 4).await;
    put_pool(&app, 3).await;
    let app = Arc::new(app);
    let mut puts = Vec::new();
    for n in 0..8 {
        let app = app.clone();
        puts.push(tokio::spawn(async move {
            let items: Vec<_> = (0..2)
                .map(|i| {
                    json!({"id": format!("op{n}-{i}"), "method": "card", "currency": "RUB",
                                 "details": {"type": "card", "card_number": "2200000000000000"}})
                })
                .collect();
            app.admin(Method::PUT, "/admin/v1/requisites", Some(json!(items))).await
        }));
    }
    for p in puts {
        let (s, body) = p.await.unwrap();
        assert_eq!(s, 200, "{body}");
    }
    let (_, pool) = app.admin(Method::GET, "/admin/v1/requisites", None).await;
    let ids: Vec<&str> = pool["data"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let operator = ids[0].split('-').next().unwrap();
    assert_eq!(ids, [format!("{operator}-0"), format!("{operator}-1")], "one operator's list, whole");
}
