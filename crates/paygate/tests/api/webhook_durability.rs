//! Webhooks across process deaths and between nodes, with the real binary.

use crate::both_backends;
use crate::helpers::*;
use crate::receiver::Receiver;
use serde_json::json;
use std::collections::HashMap;
use std::time::Duration;

both_backends!(
    events_survive_receiver_outage_and_sigkill,
    two_nodes_deliver_each_event_once,
    a_sigkill_mid_burst_loses_and_doubles_nothing
);

/// A config file with one-second retries, for processes started by tests.
fn fast_config(dir: &std::path::Path) -> String {
    let path = dir.join("paygate.toml");
    std::fs::write(
        &path,
        "allow_private_callbacks = true\nwebhook_poll_ms = 50\nwebhook_timeout_secs = 2\nwebhook_retry_schedule_secs = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n",
    )
    .unwrap();
    path.to_str().unwrap().to_string()
}

async fn events_survive_receiver_outage_and_sigkill(mut app: TestApp) {
    let m = app.create_merchant("outage@example.com").await;
    // Learn a free port, then take the receiver down: deliveries fail.
    let port = Receiver::start(&m.secret, "").await.port();
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.stop().await;
    let tmp = tempfile::tempdir().unwrap();
    let config = fast_config(tmp.path());
    let (mut node, base) = start_server(&app, &["--config", &config]).await;
    let remote = TestApp::detached(&app, &base);
    let (s, _) = remote
        .signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": format!("http://127.0.0.1:{port}/hook")}))
        .await;
    assert_eq!(s, 200);
    let mut expected = Vec::new();
    for i in 0..10 {
        let (_, p) = remote.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("o-{i}"), "1.00")).await;
        let (s, _) = remote.signed(&m, "/api/v1/payin/cancel", json!({"id": p["data"]["id"]})).await;
        assert_eq!(s, 200);
        expected.push(p["data"]["id"].as_str().unwrap().to_string());
    }
    // Let some attempts fail against the closed port, then kill the gateway hard.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, failed) = remote.signed(&m, "/api/v1/webhook/deliveries", json!({"status": "error"})).await;
    assert!(
        !failed["data"]["items"].as_array().unwrap().is_empty(),
        "attempts failed while the receiver was down: {failed}"
    );
    kill_hard(&mut node).await;
    let (mut node, _base2) = start_server(&app, &["--config", &config]).await;
    let rx = Receiver::start_on(&m.secret, "", port).await;
    assert_eq!(rx.port(), port, "the receiver is back on the address the merchant configured");
    let got = rx.wait_for(expected.len(), Duration::from_secs(30)).await;
    let mut by_object: HashMap<String, usize> = HashMap::new();
    for r in &got {
        assert_eq!(r["valid"], true, "{r}");
        *by_object.entry(r["body"]["data"]["id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    let db = paygate_store::Db::connect(&app.db_url, 1).await.unwrap();
    for id in &expected {
        let events = db.events_of(id).await.unwrap();
        let tries = db
            .deliveries(&paygate_store::events::DeliveryFilter {
                object_id: Some(id.clone()),
                limit: 3,
                ..Default::default()
            })
            .await
            .unwrap();
        let events = (events, tries.iter().map(|d| (d.attempt, d.error.clone(), d.http_status)).collect::<Vec<_>>());
        assert!(by_object.contains_key(id), "payin.cancelled of {id} was not delivered; stored: {events:?}");
    }
    let _ = node.kill().await;
}

async fn two_nodes_deliver_each_event_once(mut app: TestApp) {
    let m = app.create_merchant("nodes@example.com").await;
    // Produce the events while their receiver is down, then let two nodes
    // race for them once it is up.
    let (tmp, port) = produce_undelivered(&mut app, &m, 40).await;
    let rx = Receiver::start_on(&m.secret, "", port).await;
    let config = fast_config(tmp.path());
    let (mut a, _) = start_server(&app, &["--config", &config]).await;
    let (mut b, _) = start_server(&app, &["--config", &config]).await;
    // At least once: wait until every event arrived.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let mut distinct = std::collections::HashSet::new();
    while distinct.len() < 40 && std::time::Instant::now() < deadline {
        distinct = rx.records().iter().map(|r| r["event_id"].as_str().unwrap().to_string()).collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(distinct.len(), 40, "every event reached the receiver");
    assert!(rx.records().iter().all(|r| r["valid"] == true));
    let db = paygate_store::Db::connect(&app.db_url, 1).await.unwrap();
    // Every event ends delivered (one whose attempt timed out is retried).
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    for id in &distinct {
        loop {
            let status = db.event(id).await.unwrap().unwrap().status;
            if status == "delivered" || std::time::Instant::now() > deadline {
                assert_eq!(status, "delivered", "{id}");
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // Never twice at once: a double claim would log two attempts with the
    // same number for one event (both workers read the same count). A
    // duplicate delivery after a timed-out attempt is at-least-once, allowed.
    let mut seen = std::collections::HashSet::new();
    for d in attempt_log(&db, &m.id).await {
        assert!(seen.insert((d.event_id.clone(), d.attempt)), "attempt {} of {} was made twice", d.attempt, d.event_id);
    }
    let _ = a.kill().await;
    let _ = b.kill().await;
}

/// Stops `app` and has a gateway of its own create and cancel `payins`
/// payins of `m` while the merchant's webhook address has nothing
/// listening (their first attempts fail and come due again a second
/// later), then kills it. Returns the config directory and the port the
/// receiver must take.
async fn produce_undelivered(app: &mut TestApp, m: &Merchant, payins: usize) -> (tempfile::TempDir, u16) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let (s, _) = app
        .signed(m, "/api/v1/webhook/settings", json!({"webhook_url": format!("http://127.0.0.1:{port}/hook")}))
        .await;
    assert_eq!(s, 200);
    app.stop().await;
    let tmp = tempfile::tempdir().unwrap();
    let quiet = tmp.path().join("quiet.toml");
    std::fs::write(&quiet, "allow_private_callbacks = true\nwebhook_poll_ms = 600000\nwebhook_retry_schedule_secs = [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n").unwrap();
    let (mut producer, base) = start_server(app, &["--config", quiet.to_str().unwrap()]).await;
    let remote = TestApp::detached(app, &base);
    for i in 0..payins {
        let (s, p) = remote.signed(m, "/api/v1/payin/create", TestApp::payin_body(&format!("u-{i}"), "1.00")).await;
        assert_eq!(s, 201, "{p}");
        assert_eq!(remote.signed(m, "/api/v1/payin/cancel", json!({"id": p["data"]["id"]})).await.0, 200);
    }
    kill_hard(&mut producer).await;
    (tmp, port)
}

/// Every delivery attempt logged for the merchant's events, newest first.
async fn attempt_log(db: &paygate_store::Db, merchant: &str) -> Vec<paygate_store::events::DeliveryRow> {
    let mut all: Vec<paygate_store::events::DeliveryRow> = Vec::new();
    loop {
        let filter = paygate_store::events::DeliveryFilter {
            merchant_id: Some(merchant.to_string()),
            before_id: all.last().map(|d| d.id.clone()),
            limit: 100,
            ..Default::default()
        };
        let page = db.deliveries(&filter).await.unwrap();
        let full = page.len() == 100;
        all.extend(page);
        if !full {
            return all;
        }
    }
}

/// The gateway is killed while a burst of deliveries is in flight: the
/// receiver has the requests but the gateway never saw the answers. After a
/// restart every event is delivered, and the attempt log has each attempt
/// once and one success per event (the receiver may see an event twice:
/// at least once, as documented).
async fn a_sigkill_mid_burst_loses_and_doubles_nothing(mut app: TestApp) {
    const EVENTS: usize = 300;
    let m = app.create_merchant("burst@example.com").await;
    let (tmp, port) = produce_undelivered(&mut app, &m, EVENTS).await;
    // Answers held back half a second: at the kill, the first attempts are
    // in the receiver's hands and unanswered, the rest not yet made.
    let rx = Receiver::start_with(&m.secret, "", port, Duration::from_millis(500)).await;
    let config = fast_config(tmp.path());
    let (mut node, _) = start_server(&app, &["--config", &config]).await;
    let first = rx.wait_for(1, Duration::from_secs(30)).await;
    assert!(!first.is_empty(), "the burst began");
    kill_hard(&mut node).await;
    let db = paygate_store::Db::connect(&app.db_url, 1).await.unwrap();
    let answered = attempt_log(&db, &m.id).await.iter().filter(|d| d.status == "success").count();
    assert!(answered < EVENTS, "the kill came mid-burst ({answered} of {EVENTS} deliveries had been answered)");

    let (mut node, _) = start_server(&app, &["--config", &config]).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let events: Vec<String> = loop {
        let attempts = attempt_log(&db, &m.id).await;
        let delivered: std::collections::HashSet<String> =
            attempts.iter().filter(|d| d.status == "success").map(|d| d.event_id.clone()).collect();
        if delivered.len() >= EVENTS || std::time::Instant::now() > deadline {
            break delivered.into_iter().collect();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(events.len(), EVENTS, "every event was delivered after the restart");
    for id in &events {
        assert_eq!(db.event(id).await.unwrap().unwrap().status, "delivered", "{id}");
    }
    let mut attempts_seen = std::collections::HashSet::new();
    let mut successes: HashMap<String, usize> = HashMap::new();
    for d in attempt_log(&db, &m.id).await {
        assert!(
            attempts_seen.insert((d.event_id.clone(), d.attempt)),
            "attempt {} of {} logged twice",
            d.attempt,
            d.event_id
        );
        if d.status == "success" {
            *successes.entry(d.event_id.clone()).or_default() += 1;
        }
    }
    assert!(successes.values().all(|&n| n == 1), "one successful attempt per event: {successes:?}");
    let received: std::collections::HashSet<String> =
        rx.records().iter().map(|r| r["event_id"].as_str().unwrap().to_string()).collect();
    assert_eq!(received.len(), EVENTS, "the receiver has every event");
    assert!(rx.records().iter().all(|r| r["valid"] == true));
    let _ = node.kill().await;
}
