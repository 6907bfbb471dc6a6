//! The `statistics` scenario: one merchant with `--stats-payins` payins
//! (default a million) spread over the last 365 days, then
//! `POST /api/v1/statistics` over that whole year with granularity `none`,
//! `day` and `hour`, one request at a time: report latency, not throughput.
//!
//! The payins are written straight into the gateway's database by one
//! `INSERT … SELECT` over a recursive CTE (the same text on SQLite and
//! PostgreSQL; on PostgreSQL they are written pending and settled by one
//! `UPDATE`, see `fill_sql`): creating a million through the API would take many minutes
//! and measure payin-create, not statistics. The mix is deterministic:
//! 72% success, 15% expired, 8% failed, 5% cancelled, `pending` only for the
//! last 30 minutes (as the expiry worker would leave it); 80% RUB, 15% USD,
//! 5% USDT; 100.00–50,000.00; completion 5 s–30 min after creation.

use crate::api::{self, Merchant};
use crate::load::Run;
use crate::scenarios::{Ctx, Outcome};
use crate::stats::percentile;
use anyhow::{bail, Context};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PATH: &str = "/api/v1/statistics";
const DAY_US: i64 = 86_400_000_000;
/// A payin is pending for its TTL (30 min), then the expiry worker settles it.
const TTL_US: i64 = 1_800_000_000;

pub async fn run(ctx: &Ctx<'_>) -> anyhow::Result<Outcome> {
    let client = api::client(Duration::from_secs(120))?;
    let merchant = api::create_merchant(&client, ctx.base, ctx.admin_token, "stats").await?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_micros() as i64;
    // A period of 366 days (the most allowed) that holds the whole year.
    let from = (now - 365 * DAY_US).div_euclid(DAY_US) * DAY_US;
    let body = json!({"date_from": rfc3339(from), "date_to": rfc3339(from + 366 * DAY_US)});
    let url = format!("{}{PATH}", ctx.base);
    // Probe before the fill: a build without the endpoint fails in one line.
    statistics(&client, &url, &merchant, &body, "none").await?;

    let started = Instant::now();
    fill(ctx.database_url, &merchant.id, ctx.stats_payins, now).await?;
    let mut lines = vec![format!(
        "filled {} payins over 365 days in {:.1} s ({})",
        ctx.stats_payins,
        started.elapsed().as_secs_f64(),
        if ctx.database_url.starts_with("sqlite") {
            "one INSERT … SELECT, then ANALYZE and a WAL checkpoint"
        } else {
            "one INSERT … SELECT of pending payins, one UPDATE settling them, then VACUUM ANALYZE of payins and the rollups"
        }
    )];

    let mut all = Run::default();
    let mut notes = Vec::new();
    let mut check_ok = true;
    let window = Instant::now();
    for granularity in ["none", "day", "hour"] {
        // The first request warms the caches and is not counted.
        statistics(&client, &url, &merchant, &body, granularity).await?;
        let mut micros = Vec::new();
        let mut last = Value::Null;
        for _ in 0..ctx.stats_runs {
            let (took, data) = statistics(&client, &url, &merchant, &body, granularity).await?;
            last = data;
            micros.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
        }
        micros.sort_unstable();
        let ms = |q| percentile(&micros, q).map_or(f64::NAN, |us| f64::from(us) / 1000.0);
        let (count, points, problem) = check(&last, ctx.stats_payins, granularity);
        check_ok &= problem.is_none();
        lines.push(format!(
            "granularity {granularity}: p50 {:.1} ms | p99 {:.1} ms | max {:.1} ms over {} runs; {count} payins counted, {points} series points{}",
            ms(0.5),
            ms(0.99),
            ms(1.0),
            micros.len(),
            problem.as_deref().map(|p| format!("; CHECK FAILED: {p}")).unwrap_or_default()
        ));
        notes.push(format!("{granularity} p50 {:.0} / p99 {:.0} ms", ms(0.5), ms(0.99)));
        all.completed += micros.len() as u64;
        all.latencies_us.extend(micros);
    }
    all.elapsed = window.elapsed();
    all.latencies_us.sort_unstable();
    let note = format!("{} payins, one year: {}", ctx.stats_payins, notes.join("; "));
    lines.push(note.clone());
    Ok(Outcome { run: all, lines, note, check_ok })
}

