//! Every validation rule of payin and payout creation: the documented code,
//! the offending field named, and the database unchanged.

use crate::both_backends;
use crate::helpers::*;
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(invalid_payins_change_nothing, invalid_payouts_change_nothing, limits_are_enforced);

fn with(base: &Value, changes: Value) -> Value {
    let mut b = base.clone();
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            b.as_object_mut().unwrap().remove(k);
        } else {
            b[k] = v.clone();
        }
    }
    b
}

async fn invalid_payins_change_nothing(app: TestApp) {
    let m = app.create_merchant("valid@example.com").await;
    let base = TestApp::payin_body("v-1", "100.00");
    let long = "x".repeat(129);
    let big_meta: Value = json!({"blob": "y".repeat(5000)});
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (with(&base, json!({"merchant_order_id": null})), 422, "VALIDATION_ERROR", "merchant_order_id"),
        (with(&base, json!({"merchant_order_id": ""})), 422, "VALIDATION_ERROR", "merchant_order_id"),
        (with(&base, json!({"merchant_order_id": long})), 422, "VALIDATION_ERROR", "merchant_order_id"),
        (with(&base, json!({"merchant_order_id": "has space"})), 422, "VALIDATION_ERROR", "merchant_order_id"),
        (with(&base, json!({"amount": null})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "0"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "-5.00"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": -5})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "1.001"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "NaN"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "Infinity"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "1e3"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "99999999999999999999"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": true})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"currency": "XXX"})), 422, "UNSUPPORTED_CURRENCY", ""),
        (with(&base, json!({"currency": "rub"})), 422, "UNSUPPORTED_CURRENCY", ""),
        (with(&base, json!({"method": "paypal"})), 422, "UNSUPPORTED_METHOD", ""),
        (with(&base, json!({"customer_id": null})), 422, "VALIDATION_ERROR", "customer_id"),
        (with(&base, json!({"customer_id": ""})), 422, "VALIDATION_ERROR", "customer_id"),
        (with(&base, json!({"customer_ip": "999.1.1.1"})), 422, "VALIDATION_ERROR", "customer_ip"),
        (with(&base, json!({"customer_email": "nope"})), 422, "VALIDATION_ERROR", "customer_email"),
        (with(&base, json!({"callback_url": "ftp://x.example/"})), 422, "VALIDATION_ERROR", "callback_url"),
        (with(&base, json!({"return_url": "javascript:alert(1)"})), 422, "VALIDATION_ERROR", "return_url"),
        (with(&base, json!({"ttl_seconds": 59})), 422, "VALIDATION_ERROR", "ttl_seconds"),
        (with(&base, json!({"ttl_seconds": 86401})), 422, "VALIDATION_ERROR", "ttl_seconds"),
        (with(&base, json!({"ttl_seconds": "600"})), 422, "VALIDATION_ERROR", "ttl_seconds"),
        (with(&base, json!({"metadata": [1, 2]})), 422, "VALIDATION_ERROR", "metadata"),
        (with(&base, json!({"metadata": big_meta})), 422, "VALIDATION_ERROR", "metadata"),
        (with(&base, json!({"unexpected": 1})), 422, "VALIDATION_ERROR", "unexpected"),
    ];
    let before = app.snapshot().await;
    for (body, status, code, field) in cases {
        let got = app.signed(&m, "/api/v1/payin/create", body.clone()).await;
        assert_error(&got, status, code);
        if !field.is_empty() {
            assert!(got.1["error"]["details"].to_string().contains(field), "{body} → {}", got.1);
        }
    }
    let raw = app.post_with_headers("/api/v1/payin/create", &[], "{\"amount\":").await;
    assert_eq!(raw.0, 401, "unauthenticated first");
    assert_eq!(app.snapshot().await, before);
}

