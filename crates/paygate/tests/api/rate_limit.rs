//! Per-merchant rate limits (API.md section 1: 429 `RATE_LIMITED` with
//! `Retry-After`): a refused request changes nothing, only authenticated
//! requests count, merchants do not share a budget, 0 turns the limit off,
//! and the operator can give a merchant a rate of its own.
//!
//! The lowest rate is 1 a second, so a bucket earns a token back after one
//! second: a scenario only shows a refusal if its requests all ran within
//! that second. Each one therefore runs on a fresh merchant, times itself,
//! and on a machine too slow to finish in time is run again (and fails if
//! it never is fast enough), instead of asserting something it cannot know.

use crate::both_backends;
use crate::helpers::*;
use serde_json::{json, Value};
use std::future::Future;
use std::time::{Duration, Instant};

both_backends!(
    over_the_limit_is_429_with_retry_after_and_changes_nothing,
    failed_authentication_does_not_spend_the_budget,
    zero_turns_the_limit_off,
    operator_sets_a_merchants_own_rate,
);

const CREATE: &str = "/api/v1/payin/create";

/// Comfortably less than the second in which a spent token comes back.
const WINDOW: Duration = Duration::from_millis(800);

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

/// Runs `scenario` on fresh merchants until one run's requests fit in
/// [`WINDOW`]; returns that run's result for the caller to assert on.
async fn within_a_window<T, F, Fut>(app: &TestApp, mut scenario: F) -> T
where
    F: FnMut(Merchant) -> Fut,
    Fut: Future<Output = (T, Duration)>,
{
    for attempt in 0..5 {
        let m = app.create_merchant(&format!("burst-{attempt}@example.com")).await;
        let (result, took) = scenario(m).await;
        if took < WINDOW {
            return result;
        }
        eprintln!("attempt {attempt} took {took:?}: a token may have come back; again on a fresh merchant");
    }
    panic!("never ran its requests within {WINDOW:?}");
}

/// A node limit of 1 a second with a burst of 3.
async fn limited(app: TestApp) -> TestApp {
    app.restart_with(|s| {
        s.rate_limit_per_second = 1;
        s.rate_limit_burst = Some(3);
    })
    .await
}

/// `before` with `n` more payins.
fn plus_payins(mut before: Vec<(String, String)>, n: i64) -> Vec<(String, String)> {
    let row = before.iter_mut().find(|(table, _)| table == "payins").expect("payins counted");
    row.1 = (row.1.parse::<i64>().unwrap() + n).to_string();
    without_payin_changes(before)
}

/// A snapshot without its latest-payin-change entry, which new payins move.
fn without_payin_changes(snapshot: Vec<(String, String)>) -> Vec<(String, String)> {
    snapshot.into_iter().filter(|(key, _)| key != "payins changed").collect()
}

async fn over_the_limit_is_429_with_retry_after_and_changes_nothing(app: TestApp) {
    let app = limited(app).await;
    let other = app.create_merchant("quiet@example.com").await;
    let (m, before, refused, retry_after, get_status) = within_a_window(&app, |m| {
        let app = &app;
        async move {
            let before = app.snapshot().await;
            let started = Instant::now();
            for i in 0..3 {
                let (got, _) = create_payin(app, &m, &format!("ord-{i}")).await;
                assert_eq!(got.0, 201, "{}", got.1);
            }
            let (refused, retry_after) = create_payin(app, &m, "ord-refused").await;
            let (get_status, _) = app.signed(&m, "/api/v1/payin/get", json!({"merchant_order_id": "ord-0"})).await;
            ((m, before, refused, retry_after, get_status), started.elapsed())
        }
    })
    .await;
    assert_error(&refused, 429, "RATE_LIMITED");
    assert_eq!(retry_after.as_deref(), Some("1"));
    assert_eq!(get_status, 429, "reads count too");
    assert_eq!(
        without_payin_changes(app.snapshot().await),
        plus_payins(before, 3),
        "the refused create wrote something"
    );

    // Another merchant has a budget of its own.
    let (got, _) = create_payin(&app, &other, "ord-0").await;
    assert_eq!(got.0, 201, "{}", got.1);

    // Retry-After is honest: after it, the same request goes through.
    tokio::time::sleep(Duration::from_millis(1100)).await;
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
    let refused = within_a_window(&app, |m| {
        let app = &app;
        async move {
            // Someone with the public token but not the secret.
            let ts = now_secs().to_string();
            let forged = sign("not-the-secret", &ts, &m.email);
            for _ in 0..10 {
                let got = app.post_with_headers(CREATE, &auth_triplet(&m.public_token, &ts, &forged), "{}").await;
                assert_error(&got, 401, "AUTH_BAD_SIGNATURE");
            }
            let started = Instant::now();
            // Bad input from the merchant itself does count: it was authenticated.
            let (status, body) = app.signed(&m, CREATE, json!({"amount": "1.00"})).await;
            assert_eq!(status, 422, "{body}");
            for i in 0..2 {
                let (got, _) = create_payin(app, &m, &format!("ord-{i}")).await;
                assert_eq!(got.0, 201, "{}", got.1);
            }
            let (refused, _) = create_payin(app, &m, "ord-2").await;
            (refused, started.elapsed())
        }
    })
    .await;
    assert_error(&refused, 429, "RATE_LIMITED");
}

