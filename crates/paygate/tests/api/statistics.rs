//! `/api/v1/statistics` against a brute-force recount: random payins,
//! payouts and disputes are written straight into the database (other
//! merchants, the other mode, exact bucket boundaries, sums beyond `i64`),
//! and every figure the endpoint gives for random periods is recomputed here
//! from the generated rows, by code that shares nothing with the server's.

use crate::both_backends;
use crate::helpers::*;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

both_backends!(
    statistics_match_a_brute_force_recount,
    invalid_statistics_requests_change_nothing,
    other_merchants_payments_are_never_counted,
);

const HOUR: i64 = 3_600_000_000;
const DAY: i64 = 24 * HOUR;
/// 2026-11-01T00:00:00Z in µs.
const T0: i64 = 1_793_491_200_000_000;
const CURRENCIES: [(&str, u32); 4] = [("BTC", 8), ("JPY", 0), ("RUB", 2), ("USD", 2)];
const PAYIN_STATUSES: [&str; 5] = ["pending", "success", "failed", "expired", "cancelled"];
const PAYOUT_STATUSES: [&str; 5] = ["pending", "processing", "success", "failed", "cancelled"];

#[derive(Debug, Clone)]
struct Payment {
    payin: bool,
    id: String,
    merchant: String,
    mode: &'static str,
    status: &'static str,
    amount: i64,
    fee: i64,
    currency: &'static str,
    created: i64,
    completed: Option<i64>,
}

#[derive(Debug, Clone)]
struct Dispute {
    merchant: String,
    mode: &'static str,
    status: &'static str,
    currency: &'static str,
    created: i64,
    resolved: Option<i64>,
}

fn exponent(currency: &str) -> u32 {
    CURRENCIES.iter().find(|(c, _)| *c == currency).map_or(2, |(_, e)| *e)
}

/// Minor units as a decimal string, by inserting the point into the digits.
fn decimal(minor: i128, exp: u32) -> String {
    let digits = format!("{:0>width$}", minor.unsigned_abs(), width = exp as usize + 1);
    let (int, frac) = digits.split_at(digits.len() - exp as usize);
    let sign = if minor < 0 { "-" } else { "" };
    if exp == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// p / q for p ≥ 0, q > 0, rounded half up.
fn round_half_up(p: i128, q: i128) -> i128 {
    if 2 * (p % q) >= q {
        p / q + 1
    } else {
        p / q
    }
}

fn utc_text(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros).unwrap().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The same instant written with a UTC offset of `minutes`.
fn offset_text(micros: i64, minutes: i32) -> String {
    let offset = FixedOffset::east_opt(minutes * 60).unwrap();
    DateTime::from_timestamp_micros(micros)
        .unwrap()
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

fn random_time(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..10) {
        0 => T0 + rng.gen_range(0..96) * HOUR,
        1 => T0 + rng.gen_range(0..4) * DAY,
        2 => T0 + rng.gen_range(1..96) * HOUR - 1,
        _ => T0 + rng.gen_range(0..4 * DAY),
    }
}

fn random_payment(rng: &mut StdRng, i: usize, merchants: &[String; 2], own_mode: &'static str) -> Payment {
    let payin = rng.gen_bool(0.6);
    let statuses = if payin { PAYIN_STATUSES } else { PAYOUT_STATUSES };
    let status = statuses[rng.gen_range(0..5)];
    let amount = match rng.gen_range(0..20) {
        0 => rng.gen_range(1_000_000_000_000_000_000..=i64::MAX),
        1 => 1,
        _ => rng.gen_range(1..100_000_000),
    };
    let fee = if rng.gen_bool(0.2) { rng.gen_range(0..=amount) } else { rng.gen_range(0..=amount.min(1_000_000)) };
    let created = random_time(rng);
    let duration = match rng.gen_range(0..4) {
        0 => rng.gen_range(0..100_000) * 1000 + 500,
        1 => 0,
        _ => rng.gen_range(0..2 * DAY),
    };
    let finished = !matches!(status, "pending" | "processing");
    Payment {
        payin,
        id: format!("{}_stat{i:05}", if payin { "pi" } else { "po" }),
        merchant: merchants[usize::from(rng.gen_bool(0.15))].clone(),
        mode: if rng.gen_bool(0.85) { own_mode } else { other_mode(own_mode) },
        status,
        amount,
        fee,
        currency: CURRENCIES[rng.gen_range(0..CURRENCIES.len())].0,
        created,
        completed: finished.then_some(created + duration),
    }
}

fn other_mode(mode: &str) -> &'static str {
    if mode == "test" {
        "live"
    } else {
        "test"
    }
}

