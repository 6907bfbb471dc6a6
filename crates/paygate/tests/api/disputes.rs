//! Disputes with receipts (API.md 3.4): opening, the freezing rule,
//! acceptance and rejection by the operator, cancellation by the merchant,
//! webhooks, isolation and search. Receipts and hostile input:
//! `dispute_input.rs`.

use crate::both_backends;
use crate::dispute_support::*;
use crate::helpers::{assert_error, TestApp};
use crate::receiver::Receiver;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration;

both_backends!(
    expired_payin_accepted_at_another_amount,
    open_disputes_freeze_what_they_put_at_risk,
    freezing_is_capped_and_a_reduction_needs_funds,
    who_may_dispute_what_and_when,
    concurrent_disputes_on_one_payin_open_one,
    disputes_are_listed_searched_and_isolated,
);

async fn expired_payin_accepted_at_another_amount(app: TestApp) {
    let app = app
        .restart_with(|s| {
            s.webhook_retry_schedule_secs = vec![1, 1, 1];
            s.webhook_poll_ms = 50;
        })
        .await;
    let m = app.create_merchant("dispute@example.com").await;
    let fees = json!({"fees": {"payin": {"percent": "1.5", "fixed": "0"}}});
    admin_ok(&app, Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(fees)).await;
    let rx = Receiver::start(&m.secret, "").await;
    app.signed(&m, "/api/v1/webhook/settings", json!({"webhook_url": rx.url})).await;

    let id = payin(&app, &m, "exp-1", "1000.00").await;
    expire(&app, &m, &id).await;
    let dispute = open(&app, &m, &id, "950.00").await;
    assert_eq!(dispute["status"], "open");
    assert_eq!(dispute["claimed_amount"], "950.00");
    assert_eq!(dispute["frozen_amount"], "0.00", "an uncredited payin puts nothing at risk");
    assert_eq!(dispute["receipt"]["content_type"], "application/pdf");
    assert_eq!(dispute["receipt"]["size"], PDF.len());
    assert_eq!(dispute["receipt"]["sha256"], hex::encode(Sha256::digest(PDF)));
    assert_eq!(get_payin(&app, &m, &id).await["has_open_dispute"], true);

    // One open dispute per payin.
    let again = app.signed(&m, "/api/v1/dispute/create", dispute_body(&id, "950.00", PDF)).await;
    assert_error(&again, 409, "DISPUTE_ALREADY_OPEN");

    // The operator downloads exactly what was uploaded.
    let did = dispute["id"].as_str().unwrap().to_string();
    let resp = app
        .http
        .get(app.url(&format!("/admin/v1/disputes/{did}/receipt")))
        .bearer_auth(crate::helpers::ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/pdf");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert!(resp.headers()["content-disposition"].to_str().unwrap().starts_with("attachment;"));
    assert_eq!(resp.bytes().await.unwrap().as_ref(), PDF);
    let anonymous = app.http.get(app.url(&format!("/admin/v1/disputes/{did}/receipt"))).send().await.unwrap();
    assert_eq!(anonymous.status(), 401, "receipts are served to the operator only");

    let accepted = admin_ok(
        &app,
        Method::POST,
        &format!("/admin/v1/disputes/{did}/accept"),
        Some(json!({"resolved_amount": "950.00", "comment": "statement matches"})),
    )
    .await;
    assert_eq!(accepted["status"], "accepted");
    assert_eq!(accepted["resolved_amount"], "950.00");
    assert!(accepted["resolved_at"].is_string());

    let p = get_payin(&app, &m, &id).await;
    assert_eq!(p["status"], "success");
    assert_eq!(p["amount"], "950.00");
    assert_eq!(p["original_amount"], "1000.00");
    assert_eq!(p["fee"], "14.25", "1.5% of 950.00");
    assert_eq!(p["net_amount"], "935.75");
    assert_eq!(p["has_open_dispute"], false);
    assert_eq!(app.balance(&m, "RUB").await, ("935.75".into(), "0.00".into(), "0.00".into()));
    let (_, history) = app.signed(&m, "/api/v1/balance/history", json!({})).await;
    let entries = history["data"]["items"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{history}");
    assert_eq!(entries[0]["amount"], "935.75");
    assert_eq!(entries[0]["ref_id"], id);
    app.assert_ledger_ok().await;

    // Resolved once: a second resolution is refused and changes nothing.
    let twice =
        app.admin(Method::POST, &format!("/admin/v1/disputes/{did}/reject"), Some(json!({"reason": "other"}))).await;
    assert_error(&twice, 409, "INVALID_STATE");

    let want = ["payin.expired", "dispute.open", "dispute.accepted", "payin.success"];
    let got = rx.wait_for(want.len(), Duration::from_secs(15)).await;
    let types: Vec<&str> = got.iter().map(|r| r["event_type"].as_str().unwrap()).collect();
    for w in want {
        assert!(types.contains(&w), "{w} delivered: {types:?}");
    }
    assert_eq!(got.len(), want.len(), "{types:?}");
    for r in &got {
        assert_eq!(r["valid"], true, "signature verified by Python hmac: {r}");
        let data = &r["body"]["data"];
        match r["event_type"].as_str().unwrap() {
            "dispute.open" => assert_eq!(data["status"], "open"),
            "dispute.accepted" => {
                assert_eq!((&data["status"], &data["resolved_amount"]), (&json!("accepted"), &json!("950.00")))
            }
            "payin.success" => {
                assert_eq!((&data["amount"], &data["original_amount"]), (&json!("950.00"), &json!("1000.00")))
            }
            _ => {}
        }
    }
}

async fn open_disputes_freeze_what_they_put_at_risk(app: TestApp) {
    let m = app.create_merchant("freeze@example.com").await;
    let id = paid_payin(&app, &m, "f-1", "1000.00").await;
    assert_eq!(app.balance(&m, "RUB").await.0, "1000.00");

    // Claimed lower than credited: the difference is frozen while open.
    let d1 = open(&app, &m, &id, "600.00").await;
    assert_eq!(d1["frozen_amount"], "400.00");
    assert_eq!(app.balance(&m, "RUB").await, ("600.00".into(), "0.00".into(), "400.00".into()));
    // Frozen money cannot be paid out.
    let payout = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("f-po", "600.01")).await;
    assert_error(&payout, 402, "INSUFFICIENT_FUNDS");

    let rejected = admin_ok(
        &app,
        Method::POST,
        &format!("/admin/v1/disputes/{}/reject", d1["id"].as_str().unwrap()),
        Some(json!({"reason": "fake_receipt"})),
    )
    .await;
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["resolution_reason"], "fake_receipt");
    assert_eq!(rejected["resolved_amount"], Value::Null);
    assert_eq!(app.balance(&m, "RUB").await, ("1000.00".into(), "0.00".into(), "0.00".into()));
    assert_eq!(get_payin(&app, &m, &id).await["amount"], "1000.00", "rejecting moves nothing");

    // Claimed higher: nothing is at risk; accepting credits the difference.
    let d2 = open(&app, &m, &id, "1200.00").await;
    assert_eq!(d2["frozen_amount"], "0.00");
    let path = format!("/admin/v1/disputes/{}/accept", d2["id"].as_str().unwrap());
    admin_ok(&app, Method::POST, &path, Some(json!({"resolved_amount": "1150.50"}))).await;
    assert_eq!(app.balance(&m, "RUB").await, ("1150.50".into(), "0.00".into(), "0.00".into()));

    // Claimed lower again, accepted lower still: unfrozen, then exactly the difference.
    let d3 = open(&app, &m, &id, "1000.00").await;
    assert_eq!(d3["frozen_amount"], "150.50");
    let path = format!("/admin/v1/disputes/{}/accept", d3["id"].as_str().unwrap());
    admin_ok(&app, Method::POST, &path, Some(json!({"resolved_amount": "900.00"}))).await;
    assert_eq!(app.balance(&m, "RUB").await, ("900.00".into(), "0.00".into(), "0.00".into()));
    let p = get_payin(&app, &m, &id).await;
    assert_eq!((p["amount"].as_str(), p["original_amount"].as_str()), (Some("900.00"), Some("1000.00")));

    // The merchant withdraws a dispute: the frozen funds come back.
    let d4 = open(&app, &m, &id, "100.00").await;
    assert_eq!(d4["frozen_amount"], "800.00");
    let (s, c) = app.signed(&m, "/api/v1/dispute/cancel", json!({"id": d4["id"]})).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["data"]["status"], "cancelled");
    assert_error(&app.signed(&m, "/api/v1/dispute/cancel", json!({"id": d4["id"]})).await, 409, "INVALID_STATE");
    assert_eq!(app.balance(&m, "RUB").await, ("900.00".into(), "0.00".into(), "0.00".into()));
    app.assert_ledger_ok().await;
}

