//! The series of `/api/v1/statistics`: per currency and UTC bucket (hour
//! or day), how many payments were created and, of the successful ones,
//! how many, their turnover and their fees. Read apart from the totals per
//! status: a bucket needs no status breakdown, so an hourly year is 26k
//! points per currency set rather than 80k (bucket, status) groups, and
//! the rollups are grouped in their own key order (no sort). On PostgreSQL
//! whole hours come from `stats_series_hourly` (migration 0021), which has
//! no status column at all: a point is one row per writer shard, read as
//! arrays (see [`StatsReader::add_series_rollup`]).

use crate::db::{Backend, Result, StoreError};
use crate::payments::Kind;
use crate::statistics::{split_sum, Source, StatsReader, StatsScope};
use crate::statistics_levels::{usable, FIGURES};
use paygate_core::statistics::join_split;

/// One bucket of a currency's series.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeriesPoint {
    /// Start of the bucket, µs.
    pub bucket: i64,
    pub count: i64,
    pub success_count: i64,
    /// Σ amount of the successful payments, exact.
    pub turnover: i128,
    /// Σ fee of the successful payments, exact.
    pub fees: i128,
}

/// One currency's series, in bucket order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrencySeries {
    pub currency: String,
    pub points: Vec<SeriesPoint>,
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

