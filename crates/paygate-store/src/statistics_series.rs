//! The series of `/api/v1/statistics`: per currency and UTC bucket (hour
//! or day), how many payments were created and, of the successful ones,
//! how many, their turnover and their fees. Read apart from the totals per
//! status: a bucket needs no status breakdown, so an hourly year is 26k
//! points per currency set rather than 80k (bucket, status) groups, and
//! the rollups are grouped in their own key order (no sort). On PostgreSQL
//! whole hours come from `stats_series_hourly` (migration 0021), which has
//! no status column at all: a point is one row per writer shard.

use crate::db::{Backend, Result};
use crate::payments::Kind;
use crate::statistics::{joined, split_sum, StatsReader, StatsScope};
use crate::statistics_levels::{usable, FIGURES};
use std::collections::BTreeMap;

/// One point of a series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesPoint {
    pub currency: String,
    /// Start of the bucket, µs.
    pub bucket: i64,
    pub count: i64,
    pub success_count: i64,
    /// Σ amount of the successful payments, exact.
    pub turnover: i128,
    /// Σ fee of the successful payments, exact.
    pub fees: i128,
}

/// The hourly series rollup (migration 0021): PostgreSQL's only, see there.
pub const SERIES_HOURLY: &str = "stats_series_hourly";

/// A series point's figures: the series rollup's columns, and the names
/// [`figures_of_payments`] gives them.
pub(crate) const SERIES_FIGURES: [&str; 6] =
    ["n", "success_n", "turnover_high", "turnover_low", "fees_high", "fees_low"];

/// Whether the engine keeps [`SERIES_HOURLY`].
pub(crate) fn keeps_series_rollup(backend: Backend) -> bool {
    backend == Backend::Postgres
}

/// The table that holds what `table` (a figures level) holds, per hour and
/// currency without the status, when the engine keeps one.
fn series_table(backend: Backend, table: &str) -> Option<&'static str> {
    (keeps_series_rollup(backend) && table == "stats_hourly").then_some(SERIES_HOURLY)
}

/// [`SERIES_FIGURES`] summed over payments (one row each).
pub(crate) fn figures_of_payments() -> String {
    format!(
        "CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM({}) AS BIGINT) AS success_n, {}, {}",
        if_success("1"),
        split_sum(&if_success("amount"), "turnover"),
        split_sum(&if_success("fee"), "fees"),
    )
}

/// `expr` where the row is a successful payment's (or sums them), else 0.
fn if_success(expr: &str) -> String {
    format!("CASE WHEN status = 'success' THEN {expr} ELSE 0 END")
}

impl StatsReader {
    /// The scope's `kind` payments per currency and bucket of `width` µs
    /// (aligned to the epoch, so to UTC hours and days), in bucket order;
    /// buckets without payments are left out.
    pub async fn series_points(&mut self, kind: Kind, scope: &StatsScope, width: i64) -> Result<Vec<SeriesPoint>> {
        // Keyed by bucket and the currency's place in `currencies`: a year
        // of hours is 26k rows, and a String key per row cost more than
        // reading it (measured: 14 ms of the 80 ms series on PostgreSQL).
        let mut currencies: Vec<String> = Vec::new();
        let mut points: BTreeMap<(i64, usize), SeriesPoint> = BTreeMap::new();
        for src in scope.sources(kind, &usable(&FIGURES, Some(width)), self.settled_only) {
            let time = src.time;
            let series = series_table(self.backend, src.table);
            let figures = if src.raw() {
                figures_of_payments()
            } else if series.is_some() {
                // Summed over the writers' shards only.
                SERIES_FIGURES.map(|c| self.sum(c, c)).join(", ")
            } else {
                // The rollups carry the split parts already.
                [
                    self.sum("n", "n"),
                    self.sum(&if_success("n"), "success_n"),
                    self.sum(&if_success("amount_high"), "turnover_high"),
                    self.sum(&if_success("amount_low"), "turnover_low"),
                    self.sum(&if_success("fee_high"), "fees_high"),
                    self.sum(&if_success("fee_low"), "fees_low"),
                ]
                .join(", ")
            };
            // A level as wide as the bucket groups by its own time column,
            // in its key's order; the width is one of our two constants,
            // inlined so the expression reads the same in SELECT and GROUP
            // BY. `% w + w) % w` floors (the rollups' keys truncate, which
            // is the same for the non-negative times the server assigns).
            let bucket = match src.width {
                Some(w) if w == width => time.to_string(),
                _ => format!("{time} - (({time} % {width}) + {width}) % {width}"),
            };
            let sql = format!(
                "SELECT {bucket} AS bucket, currency, {figures} FROM {} WHERE {} GROUP BY {bucket}, currency",
                series.unwrap_or(src.table),
                src.clause
            );
            for r in self.rows_from(src, &sql).await? {
                // By position (the SELECT above): a year of hours is 26k rows.
                let (bucket, currency) = (r.get(0)?, r.text_ref(1)?);
                let c = match currencies.iter().position(|known| known == currency) {
                    Some(c) => c,
                    None => {
                        currencies.push(currency.to_string());
                        currencies.len() - 1
                    }
                };
                let p = points.entry((bucket, c)).or_insert_with(|| SeriesPoint {
                    bucket,
                    currency: currencies[c].clone(),
                    ..SeriesPoint::default()
                });
                p.count += r.get::<i64, _>(2)?;
                p.success_count += r.get::<i64, _>(3)?;
                p.turnover += joined(&r, 4, 5)?;
                p.fees += joined(&r, 6, 7)?;
            }
        }
        Ok(points.into_values().filter(|p| p.count != 0).collect())
    }
}