async fn insert_payment(app: &TestApp, p: &Payment) {
    let sql = if p.payin {
        "INSERT INTO payins (id, merchant_id, merchant_order_id, status, amount, original_amount, fee, fee_percent_e4, \
         fee_fixed, currency, method, mode, provider, requisites, customer_id, ttl_seconds, request_digest, \
         has_open_dispute, expires_at, created_at, updated_at, completed_at) \
         VALUES ($1, $2, $1, $3, $4, $4, $5, 0, 0, $6, 'card', $7, 'sandbox', '{}', 'cust', 1800, 'x', 0, $10, $8, $8, $9)"
    } else {
        "INSERT INTO payouts (id, merchant_id, merchant_order_id, status, amount, fee, currency, method, mode, provider, \
         destination_masked, destination_sealed, request_digest, created_at, updated_at, completed_at) \
         VALUES ($1, $2, $1, $3, $4, $5, $6, 'card', $7, 'sandbox', '{}', 'sealed', 'x', $8, $8, $9)"
    };
    let mut query = sqlx::query(sql)
        .bind(&p.id)
        .bind(&p.merchant)
        .bind(p.status)
        .bind(p.amount)
        .bind(p.fee)
        .bind(p.currency)
        .bind(p.mode)
        .bind(p.created)
        .bind(p.completed);
    if p.payin {
        // Far in the future: a `pending` payin of the past must stay pending
        // while the test compares, not be expired by the running worker.
        query = query.bind(i64::MAX / 2);
    }
    query.execute(app.state.db.pool()).await.unwrap();
}

async fn insert_dispute(app: &TestApp, i: usize, payin: &Payment, d: &Dispute) {
    sqlx::query(
        "INSERT INTO disputes (id, merchant_id, payin_id, mode, status, claimed_amount, currency, receipt_filename, \
         receipt_content_type, receipt_size, receipt_sha256, created_at, updated_at, resolved_at) \
         VALUES ($1, $2, $3, $4, $5, 100, $6, 'r.pdf', 'application/pdf', 10, 'ab', $7, $7, $8)",
    )
    .bind(format!("dp_stat{i:05}"))
    .bind(&d.merchant)
    .bind(&payin.id)
    .bind(d.mode)
    .bind(d.status)
    .bind(d.currency)
    .bind(d.created)
    .bind(d.resolved)
    .execute(app.state.db.pool())
    .await
    .unwrap();
}

/// What one request asks for.
struct Ask {
    from: i64,
    to: i64,
    kind: &'static str,
    granularity: &'static str,
    currency: Option<&'static str>,
}

/// The expected `data` of the answer, recomputed from the generated rows.
fn expected(ask: &Ask, merchant: &str, mode: &str, rows: &[Payment], disputes: &[Dispute]) -> Value {
    let mut data = Map::new();
    data.insert("date_from".into(), utc_text(ask.from).into());
    data.insert("date_to".into(), utc_text(ask.to).into());
    data.insert("kind".into(), ask.kind.into());
    data.insert("granularity".into(), ask.granularity.into());
    for payin in [true, false] {
        if ask.kind == if payin { "payout" } else { "payin" } {
            continue;
        }
        let mine: Vec<&Payment> = rows
            .iter()
            .filter(|p| p.payin == payin && p.merchant == merchant && p.mode == mode)
            .filter(|p| p.created >= ask.from && p.created < ask.to)
            .filter(|p| ask.currency.is_none_or(|c| p.currency == c))
            .collect();
        let mut currencies: BTreeSet<&str> = mine.iter().map(|p| p.currency).collect();
        currencies.extend(ask.currency);
        if payin {
            // Dispute activity in the period gives its currency an entry of its own.
            let inside = |t: i64| t >= ask.from && t < ask.to;
            let active = disputes.iter().filter(|d| d.merchant == merchant && d.mode == mode).filter(|d| {
                inside(d.created) || (matches!(d.status, "accepted" | "rejected") && d.resolved.is_some_and(inside))
            });
            currencies.extend(active.map(|d| d.currency).filter(|c| ask.currency.is_none_or(|a| a == *c)));
        }
        let entries: Vec<Value> = currencies
            .into_iter()
            .map(|c| {
                let of_c: Vec<&Payment> = mine.iter().copied().filter(|p| p.currency == c).collect();
                let mut entry = currency_entry(ask, payin, c, &of_c);
                if payin {
                    let mine = |d: &&Dispute| d.merchant == merchant && d.mode == mode && d.currency == c;
                    let inside = |t: i64| t >= ask.from && t < ask.to;
                    let resolved = |s: &str| {
                        disputes.iter().filter(mine).filter(|d| d.status == s && d.resolved.is_some_and(inside)).count()
                    };
                    let opened = disputes.iter().filter(mine).filter(|d| inside(d.created)).count();
                    let disputes =
                        json!({"opened": opened, "accepted": resolved("accepted"), "rejected": resolved("rejected")});
                    entry.insert("disputes".into(), disputes);
                }
                // Keys in the documented order, so a failure diff reads well.
                if let Some(series) = entry.remove("series") {
                    entry.insert("series".into(), series);
                }
                Value::Object(entry)
            })
            .collect();
        data.insert(if payin { "payin" } else { "payout" }.into(), Value::Array(entries));
    }
    Value::Object(data)
}

