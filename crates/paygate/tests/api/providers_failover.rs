//! When the upstream misbehaves, payments go on: an upstream answering 500,
//! hanging, or not listening hands the payin to the next route within the
//! request, each refusal recorded; after repeated failures the breaker
//! skips it, then lets one request probe it. Upstream callbacks are
//! verified before anything changes: a bad signature, a replay and an
//! unknown order change nothing. Both databases.

use crate::helpers::*;
use crate::partner_support::Partner;
use crate::upstream_support::*;
use paygate_core::signature::{partner_signature, Base64Padding};
use reqwest::Method;
use serde_json::{json, Value};
use std::time::Duration;

/// A partner whose credentials nobody checks (the upstream is broken anyway).
fn anyone(m: &Merchant) -> Partner {
    Partner { merchant: m.clone(), api_key: "key".into(), secret: "secret".into(), callback_secret: "cb".into() }
}

async fn a_failing_upstream_fails_over_and_trips_the_breaker(app: TestApp) {
    let a = app
        .restart_with(|s| {
            s.provider_breaker_failures = 3;
            s.provider_breaker_cooldown_secs = 1;
        })
        .await;
    let bad = BadUpstream::start(Misbehaviour::Fails).await;
    let m = live_merchant(&a, "shop@example.com").await;
    route_to_upstream(&a, &bad.base, &anyone(&m)).await;
    let create = |n: u32| {
        let body = eth_payin(&format!("fo-{n}"), &format!("0.0{n}"));
        let (a, m) = (&a, &m);
        async move { a.signed(m, "/api/v1/payin/create", body).await }
    };
    for n in 1..=3 {
        let (s, p) = create(n).await;
        assert_eq!((s, p["data"]["provider"].as_str()), (201, Some("manual")), "the next route took it: {p}");
    }
    assert_eq!(bad.hits(), 3);
    let refused = refusals(&a, UPSTREAM).await;
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused.iter().all(|r| r["reason"].as_str().unwrap().contains("HTTP 500")), "{refused:?}");
    // The breaker is open: the upstream is skipped without a request.
    let (s, p) = create(4).await;
    assert_eq!((s, p["data"]["provider"].as_str()), (201, Some("manual")));
    assert_eq!(bad.hits(), 3, "skipped while open");
    let (_, health) = a.admin(Method::GET, "/admin/v1/providers/health", None).await;
    let up = health["data"].as_array().unwrap().iter().find(|h| h["id"] == UPSTREAM).unwrap().clone();
    assert_eq!((up["breaker"].as_str(), up["refusals_last_hour"].as_i64()), (Some("open"), Some(3)), "{health}");
    // After the cool-down one request probes it (and fails it again).
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (s, p) = create(5).await;
    assert_eq!((s, p["data"]["provider"].as_str()), (201, Some("manual")));
    assert_eq!(bad.hits(), 4, "one probe");
    let (s, _) = create(6).await;
    assert_eq!((s, bad.hits()), (201, 4), "open again after the failed probe");
    let metrics = a.http.get(a.url("/metrics")).send().await.unwrap().text().await.unwrap();
    // (The metrics registry is shared by every test in this process: the
    // line is there, its count is theirs too.)
    assert!(
        metrics.contains("paygate_provider_requests_total{provider=\"upstream-b\",outcome=\"failed\"}"),
        "{metrics}"
    );
    a.assert_ledger_ok().await;
}

async fn a_hanging_or_absent_upstream_costs_one_timeout(app: TestApp) {
    let hanging = BadUpstream::start(Misbehaviour::Hangs).await;
    let m = live_merchant(&app, "shop@example.com").await;
    route_to_upstream(&app, &hanging.base, &anyone(&m)).await;
    let started = std::time::Instant::now();
    let (s, p) = app.signed(&m, "/api/v1/payin/create", eth_payin("hang-1", "0.01")).await;
    assert_eq!((s, p["data"]["provider"].as_str()), (201, Some("manual")), "{p}");
    assert!(started.elapsed() >= Duration::from_millis(1400), "waited for the upstream's timeout");
    assert_eq!(hanging.hits(), 1);
    // Nothing listens at all: refused at once, and the next route takes it.
    route_to_upstream(&app, "http://127.0.0.1:1", &anyone(&m)).await;
    let (s, p) = app.signed(&m, "/api/v1/payin/create", eth_payin("hang-2", "0.02")).await;
    assert_eq!((s, p["data"]["provider"].as_str()), (201, Some("manual")), "{p}");
    let reasons: Vec<String> =
        refusals(&app, UPSTREAM).await.iter().map(|r| r["reason"].as_str().unwrap().to_string()).collect();
    assert!(
        reasons.iter().any(|r| r.contains("timeout")) && reasons.iter().any(|r| r.contains("connection failed")),
        "{reasons:?}"
    );
    // With every route refusing, the merchant hears why.
    let routes = json!({"routes": [{"kind": "payin", "currency": "ETH", "provider_id": UPSTREAM}]});
    assert_eq!(app.admin(Method::PUT, "/admin/v1/routes", Some(routes)).await.0, 200);
    let (s, p) = app.signed(&m, "/api/v1/payin/create", eth_payin("hang-3", "0.03")).await;
    assert_eq!((s, p["error"]["code"].as_str()), (503, Some("UNAVAILABLE")), "{p}");
    let (_, list) = app.signed(&m, "/api/v1/payin/list", json!({})).await;
    assert_eq!(list["data"]["items"].as_array().unwrap().len(), 2, "the refused payin was not stored");
}

