//! One merchant can never see or touch another's objects: every endpoint
//! answers 404 for a foreign id, exactly as for an id that does not exist.

use crate::both_backends;
use crate::helpers::*;
use crate::spec::{self, Known};
use serde_json::json;

both_backends!(foreign_ids_are_not_found_everywhere, no_merchant_call_reveals_or_changes_anothers_objects);

async fn foreign_ids_are_not_found_everywhere(app: TestApp) {
    let a = app.create_merchant("a@example.com").await;
    let b = app.create_merchant("b@example.com").await;
    app.fund(&a, "RUB", "100.00").await;
    let (_, pi) = app.signed(&a, "/api/v1/payin/create", TestApp::payin_body("iso-1", "10.00")).await;
    let (_, po) = app.signed(&a, "/api/v1/payout/create", TestApp::payout_body("iso-2", "10.00")).await;
    let (pi, po) = (pi["data"]["id"].as_str().unwrap().to_string(), po["data"]["id"].as_str().unwrap().to_string());
    let before = app.snapshot().await;
    let calls = [
        ("/api/v1/payin/get", json!({"id": pi})),
        ("/api/v1/payin/get", json!({"merchant_order_id": "iso-1"})),
        ("/api/v1/payin/cancel", json!({"id": pi})),
        ("/api/v1/sandbox/payin/pay", json!({"id": pi})),
        ("/api/v1/payout/get", json!({"id": po})),
        ("/api/v1/payout/get", json!({"merchant_order_id": "iso-2"})),
        ("/api/v1/payout/cancel", json!({"id": po})),
        ("/api/v1/sandbox/payout/settle", json!({"id": po, "outcome": "success"})),
    ];
    for (path, body) in &calls {
        let foreign = app.signed(&b, path, body.clone()).await;
        assert_error(&foreign, 404, "NOT_FOUND");
        // Indistinguishable from a made-up id.
        let mut fake = body.clone();
        if fake.get("id").is_some() {
            fake["id"] = json!("pi_00000000000000000000000000");
        } else {
            fake["merchant_order_id"] = json!("never-used");
        }
        assert_eq!(app.signed(&b, path, fake).await.1["error"], foreign.1["error"], "{path}");
    }
    for path in ["/api/v1/payin/list", "/api/v1/payout/list", "/api/v1/balance/history"] {
        let (s, body) = app.signed(&b, path, json!({})).await;
        assert_eq!(s, 200);
        assert_eq!(body["data"]["items"], json!([]), "{path} leaks another merchant's data");
    }
    assert_eq!(app.signed(&b, "/api/v1/balance", json!({})).await.1["data"]["balances"], json!([]));
    // B reusing A's order id creates B's own payin: namespaces are per merchant.
    let (s, mine) = app.signed(&b, "/api/v1/payin/create", TestApp::payin_body("iso-1", "99.00")).await;
    assert_eq!(s, 201, "{mine}");
    assert_ne!(mine["data"]["id"], pi.as_str());
    let after = app.snapshot().await;
    assert_eq!(after.iter().find(|(t, _)| t == "payins").unwrap().1, "2");
    // B's own new payin is the only change.
    let others =
        |s: &Vec<(String, String)>| s.iter().filter(|(t, _)| !t.starts_with("payins")).cloned().collect::<Vec<_>>();
    assert_eq!(others(&before), others(&after));
    // A's objects are untouched.
    let (_, still) = app.signed(&a, "/api/v1/payout/get", json!({"id": po})).await;
    assert_eq!(still["data"]["status"], "pending");
}

