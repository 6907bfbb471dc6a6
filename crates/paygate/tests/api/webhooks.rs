//! Webhooks: every status change reaches a live receiver, signed verifiably,
//! retried on failure, logged per attempt, and never sent to internal
//! addresses without the operator's opt-in.

use crate::both_backends;
use crate::helpers::*;
use crate::receiver::Receiver;
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    every_event_type_arrives_signed_and_compact,
    failed_attempts_are_retried_and_logged,
    resend_delivers_the_same_event_again,
    internal_targets_are_refused_at_delivery,
    rotation_signs_with_the_new_secret,
    unprintable_answers_are_logged_and_retried,
);

/// An app whose retries come after a second, not ten.
pub(crate) async fn fast(app: TestApp, allow_private: bool) -> TestApp {
    app.restart_with(move |s| {
        s.webhook_retry_schedule_secs = vec![1, 1, 1];
        s.webhook_poll_ms = 50;
        s.allow_private_callbacks = allow_private;
        // A name that resolves to loopback, injected into the webhook
        // client rather than written to the machine's /etc/hosts.
        s.webhook_static_hosts.insert("loopback.paygate.test".into(), std::net::IpAddr::from([127, 0, 0, 1]));
    })
    .await
}

async fn with_hook(app: &TestApp, email: &str, url: &str) -> Merchant {
    let m = app.create_merchant(email).await;
    let (s, body) = app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": url})).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["webhook_url"], url);
    m
}

async fn every_event_type_arrives_signed_and_compact(app: TestApp) {
    let app = fast(app, true).await;
    let m = app.create_merchant("hooks@example.com").await;
    let rx = Receiver::start(&m.secret, "").await;
    with_hook(&app, "unused@example.com", &rx.url).await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    app.fund(&m, "RUB", "100.00").await;
    let (_, p1) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("w-1", "10.00")).await;
    app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": p1["data"]["id"]})).await;
    let (_, p2) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("w-2", "10.00")).await;
    app.signed(&m, "/api/v1/payin/cancel", json!({"id": p2["data"]["id"]})).await;
    let (_, p3) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("w-3", "10.00")).await;
    app.admin(
        Method::POST,
        &format!("/admin/v1/payins/{}/fail", p3["data"]["id"].as_str().unwrap()),
        Some(json!({"reason": "x"})),
    )
    .await;
    let (_, o1) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("w-4", "5.00")).await;
    app.signed(&m, "/api/v1/sandbox/payout/settle", json!({"id": o1["data"]["id"], "outcome": "success"})).await;
    let (_, o2) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("w-5", "5.00")).await;
    app.signed(&m, "/api/v1/payout/cancel", json!({"id": o2["data"]["id"]})).await;
    let (_, o3) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("w-6", "5.00")).await;
    app.signed(&m, "/api/v1/sandbox/payout/settle", json!({"id": o3["data"]["id"], "outcome": "failed"})).await;
    let expected = [
        "payin.success",
        "payin.cancelled",
        "payin.failed",
        "payout.processing",
        "payout.success",
        "payout.cancelled",
        "payout.processing",
        "payout.failed",
    ];
    let got = rx.wait_for(expected.len(), Duration::from_secs(15)).await;
    assert_eq!(got.len(), expected.len(), "{got:?}");
    let mut types: Vec<&str> = got.iter().map(|r| r["event_type"].as_str().unwrap()).collect();
    let mut want = expected.to_vec();
    types.sort();
    want.sort();
    assert_eq!(types, want);
    let mut ids = std::collections::HashSet::new();
    for r in &got {
        assert_eq!(r["valid"], true, "signature verified by Python hmac: {r}");
        assert_eq!(r["content_type"], "application/json");
        let raw = r["raw"].as_str().unwrap();
        assert!(!raw.contains('\n') && !raw.contains("\": ") && !raw.contains(", \""), "compact JSON: {raw}");
        assert!(raw.starts_with("{\"event_id\":\"evt_"), "{raw}");
        assert_eq!(r["body"]["event_id"], r["event_id"]);
        assert_eq!(r["body"]["event"], r["event_type"]);
        assert!(ids.insert(r["event_id"].as_str().unwrap().to_string()), "one event per change");
        // data is the object as /get shows it at that moment.
        let kind = if r["event_type"].as_str().unwrap().starts_with("payin") { "payin" } else { "payout" };
        assert_eq!(r["body"]["data"]["status"], r["event_type"].as_str().unwrap().split('.').nth(1).unwrap());
        let (_, now) = app.signed(&m, &format!("/api/v1/{kind}/get"), json!({"id": r["body"]["data"]["id"]})).await;
        assert_eq!(now["data"]["merchant_order_id"], r["body"]["data"]["merchant_order_id"]);
        assert!(!raw.contains("4111111111111111"), "payout destinations stay masked in webhooks");
    }
    // The deliveries log shows each attempt.
    let (_, log) = app.signed(&m, "/api/v1/webhook/deliveries", json!({"status": "success"})).await;
    assert_eq!(log["data"]["items"].as_array().unwrap().len(), expected.len());
}

