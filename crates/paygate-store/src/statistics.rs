//! The reads behind `/api/v1/statistics`. Whole UTC hours of the period
//! are read from the rollups the database keeps beside every payment
//! (migration 0017: per hour, currency and status; and per day a histogram
//! of completion times); the partial hours (days) at either end come from
//! the payments themselves (a range scan of `(merchant_id, mode,
//! created_at)`, migration 0008), so any period is answered exactly. A year
//! is then 8,760 rollup rows per status at most, never a million payments.

use crate::db::{Db, Result};
use crate::payments::Kind;
use crate::sql::{bind_all, P};
use paygate_core::statistics::{duration_bucket, join_split, MICROS_PER_DAY, MICROS_PER_HOUR, SPLIT};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// Whose payments, which ledger, which period (`[from, to)`, µs) and,
/// optionally, which currency.
#[derive(Clone, Debug)]
pub struct StatsScope {
    pub merchant_id: String,
    pub mode: String,
    pub from: i64,
    pub to: i64,
    pub currency: Option<String>,
}

impl StatsScope {
    /// `merchant_id = $1 AND mode = $2 [AND currency = $3]` and its
    /// parameters; the period is left to each query, which applies it to
    /// its own time columns.
    fn owner_clause(&self) -> (String, Vec<P>) {
        let mut sql = "merchant_id = $1 AND mode = $2".to_string();
        let mut params: Vec<P> = vec![self.merchant_id.clone().into(), self.mode.clone().into()];
        if let Some(c) = &self.currency {
            params.push(c.clone().into());
            sql.push_str(&format!(" AND currency = ${}", params.len()));
        }
        (sql, params)
    }

    /// The owner clause plus `created_at` in the period.
    fn created_clause(&self) -> (String, Vec<P>) {
        let (mut sql, mut params) = self.owner_clause();
        params.extend([P::I(self.from), P::I(self.to)]);
        let n = params.len();
        sql.push_str(&format!(" AND created_at >= ${} AND created_at < ${n}", n - 1));
        (sql, params)
    }
}

/// A period cut at UTC hours (or days): the whole ones inside it (read
/// from the rollups) and the partial ones at its ends (read from the
/// payments).
struct Cut {
    whole: Option<(i64, i64)>,
    edges: Vec<StatsScope>,
}

impl Cut {
    fn of(scope: &StatsScope, width: i64) -> Cut {
        let first = scope.from + (width - scope.from.rem_euclid(width)) % width;
        let last = scope.to - scope.to.rem_euclid(width);
        if first >= last {
            return Cut { whole: None, edges: vec![scope.clone()] };
        }
        let mut edges = Vec::new();
        if scope.from < first {
            edges.push(StatsScope { to: first, ..scope.clone() });
        }
        if last < scope.to {
            edges.push(StatsScope { from: last, ..scope.clone() });
        }
        Cut { whole: Some((first, last)), edges }
    }
}

/// Payments of one currency and status (and bucket, for a series).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentGroup {
    pub currency: String,
    pub status: String,
    /// Start of the bucket (µs), when grouped by one.
    pub bucket: Option<i64>,
    pub count: i64,
    /// Σ amount, exact.
    pub amount: i128,
    /// Σ fee, exact.
    pub fee: i128,
    /// How many have a `completed_at` (what a median of completion times
    /// can be taken over).
    pub timed: i64,
}

/// Dispute activity of one currency in the period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeCounts {
    pub currency: String,
    /// Created in the period.
    pub opened: i64,
    /// Accepted, with `resolved_at` in the period.
    pub accepted: i64,
    /// Rejected, with `resolved_at` in the period.
    pub rejected: i64,
}

/// `SUM(column)` as two BIGINT parts that cannot overflow (see [`SPLIT`]).
fn split_sum(column: &str) -> String {
    format!(
        "CAST(SUM({column} / {SPLIT}) AS BIGINT) AS {column}_high, CAST(SUM({column} % {SPLIT}) AS BIGINT) AS {column}_low"
    )
}

/// These statements run rarely and scan a lot: planning each call for its
/// actual merchant and period costs nothing next to the scan, and a cached
/// generic plan (made once, perhaps while the merchant was small) could pick
/// a table scan for a merchant with a million rows.
fn planned_per_call(sql: &str) -> crate::sql::AnyQuery<'_> {
    sqlx::query(sql).persistent(false)
}