async fn invalid_payouts_change_nothing(app: TestApp) {
    let m = app.create_merchant("valid-po@example.com").await;
    app.fund(&m, "RUB", "1000.00").await;
    let base = TestApp::payout_body("vp-1", "10.00");
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (with(&base, json!({"destination": null})), 422, "VALIDATION_ERROR", "destination"),
        (with(&base, json!({"destination": "4111111111111111"})), 422, "VALIDATION_ERROR", "destination"),
        (
            with(&base, json!({"destination": {"card_number": "4111111111111112"}})),
            422,
            "VALIDATION_ERROR",
            "destination.card_number",
        ),
        (
            with(&base, json!({"destination": {"card_number": "4111"}})),
            422,
            "VALIDATION_ERROR",
            "destination.card_number",
        ),
        (with(&base, json!({"destination": {"pan": "4111111111111111"}})), 422, "VALIDATION_ERROR", "destination.pan"),
        (
            with(
                &base,
                json!({"method": "iban", "destination": {"iban": "DE89370400440532013001", "holder_name": "A"}}),
            ),
            422,
            "VALIDATION_ERROR",
            "destination.iban",
        ),
        (
            with(&base, json!({"method": "iban", "destination": {"iban": "DE89370400440532013000"}})),
            422,
            "VALIDATION_ERROR",
            "destination.holder_name",
        ),
        (
            with(&base, json!({"method": "sbp", "destination": {"phone": "89161234567", "bank_code": "sber"}})),
            422,
            "VALIDATION_ERROR",
            "destination.phone",
        ),
        (
            with(&base, json!({"method": "crypto", "destination": {"address": "abc", "network": "TRC20"}})),
            422,
            "VALIDATION_ERROR",
            "destination.address",
        ),
        (
            with(
                &base,
                json!({"method": "bank_transfer", "destination": {"account_number": "1", "bank_code": "x", "holder_name": "A"}}),
            ),
            422,
            "VALIDATION_ERROR",
            "destination.account_number",
        ),
        (with(&base, json!({"amount": "10.001"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"amount": "0.00"})), 422, "VALIDATION_ERROR", "amount"),
        (with(&base, json!({"currency": "XXX"})), 422, "UNSUPPORTED_CURRENCY", ""),
        (with(&base, json!({"method": "cheque"})), 422, "UNSUPPORTED_METHOD", ""),
        (with(&base, json!({"amount": "1000.01"})), 402, "INSUFFICIENT_FUNDS", ""),
        (with(&base, json!({"currency": "USD"})), 402, "INSUFFICIENT_FUNDS", ""),
    ];
    let before = app.snapshot().await;
    for (body, status, code, field) in cases {
        let got = app.signed(&m, "/api/v1/payout/create", body.clone()).await;
        assert_error(&got, status, code);
        if !field.is_empty() {
            assert!(got.1["error"]["details"].to_string().contains(field), "{body} → {}", got.1);
        }
        assert!(!got.1.to_string().contains("4111111111111112"), "error echoes a card number");
    }
    // Admin side: a debit larger than available, a zero, a bad currency.
    for (body, status, code) in [
        (json!({"currency": "RUB", "amount": "-1000.01", "reason": "x"}), 402, "INSUFFICIENT_FUNDS"),
        (json!({"currency": "RUB", "amount": "0", "reason": "x"}), 422, "VALIDATION_ERROR"),
        (json!({"currency": "XXX", "amount": "1", "reason": "x"}), 422, "UNSUPPORTED_CURRENCY"),
        (json!({"currency": "RUB", "amount": "1", "reason": ""}), 422, "VALIDATION_ERROR"),
    ] {
        assert_error(
            &app.admin(Method::POST, &format!("/admin/v1/balances/{}/adjust", m.id), Some(body)).await,
            status,
            code,
        );
    }
    assert_error(
        &app.admin(
            Method::POST,
            "/admin/v1/balances/mch_nope/adjust",
            Some(json!({"currency": "RUB", "amount": "1", "reason": "x"})),
        )
        .await,
        404,
        "NOT_FOUND",
    );
    assert_eq!(app.snapshot().await, before);
    app.assert_ledger_ok().await;
}

async fn limits_are_enforced(app: TestApp) {
    let m = app.create_merchant("limits@example.com").await;
    let (s, _) = app
        .admin(Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({"limits": {"payin": {"RUB": {"min": "100.00", "max": "500.00"}}, "payout": {"RUB": {"max": "50"}}}})))
        .await;
    assert_eq!(s, 200);
    app.fund(&m, "RUB", "1000.00").await;
    let before = app.snapshot().await;
    assert_error(
        &app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lim-1", "99.99")).await,
        422,
        "AMOUNT_OUT_OF_LIMITS",
    );
    assert_error(
        &app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("lim-2", "500.01")).await,
        422,
        "AMOUNT_OUT_OF_LIMITS",
    );
    assert_error(
        &app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("lim-3", "50.01")).await,
        422,
        "AMOUNT_OUT_OF_LIMITS",
    );
    assert_eq!(app.snapshot().await, before);
    for (order, amount) in [("lim-4", "100.00"), ("lim-5", "500.00")] {
        assert_eq!(app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(order, amount)).await.0, 201);
    }
    assert_eq!(app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("lim-6", "50.00")).await.0, 201);
}
