//! Webhook order and destinations: one object's events reach the receiver
//! in the order they happened (each body numbered by `sequence`), and
//! events produced while the merchant has no webhook URL wait for one
//! instead of being logged as failed attempts.

use crate::both_backends;
use crate::helpers::*;
use crate::receiver::Receiver;
use serde_json::{json, Value};
use std::time::Duration;

both_backends!(
    events_without_a_destination_wait_then_arrive_in_order,
    a_later_event_waits_until_the_earlier_one_is_delivered,
    a_finally_failed_event_lets_the_next_one_go,
);

async fn quick(app: TestApp, schedule: Vec<u64>) -> TestApp {
    app.restart_with(move |s| {
        s.webhook_retry_schedule_secs = schedule;
        s.webhook_poll_ms = 50;
        s.allow_private_callbacks = true;
    })
    .await
}

/// A payout taken to `success` by the sandbox: `payout.processing` and
/// `payout.success` are written in one transaction, ready at the same time.
async fn settled_payout(app: &TestApp, m: &Merchant, order: &str) -> String {
    let (s, o) = app.signed(m, "/api/v1/payout/create", TestApp::payout_body(order, "5.00")).await;
    assert_eq!(s, 201, "{o}");
    let id = o["data"]["id"].as_str().unwrap().to_string();
    let (s, body) = app.signed(m, "/api/v1/sandbox/payout/settle", json!({"id": id, "outcome": "success"})).await;
    assert_eq!(s, 200, "{body}");
    id
}

/// (event type, HTTP status answered, body sequence) of each request the receiver got.
fn arrivals(records: &[Value]) -> Vec<(String, i64, i64)> {
    records
        .iter()
        .map(|r| {
            assert_eq!(r["valid"], true, "{r}");
            (
                r["event_type"].as_str().unwrap().to_string(),
                r["answered"].as_i64().unwrap(),
                r["body"]["sequence"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn arrival(event: &str, answered: i64, sequence: i64) -> (String, i64, i64) {
    (event.to_string(), answered, sequence)
}

async fn statuses_of(app: &TestApp, object_id: &str) -> Vec<(String, i64, i64)> {
    let events = app.state.db.events_of(object_id).await.unwrap();
    events.into_iter().map(|e| (e.status, e.sequence, e.attempts)).collect()
}

async fn events_without_a_destination_wait_then_arrive_in_order(app: TestApp) {
    let app = quick(app, vec![1, 1, 1]).await;
    let m = app.create_merchant("no-url@example.com").await;
    app.fund(&m, "RUB", "100.00").await;
    let payout_id = settled_payout(&app, &m, "nd-1").await;
    let (_, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body("nd-2", "10.00")).await;
    let payin_id = p["data"]["id"].as_str().unwrap().to_string();
    app.signed(&m, "/api/v1/sandbox/payin/pay", json!({"id": payin_id})).await;

    // Many polls later: parked, not attempted, nothing logged as an error.
    let mut parked = Vec::new();
    for _ in 0..100 {
        parked = statuses_of(&app, &payout_id).await;
        if parked.iter().all(|(status, _, _)| status == "waiting") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let waiting = |seq| ("waiting".to_string(), seq, 0);
    assert_eq!(parked, vec![waiting(1), waiting(2)]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(statuses_of(&app, &payout_id).await, vec![waiting(1), waiting(2)], "still parked, never attempted");
    assert_eq!(statuses_of(&app, &payin_id).await, vec![waiting(1)]);
    let (_, log) = app.signed(&m, "/api/v1/webhook/deliveries", json!({})).await;
    assert_eq!(log["data"]["items"], json!([]), "waiting is not an attempt");

    // A URL arrives: everything is delivered, each object's events in order.
    let rx = Receiver::start(&m.secret, "").await;
    let (s, body) = app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    assert_eq!(s, 200, "{body}");
    let got = rx.wait_for(3, Duration::from_secs(15)).await;
    let got = arrivals(&got);
    assert_eq!(got.len(), 3, "{got:?}");
    let payout_events: Vec<_> = got.iter().filter(|a| a.0.starts_with("payout.")).cloned().collect();
    assert_eq!(payout_events, vec![arrival("payout.processing", 200, 1), arrival("payout.success", 200, 2)]);
    assert!(got.contains(&arrival("payin.success", 200, 1)), "{got:?}");
    let mut log = Vec::new();
    for _ in 0..50 {
        let (_, page) = app.signed(&m, "/api/v1/webhook/deliveries", json!({})).await;
        log = page["data"]["items"].as_array().unwrap().clone();
        if log.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log.iter().all(|d| d["status"] == "success" && d["attempt"] == 1), "first attempts: {log:?}");
}

async fn a_later_event_waits_until_the_earlier_one_is_delivered(app: TestApp) {
    let app = quick(app, vec![1, 1, 1]).await;
    let m = app.create_merchant("ordered@example.com").await;
    let rx = Receiver::start(&m.secret, "500").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    app.fund(&m, "RUB", "100.00").await;
    let payout_id = settled_payout(&app, &m, "ord-1").await;
    let got = arrivals(&rx.wait_for(3, Duration::from_secs(15)).await);
    // `payout.success` was ready at once, yet it waited for the retry of
    // `payout.processing` to succeed.
    assert_eq!(
        got,
        vec![
            arrival("payout.processing", 500, 1),
            arrival("payout.processing", 200, 1),
            arrival("payout.success", 200, 2)
        ]
    );
    let delivered = |seq, attempts| ("delivered".to_string(), seq, attempts);
    let mut events = Vec::new();
    for _ in 0..50 {
        events = statuses_of(&app, &payout_id).await;
        if events.iter().all(|(status, _, _)| status == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(events, vec![delivered(1, 2), delivered(2, 1)]);
}

async fn a_finally_failed_event_lets_the_next_one_go(app: TestApp) {
    // One retry only: the first event fails for good after two attempts.
    let app = quick(app, vec![1]).await;
    let m = app.create_merchant("gave-up@example.com").await;
    let rx = Receiver::start(&m.secret, "500,500").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;
    app.fund(&m, "RUB", "100.00").await;
    let payout_id = settled_payout(&app, &m, "gu-1").await;
    let got = arrivals(&rx.wait_for(3, Duration::from_secs(15)).await);
    assert_eq!(
        got,
        vec![
            arrival("payout.processing", 500, 1),
            arrival("payout.processing", 500, 1),
            arrival("payout.success", 200, 2)
        ]
    );
    let mut events = Vec::new();
    for _ in 0..50 {
        events = statuses_of(&app, &payout_id).await;
        if events.get(1).is_some_and(|(status, _, _)| status == "delivered") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(events, vec![("failed".to_string(), 1, 2), ("delivered".to_string(), 2, 1)]);
}