async fn freezing_is_capped_and_a_reduction_needs_funds(app: TestApp) {
    let m = app.create_merchant("capped@example.com").await;
    let id = paid_payin(&app, &m, "c-1", "1000.00").await;
    let (s, body) = app.signed(&m, "/api/v1/payout/create", TestApp::payout_body("c-po", "900.00")).await;
    assert_eq!(s, 201, "{body}");
    // 700.00 is at risk but only 100.00 is available: that much is frozen.
    let d = open(&app, &m, &id, "300.00").await;
    assert_eq!(d["frozen_amount"], "100.00");
    assert_eq!(app.balance(&m, "RUB").await, ("0.00".into(), "900.00".into(), "100.00".into()));

    // Accepting at 300.00 would take 700.00 back; only 100.00 is there.
    let before = app.snapshot().await;
    let path = format!("/admin/v1/disputes/{}/accept", d["id"].as_str().unwrap());
    let refused = app.admin(Method::POST, &path, Some(json!({"resolved_amount": "300.00"}))).await;
    assert_error(&refused, 402, "INSUFFICIENT_FUNDS");
    assert_eq!(app.snapshot().await, before, "a refused resolution changes nothing");
    assert_eq!(get_payin(&app, &m, &id).await["has_open_dispute"], true);

    // Once the payout fails, the money is back and the reduction goes through.
    let (s, body) =
        app.signed(&m, "/api/v1/sandbox/payout/settle", json!({"id": body["data"]["id"], "outcome": "failed"})).await;
    assert_eq!(s, 200, "{body}");
    admin_ok(&app, Method::POST, &path, Some(json!({"resolved_amount": "300.00"}))).await;
    assert_eq!(app.balance(&m, "RUB").await, ("300.00".into(), "0.00".into(), "0.00".into()));
    app.assert_ledger_ok().await;
}

