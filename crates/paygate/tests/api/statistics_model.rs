//! The statistics tests' model: random payments and disputes of two
//! merchants in both modes, written straight into the database, and the
//! figures `/api/v1/statistics` must give for them, recomputed by code that
//! shares nothing with the server's.

use crate::helpers::*;
use chrono::{DateTime, FixedOffset, SecondsFormat};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const HOUR: i64 = 3_600_000_000;
pub(crate) const DAY: i64 = 24 * HOUR;
/// 2026-11-01T00:00:00Z in µs.
pub(crate) const T0: i64 = 1_793_491_200_000_000;
pub(crate) const CURRENCIES: [(&str, u32); 4] = [("BTC", 8), ("JPY", 0), ("RUB", 2), ("USD", 2)];
pub(crate) const PAYIN_STATUSES: [&str; 5] = ["pending", "success", "failed", "expired", "cancelled"];
pub(crate) const PAYOUT_STATUSES: [&str; 5] = ["pending", "processing", "success", "failed", "cancelled"];

#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub(crate) payin: bool,
    pub(crate) id: String,
    pub(crate) merchant: String,
    pub(crate) mode: &'static str,
    pub(crate) status: &'static str,
    pub(crate) amount: i64,
    pub(crate) fee: i64,
    pub(crate) currency: &'static str,
    pub(crate) created: i64,
    pub(crate) completed: Option<i64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Dispute {
    pub(crate) merchant: String,
    pub(crate) mode: &'static str,
    pub(crate) status: &'static str,
    pub(crate) currency: &'static str,
    pub(crate) created: i64,
    pub(crate) resolved: Option<i64>,
}

pub(crate) fn exponent(currency: &str) -> u32 {
    CURRENCIES.iter().find(|(c, _)| *c == currency).map_or(2, |(_, e)| *e)
}

/// Minor units as a decimal string, by inserting the point into the digits.
pub(crate) fn decimal(minor: i128, exp: u32) -> String {
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
pub(crate) fn round_half_up(p: i128, q: i128) -> i128 {
    if 2 * (p % q) >= q {
        p / q + 1
    } else {
        p / q
    }
}

pub(crate) fn utc_text(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros).unwrap().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// The same instant written with a UTC offset of `minutes`.
pub(crate) fn offset_text(micros: i64, minutes: i32) -> String {
    let offset = FixedOffset::east_opt(minutes * 60).unwrap();
    DateTime::from_timestamp_micros(micros)
        .unwrap()
        .with_timezone(&offset)
        .to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

pub(crate) fn random_time(rng: &mut StdRng) -> i64 {
    match rng.gen_range(0..12) {
        // Months either side: periods that hold whole 32-day histogram blocks.
        10 | 11 => T0 + rng.gen_range(-100 * DAY..100 * DAY),
        0 => T0 + rng.gen_range(0..96) * HOUR,
        1 => T0 + rng.gen_range(0..4) * DAY,
        2 => T0 + rng.gen_range(1..96) * HOUR - 1,
        _ => T0 + rng.gen_range(0..4 * DAY),
    }
}

pub(crate) fn random_payment(rng: &mut StdRng, i: usize, merchants: &[String; 2], own_mode: &'static str) -> Payment {
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

pub(crate) fn other_mode(mode: &str) -> &'static str {
    if mode == "test" {
        "live"
    } else {
        "test"
    }
}

pub(crate) async fn insert_payment(app: &TestApp, p: &Payment) {
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

pub(crate) async fn insert_dispute(app: &TestApp, i: usize, payin: &Payment, d: &Dispute) {
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
pub(crate) struct Ask {
    pub(crate) from: i64,
    pub(crate) to: i64,
    pub(crate) kind: &'static str,
    pub(crate) granularity: &'static str,
    pub(crate) currency: Option<&'static str>,
}

/// The expected `data` of the answer, recomputed from the generated rows.
pub(crate) fn expected(ask: &Ask, merchant: &str, mode: &str, rows: &[Payment], disputes: &[Dispute]) -> Value {
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

pub(crate) fn currency_entry(ask: &Ask, payin: bool, currency: &str, rows: &[&Payment]) -> Map<String, Value> {
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
