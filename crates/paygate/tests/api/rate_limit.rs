//! Per-merchant rate limits (API.md section 1: 429 `RATE_LIMITED` with
//! `Retry-After`): a refused request changes nothing, only authenticated
//! requests count, merchants do not share a budget, and 0 turns it off.

use crate::both_backends;
use crate::helpers::*;
use serde_json::{json, Value};

both_backends!(
    over_the_limit_is_429_with_retry_after_and_changes_nothing,
    failed_authentication_does_not_spend_the_budget,
    zero_turns_the_limit_off,
    operator_sets_a_merchants_own_rate,
);

const CREATE: &str = "/api/v1/payin/create";

/// A signed payin create that also returns the `Retry-After` header.
async fn create_payin(app: &TestApp, m: &Merchant, order: &str) -> ((u16, Value), Option<String>) {
    let ts = now_secs().to_string();
    let sig = sign(&m.secret, &ts, &m.email);
    let resp = app
        .http
        .post(app.url(CREATE))
        .headers(auth_headers(&m.public_token, &ts, &sig))
        .json(&TestApp::payin_body(order, "10.00"))
        .send()
        .await
        .unwrap();
    let retry_after = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().to_string());
    (read(resp).await, retry_after)
}

/// A burst of 3 at 1 a second: the rate is low enough that the few requests
/// below cannot earn a token back unless they take a whole second.
async fn limited(app: TestApp) -> TestApp {
    app.restart_with(|s| {
        s.rate_limit_per_second = 1;
        s.rate_limit_burst = Some(3);
    })
    .await
}

async fn over_the_limit_is_429_with_retry_after_and_changes_nothing(app: TestApp) {
    let app = limited(app).await;
    let m = app.create_merchant("busy@example.com").await;
    let other = app.create_merchant("quiet@example.com").await;
    for i in 0..3 {
        let (got, _) = create_payin(&app, &m, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
    }
    let before = app.snapshot().await;
    let (got, retry_after) = create_payin(&app, &m, "ord-refused").await;
    assert_error(&got, 429, "RATE_LIMITED");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(app.snapshot().await, before, "a refused request wrote something");
    let (status, body) = app.signed(&m, "/api/v1/payin/get", json!({"merchant_order_id": "ord-refused"})).await;
    assert_eq!(status, 429, "reads count too: {body}");

    // Another merchant has a budget of its own.
    let (got, _) = create_payin(&app, &other, "ord-0").await;
    assert_eq!(got.0, 201, "{}", got.1);

    // Retry-After is honest: after it, the same request goes through.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (got, _) = create_payin(&app, &m, "ord-refused").await;
    assert_eq!(got.0, 201, "{}", got.1);

    // The operator API is not limited.
    for _ in 0..5 {
        let (s, body) = app.admin(reqwest::Method::GET, &format!("/admin/v1/merchants/{}", m.id), None).await;
        assert_eq!(s, 200, "{body}");
    }
}

async fn failed_authentication_does_not_spend_the_budget(app: TestApp) {
    let app = limited(app).await;
    let m = app.create_merchant("target@example.com").await;
    // Someone with the public token but not the secret.
    let ts = now_secs().to_string();
    let forged = sign("not-the-secret", &ts, &m.email);
    for _ in 0..10 {
        let got = app.post_with_headers(CREATE, &auth_triplet(&m.public_token, &ts, &forged), "{}").await;
        assert_error(&got, 401, "AUTH_BAD_SIGNATURE");
    }
    // Bad input from the merchant itself does count: it was authenticated.
    let (status, body) = app.signed(&m, CREATE, json!({"amount": "1.00"})).await;
    assert_eq!(status, 422, "{body}");
    for i in 0..2 {
        let (got, _) = create_payin(&app, &m, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
    }
    let (got, _) = create_payin(&app, &m, "ord-2").await;
    assert_error(&got, 429, "RATE_LIMITED");
}

async fn zero_turns_the_limit_off(app: TestApp) {
    let app = app.restart_with(|s| s.rate_limit_per_second = 0).await;
    let m = app.create_merchant("unlimited@example.com").await;
    for i in 0..30 {
        let (got, retry_after) = create_payin(&app, &m, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
        assert_eq!(retry_after, None);
    }
    // And the contract documents the 429 on merchant calls.
    let doc: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let refused = &doc["paths"][CREATE]["post"]["responses"]["429"];
    assert!(refused["headers"]["Retry-After"].is_object(), "{refused}");
    assert!(doc["paths"]["/admin/v1/merchants"]["post"]["responses"]["429"].is_null());
}

async fn operator_sets_a_merchants_own_rate(app: TestApp) {
    let m = app.create_merchant("slow@example.com").await;
    let other = app.create_merchant("default@example.com").await;
    let path = format!("/admin/v1/merchants/{}", m.id);
    for bad in [json!(-1), json!(1_000_000_001_i64), json!("fast"), json!(1.5)] {
        let before = app.snapshot().await;
        let got = app.admin(reqwest::Method::PATCH, &path, Some(json!({"rate_limit_per_second": bad}))).await;
        assert!(got.0 == 400 || got.0 == 422, "{bad}: {}", got.1);
        assert_eq!(app.snapshot().await, before);
    }
    let (s, body) = app.admin(reqwest::Method::PATCH, &path, Some(json!({"rate_limit_per_second": 1}))).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["rate_limit_per_second"], 1);
    // Its own rate of 1 a second comes with a burst of 2.
    for i in 0..2 {
        let (got, _) = create_payin(&app, &m, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
    }
    let (got, retry_after) = create_payin(&app, &m, "ord-2").await;
    assert_error(&got, 429, "RATE_LIMITED");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Others keep the node's default (1,000 a second).
    for i in 0..5 {
        let (got, _) = create_payin(&app, &other, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
    }
    // null goes back to the default, at once on this node.
    let (s, body) = app.admin(reqwest::Method::PATCH, &path, Some(json!({"rate_limit_per_second": null}))).await;
    assert_eq!(s, 200, "{body}");
    assert!(body["data"]["rate_limit_per_second"].is_null(), "{body}");
    let (got, _) = create_payin(&app, &m, "ord-2").await;
    assert_eq!(got.0, 201, "{}", got.1);
    let (s, body) = app.admin(reqwest::Method::GET, &path, None).await;
    assert_eq!(s, 200, "{body}");
    assert!(body["data"]["rate_limit_per_second"].is_null(), "{body}");
}