async fn who_may_dispute_what_and_when(app: TestApp) {
    let m = app.create_merchant("rules@example.com").await;
    let pending = payin(&app, &m, "w-pending", "10.00").await;
    let before = app.snapshot().await;
    let got = app.signed(&m, "/api/v1/dispute/create", dispute_body(&pending, "10.00", PDF)).await;
    assert_error(&got, 409, "INVALID_STATE");
    assert_eq!(app.snapshot().await, before, "a pending payin cannot be disputed");

    // Older than 7 days.
    let old = paid_payin(&app, &m, "w-old", "10.00").await;
    let eight_days = 8 * 24 * 3600 * 1_000_000i64;
    sqlx::query("UPDATE payins SET created_at = created_at - $1 WHERE id = $2")
        .bind(eight_days)
        .bind(&old)
        .execute(app.state.db.pool())
        .await
        .unwrap();
    let before = app.snapshot().await;
    assert_error(
        &app.signed(&m, "/api/v1/dispute/create", dispute_body(&old, "10.00", PDF)).await,
        409,
        "INVALID_STATE",
    );
    assert_eq!(app.snapshot().await, before, "a payin older than 7 days cannot be disputed");

    // Bad requests.
    let cancelled = payin(&app, &m, "w-cancelled", "10.00").await;
    app.signed(&m, "/api/v1/payin/cancel", json!({"id": cancelled})).await;
    let before_bad = app.snapshot().await;
    for (body, status, code) in [
        (dispute_body(&cancelled, "10.001", PDF), 422, "VALIDATION_ERROR"),
        (dispute_body(&cancelled, "0", PDF), 422, "VALIDATION_ERROR"),
        (dispute_body(&cancelled, "-5", PDF), 422, "VALIDATION_ERROR"),
        (dispute_body("pi_nope", "10.00", PDF), 404, "NOT_FOUND"),
        (json!({"amount": "1", "receipt": {"filename": "a", "data_base64": b64(PDF)}}), 422, "VALIDATION_ERROR"),
        (
            json!({"payin_id": cancelled, "merchant_order_id": "w-cancelled", "amount": "1",
                   "receipt": {"filename": "a", "data_base64": b64(PDF)}}),
            422,
            "VALIDATION_ERROR",
        ),
        (json!({"payin_id": cancelled, "amount": "1"}), 422, "VALIDATION_ERROR"),
        (
            json!({"payin_id": cancelled, "amount": "1", "comment": "x".repeat(2001),
                "receipt": {"filename": "a", "data_base64": b64(PDF)}}),
            422,
            "VALIDATION_ERROR",
        ),
    ] {
        assert_error(&app.signed(&m, "/api/v1/dispute/create", body).await, status, code);
    }
    assert_eq!(app.snapshot().await, before_bad, "refused disputes change nothing");

    // By merchant_order_id, on a cancelled payin.
    let mut body = dispute_body("", "10.00", PDF);
    body.as_object_mut().unwrap().remove("payin_id");
    body["merchant_order_id"] = json!("w-cancelled");
    let (s, d) = app.signed(&m, "/api/v1/dispute/create", body).await;
    assert_eq!(s, 201, "{d}");
    assert_eq!(d["data"]["payin_id"], cancelled);
    let did = d["data"]["id"].as_str().unwrap();

    // Operator input is checked too.
    let accept = format!("/admin/v1/disputes/{did}/accept");
    let reject = format!("/admin/v1/disputes/{did}/reject");
    let before = app.snapshot().await;
    assert_error(
        &app.admin(Method::POST, &accept, Some(json!({"resolved_amount": "0"}))).await,
        422,
        "VALIDATION_ERROR",
    );
    assert_error(&app.admin(Method::POST, &accept, Some(json!({}))).await, 422, "VALIDATION_ERROR");
    assert_error(&app.admin(Method::POST, &reject, Some(json!({"reason": "because"}))).await, 422, "VALIDATION_ERROR");
    assert_error(
        &app.admin(Method::POST, "/admin/v1/disputes/dp_nope/accept", Some(json!({"resolved_amount": "1"}))).await,
        404,
        "NOT_FOUND",
    );
    assert_eq!(app.snapshot().await, before);
    admin_ok(&app, Method::POST, &reject, Some(json!({"reason": "payment_not_found"}))).await;
    assert_eq!(get_payin(&app, &m, &cancelled).await["status"], "cancelled");
}