/// One grouped row, as both the payments' and the rollups' queries name
/// their columns.
fn group_of(r: &AnyRow, bucketed: bool) -> Result<PaymentGroup> {
    Ok(PaymentGroup {
        currency: r.try_get("currency")?,
        status: r.try_get("status")?,
        bucket: if bucketed { Some(r.try_get("bucket")?) } else { None },
        count: r.try_get("n")?,
        amount: joined(r, "amount")?,
        fee: joined(r, "fee")?,
        timed: r.try_get("timed")?,
    })
}

fn joined(row: &AnyRow, column: &str) -> Result<i128> {
    Ok(join_split(row.try_get(format!("{column}_high").as_str())?, row.try_get(format!("{column}_low").as_str())?))
}

impl Db {
    /// [`Db::payment_groups`] from the payments themselves.
    async fn raw_payment_groups(
        &self,
        kind: Kind,
        scope: &StatsScope,
        bucket_width: Option<i64>,
    ) -> Result<Vec<PaymentGroup>> {
        let (clause, params) = scope.created_clause();
        // The width is one of two constants of ours, not input: inlined, so
        // the grouping expression is the same text in SELECT and GROUP BY.
        // `% w + w) % w` floors for times before 1970 as well.
        let (bucket_col, bucket_group) = match bucket_width {
            Some(w) => (format!(", created_at - ((created_at % {w}) + {w}) % {w} AS bucket"), ", bucket"),
            None => (String::new(), ""),
        };
        let sql = format!(
            "SELECT currency, status{bucket_col}, CAST(COUNT(*) AS BIGINT) AS n, {}, {}, \
             CAST(COUNT(completed_at) AS BIGINT) AS timed \
             FROM {} WHERE {clause} GROUP BY currency, status{bucket_group}",
            split_sum("amount"),
            split_sum("fee"),
            kind.table(),
        );
        let rows = bind_all(planned_per_call(&sql), params).fetch_all(self.pool()).await?;
        rows.iter().map(|r| group_of(r, bucket_width.is_some())).collect()
    }

    /// Count, Σ amount and Σ fee of `kind` payments created in the scope,
    /// per currency and current status, and per bucket of `bucket_width` µs
    /// when given (buckets are aligned to the epoch, so to UTC hours/days):
    /// whole hours from the rollups, the partial ones at the ends from the
    /// payments.
    pub async fn payment_groups(
        &self,
        kind: Kind,
        scope: &StatsScope,
        bucket_width: Option<i64>,
    ) -> Result<Vec<PaymentGroup>> {
        let mut merged: BTreeMap<(String, String, Option<i64>), PaymentGroup> = BTreeMap::new();
        let mut add = |groups: Vec<PaymentGroup>| {
            for g in groups {
                let key = (g.currency.clone(), g.status.clone(), g.bucket);
                match merged.get_mut(&key) {
                    Some(m) => {
                        m.count += g.count;
                        m.amount += g.amount;
                        m.fee += g.fee;
                        m.timed += g.timed;
                    }
                    None => {
                        merged.insert(key, g);
                    }
                }
            }
        };
        let cut = Cut::of(scope, MICROS_PER_HOUR);
        if let Some((from, to)) = cut.whole {
            add(self.rollup_groups(kind, scope, from, to, bucket_width).await?);
        }
        for edge in cut.edges {
            add(self.raw_payment_groups(kind, &edge, bucket_width).await?);
        }
        Ok(merged.into_values().filter(|g| g.count != 0).collect())
    }