async fn failed_attempts_are_retried_and_logged(app: TestApp) {
    let app = fast(app, true).await;
    let m = app.create_merchant("retry@example.com").await;
    let rx = Receiver::start(&m.secret, "500,500,200").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("r-1", "10.00")).await;
    let payin_id = p["data"]["id"].as_str().unwrap().to_string();
    app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": payin_id})).await;
    let got = rx.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(got.iter().all(|r| r["event_id"] == got[0]["event_id"] && r["valid"] == true));
    assert_eq!(got.iter().map(|r| r["answered"].as_i64().unwrap()).collect::<Vec<_>>(), vec![500, 500, 200]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, log) = app.signed(&m, "/api/v1/webhook/deliveries", json!({"object_id": payin_id})).await;
    let items: Vec<Value> = log["data"]["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3, "{log}");
    // Newest first: success after two failures, same event, attempts 3, 2, 1.
    assert_eq!(
        items.iter().map(|d| d["status"].as_str().unwrap()).collect::<Vec<_>>(),
        vec!["success", "failed", "failed"]
    );
    assert_eq!(items.iter().map(|d| d["attempt"].as_i64().unwrap()).collect::<Vec<_>>(), vec![3, 2, 1]);
    assert_eq!(items[1]["http_status"], 500);
    assert_eq!(items[1]["response_excerpt"], "try again");
    assert!(items.iter().all(|d| d["event_id"] == got[0]["event_id"] && d["url"] == rx.url.as_str()));
    assert!(items[0]["latency_ms"].as_i64().is_some());
}

async fn resend_delivers_the_same_event_again(app: TestApp) {
    let app = fast(app, true).await;
    let m = app.create_merchant("resend@example.com").await;
    let rx = Receiver::start(&m.secret, "").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("rs-1", "10.00")).await;
    app.signed(&m, "/api/v1/payin/cancel", json!({"id": p["data"]["id"]})).await;
    let first = rx.wait_for(1, Duration::from_secs(10)).await;
    let event_id = first[0]["event_id"].as_str().unwrap().to_string();
    let other = app.create_merchant("other-resend@example.com").await;
    assert_error(&app.signed(&other, "/api/v1/webhook/resend", json!({"event_id": event_id})).await, 404, "NOT_FOUND");
    let (s, body) = app.signed(&m, "/api/v1/webhook/resend", json!({"event_id": event_id})).await;
    assert_eq!(s, 200, "{body}");
    let again = rx.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(again.len(), 2);
    assert_eq!(again[1]["event_id"], event_id.as_str());
    assert_eq!(again[1]["raw"], again[0]["raw"], "the same bytes, signed the same way");
    let (s, _) = app.admin(Method::POST, &format!("/admin/v1/events/{event_id}/resend"), None).await;
    assert_eq!(s, 200);
    assert_eq!(rx.wait_for(3, Duration::from_secs(10)).await.len(), 3);
    // The receiver logs before it answers; the attempt is recorded just after.
    let mut logged = 0;
    for _ in 0..50 {
        let (_, all) =
            app.admin(Method::GET, &format!("/admin/v1/webhooks/deliveries?event_id={event_id}"), None).await;
        logged = all["data"]["items"].as_array().unwrap().len();
        if logged == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(logged, 3);
}