async fn concurrent_disputes_on_one_payin_open_one(app: TestApp) {
    let m = app.create_merchant("race@example.com").await;
    let id = paid_payin(&app, &m, "race-1", "500.00").await;
    let app = std::sync::Arc::new(app);
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, m, id) = (app.clone(), m.clone(), id.clone());
            tokio::spawn(
                async move { app.signed(&m, "/api/v1/dispute/create", dispute_body(&id, "400.00", PDF)).await },
            )
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let refused = results.iter().filter(|(s, b)| *s == 409 && b["error"]["code"] == "DISPUTE_ALREADY_OPEN").count();
    assert_eq!((created, refused), (1, 19), "{results:?}");
    assert_eq!(app.balance(&m, "RUB").await, ("400.00".into(), "0.00".into(), "100.00".into()), "frozen once");
    app.assert_ledger_ok().await;
}

async fn disputes_are_listed_searched_and_isolated(app: TestApp) {
    let a = app.create_merchant("list-a@example.com").await;
    let b = app.create_merchant("list-b@example.com").await;
    let p1 = paid_payin(&app, &a, "l-1", "100.00").await;
    let p2 = paid_payin(&app, &a, "l-2", "200.00").await;
    let pb = paid_payin(&app, &b, "l-b", "300.00").await;
    let d1 = open(&app, &a, &p1, "90.00").await;
    let d2 = open(&app, &a, &p2, "250.00").await;
    let db = open(&app, &b, &pb, "300.00").await;
    let (d1, d2, db) = (d1["id"].as_str().unwrap(), d2["id"].as_str().unwrap(), db["id"].as_str().unwrap());
    app.signed(&a, "/api/v1/dispute/cancel", json!({"id": d1})).await;

    let ids = |v: &Value| -> Vec<String> {
        v["data"]["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
    };
    let (_, all) = app.signed(&a, "/api/v1/dispute/list", json!({})).await;
    assert_eq!(ids(&all), vec![d2, d1], "newest first, own only");
    let (_, open_only) = app.signed(&a, "/api/v1/dispute/list", json!({"status": ["open"]})).await;
    assert_eq!(ids(&open_only), vec![d2]);
    let (_, by_payin) = app.signed(&a, "/api/v1/dispute/list", json!({"payin_id": p1})).await;
    assert_eq!(ids(&by_payin), vec![d1]);
    let (_, page1) = app.signed(&a, "/api/v1/dispute/list", json!({"limit": 1})).await;
    assert_eq!(ids(&page1), vec![d2]);
    let (_, page2) =
        app.signed(&a, "/api/v1/dispute/list", json!({"limit": 1, "cursor": page1["data"]["next_cursor"]})).await;
    assert_eq!(ids(&page2), vec![d1]);
    assert_eq!(page2["data"]["next_cursor"], Value::Null);
    assert_error(&app.signed(&a, "/api/v1/dispute/list", json!({"status": ["won"]})).await, 422, "VALIDATION_ERROR");

    // Another merchant's dispute and payin do not exist for A.
    assert_error(&app.signed(&a, "/api/v1/dispute/get", json!({"id": db})).await, 404, "NOT_FOUND");
    assert_error(&app.signed(&a, "/api/v1/dispute/cancel", json!({"id": db})).await, 404, "NOT_FOUND");
    assert_error(&app.signed(&a, "/api/v1/dispute/create", dispute_body(&pb, "1.00", PDF)).await, 404, "NOT_FOUND");
    let (_, bs) = app.signed(&b, "/api/v1/dispute/get", json!({"id": db})).await;
    assert_eq!(bs["data"]["status"], "open");

    // The operator searches across merchants.
    let search = |q: &str| {
        let app = &app;
        let q = q.to_string();
        async move { admin_ok(app, Method::GET, &format!("/admin/v1/disputes{q}"), None).await }
    };
    let ids_of = |v: &Value| -> Vec<String> {
        v["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(ids_of(&search("").await), vec![db, d2, d1]);
    assert_eq!(ids_of(&search(&format!("?merchant_id={}", a.id)).await), vec![d2, d1]);
    assert_eq!(ids_of(&search("?status=open").await), vec![db, d2]);
    assert_eq!(ids_of(&search("?status=open,cancelled&currency=RUB&amount_min=250.00").await), vec![db, d2]);
    assert_eq!(ids_of(&search("?currency=RUB&amount_max=100").await), vec![d1]);
    assert_eq!(ids_of(&search(&format!("?payin_id={pb}")).await), vec![db]);
    assert_eq!(ids_of(&search(&format!("?id={d1},{db}")).await), vec![db, d1]);
    assert_eq!(ids_of(&search("?date_from=2000-01-01T00:00:00Z&date_to=2001-01-01T00:00:00%2B05:00").await).len(), 0);
    let item = &search(&format!("?id={db}")).await["items"][0];
    assert_eq!(item["merchant_id"], b.id.as_str());
    let (s, bad) = app.admin(Method::GET, "/admin/v1/disputes?amount_min=1", None).await;
    assert_error(&(s, bad), 422, "VALIDATION_ERROR");
    let (s, one) = app.admin(Method::GET, &format!("/admin/v1/disputes/{db}"), None).await;
    assert_eq!((s, one["data"]["payin_id"].as_str()), (200, Some(pb.as_str())));
}
