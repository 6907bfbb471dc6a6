//! Status polls are coalesced (`paygate_server::reads`): polls of several
//! merchants that arrive together share one statement. Each must still get
//! exactly its own object: the same order id at two merchants, an id that
//! belongs to the other merchant, balances, payin and payout list pages,
//! all polled at once; and a list poll sent after a change must show it
//! even while other polls keep a shared read in flight.

use crate::both_backends;
use crate::helpers::*;
use serde_json::{json, Value};
use std::sync::Arc;

both_backends!(polls_that_share_a_statement_get_only_their_own);

async fn polls_that_share_a_statement_get_only_their_own(app: TestApp) {
    let app = Arc::new(app);
    let a = Arc::new(app.create_merchant("poll-a@example.com").await);
    let b = Arc::new(app.create_merchant("poll-b@example.com").await);
    app.fund(&a, "RUB", "100.00").await;
    app.fund(&b, "RUB", "50.00").await;
    let mut payins = Vec::new();
    for m in [&a, &b] {
        let (s, p) = app.signed(m, "/api/v1/payin/create", TestApp::payin_body("same-order", "10.00")).await;
        assert_eq!(s, 201, "{p}");
        payins.push(p["data"]["id"].as_str().unwrap().to_string());
    }
    let (id_a, id_b) = (payins[0].clone(), payins[1].clone());
    let mut payouts = Vec::new();
    let mut available = Vec::new();
    for m in [&a, &b] {
        let (s, p) = app.signed(m, "/api/v1/payout/create", TestApp::payout_body("same-payout", "1.00")).await;
        assert_eq!(s, 201, "{p}");
        payouts.push(p["data"]["id"].as_str().unwrap().to_string());
        let (s, p) = app.signed(m, "/api/v1/balance", json!({})).await;
        assert_eq!(s, 200, "{p}");
        available.push(p["data"]["balances"][0]["available"].as_str().unwrap().to_string());
    }
    // What the payouts' holds left (funded 100.00 and 50.00).
    assert!(available[0] != "100.00" && available[1] != "50.00", "{available:?}");
    let mut polls = tokio::task::JoinSet::new();
    for round in 0..25 {
        // (whose poll, path, body, what it must answer)
        let cases: [(&Arc<Merchant>, &str, Value, Expect); 11] = [
            (&a, "/api/v1/payin/get", json!({"merchant_order_id": "same-order"}), Expect::Payin(id_a.clone())),
            (&b, "/api/v1/payin/get", json!({"merchant_order_id": "same-order"}), Expect::Payin(id_b.clone())),
            (&b, "/api/v1/payin/get", json!({"id": id_a}), Expect::NotFound),
            (&a, "/api/v1/payin/get", json!({"id": id_b}), Expect::NotFound),
            (&a, "/api/v1/balance", json!({}), Expect::Available(available[0].clone())),
            (&b, "/api/v1/balance", json!({}), Expect::Available(available[1].clone())),
            (&a, "/api/v1/payin/list", json!({"limit": 20}), Expect::Page(vec![id_a.clone()])),
            (&b, "/api/v1/payin/list", json!({"limit": 20}), Expect::Page(vec![id_b.clone()])),
            // The same filter at the other merchant's cursor: still only b's.
            (&b, "/api/v1/payin/list", json!({"limit": 20, "cursor": "zzzz"}), Expect::Page(vec![id_b.clone()])),
            (&a, "/api/v1/payout/list", json!({"limit": 20}), Expect::Page(vec![payouts[0].clone()])),
            (&b, "/api/v1/payout/list", json!({"limit": 20}), Expect::Page(vec![payouts[1].clone()])),
        ];
        for (m, path, body, expect) in cases {
            let (app, m) = (app.clone(), m.clone());
            polls.spawn(async move { (round, path, expect, app.signed(&m, path, body).await) });
        }
    }
    let mut answered = 0;
    while let Some(done) = polls.join_next().await {
        let (round, path, expect, (status, body)) = done.unwrap();
        let ok = match &expect {
            Expect::Payin(id) => status == 200 && body["data"]["id"] == id.as_str(),
            Expect::NotFound => status == 404 && body["error"]["code"] == "NOT_FOUND",
            Expect::Available(amount) => status == 200 && body["data"]["balances"][0]["available"] == amount.as_str(),
            Expect::Page(ids) => status == 200 && page_ids(&body) == *ids && body["data"]["next_cursor"].is_null(),
        };
        assert!(ok, "round {round}, {path}: expected {expect:?}, got {status} {body}");
        answered += 1;
    }
    assert_eq!(answered, 275);
}

#[derive(Debug)]
enum Expect {
    Payin(String),
    NotFound,
    Available(String),
    Page(Vec<String>),
}

fn page_ids(body: &Value) -> Vec<String> {
    body["data"]["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["id"].as_str().map(str::to_string))
        .collect()
}

both_backends!(a_list_poll_sent_after_a_change_shows_it);

async fn a_list_poll_sent_after_a_change_shows_it(app: TestApp) {
    let app = Arc::new(app);
    let m = Arc::new(app.create_merchant("poll-list@example.com").await);
    let mut ids = Vec::new();
    for i in 0..5 {
        let (s, p) = app.signed(&m, "/api/v1/payin/create", TestApp::payin_body(&format!("l-{i}"), "10.00")).await;
        assert_eq!(s, 201, "{p}");
        ids.push(p["data"]["id"].as_str().unwrap().to_string());
    }
    // Background pollers keep one shared read of this very page in flight.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut background = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (app, m, stop) = (app.clone(), m.clone(), stop.clone());
        background.spawn(async move {
            let mut polls = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let (s, _) = app.signed(&m, "/api/v1/payin/list", json!({"limit": 3})).await;
                assert_eq!(s, 200);
                polls += 1;
            }
            polls
        });
    }
    for (round, id) in ids.iter().enumerate() {
        let (s, p) = app.signed(&m, "/api/v1/payin/cancel", json!({"id": id})).await;
        assert_eq!(s, 200, "{p}");
        let mut after = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (app, m) = (app.clone(), m.clone());
            after.spawn(async move { app.signed(&m, "/api/v1/payin/list", json!({"limit": 3})).await });
        }
        while let Some(done) = after.join_next().await {
            let (s, body) = done.unwrap();
            assert_eq!(s, 200, "{body}");
            let items = body["data"]["items"].as_array().unwrap();
            assert_eq!(items.len(), 3, "{body}");
            // Newest first: the page holds l-4, l-3, l-2; those cancelled so far must show it.
            for item in items {
                let cancelled_before = ids[..=round].contains(&item["id"].as_str().unwrap().to_string());
                let status = item["status"].as_str().unwrap();
                assert_eq!(status == "cancelled", cancelled_before, "round {round}: {item}");
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut polls = 0;
    while let Some(done) = background.join_next().await {
        polls += done.unwrap();
    }
    assert!(polls > 0, "the background pollers never ran");
}