fn currency_entry(ask: &Ask, payin: bool, currency: &str, rows: &[&Payment]) -> Map<String, Value> {
    let exp = exponent(currency);
    let statuses = if payin { PAYIN_STATUSES } else { PAYOUT_STATUSES };
    let success: Vec<&&Payment> = rows.iter().filter(|p| p.status == "success").collect();
    let turnover: i128 = success.iter().map(|p| i128::from(p.amount)).sum();
    let fees: i128 = success.iter().map(|p| i128::from(p.fee)).sum();
    let finished = rows.iter().filter(|p| !matches!(p.status, "pending" | "processing")).count() as i128;
    let mut by_status = Map::new();
    for s in statuses {
        let these: Vec<&&Payment> = rows.iter().filter(|p| p.status == s).collect();
        let amount: i128 = these.iter().map(|p| i128::from(p.amount)).sum();
        by_status.insert(s.into(), json!({"count": these.len(), "amount": decimal(amount, exp)}));
    }
    let n = success.len() as i128;
    let average = (n > 0).then(|| decimal(round_half_up(turnover, n), exp));
    let rate = (finished > 0).then(|| decimal(round_half_up(n * 10_000, finished), 4));
    let mut durations: Vec<i128> = success.iter().map(|p| i128::from(p.completed.unwrap() - p.created)).collect();
    durations.sort();
    let median = match durations.len() {
        0 => Value::Null,
        len => {
            let middle = if len % 2 == 1 {
                durations[len / 2]
            } else {
                (durations[len / 2 - 1] + durations[len / 2]).div_euclid(2)
            };
            json!(round_half_up(middle, 1000) as f64 / 1000.0)
        }
    };
    let mut entry = Map::new();
    entry.insert("currency".into(), currency.into());
    entry.insert("count".into(), rows.len().into());
    entry.insert("by_status".into(), Value::Object(by_status));
    entry.insert("fees".into(), decimal(fees, exp).into());
    entry.insert("turnover".into(), decimal(turnover, exp).into());
    entry.insert("average_amount".into(), average.into());
    entry.insert("conversion_rate".into(), rate.into());
    entry.insert("median_seconds_to_complete".into(), median);
    let width = match ask.granularity {
        "hour" => HOUR,
        "day" => DAY,
        _ => return entry,
    };
    let mut buckets: BTreeMap<i64, Vec<&Payment>> = BTreeMap::new();
    for p in rows {
        buckets.entry(p.created / width * width).or_default().push(p);
    }
    let series: Vec<Value> = buckets
        .into_iter()
        .map(|(start, ps)| {
            let ok: Vec<&&Payment> = ps.iter().filter(|p| p.status == "success").collect();
            json!({
                "start": utc_text(start),
                "count": ps.len(),
                "success_count": ok.len(),
                "turnover": decimal(ok.iter().map(|p| i128::from(p.amount)).sum(), exp),
                "fees": decimal(ok.iter().map(|p| i128::from(p.fee)).sum(), exp),
            })
        })
        .collect();
    entry.insert("series".into(), Value::Array(series));
    entry
}

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
        let bound = |rng: &mut StdRng| match rng.gen_range(0..4) {
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
        assert_eq!(got["data"], want, "seed {seed}, request {i}: {body}");
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