    async fn rollup_groups(
        &self,
        kind: Kind,
        scope: &StatsScope,
        from: i64,
        to: i64,
        bucket_width: Option<i64>,
    ) -> Result<Vec<PaymentGroup>> {
        let (clause, mut params) = scope.owner_clause();
        params.extend([P::from(kind.name().to_string()), P::I(from), P::I(to)]);
        let n = params.len();
        let (bucket_col, bucket_group) = match bucket_width {
            Some(w) => (format!(", hour - ((hour % {w}) + {w}) % {w} AS bucket"), ", bucket"),
            None => (String::new(), ""),
        };
        let sum = |c: &str| format!("CAST(SUM({c}) AS BIGINT) AS {c}");
        let sql = format!(
            "SELECT currency, status{bucket_col}, CAST(SUM(n) AS BIGINT) AS n, {}, {}, {}, {}, {} FROM stats_hourly \
             WHERE {clause} AND kind = ${} AND hour >= ${} AND hour < ${n} GROUP BY currency, status{bucket_group}",
            sum("amount_high"),
            sum("amount_low"),
            sum("fee_high"),
            sum("fee_low"),
            sum("timed"),
            n - 2,
            n - 1,
        );
        let rows = bind_all(planned_per_call(&sql), params).fetch_all(self.pool()).await?;
        rows.iter().map(|r| group_of(r, bucket_width.is_some())).collect()
    }

    /// The completion times of the successful `kind` payments of `currency`
    /// in the scope, as a histogram `bucket → count` (see
    /// `paygate_core::statistics::duration_buckets`): the rollups' for whole
    /// hours, the payments' own times bucketed here for the ends.
    pub async fn completion_histogram(
        &self,
        kind: Kind,
        scope: &StatsScope,
        currency: &str,
    ) -> Result<BTreeMap<usize, i64>> {
        let scope = StatsScope { currency: Some(currency.to_string()), ..scope.clone() };
        let mut histogram = BTreeMap::new();
        let cut = Cut::of(&scope, MICROS_PER_DAY);
        if let Some((from, to)) = cut.whole {
            let (clause, mut params) = scope.owner_clause();
            params.extend([P::from(kind.name().to_string()), P::I(from), P::I(to)]);
            let n = params.len();
            let sql = format!(
                "SELECT bucket, CAST(SUM(n) AS BIGINT) AS n FROM stats_durations \
                 WHERE {clause} AND kind = ${} AND day >= ${} AND day < ${n} GROUP BY bucket",
                n - 2,
                n - 1
            );
            for r in bind_all(planned_per_call(&sql), params).fetch_all(self.pool()).await? {
                let bucket: i64 = r.try_get("bucket")?;
                let count: i64 = r.try_get("n")?;
                if count != 0 {
                    *histogram.entry(usize::try_from(bucket).unwrap_or(0)).or_insert(0) += count;
                }
            }
        }
        for edge in cut.edges {
            let (clause, params) = edge.created_clause();
            let sql = format!(
                "SELECT completed_at - created_at AS d FROM {} \
                 WHERE {clause} AND status = 'success' AND completed_at IS NOT NULL",
                kind.table(),
            );
            for r in bind_all(planned_per_call(&sql), params).fetch_all(self.pool()).await? {
                *histogram.entry(duration_bucket(r.try_get("d")?)).or_insert(0) += 1;
            }
        }
        Ok(histogram)
    }

    /// Disputes opened in the period, and accepted or rejected in it (by
    /// `resolved_at`), per currency.
    pub async fn dispute_counts(&self, scope: &StatsScope) -> Result<Vec<DisputeCounts>> {
        let (clause, mut params) = scope.owner_clause();
        params.extend([P::I(scope.from), P::I(scope.to)]);
        let (f, t) = (params.len() - 1, params.len());
        let created = format!("created_at >= ${f} AND created_at < ${t}");
        let resolved = format!("resolved_at >= ${f} AND resolved_at < ${t}");
        let count_if =
            |cond: &str, name: &str| format!("CAST(SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS BIGINT) AS {name}");
        let sql = format!(
            "SELECT currency, {}, {}, {} FROM disputes WHERE {clause} AND (({created}) OR ({resolved})) GROUP BY currency",
            count_if(&created, "opened"),
            count_if(&format!("status = 'accepted' AND {resolved}"), "accepted"),
            count_if(&format!("status = 'rejected' AND {resolved}"), "rejected"),
        );
        let rows = bind_all(planned_per_call(&sql), params).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(DisputeCounts {
                    currency: r.try_get("currency")?,
                    opened: r.try_get("opened")?,
                    accepted: r.try_get("accepted")?,
                    rejected: r.try_get("rejected")?,
                })
            })
            .collect()
    }
}
