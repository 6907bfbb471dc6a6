//! Bad input on the exchange API: every field refused with a clear error in
//! Switchere's shape, and nothing changed.

use crate::helpers::*;
use crate::partner_support::*;
use reqwest::Method;
use serde_json::{json, Value};

fn order(overrides: Value) -> Value {
    let mut body = json!({"partner_order_id": "bad-1", "payin_currency": "ETH", "payout_currency": "BTC",
                          "payin_amount": "1", "dst_address": BTC_ADDRESS});
    for (k, v) in overrides.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

async fn every_bad_field_is_refused_and_changes_nothing(app: TestApp) {
    app.configure_exchange().await;
    let p = app.create_partner("bad@example.com", json!({})).await;
    let create = "/api/v2/partner/order/create";
    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"payin_currency": "XYZ"}), 422, "UNSUPPORTED_CURRENCY"),
        (json!({"payout_currency": null}), 422, "VALIDATION_ERROR"),
        (json!({"payin_group": "pigeon"}), 422, "VALIDATION_ERROR"),
        (json!({"payin_group": "card"}), 422, "PAIR_NOT_AVAILABLE"),
        (json!({"payout_amount": "0.01"}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": null}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": "1.000000001"}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": "-1"}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": 0}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": "1e3"}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": "NaN"}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": "99999999999999999999999999"}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": [1]}), 422, "VALIDATION_ERROR"),
        (json!({"payin_amount": "0.00000001"}), 422, "AMOUNT_OUT_OF_LIMITS"),
        (json!({"payout_currency": "USD"}), 422, "PAIR_NOT_AVAILABLE"),
        (json!({"payin_currency": "BTC"}), 422, "PAIR_NOT_AVAILABLE"),
        (json!({"dst_address": null}), 422, "VALIDATION_ERROR"),
        (json!({"dst_address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNb"}), 422, "VALIDATION_ERROR"),
        (json!({"dst_tag": 4294967296u64}), 422, "VALIDATION_ERROR"),
        (json!({"dst_tag": "-1"}), 422, "VALIDATION_ERROR"),
        (json!({"client_email": "not-an-email"}), 422, "VALIDATION_ERROR"),
        (json!({"callback_url": "ftp://example.com/x"}), 422, "VALIDATION_ERROR"),
        (json!({"partner_order_id": "has space"}), 422, "VALIDATION_ERROR"),
        (json!({"partner_order_id": null}), 422, "VALIDATION_ERROR"),
        (json!({"free_first": 7}), 422, "VALIDATION_ERROR"),
    ];
    let before = app.snapshot().await;
    for (overrides, status, code) in cases {
        let body = order(overrides.clone());
        let got = app.partner_post(&p, create, body).await;
        assert_eq!(got.0, status, "{overrides}: {}", got.1);
        assert_partner_error(&got, status, code);
    }
    // Card payins of USD have limits of 10.00 to 5000.00.
    let usd = |amount: &str| {
        json!({"partner_order_id": "usd", "payin_currency": "USD", "payout_currency": "BTC",
                                     "payin_amount": amount, "dst_address": BTC_ADDRESS})
    };
    assert_partner_error(&app.partner_post(&p, create, usd("9.99")).await, 422, "AMOUNT_OUT_OF_LIMITS");
    assert_partner_error(&app.partner_post(&p, create, usd("5000.01")).await, 422, "AMOUNT_OUT_OF_LIMITS");
    // Not JSON at all: 400 BAD_JSON.
    let sig = paygate_core::signature::partner_signature(
        p.secret.as_bytes(),
        format!("{create}{{nope").as_bytes(),
        paygate_core::signature::Base64Padding::Padded,
    );
    assert_partner_error(&app.partner_raw(&p.api_key, &sig, Method::POST, create, "{nope").await, 400, "BAD_JSON");
    // Quotes refuse the same way.
    let fee = app
        .partner_post(&p, "/api/v2/partner/order/fee", json!({"payin_currency": "ETH", "payout_currency": "BTC"}))
        .await;
    assert_partner_error(&fee, 422, "VALIDATION_ERROR");
    let v1 = app
        .http
        .post(app.url("/api/v1/public/order/fee"))
        .body(json!({"payin_currency": "ETH", "payout_currency": "BTC", "payin_amount": 1}).to_string());
    assert_partner_error(&read(v1.send().await.unwrap()).await, 422, "VALIDATION_ERROR");
    // Unknown orders and pairs: 404.
    assert_partner_error(
        &app.partner_post(&p, "/api/v2/partner/order", json!({"client_order_id": "ex_nope"})).await,
        404,
        "NOT_FOUND",
    );
    let ticker = app.http.get(app.url("/api/v2/public/ticker/DOGE-BTC")).send().await.unwrap();
    assert_partner_error(&read(ticker).await, 404, "NOT_FOUND");
    let list = app.partner_call(&p, Method::GET, "/api/v1/partner/order/list?rows=1000", None).await;
    assert_partner_error(&list, 422, "VALIDATION_ERROR");
    assert_eq!(app.snapshot().await, before);
}

async fn public_reads_answer_in_switchere_shapes(app: TestApp) {
    app.configure_exchange().await;
    let get = |path: &'static str| {
        let req = app.http.get(app.url(path));
        async move { read(req.send().await.unwrap()).await }
    };
    let (s, currency) = get("/api/v2/public/currency").await;
    assert_eq!(s, 200);
    assert_eq!(currency["ETH"], json!(["BTC", "EUR"]));
    assert_eq!(currency["USD"], json!(["BTC"]));
    assert_eq!(get("/api/v1/public/currency").await.1, currency);
    let (_, methods) = get("/api/v2/public/payment/payin").await;
    assert_eq!(methods[0]["group"], "card", "priority order: {methods}");
    assert_eq!(methods[1]["list"][0], json!({"currency": "ETH", "is_crypto": true}));
    let (_, ticker) = get("/api/v2/public/ticker/BTC-USD").await;
    assert_eq!(
        ticker,
        json!({"name": "BTC-USD", "ask": "31000.000000000000000000", "bid": "29000.000000000000000000",
                              "floating_rate": "30000.000000000000000000"})
    );
    let (s, quote) = get_quote(&app).await;
    assert_eq!(s, 200, "{quote}");
    // 100 USD by card − 1.5 % = 98.50 USD at ask 31000 = 0.00317741 BTC (rounded down).
    assert_eq!(quote["payout_amount"], "0.003177410000000000");
}

async fn get_quote(app: &TestApp) -> (u16, Value) {
    let body =
        json!({"payin_currency": "USD", "payout_currency": "BTC", "payin_amount": "100", "partner_order_id": "q"});
    read(app.http.post(app.url("/api/v1/public/order/fee")).body(body.to_string()).send().await.unwrap()).await
}

crate::both_backends!(every_bad_field_is_refused_and_changes_nothing, public_reads_answer_in_switchere_shapes);