fn callback(id: &str, status: &str, amount: &str) -> String {
    json!({"client_order": {"partner_order_id": id, "status": status, "payin_amount": amount}, "type": "client_order", "version": 2})
        .to_string()
}

async fn send(a: &TestApp, provider: &str, body: &str, signature: Option<String>) -> (u16, Value) {
    let mut req =
        a.http.post(a.url(&format!("/callbacks/switchere/{provider}"))).header("content-type", "application/json");
    if let Some(sig) = signature {
        req = req.header("API-Signature", sig);
    }
    read(req.body(body.to_string()).send().await.unwrap()).await
}

async fn upstream_callbacks_are_verified_and_change_things_once(app: TestApp) {
    let (b, partner) = exchange_b(&app).await;
    route_to_upstream(&app, &b.base, &partner).await;
    let m = live_merchant(&app, "shop@example.com").await;
    let (s, p) = app.signed(&m, "/api/v1/payin/create", eth_payin("cb-1", "0.05")).await;
    assert_eq!(s, 201, "{p}");
    let id = p["data"]["id"].as_str().unwrap().to_string();
    let sign = |body: &str, secret: &str, padding| Some(partner_signature(secret.as_bytes(), body.as_bytes(), padding));
    let finished = callback(&id, "finished", "0.05");
    let before = app.snapshot().await;
    let forged = send(&app, UPSTREAM, &finished, sign(&finished, "not-the-secret", Base64Padding::Padded)).await;
    assert_eq!((forged.0, forged.1["error"]["code"].as_str()), (401, Some("INVALID_SIGNATURE")), "{}", forged.1);
    assert_eq!(send(&app, UPSTREAM, &finished, None).await.0, 401);
    let other_body = callback(&id, "finished", "5.00");
    let swapped =
        send(&app, UPSTREAM, &other_body, sign(&finished, &partner.callback_secret, Base64Padding::Padded)).await;
    assert_eq!(swapped.0, 401, "a signature covers its own body only");
    let unknown = callback("pi_01aaaaaaaaaaaaaaaaaaaaaaaa", "finished", "0.05");
    let (s, _) = send(&app, UPSTREAM, &unknown, sign(&unknown, &partner.callback_secret, Base64Padding::Padded)).await;
    assert_eq!(s, 404, "an unknown order");
    let (s, _) =
        send(&app, "nobody", &finished, sign(&finished, &partner.callback_secret, Base64Padding::Padded)).await;
    assert_eq!(s, 404, "an unknown provider");
    // Signed but not a callback: a clear 400, never a 500.
    for junk in ["{", "[]", "{\"client_order\": {}}", "{\"client_order\": {\"partner_order_id\": 1, \"status\": []}}"] {
        let (s, body) = send(&app, UPSTREAM, junk, sign(junk, &partner.callback_secret, Base64Padding::Padded)).await;
        assert_eq!((s, body["success"].as_bool()), (400, Some(false)), "{junk}: {body}");
    }
    assert_eq!(app.snapshot().await, before, "nothing changed");

    // The real one, unpadded as Perl signs it: applied once.
    let (s, first) =
        send(&app, UPSTREAM, &finished, sign(&finished, &partner.callback_secret, Base64Padding::Unpadded)).await;
    assert_eq!((s, first["changed"].as_bool()), (200, Some(true)), "{first}");
    let after = app.snapshot().await;
    let (s, replay) =
        send(&app, UPSTREAM, &finished, sign(&finished, &partner.callback_secret, Base64Padding::Padded)).await;
    assert_eq!((s, replay["changed"].as_bool()), (200, Some(false)), "{replay}");
    let late = callback(&id, "expired", "0");
    let (s, stale) = send(&app, UPSTREAM, &late, sign(&late, &partner.callback_secret, Base64Padding::Padded)).await;
    assert_eq!((s, stale["changed"].as_bool()), (200, Some(false)), "{stale}");
    assert_eq!(app.snapshot().await, after, "a replay and stale news change nothing");
    let (_, got) = app.signed(&m, "/api/v1/payin/get", json!({"id": id})).await;
    assert_eq!((got["data"]["status"].as_str(), got["data"]["amount"].as_str()), (Some("success"), Some("0.05000000")));
    app.assert_ledger_ok().await;
}