async fn internal_targets_are_refused_at_delivery(app: TestApp) {
    let app = fast(app, false).await;
    assert_eq!(
        app.state.settings.webhook_static_hosts.get("loopback.paygate.test"),
        Some(&std::net::IpAddr::from([127, 0, 0, 1])),
        "the test server resolves the sneaky name to loopback"
    );
    let m = app.create_merchant("ssrf@example.com").await;
    let rx = Receiver::start(&m.secret, "").await;
    let port = rx.url.rsplit(':').next().unwrap().trim_end_matches("/hook").to_string();
    for bad in
        ["http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data", "http://localhost:9/x"]
    {
        let got = app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": bad})).await;
        assert_error(&got, 422, "VALIDATION_ERROR");
        let got = app
            .signed(
                &m,
                "/api/v1/payin/create",
                json!({"merchant_order_id": "s-0", "amount": "1.00", "currency": "RUB",
            "method": "card", "customer_id": "c", "callback_url": bad}),
            )
            .await;
        assert_error(&got, 422, "VALIDATION_ERROR");
    }
    // A host name is accepted when saved, but it resolves to loopback: refused when delivering.
    let sneaky = format!("http://loopback.paygate.test:{port}/hook");
    let (s, body) = app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": sneaky})).await;
    assert_eq!(s, 200, "{body}");
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("s-1", "1.00")).await;
    let payin_id = p["data"]["id"].as_str().unwrap().to_string();
    app.signed(&m, "/api/v1/payin/cancel", json!({"id": payin_id})).await;
    let mut attempts = Vec::new();
    for _ in 0..100 {
        let (_, log) = app.signed(&m, "/api/v1/webhook/deliveries", json!({"object_id": payin_id})).await;
        attempts = log["data"]["items"].as_array().unwrap().clone();
        if !attempts.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!attempts.is_empty(), "an attempt is logged");
    assert_eq!(attempts[0]["status"], "error");
    assert!(attempts[0]["error"].as_str().unwrap().contains("loopback"), "{}", attempts[0]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(rx.records().is_empty(), "nothing reached the internal address");
}

async fn rotation_signs_with_the_new_secret(app: TestApp) {
    let app = fast(app, true).await;
    let m = app.create_merchant("rotate-hooks@example.com").await;
    let rx = Receiver::start(&m.secret, "").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    let (_, rotated) = app.admin(Method::POST, &format!("/admin/v1/merchants/{}/rotate-secret", m.id), None).await;
    let new_secret = rotated["data"]["secret_token"].as_str().unwrap().to_string();
    rx.set_secret(&new_secret);
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("rot-1", "1.00")).await;
    app.signed(&m, "/api/v1/payin/cancel", json!({"id": p["data"]["id"]})).await;
    let got = rx.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["valid"], true, "signed with the secret in force at delivery: the new one");
}

async fn unprintable_answers_are_logged_and_retried(app: TestApp) {
    // A NUL byte in the answer must not stop the attempt from being recorded
    // (PostgreSQL TEXT refuses NUL): the event is retried on schedule.
    let app = fast(app, true).await;
    let m = app.create_merchant("nul@example.com").await;
    let rx = Receiver::start(&m.secret, "500z,200").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("z-1", "1.00")).await;
    let payin_id = p["data"]["id"].as_str().unwrap().to_string();
    app.signed(&m, "/api/v1/payin/cancel", json!({"id": payin_id})).await;
    assert_eq!(rx.wait_for(2, Duration::from_secs(15)).await.len(), 2);
    let mut items = Vec::new();
    for _ in 0..50 {
        let (_, log) = app.signed(&m, "/api/v1/webhook/deliveries", json!({"object_id": payin_id})).await;
        items = log["data"]["items"].as_array().unwrap().clone();
        if items.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(items.len(), 2, "both attempts logged");
    assert_eq!(items[1]["http_status"], 500);
    assert_eq!(items[1]["response_excerpt"], "tryagain");
    assert_eq!(items[0]["status"], "success");
}
