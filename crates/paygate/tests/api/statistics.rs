//! `/api/v1/statistics` against a brute-force recount: random payins,
//! payouts and disputes are written straight into the database (other
//! merchants, the other mode, exact bucket boundaries, sums beyond `i64`),
//! and every figure the endpoint gives for random periods is recomputed here
//! from the generated rows, by code that shares nothing with the server's.

use crate::both_backends;
use crate::helpers::*;
use crate::statistics_model::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Value};

both_backends!(
    statistics_match_a_brute_force_recount,
    invalid_statistics_requests_change_nothing,
    other_merchants_payments_are_never_counted,
);

async fn statistics_match_a_brute_force_recount(app: TestApp) {
    let seed: u64 =
        std::env::var("PAYGATE_PROPTEST_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    eprintln!("statistics seed {seed} (set PAYGATE_PROPTEST_SEED to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let m = app.create_merchant("stats@example.com").await;
    let other = app.create_merchant("stats-other@example.com").await;
    // The merchant's current mode decides which ledger is counted.
    let mode = if rng.gen_bool(0.5) { "test" } else { "live" };
    let (s, body) =
        app.admin(Method::PATCH, &format!("/admin/v1/merchants/{}", m.id), Some(json!({"mode": mode}))).await;
    assert_eq!(s, 200, "{body}");

    let merchants = [m.id.clone(), other.id.clone()];
    let rows: Vec<Payment> = (0..400).map(|i| random_payment(&mut rng, i, &merchants, mode)).collect();
    for p in &rows {
        insert_payment(&app, p).await;
    }
    // The rollups the database keeps follow rows written by any path.
    let differences = app.state.db.statistics_differences().await.unwrap();
    assert!(differences.is_empty(), "seed {seed}: {differences:#?}");
    let mut disputes = Vec::new();
    for (i, p) in rows.iter().filter(|p| p.payin && p.status != "pending").enumerate().take(60) {
        let status = ["open", "accepted", "rejected", "cancelled"][rng.gen_range(0..4)];
        let created = p.created + rng.gen_range(0..2 * DAY);
        let d = Dispute {
            merchant: p.merchant.clone(),
            mode: p.mode,
            status,
            currency: p.currency,
            created,
            resolved: (status != "open").then(|| created + rng.gen_range(0..2 * DAY)),
        };
        insert_dispute(&app, i, p, &d).await;
        disputes.push(d);
    }

    let mut asks = vec![Ask { from: T0 - DAY, to: T0 + 6 * DAY, kind: "all", granularity: "day", currency: None }];
    for _ in 0..12 {
        let bound = |rng: &mut StdRng| match rng.gen_range(0..5) {
            // Long periods: whole days and 32-day blocks of the rollups,
            // partial ones at the ends.
            4 => T0 + rng.gen_range(-110 * DAY..110 * DAY),
            0 => rows[rng.gen_range(0..rows.len())].created,
            1 => T0 + rng.gen_range(-24..120) * HOUR,
            2 => T0 + rng.gen_range(0..5) * DAY,
            _ => T0 + rng.gen_range(-DAY..5 * DAY),
        };
        let (a, b) = (bound(&mut rng), bound(&mut rng));
        let (from, to) = if a == b { (a, a + 1) } else { (a.min(b), a.max(b)) };
        let currency = match rng.gen_range(0..6) {
            0 => Some(CURRENCIES[rng.gen_range(0..CURRENCIES.len())].0),
            1 => Some("EUR"),
            _ => None,
        };
        let kind = ["payin", "payout", "all"][rng.gen_range(0..3)];
        asks.push(Ask { from, to, kind, granularity: ["none", "hour", "day"][rng.gen_range(0..3)], currency });
    }
    for (i, ask) in asks.iter().enumerate() {
        let offsets = [0, 330, -480, 345, -210];
        let mut text = |t| offset_text(t, offsets[rng.gen_range(0..offsets.len())]);
        let mut body = json!({"date_from": text(ask.from), "date_to": text(ask.to)});
        // Defaults are taken when the field is left out.
        if ask.kind != "all" || rng.gen_bool(0.5) {
            body["kind"] = ask.kind.into();
        }
        if ask.granularity != "none" || rng.gen_bool(0.5) {
            body["granularity"] = ask.granularity.into();
        }
        if let Some(c) = ask.currency {
            body["currency"] = c.into();
        }
        let (s, got) = app.signed(&m, "/api/v1/statistics", body.clone()).await;
        assert_eq!(s, 200, "{got}");
        let want = expected(ask, &m.id, mode, &rows, &disputes);
        let mut got = got["data"].clone();
        medians_within_their_bound(&mut got, &want, &format!("seed {seed}, request {i}: {body}"));
        assert_eq!(got, want, "seed {seed}, request {i}: {body}");
    }
}

/// Medians come from 4%-wide histogram buckets (README, "Statistics"): each
/// must be within 2% of the exact one plus 0.5 s (plus the millisecond of
/// rounding), and is then taken as exact so that every other figure is
/// compared exactly.
fn medians_within_their_bound(got: &mut Value, want: &Value, what: &str) {
    for kind in ["payin", "payout"] {
        let (Some(got), Some(want)) = (got.get_mut(kind).and_then(Value::as_array_mut), want[kind].as_array()) else {
            continue;
        };
        for (g, w) in got.iter_mut().zip(want) {
            let (gm, wm) = (&g["median_seconds_to_complete"], &w["median_seconds_to_complete"]);
            if let (Some(a), Some(b)) = (gm.as_f64(), wm.as_f64()) {
                let bound = b.abs() * 0.02 + 0.5 + 0.001;
                assert!((a - b).abs() <= bound, "{what}: {kind} {} median {a} s, exact {b} s", w["currency"]);
                g["median_seconds_to_complete"] = wm.clone();
            }
        }
    }
}

async fn invalid_statistics_requests_change_nothing(app: TestApp) {
    let m = app.create_merchant("stats-invalid@example.com").await;
    let base = json!({"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"});
    let with = |changes: Value| {
        let mut b = base.clone();
        for (k, v) in changes.as_object().unwrap() {
            match v {
                Value::String(s) if s == "<absent>" => {
                    b.as_object_mut().unwrap().remove(k);
                }
                _ => b[k] = v.clone(),
            }
        }
        b
    };
    let cases: Vec<(Value, &str, &str)> = vec![
        (with(json!({"date_from": "<absent>"})), "VALIDATION_ERROR", "date_from"),
        (with(json!({"date_to": "<absent>"})), "VALIDATION_ERROR", "date_to"),
        (json!({}), "VALIDATION_ERROR", "date_from"),
        (with(json!({"date_from": "2026-11-01"})), "VALIDATION_ERROR", "date_from"),
        (with(json!({"date_from": "yesterday"})), "VALIDATION_ERROR", "date_from"),
        (with(json!({"date_to": "2026-11-02T00:00:00"})), "VALIDATION_ERROR", "date_to"),
        (with(json!({"date_from": 1793491200})), "VALIDATION_ERROR", "date_from"),
        (with(json!({"date_to": "2026-11-01T00:00:00Z"})), "VALIDATION_ERROR", "date_to"),
        (with(json!({"date_to": "2026-11-01T03:00:00+03:00"})), "VALIDATION_ERROR", "date_to"),
        (with(json!({"date_to": "2026-10-31T00:00:00Z"})), "VALIDATION_ERROR", "date_to"),
        (
            with(json!({"date_from": "2024-01-01T00:00:00Z", "date_to": "2025-01-01T00:00:00.000001Z"})),
            "VALIDATION_ERROR",
            "date_to",
        ),
        (with(json!({"date_to": "2027-11-03T00:00:00Z"})), "VALIDATION_ERROR", "date_to"),
        (
            with(json!({"date_from": "1969-12-31T23:00:00Z", "date_to": "1970-01-02T00:00:00Z"})),
            "VALIDATION_ERROR",
            "date_from",
        ),
        (
            with(json!({"date_from": "9999-12-31T00:00:00Z", "date_to": "9999-12-31T23:00:00-05:00"})),
            "VALIDATION_ERROR",
            "date_to",
        ),
        (with(json!({"kind": "both"})), "VALIDATION_ERROR", "kind"),
        (with(json!({"kind": "PAYIN"})), "VALIDATION_ERROR", "kind"),
        (with(json!({"kind": null})), "VALIDATION_ERROR", "kind"),
        (with(json!({"granularity": "week"})), "VALIDATION_ERROR", "granularity"),
        (with(json!({"granularity": 3600})), "VALIDATION_ERROR", "granularity"),
        (with(json!({"currency": "XXX"})), "UNSUPPORTED_CURRENCY", ""),
        (with(json!({"currency": "rub"})), "UNSUPPORTED_CURRENCY", ""),
        (with(json!({"merchant_id": "mch_other"})), "VALIDATION_ERROR", "merchant_id"),
    ];
    let before = app.snapshot().await;
    for (body, code, field) in cases {
        let got = app.signed(&m, "/api/v1/statistics", body.clone()).await;
        assert_error(&got, 422, code);
        if !field.is_empty() {
            let details = &got.1["error"]["details"];
            assert!(details.as_array().unwrap().iter().any(|d| d["field"] == field), "{body} → {}", got.1);
        }
    }
    assert_error(
        &app.post_with_headers("/api/v1/statistics", &[], &base.to_string()).await,
        401,
        "AUTH_MISSING_HEADERS",
    );
    let ts = now_secs().to_string();
    let sig = sign(&m.secret, &ts, &m.email);
    let raw =
        app.post_with_headers("/api/v1/statistics", &auth_triplet(&m.public_token, &ts, &sig), "{\"date_from\":").await;
    assert_error(&raw, 400, "BAD_JSON");
    assert_eq!(app.snapshot().await, before);
    // The longest period allowed, a leap year of 366 days, is accepted.
    let leap = json!({"date_from": "2024-01-01T00:00:00Z", "date_to": "2025-01-01T00:00:00Z"});
    let (s, body) = app.signed(&m, "/api/v1/statistics", leap).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(
        body["data"],
        json!({"date_from": "2024-01-01T00:00:00Z", "date_to": "2025-01-01T00:00:00Z",
        "kind": "all", "granularity": "none", "payin": [], "payout": []})
    );
}

/// Payments made through the API by one merchant never show in another's
/// statistics, and the real write path's times give the documented figures.
async fn other_merchants_payments_are_never_counted(app: TestApp) {
    let (a, b) = (app.create_merchant("stats-a@example.com").await, app.create_merchant("stats-b@example.com").await);
    let mut paid = Vec::new();
    for i in 0..3 {
        let (s, p) = app.signed(&b, "/api/v1/payin/create", TestApp::payin_body(&format!("o-{i}"), "100.50")).await;
        assert_eq!(s, 201, "{p}");
        paid.push(p["data"]["id"].as_str().unwrap().to_string());
    }
    let (s, body) = app.signed(&b, "/api/v1/sandbox/payin/pay", json!({"id": paid[0]})).await;
    assert_eq!(s, 200, "{body}");
    let (s, body) = app.signed(&b, "/api/v1/payin/cancel", json!({"id": paid[1]})).await;
    assert_eq!(s, 200, "{body}");
    let now = now_secs() * 1_000_000;
    let period = json!({"date_from": utc_text(now - DAY), "date_to": utc_text(now + HOUR)});

    let (s, body) = app.signed(&a, "/api/v1/statistics", period.clone()).await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["payin"], json!([]), "{body}");
    assert_eq!(body["data"]["payout"], json!([]), "{body}");
    let mut only_rub = period.clone();
    only_rub["currency"] = "RUB".into();
    only_rub["kind"] = "payin".into();
    let (_, body) = app.signed(&a, "/api/v1/statistics", only_rub.clone()).await;
    let zero = &body["data"]["payin"][0];
    assert_eq!(body["data"]["payin"].as_array().unwrap().len(), 1, "{body}");
    assert_eq!((zero["count"].clone(), zero["turnover"].clone()), (json!(0), json!("0.00")), "{body}");
    assert_eq!(zero["average_amount"], Value::Null);
    assert_eq!(zero["median_seconds_to_complete"], Value::Null);
    assert!(body["data"].get("payout").is_none(), "{body}");

    let (_, body) = app.signed(&b, "/api/v1/statistics", only_rub).await;
    let rub = &body["data"]["payin"][0];
    assert_eq!(rub["count"], 3, "{body}");
    assert_eq!(rub["by_status"]["success"], json!({"count": 1, "amount": "100.50"}));
    assert_eq!(rub["by_status"]["cancelled"], json!({"count": 1, "amount": "100.50"}));
    assert_eq!(rub["by_status"]["pending"], json!({"count": 1, "amount": "100.50"}));
    assert_eq!((rub["turnover"].clone(), rub["average_amount"].clone()), (json!("100.50"), json!("100.50")));
    assert_eq!(rub["conversion_rate"], "0.5000", "one success out of two finished");
    assert!(rub["median_seconds_to_complete"].as_f64().is_some_and(|s| (0.0..60.0).contains(&s)), "{body}");
}
