//! `/api/v1/statistics`: aggregates of the merchant's payments created in a
//! period (API.md 3.5), per kind and currency, optionally as a series.
//!
//! The database does the counting and summing, from rollups it keeps per
//! hour and day (and completion-time histograms per day and 32 days) plus
//! the payments of the partial hours at the ends of the period; nothing
//! here ever holds the payments themselves, so a year of a million payins
//! costs a few thousand rows of transfer (26k points for an hourly series).

pub mod schema;
pub mod series_out;
mod tally;

use crate::error::{ApiError, ApiResult};
use crate::http::auth::Signed;
use crate::http::envelope::{ok, Envelope};
use crate::payments::input::{currency_exponent, parse_time, Issues};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use paygate_core::payments::{PayInStatus, PayOutStatus};
use paygate_core::statistics::{check_period, histogram_median, Granularity, PeriodError};
use paygate_store::payments::Kind;
use paygate_store::statistics::{StatsReader, StatsScope};
use schema::*;
use std::collections::{BTreeMap, HashMap};
use tally::Tally;

/// Counts, sums and derived figures of your payments created in
/// `[date_from, date_to)`, per kind and currency, in your current mode
/// (test and live are separate ledgers). `by_status` counts by current
/// status; `fees`, `turnover`, `average_amount` and
/// `median_seconds_to_complete` are over the successful ones. With a
/// `granularity`, each entry has a `series` of its non-empty UTC buckets.
#[utoipa::path(post, path = "/api/v1/statistics", tag = "merchant",
    security(("app_token" = [], "app_ts" = [], "app_sig" = [])),
    request_body = StatisticsIn,
    responses((status = 200, description = "Statistics of the period", body = inline(Envelope<StatisticsOut>)),
              (status = 401, body = crate::error::ErrorEnvelope),
              (status = 422, description = "VALIDATION_ERROR (a missing or malformed field, `date_to` not after \
                `date_from`, a period over 366 days, an unknown `kind`, `granularity` or field) or \
                UNSUPPORTED_CURRENCY", body = crate::error::ErrorEnvelope)))]
pub async fn statistics(State(state): State<AppState>, req: Signed<StatisticsIn>) -> ApiResult<Response> {
    let input = req.body;
    let (from, to) = period(&input)?;
    if let Some(c) = &input.currency {
        currency_exponent(&state.currencies, c)?;
    }
    let scope = StatsScope {
        merchant_id: req.merchant.id,
        mode: req.merchant.mode.as_str().to_string(),
        from,
        to,
        currency: input.currency,
    };
    let granularity = Granularity::from(input.granularity);
    // Waiting here is bounded by the request timeout (503 past it).
    let _permit = state
        .statistics_permits
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable("statistics are shutting down".into()))?;
    // One snapshot for the whole answer, read in turn on one connection
    // (each read is a few thousand rollup rows at most), but for a series,
    // read beside the rest on a second one (see `tallies`).
    let mut reader = state.db.statistics_reader().await?;
    let payin = match input.kind.payin() {
        true => Some(payins(&state, &mut reader, &scope, granularity).await?),
        false => None,
    };
    let payout = match input.kind.payout() {
        true => Some(payouts(&state, &mut reader, &scope, granularity).await?),
        false => None,
    };
    // The snapshot and its connection are not needed for writing the answer.
    drop(reader);
    Ok(ok(StatisticsOut {
        date_from: utc(from),
        date_to: utc(to),
        kind: input.kind,
        granularity: input.granularity,
        payin,
        payout,
    }))
}

/// Both dates, in µs: every problem with them in one answer.
fn period(input: &StatisticsIn) -> ApiResult<(i64, i64)> {
    let mut issues = Issues::default();
    let mut time = |field: &str, text: &str| {
        let t = parse_time(text);
        if t.is_none() {
            issues.add(field, "must be an RFC 3339 time such as 2026-11-01T00:00:00Z");
        }
        t
    };
    let (from, to) = (time("date_from", &input.date_from), time("date_to", &input.date_to));
    if let (Some(from), Some(to)) = (from, to) {
        if let Err(e) = check_period(from, to) {
            let field = if matches!(e, PeriodError::OutOfRange) && from < 0 { "date_from" } else { "date_to" };
            issues.add(field, e.to_string());
        }
    }
    issues.into_result()?;
    match (from, to) {
        (Some(from), Some(to)) => Ok((from, to)),
        _ => Err(ApiError::internal(anyhow::anyhow!("period checked without both dates"))),
    }
}