/// A payout whose upstream never answered stays with it (another provider
/// paying too could pay twice), cannot be closed by the merchant or the
/// operator meanwhile, and fails, its hold returning, once the upstream
/// says it has no such order.
async fn a_payout_with_no_clear_answer_stays_with_its_upstream(app: TestApp) {
    let a = app
        .restart_with(|s| {
            s.provider_check_after_secs = 2;
            s.provider_check_poll_ms = 100;
        })
        .await;
    let stub = BadUpstream::start(Misbehaviour::HangsThenForgets).await;
    let m = live_merchant(&a, "payouts@example.com").await;
    route_to_upstream(&a, &stub.base, &anyone(&m)).await;
    a.fund(&m, "ETH", "1.00000000").await;
    let body = json!({"merchant_order_id": "unclear-1", "amount": "0.10000000", "currency": "ETH", "method": "crypto",
                      "destination": {"address": crate::partner_support::ETH_ADDRESSES[0], "network": "ERC20"}});
    let (s, p) = a.signed(&m, "/api/v1/payout/create", body).await;
    assert_eq!(s, 201, "{p}");
    assert_eq!(
        (p["data"]["status"].as_str(), p["data"]["provider"].as_str()),
        (Some("processing"), Some(UPSTREAM)),
        "{p}"
    );
    let id = p["data"]["id"].as_str().unwrap().to_string();
    let (s, _) = a.signed(&m, "/api/v1/payout/cancel", json!({"id": id})).await;
    assert_eq!(s, 409, "the merchant cannot take it back while the upstream may pay it");
    let (s, refused) =
        a.admin(Method::POST, &format!("/admin/v1/payouts/{id}/fail"), Some(json!({"reason": "x"}))).await;
    assert_eq!((s, refused["error"]["code"].as_str()), (409, Some("INVALID_STATE")), "{refused}");
    assert_eq!(a.balance(&m, "ETH").await.1, "0.10000000", "still held");
    let failed = eventually(20, || async {
        let (_, got) = a.signed(&m, "/api/v1/payout/get", json!({"id": id})).await;
        got["data"]["status"] == "failed"
    })
    .await;
    assert!(failed, "the upstream had no such order: the payout failed");
    assert_eq!(a.balance(&m, "ETH").await, ("1.00000000".into(), "0.00000000".into(), "0.00000000".into()));
    a.assert_ledger_ok().await;
}

/// Test merchants' balances are play money: they are served by the sandbox
/// whatever the rules say, and no rule may send anyone to the sandbox.
async fn test_merchants_never_reach_a_real_provider(app: TestApp) {
    let bad = BadUpstream::start(Misbehaviour::Fails).await;
    let m = app.create_merchant("test-shop@example.com").await;
    route_to_upstream(&app, &bad.base, &anyone(&m)).await;
    let (s, p) = app.signed(&m, "/api/v1/payin/create", eth_payin("t-1", "0.01")).await;
    assert_eq!((s, p["data"]["provider"].as_str()), (201, Some("sandbox")), "{p}");
    assert_eq!(bad.hits(), 0);
    let routes = json!({"routes": [{"kind": "payin", "provider_id": "sandbox"}]});
    let (s, body) = app.admin(Method::PUT, "/admin/v1/routes", Some(routes)).await;
    assert_eq!(s, 422, "{body}");
}

crate::both_backends!(
    a_payout_with_no_clear_answer_stays_with_its_upstream,
    test_merchants_never_reach_a_real_provider,
    a_failing_upstream_fails_over_and_trips_the_breaker,
    a_hanging_or_absent_upstream_costs_one_timeout,
    upstream_callbacks_are_verified_and_change_things_once,
);