/// Whether [`SERIES_HOURLY`] holds what `table` (a figures level) holds,
/// per hour and currency without the status, on this engine.
fn reads_series_rollup(backend: Backend, table: &str) -> bool {
    keeps_series_rollup(backend) && table == "stats_hourly"
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
    /// (aligned to the epoch, so to UTC hours and days), each currency's
    /// in bucket order; buckets without payments are left out.
    pub async fn series_points(&mut self, kind: Kind, scope: &StatsScope, width: i64) -> Result<Vec<CurrencySeries>> {
        let mut parts = Parts::default();
        for src in scope.sources(kind, &usable(&FIGURES, Some(width)), self.settled_only) {
            if reads_series_rollup(self.backend, src.table) {
                self.add_series_rollup(&mut parts, src, width).await?;
                continue;
            }
            let time = src.time;
            let figures = if src.raw() {
                figures_of_payments()
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
                src.table, src.clause
            );
            for r in self.rows_from(src, &sql).await? {
                // By position (the SELECT above).
                let figures = [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?];
                parts.add(r.get(0)?, r.text_ref(1)?, figures);
            }
        }
        Ok(parts.into_series())
    }

    /// [`SERIES_HOURLY`]'s rows of `src`, as they are (one per hour,
    /// currency and writer shard, usually one or two shards: a merchant's
    /// writes go through one writer connection at a time), in one row of arrays, one per
    /// column; the shards are summed with the other parts. An hourly year
    /// is 26k rows: grouping them in PostgreSQL cost 20 of its 45 ms (six
    /// aggregates over 26k one-row groups), and taking them as 26k rows
    /// cost paygate more than everything else in the request (sqlx builds
    /// and type-checks each row and value); eight arrays decode in a loop.
    async fn add_series_rollup(&mut self, parts: &mut Parts, src: Source, width: i64) -> Result<()> {
        let arrays = ["hour", "currency"]
            .iter()
            .chain(SERIES_FIGURES.iter())
            .map(|c| format!("COALESCE(array_agg({c}), '{{}}') AS {c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {arrays} FROM {SERIES_HOURLY} WHERE {}", src.clause);
        let rows = self.rows_from(src, &sql).await?;
        let Some(r) = rows.first() else { return Ok(()) };
        let (hours, currencies): (Vec<i64>, Vec<String>) = (r.get(0)?, r.get(1)?);
        let columns: Vec<Vec<i64>> = (2..8).map(|i| r.get(i)).collect::<Result<_>>()?;
        if currencies.len() != hours.len() || columns.iter().any(|c| c.len() != hours.len()) {
            return Err(StoreError::Corrupt(format!("{SERIES_HOURLY}: arrays of unequal length")));
        }
        for (i, (hour, currency)) in hours.iter().zip(&currencies).enumerate() {
            let figures = std::array::from_fn(|c| columns[c][i]);
            parts.add(hour - hour.rem_euclid(width), currency, figures);
        }
        Ok(())
    }
}

/// Series figures as they are read, from any source, before they are
/// summed per bucket and currency. The currency is kept as its place in
/// `currencies`: a year of hours is 26k parts, and a String per part cost
/// more than reading it (measured: 14 ms of an 80 ms series on PostgreSQL).
#[derive(Default)]
struct Parts {
    currencies: Vec<String>,
    /// (bucket, currency's place, [`SERIES_FIGURES`]).
    parts: Vec<(i64, usize, [i64; 6])>,
}

impl Parts {
    fn add(&mut self, bucket: i64, currency: &str, figures: [i64; 6]) {
        let c = match self.currencies.iter().position(|known| known == currency) {
            Some(c) => c,
            None => {
                self.currencies.push(currency.to_string());
                self.currencies.len() - 1
            }
        };
        self.parts.push((bucket, c, figures));
    }

    /// Summed per currency and bucket, each currency's in bucket order;
    /// points that count nothing are left out.
    fn into_series(mut self) -> Vec<CurrencySeries> {
        self.parts.sort_unstable_by_key(|&(bucket, c, _)| (c, bucket));
        let mut series: Vec<CurrencySeries> =
            self.currencies.into_iter().map(|currency| CurrencySeries { currency, points: Vec::new() }).collect();
        let mut last: Option<(usize, i64)> = None;
        for (bucket, c, [n, success_n, turnover_high, turnover_low, fees_high, fees_low]) in self.parts {
            let points = &mut series[c].points;
            if last != Some((c, bucket)) {
                last = Some((c, bucket));
                points.push(SeriesPoint { bucket, ..SeriesPoint::default() });
            }
            let p = points.last_mut().expect("pushed above");
            p.count += n;
            p.success_count += success_n;
            p.turnover += join_split(turnover_high, turnover_low);
            p.fees += join_split(fees_high, fees_low);
        }
        for s in &mut series {
            s.points.retain(|p| p.count != 0);
        }
        series.retain(|s| !s.points.is_empty());
        series
    }
}

#[cfg(test)]
mod tests {
    use super::Parts;
    use paygate_core::statistics::SPLIT;

    #[test]
    fn parts_are_summed_per_currency_and_bucket_in_bucket_order() {
        let mut parts = Parts::default();
        // Two writer shards' rows of one hour, out of order with others,
        // a second currency, and a bucket whose parts cancel out.
        parts.add(7200, "RUB", [2, 1, 0, 500, 0, 5]);
        parts.add(3600, "USD", [1, 1, 1, 0, 0, 1]);
        parts.add(3600, "RUB", [1, 0, 0, 0, 0, 0]);
        parts.add(7200, "RUB", [3, 2, 1, SPLIT - 1, 0, 7]);
        parts.add(10800, "RUB", [1, 0, 0, 0, 0, 0]);
        parts.add(10800, "RUB", [-1, 0, 0, 0, 0, 0]);
        let series: Vec<_> = parts
            .into_series()
            .into_iter()
            .map(|s| {
                let points: Vec<_> =
                    s.points.into_iter().map(|p| (p.bucket, p.count, p.success_count, p.turnover, p.fees)).collect();
                (s.currency, points)
            })
            .collect();
        let split = i128::from(SPLIT);
        assert_eq!(
            series,
            vec![
                // Currencies in the order first seen; 10800 cancelled out.
                ("RUB".to_string(), vec![(3600, 1, 0, 0, 0), (7200, 5, 3, split + 500 + split - 1, 12)]),
                ("USD".to_string(), vec![(3600, 1, 1, split, 1)]),
            ]
        );
    }
}