/// Every merchant operation of the OpenAPI document, called by B with each
/// field that names an object set in turn to each of A's ids and order ids.
/// B's answers never show A's data (a marker in A's payments and dispute) or
/// an id of A's objects other than the one B sent, and A's payments,
/// dispute, balances and webhook events are exactly as they were.
async fn no_merchant_call_reveals_or_changes_anothers_objects(app: TestApp) {
    const MARKER: &str = "only-a-knows-this";
    // A has no webhook URL: its events are parked at once as waiting for
    // one (and would not be retried for an hour anyway), so any later change
    // to them is B's doing.
    let app = app
        .restart_with(|s| {
            s.rate_limit_per_second = 0;
            s.webhook_retry_schedule_secs = vec![3600];
        })
        .await;
    let a = app.create_merchant("owner@example.com").await;
    let b = app.create_merchant("prober@example.com").await;
    let theirs = spec::furnish(&app, &a, "a", MARKER).await;
    // B has objects of every kind too: its good requests succeed and its
    // lists have something to return.
    let mine = spec::furnish(&app, &b, "b", "cust-b").await;
    let events: Vec<String> = sqlx::query_scalar("SELECT id FROM events WHERE merchant_id = $1 ORDER BY id")
        .bind(&a.id)
        .fetch_all(app.state.db.pool())
        .await
        .unwrap();
    assert!(events.len() >= 2, "the payment and the dispute made webhook events: {events:?}");
    let untried = "SELECT CAST(COUNT(*) AS BIGINT) FROM events WHERE merchant_id = $1 AND status = 'pending'";
    let mut waiting = -1;
    for _ in 0..100 {
        waiting = sqlx::query_scalar(untried).bind(&a.id).fetch_one(app.state.db.pool()).await.unwrap();
        if waiting == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(waiting, 0, "A's events were parked as waiting for a webhook URL");

    let Known { paid, pending, payout, dispute, .. } = theirs;
    let mut a_ids = vec![paid, pending, payout, dispute, a.id.clone(), a.public_token.clone()];
    a_ids.extend(events);
    let mut probes = a_ids.clone();
    probes.extend(["a-paid", "a-pending", "a-payout"].map(String::from));
    let before = owner_state(&app, &a).await;

    let (doc, mut operations) = spec::operations(&app).await;
    operations.retain(|op| op.is_merchant());
    // Creates go last: a payin B creates under one of A's ids as its own
    // order id would otherwise show up, rightly, in B's later lists.
    operations.sort_by_key(|op| op.template.ends_with("/create"));
    let mut calls = 0;
    for op in &operations {
        let base = spec::good_body(&op.template, &mine).unwrap_or_else(|| spec::sample(&doc, &op.body_schema, 0));
        let (status, answer) =
            spec::call(&app, &b, op.method.clone(), &op.template, None, Some(base.to_string().into_bytes())).await;
        assert!(status < 300 || status == 409, "{} {base}: B's own request got {status} {answer}", op.template);
        let mut bodies = Vec::new();
        for field in spec::properties(&doc, &op.body_schema) {
            if !(field.ends_with("id") || field == "cursor") {
                continue;
            }
            for probe in &probes {
                let mut body = base.clone();
                // One key names the object: the others that could are left out.
                for other in ["id", "payin_id", "merchant_order_id"] {
                    body.as_object_mut().unwrap().remove(other);
                }
                body[&field] = json!(probe);
                bodies.push((probe.clone(), body));
            }
        }
        for (sent, body) in bodies {
            let label = format!("{} {body}", op.template);
            let bytes = Some(body.to_string().into_bytes());
            let (status, answer) = spec::call(&app, &b, op.method.clone(), &op.template, None, bytes).await;
            calls += 1;
            assert!(status < 500, "{label}: {status} {answer}");
            let text = answer.to_string();
            assert!(!text.contains(MARKER), "{label} answered {status} with A's data: {answer}");
            for id in a_ids.iter().filter(|id| **id != sent) {
                assert!(!text.contains(id.as_str()), "{label} answered {status} with A's {id}: {answer}");
            }
        }
    }
    assert!(calls > 200, "{calls} calls");
    assert_eq!(owner_state(&app, &a).await, before, "B's calls changed A's objects");
    app.assert_ledger_ok().await;
}

/// Everything of `m`'s that another merchant could try to change.
async fn owner_state(app: &TestApp, m: &Merchant) -> Vec<String> {
    use sqlx::Row;
    let mut out = Vec::new();
    for sql in [
        "SELECT id || '|' || status || '|' || amount || '|' || updated_at FROM payins WHERE merchant_id = $1 ORDER BY id",
        "SELECT id || '|' || status || '|' || amount || '|' || updated_at FROM payouts WHERE merchant_id = $1 ORDER BY id",
        "SELECT id || '|' || status || '|' || claimed_amount || '|' || updated_at FROM disputes WHERE merchant_id = $1 ORDER BY id",
        "SELECT id || '|' || status || '|' || attempts || '|' || next_attempt_at FROM events WHERE merchant_id = $1 ORDER BY id",
        "SELECT id || '|' || balance FROM accounts WHERE owner = $1 ORDER BY id",
    ] {
        for r in sqlx::query(sql).bind(&m.id).fetch_all(app.state.db.pool()).await.unwrap() {
            out.push(r.get::<String, _>(0));
        }
    }
    out
}