/// One request, and how long the gateway took to answer it: the clock
/// stops at the answer's last byte, before the bench parses it for its
/// checks (an hourly year is 2.7 MB of JSON, tens of milliseconds to parse
/// into a `Value`, which is the client's time, not the gateway's).
async fn statistics(
    client: &Client,
    url: &str,
    m: &Merchant,
    body: &Value,
    granularity: &str,
) -> anyhow::Result<(Duration, Value)> {
    let mut body = body.clone();
    body["granularity"] = granularity.into();
    let t = Instant::now();
    let resp = api::signed_post(client, url, m, body.to_string()).send().await?;
    let status = resp.status();
    let text = resp.text().await.with_context(|| format!("POST {PATH}: reading the response"))?;
    let took = t.elapsed();
    Ok((took, api::data_of(&format!("POST {PATH}"), status, &text, &[StatusCode::OK])?))
}

/// (payins counted, series points, what is wrong): every payin is in the
/// period, so the counts must add up to what was written.
fn check(data: &Value, expected: u64, granularity: &str) -> (u64, usize, Option<String>) {
    let entries = data["payin"].as_array().cloned().unwrap_or_default();
    let count: u64 = entries.iter().filter_map(|e| e["count"].as_u64()).sum();
    let by_status: u64 = entries
        .iter()
        .flat_map(|e| e["by_status"].as_object().cloned().unwrap_or_default())
        .filter_map(|(_, s)| s["count"].as_u64())
        .sum();
    let points = entries.iter().map(|e| e["series"].as_array().map_or(0, Vec::len)).sum();
    let problem = if count != expected || by_status != expected {
        Some(format!("count {count}, by_status {by_status}, expected {expected}"))
    } else if granularity != "none" && points == 0 {
        Some("no series".into())
    } else {
        None
    };
    (count, points, problem)
}

/// Writes `n` payins of `merchant` created over the 365 days before `now`,
/// oldest first (as they would have arrived), then refreshes the planner's
/// statistics as autovacuum/`ANALYZE` would on a live database.
async fn fill(database_url: &str, merchant: &str, n: u64, now: i64) -> anyhow::Result<()> {
    if n == 0 {
        bail!("--stats-payins must be at least 1");
    }
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(database_url).await?;
    let start = now - 365 * DAY_US;
    let step = 365 * DAY_US / n as i64;
    let postgres = !database_url.starts_with("sqlite");
    let sql = fill_sql(n, start, step.max(1), now - TTL_US, postgres);
    // One transaction: the gateway's expiry worker must never see the
    // pending payins (their TTLs are long past), and its writer must not
    // hold a snapshot older than the settling UPDATE while VACUUM runs.
    let mut tx = pool.begin().await?;
    sqlx::query(&sql).bind(merchant).execute(&mut *tx).await.context("bulk insert of payins")?;
    if postgres {
        let sql = settle_sql(now - TTL_US);
        sqlx::query(&sql).bind(merchant).execute(&mut *tx).await.context("bulk settle of payins")?;
    }
    tx.commit().await?;
    let after: &[&str] = if !postgres {
        &["ANALYZE", "PRAGMA wal_checkpoint(TRUNCATE)"]
    } else {
        // The rollups the fill's triggers wrote too, as autovacuum would
        // after so many changes (VACUUM runs one table per statement).
        &[
            "VACUUM ANALYZE payins",
            "VACUUM ANALYZE stats_hourly",
            "VACUUM ANALYZE stats_daily",
            "VACUUM ANALYZE stats_durations",
            "VACUUM ANALYZE stats_durations_32d",
        ]
    };
    for sql in after {
        sqlx::raw_sql(sql).execute(&pool).await.context(*sql)?;
    }
    pool.close().await;
    Ok(())
}