/// RFC 3339 UTC, with a fraction only when the time has one. Every bucket
/// start is a whole second (an hourly year is 26k of them): those take the
/// envelope's direct writer.
fn utc(micros: i64) -> String {
    if micros % 1_000_000 == 0 {
        return crate::http::envelope::rfc3339(micros);
    }
    chrono::DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn exponent(state: &AppState, currency: &str) -> u8 {
    state.currencies.exponent(currency).unwrap_or(0)
}

async fn payins(
    state: &AppState,
    reader: &mut StatsReader,
    scope: &StatsScope,
    granularity: Granularity,
) -> ApiResult<Vec<PayInStatsOut>> {
    let statuses = PayInStatus::ALL.map(PayInStatus::as_str);
    let mut tallies = tallies(reader, Kind::PayIn, scope, granularity, &statuses).await?;
    let disputes = reader.dispute_counts(scope).await?;
    // A dispute opened or resolved in the period may be about a payin of an
    // earlier one: its currency gets an entry even with no payins in the period.
    for d in disputes.iter().filter(|d| d.opened + d.accepted + d.rejected > 0) {
        tallies.entry(d.currency.clone()).or_default();
    }
    let mut disputes: HashMap<String, StatsDisputesOut> = disputes
        .into_iter()
        .map(|d| (d.currency, StatsDisputesOut { opened: d.opened, accepted: d.accepted, rejected: d.rejected }))
        .collect();
    let is_final = |s: &str| PayInStatus::parse(s).is_some_and(PayInStatus::is_final);
    let entries = tallies.into_iter().map(|(currency, mut t)| {
        let exp = exponent(state, &currency);
        let common = t.render(exp, granularity, is_final, utc);
        PayInStatsOut {
            count: common.count,
            by_status: PayInByStatusOut::new(|s| t.status(s, exp)),
            figures: common.figures,
            disputes: disputes.remove(&currency).unwrap_or_default(),
            series: common.series,
            currency,
        }
    });
    Ok(entries.collect())
}

async fn payouts(
    state: &AppState,
    reader: &mut StatsReader,
    scope: &StatsScope,
    granularity: Granularity,
) -> ApiResult<Vec<PayOutStatsOut>> {
    let statuses = PayOutStatus::ALL.map(PayOutStatus::as_str);
    let tallies = tallies(reader, Kind::PayOut, scope, granularity, &statuses).await?;
    let is_final = |s: &str| PayOutStatus::parse(s).is_some_and(PayOutStatus::is_final);
    let entries = tallies.into_iter().map(|(currency, mut t)| {
        let exp = exponent(state, &currency);
        let common = t.render(exp, granularity, is_final, utc);
        PayOutStatsOut {
            count: common.count,
            by_status: PayOutByStatusOut::new(|s| t.status(s, exp)),
            figures: common.figures,
            series: common.series,
            currency,
        }
    });
    Ok(entries.collect())
}

/// Totals per currency and status folded per currency, the series when
/// asked for, and each currency's median from its completion-time
/// histogram. The series is the longest read (an hourly year is 26k
/// points): on PostgreSQL it runs beside the others, on a second
/// connection that sees the same snapshot.
async fn tallies(
    reader: &mut StatsReader,
    kind: Kind,
    scope: &StatsScope,
    granularity: Granularity,
    statuses: &[&str],
) -> ApiResult<BTreeMap<String, Tally>> {
    let Some(width) = granularity.width_micros() else {
        return totals(reader, kind, scope, statuses).await;
    };
    let (mut tallies, series) = match reader.fork().await? {
        Some(mut side) => {
            let (tallies, series) =
                tokio::join!(totals(reader, kind, scope, statuses), side.series_points(kind, scope, width));
            (tallies?, series?)
        }
        None => (totals(reader, kind, scope, statuses).await?, reader.series_points(kind, scope, width).await?),
    };
    tally::add_series(&mut tallies, series);
    Ok(tallies)
}

/// Totals per currency and status, and each currency's median.
async fn totals(
    reader: &mut StatsReader,
    kind: Kind,
    scope: &StatsScope,
    statuses: &[&str],
) -> ApiResult<BTreeMap<String, Tally>> {
    let groups = reader.payment_groups(kind, scope).await?;
    let mut tallies = tally::fold(groups, scope.currency.as_deref());
    if let Some(bad) = tallies.values().flat_map(|t| t.unknown_statuses(statuses)).next() {
        return Err(ApiError::internal(anyhow::anyhow!("{} has a row with unknown status {bad:?}", kind.table())));
    }
    if tallies.values().any(|t| t.success_timed > 0) {
        let histograms = reader.completion_histograms(kind, scope).await?;
        for (currency, t) in tallies.iter_mut() {
            t.median_micros = histograms.get(currency).and_then(histogram_median);
        }
    }
    Ok(tallies)
}
