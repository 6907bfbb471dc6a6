//! Status polls are coalesced (`paygate_server::reads`): polls of several
//! merchants that arrive together share one statement. Each must still get
//! exactly its own object: the same order id at two merchants, an id that
//! belongs to the other merchant, and balances, all polled at once.

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
    let mut polls = tokio::task::JoinSet::new();
    for round in 0..25 {
        // (whose poll, path, body, what it must answer)
        let cases: [(&Arc<Merchant>, &str, Value, Expect); 6] = [
            (&a, "/api/v1/payin/get", json!({"merchant_order_id": "same-order"}), Expect::Payin(id_a.clone())),
            (&b, "/api/v1/payin/get", json!({"merchant_order_id": "same-order"}), Expect::Payin(id_b.clone())),
            (&b, "/api/v1/payin/get", json!({"id": id_a}), Expect::NotFound),
            (&a, "/api/v1/payin/get", json!({"id": id_b}), Expect::NotFound),
            (&a, "/api/v1/balance", json!({}), Expect::Available("100.00")),
            (&b, "/api/v1/balance", json!({}), Expect::Available("50.00")),
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
            Expect::Available(amount) => status == 200 && body["data"]["balances"][0]["available"] == *amount,
        };
        assert!(ok, "round {round}, {path}: expected {expect:?}, got {status} {body}");
        answered += 1;
    }
    assert_eq!(answered, 150);
}

#[derive(Debug)]
enum Expect {
    Payin(String),
    NotFound,
    Available(&'static str),
}