/// The bulk insert. Pseudo-random columns come from multiplicative hashes of
/// the row number, which both engines compute identically in BIGINT. With
/// `pending`, every payin is written pending and [`settle_sql`] settles them
/// after, as they happen: PostgreSQL's rollups take a payin inserted settled
/// one row at a time (a row trigger, see migration 0020), which for a million
/// would update each hour's rollup rows hundreds of times in one transaction
/// and leave the tables bloated as no live gateway's would be.
fn fill_sql(n: u64, start: i64, step: i64, pending_after: i64, pending: bool) -> String {
    let (status, completed) =
        if pending { ("'pending'", "NULL") } else { ("st", "CASE WHEN st = 'pending' THEN NULL ELSE t + d END") };
    format!(
        "WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < {last}), \
         p AS (SELECT i, {start} + i * {step} + (i * 7919) % {step} AS t, (i * 7919) % 1000 AS r, \
                      (i * 104729 + 7) % 100 AS c, 10000 + (i * 1299709) % 4990001 AS a, \
                      (5 + (i * 15485863) % 1795) * 1000000 + (i * 37) % 1000000 AS d FROM s), \
         q AS (SELECT p.*, \
                      CASE WHEN t > {pending_after} THEN 'pending' WHEN r < 720 THEN 'success' \
                           WHEN r < 870 THEN 'expired' WHEN r < 950 THEN 'failed' ELSE 'cancelled' END AS st, \
                      CASE WHEN c < 80 THEN 'RUB' WHEN c < 95 THEN 'USD' ELSE 'USDT' END AS cur FROM p) \
         INSERT INTO payins (id, merchant_id, merchant_order_id, status, amount, original_amount, fee, \
                             fee_percent_e4, fee_fixed, currency, method, mode, provider, requisites, customer_id, \
                             ttl_seconds, request_digest, has_open_dispute, expires_at, created_at, updated_at, \
                             completed_at) \
         SELECT 'pi_bench' || i, $1, 'bench-' || i, {status}, a, a, a * 25 / 1000, 25000, 0, cur, 'card', 'test', \
                'sandbox', '{{}}', 'c' || (i % 5000), 1800, 'bench', 0, t + {TTL_US}, t, t, {completed} \
         FROM q",
        last = n - 1,
    )
}

/// Settles what [`fill_sql`] wrote pending, in one statement, to the same
/// statuses and completion times as a settled fill: the row number comes
/// back from the id (`pi_bench{i}`), the hashes are the same.
fn settle_sql(pending_after: i64) -> String {
    format!(
        "UPDATE payins SET \
            status = CASE WHEN (s.i * 7919) % 1000 < 720 THEN 'success' WHEN (s.i * 7919) % 1000 < 870 THEN 'expired' \
                          WHEN (s.i * 7919) % 1000 < 950 THEN 'failed' ELSE 'cancelled' END, \
            completed_at = payins.created_at + (5 + (s.i * 15485863) % 1795) * 1000000 + (s.i * 37) % 1000000 \
         FROM (SELECT id, CAST(substr(id, 9) AS BIGINT) AS i FROM payins \
               WHERE merchant_id = $1 AND status = 'pending' AND created_at <= {pending_after}) s \
         WHERE payins.id = s.id"
    )
}

/// RFC 3339 UTC with second precision, from µs since the epoch (civil-from-
/// days, so the bench needs no date crate).
fn rfc3339(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days → (year, month, day).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_dates() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_793_491_200_000_000), "2026-11-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_164_800_000_000 + 3_723_000_000), "2024-02-29T01:02:03Z");
        assert_eq!(rfc3339(-1_000_000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn counts_are_checked() {
        let data = json!({"payin": [{"count": 2, "by_status": {"success": {"count": 1}, "failed": {"count": 1}}, "series": [{}]}]});
        assert_eq!(check(&data, 2, "day"), (2, 1, None));
        assert!(check(&data, 3, "none").2.is_some());
    }
}