async fn zero_turns_the_limit_off(app: TestApp) {
    // Were 0 read as a rate, a burst of 1 would refuse the second request.
    let app = app
        .restart_with(|s| {
            s.rate_limit_per_second = 0;
            s.rate_limit_burst = Some(1);
        })
        .await;
    let m = app.create_merchant("unlimited@example.com").await;
    for i in 0..30 {
        let (got, retry_after) = create_payin(&app, &m, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
        assert_eq!(retry_after, None);
    }
    // And the contract documents the 429 on merchant calls only, the 503
    // on merchant and admin calls.
    let doc: Value = app.http.get(app.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    let responses = &doc["paths"][CREATE]["post"]["responses"];
    for status in ["429", "503"] {
        assert!(responses[status]["headers"]["Retry-After"].is_object(), "{status}: {responses}");
    }
    let admin = &doc["paths"]["/admin/v1/merchants"]["post"]["responses"];
    assert!(admin["429"].is_null() && admin["503"]["headers"]["Retry-After"].is_object(), "{admin}");
    // Operations outside the two APIs keep their own 503 (readiness).
    let ready = &doc["paths"]["/readyz"]["get"]["responses"]["503"];
    assert!(ready["headers"].is_null(), "{ready}");
}

async fn operator_sets_a_merchants_own_rate(app: TestApp) {
    // The node has no limit; the merchant's own rate still applies.
    let app = app.restart_with(|s| s.rate_limit_per_second = 0).await;
    let probe = app.create_merchant("probe@example.com").await;
    let path = format!("/admin/v1/merchants/{}", probe.id);
    for bad in [json!(-1), json!(1_000_000_001_i64), json!("fast"), json!(1.5)] {
        let before = app.snapshot().await;
        let got = app.admin(reqwest::Method::PATCH, &path, Some(json!({"rate_limit_per_second": bad}))).await;
        assert!(got.0 == 400 || got.0 == 422, "{bad}: {}", got.1);
        assert_eq!(app.snapshot().await, before);
    }
    let (refused, retry_after) = within_a_window(&app, |m| {
        let app = &app;
        async move {
            let path = format!("/admin/v1/merchants/{}", m.id);
            let (s, body) = app.admin(reqwest::Method::PATCH, &path, Some(json!({"rate_limit_per_second": 1}))).await;
            assert_eq!(s, 200, "{body}");
            assert_eq!(body["data"]["rate_limit_per_second"], 1);
            let started = Instant::now();
            // A rate of 1 a second comes with a burst of 2.
            for i in 0..2 {
                let (got, _) = create_payin(app, &m, &format!("ord-{i}")).await;
                assert_eq!(got.0, 201, "{}", got.1);
            }
            (create_payin(app, &m, "ord-2").await, started.elapsed())
        }
    })
    .await;
    assert_error(&refused, 429, "RATE_LIMITED");
    assert_eq!(retry_after.as_deref(), Some("1"));
    // Others keep the node's setting (here: none).
    for i in 0..10 {
        let (got, _) = create_payin(&app, &probe, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
    }

    // Against a strict node, a merchant's own 0 means no limit, and null
    // goes back to the node's setting at once.
    let app = limited(app).await;
    let m = app.create_merchant("trusted@example.com").await;
    let path = format!("/admin/v1/merchants/{}", m.id);
    let (s, body) = app.admin(reqwest::Method::PATCH, &path, Some(json!({"rate_limit_per_second": 0}))).await;
    assert_eq!(s, 200, "{body}");
    for i in 0..10 {
        let (got, _) = create_payin(&app, &m, &format!("ord-{i}")).await;
        assert_eq!(got.0, 201, "{}", got.1);
    }
    let (s, body) = app.admin(reqwest::Method::PATCH, &path, Some(json!({"rate_limit_per_second": null}))).await;
    assert_eq!(s, 200, "{body}");
    assert!(body["data"]["rate_limit_per_second"].is_null(), "{body}");
    let (s, body) = app.admin(reqwest::Method::GET, &path, None).await;
    assert!(s == 200 && body["data"]["rate_limit_per_second"].is_null(), "{body}");
}
