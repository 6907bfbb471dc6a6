//! The reads behind `/api/v1/statistics`. Each period is cut into parts
//! (see [`crate::statistics_levels`]): whole days and hours are read from
//! the rollups the database keeps beside every payment (migrations 0017
//! and 0018), the partial hours at either end from the payments themselves
//! (a range scan of `(merchant_id, mode, created_at)`, migration 0008), so
//! any period is answered exactly. On PostgreSQL the rollups sum settled
//! payments only; the unsettled ones (`pending`, a payout's `processing`)
//! are few at any time and are read from the payments through their
//! partial index (see [`settled_only`]). A year is 365 daily rows per
//! currency and status, never a million payments. Series are in
//! [`crate::statistics_series`].

use crate::db::{Backend, Db, Result, StoreError};
use crate::native::{NativeIndex, NativePool, NativeRow, NativeTx};
use crate::payments::Kind;
use crate::sql::P;
use crate::statistics_levels::{plan, Level, Part, DURATIONS, FIGURES};
use paygate_core::statistics::{duration_bucket, join_split, SPLIT};
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

    /// Where the part's rows are and which of them are the scope's:
    /// a rollup level's rows of `kind` whose span starts in the part, or
    /// the settled payments created in it (the rollups hold settled ones
    /// only; see [`Self::sources`]).
    pub(crate) fn source(&self, kind: Kind, part: &Part, settled_only: bool) -> Source {
        let (mut clause, mut params) = self.owner_clause();
        let (table, time) = match part.level {
            Some(level) => {
                params.push(kind.name().into());
                clause.push_str(&format!(" AND kind = ${}", params.len()));
                (level.table, level.time)
            }
            None => {
                if settled_only {
                    clause.push_str(&format!(" AND NOT ({})", unsettled(kind)));
                }
                (kind.table(), "created_at")
            }
        };
        params.extend([P::I(part.from), P::I(part.to)]);
        let n = params.len();
        clause.push_str(&format!(" AND {time} >= ${} AND {time} < ${n}", n - 1));
        Source { table, time, clause, params, width: part.level.map(|l| l.width), unsettled: false }
    }

    /// Every source of the figures of the scope's `kind` payments: the
    /// parts of the period from `levels`, and, when the rollups hold
    /// settled payments only, the unsettled payments of the whole period,
    /// read from the payments through their partial index.
    pub(crate) fn sources(&self, kind: Kind, levels: &[Level], settled_only: bool) -> Vec<Source> {
        let parts = plan(self.from, self.to, levels);
        let mut out: Vec<Source> = parts.iter().map(|p| self.source(kind, p, settled_only)).collect();
        if !settled_only {
            return out;
        }
        let (mut clause, mut params) = self.owner_clause();
        params.extend([P::I(self.from), P::I(self.to)]);
        let n = params.len();
        clause.push_str(&format!(" AND {} AND created_at >= ${} AND created_at < ${n}", unsettled(kind), n - 1));
        out.push(Source { table: kind.table(), time: "created_at", clause, params, width: None, unsettled: true });
        out
    }
}

/// Whether the engine's rollups leave unsettled payments out (migration
/// 0018). PostgreSQL's do: counting a payment into `pending` and out again
/// cost its writer two upserts per level, a partial index of the unsettled
/// ones by merchant costs one cheap index entry. SQLite's count every
/// status: there the index cost creates 28% and the upserts 5%.
pub fn settled_only(backend: Backend) -> bool {
    backend == Backend::Postgres
}

/// The statuses of a payment of `kind` that is not settled yet (its
/// outcome is still to come), as the predicate of its partial index
/// (`payins_unsettled`, `payouts_unsettled`, PostgreSQL's migration 0018)
/// word for word, so the planner uses it.
pub fn unsettled(kind: Kind) -> &'static str {
    match kind {
        Kind::PayIn => "status = 'pending'",
        Kind::PayOut => "status IN ('pending', 'processing')",
    }
}

/// One part of a period, ready for a query: `SELECT … FROM {table} WHERE
/// {clause}` with `params`; `time` is the column to bucket by.
pub(crate) struct Source {
    pub table: &'static str,
    pub time: &'static str,
    pub clause: String,
    pub params: Vec<P>,
    /// A rollup's span width, µs; `None` for the payments themselves.
    pub width: Option<i64>,
    /// The unsettled payments, read through their partial index (see
    /// [`StatsReader::rows_from`]).
    pub unsettled: bool,
}

impl Source {
    /// The payments themselves (one row each), not a rollup (sums).
    pub fn raw(&self) -> bool {
        self.width.is_none()
    }
}

/// `SUM(x)` as a BIGINT column named `x`.
pub(crate) fn sum_as(column: &str) -> String {
    format!("CAST(SUM({column}) AS BIGINT) AS {column}")
}

/// Payments of one currency and status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentGroup {
    pub currency: String,
    pub status: String,
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

/// `SUM(expr)` as two BIGINT parts that cannot overflow (see [`SPLIT`]),
/// named `{name}_high` and `{name}_low`.
pub(crate) fn split_sum(expr: &str, name: &str) -> String {
    format!("CAST(SUM({expr} / {SPLIT}) AS BIGINT) AS {name}_high, CAST(SUM({expr} % {SPLIT}) AS BIGINT) AS {name}_low")
}

/// A sum read as its two parts (see [`split_sum`]), by column name or index.
pub(crate) fn joined<I: NativeIndex>(row: &NativeRow, high: I, low: I) -> Result<i128> {
    Ok(join_split(row.get(high)?, row.get(low)?))
}

/// The statistics reads of one request, all in one snapshot of the
/// database (a read transaction: `REPEATABLE READ` on PostgreSQL, a
/// deferred `BEGIN` on SQLite), so the totals, the series and the medians
/// of one answer count the same payments while writes go on. Read through
/// the engine's own driver (see [`crate::native`]): a year of hours is 26k
/// rows.
pub struct StatsReader {
    tx: NativeTx,
    /// Where [`StatsReader::fork`] takes its connection.
    native: NativePool,
    pub(crate) backend: Backend,
    /// See [`settled_only`].
    pub(crate) settled_only: bool,
}

impl Db {
    pub async fn statistics_reader(&self) -> Result<StatsReader> {
        let backend = self.backend();
        let native = self.native.clone();
        Ok(StatsReader { tx: native.snapshot().await?, native, backend, settled_only: settled_only(backend) })
    }

    /// A read-only transaction that sees one state of the database
    /// throughout; dropping it rolls it back.
    pub(crate) async fn read_snapshot(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let sql = match self.backend() {
            Backend::Sqlite => "BEGIN",
            Backend::Postgres => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        };
        Ok(self.pool().begin_with(sql).await?)
    }
}

impl StatsReader {
    /// A reader on a connection of its own that sees exactly this one's
    /// snapshot, for a long read to run beside the others; `None` where
    /// the engine cannot share a snapshot (SQLite).
    pub async fn fork(&mut self) -> Result<Option<StatsReader>> {
        let Some(tx) = self.tx.fork(&self.native).await? else { return Ok(None) };
        let (backend, settled_only, native) = (self.backend, self.settled_only, self.native.clone());
        Ok(Some(StatsReader { tx, native, backend, settled_only }))
    }

    /// Every row of `sql` bound to `params`, in this reader's snapshot.
    pub(crate) async fn rows(&mut self, sql: &str, params: Vec<P>) -> Result<Vec<NativeRow>> {
        self.tx.fetch_all(sql, params).await
    }

    /// Every row of `sql`, which reads `src` (its parameters are bound).
    ///
    /// PostgreSQL reads the unsettled payments with sequential and bitmap
    /// scans, JIT and parallel workers off (starting two workers cost more
    /// than reading a few index entries), which makes the partial index of unsettled
    /// payments by merchant the cheapest path (plain scans of the other
    /// indexes remain possible): it holds a few minutes' payments, but the
    /// planner cannot know how few of them are this merchant's. It takes
    /// the merchant's share of the whole table (three quarters in the
    /// bench) times the pending rows, and after a burst of other merchants'
    /// creates (a quarter of the table pending) it expected 350k rows where
    /// there were 55, and scanned all 1.35M payins (170 ms, against 0.1 ms
    /// through the index); extended statistics fix the row estimate but not
    /// the index path's cost. The settings are then put back as they were.
    /// Both steps name the settings (one statement each): going through
    /// `pg_settings` cost a millisecond per statement, 8 of an hourly
    /// year's 100 ms.
    pub(crate) async fn rows_from(&mut self, src: Source, sql: &str) -> Result<Vec<NativeRow>> {
        if !(src.unsettled && self.backend == Backend::Postgres) {
            return self.rows(sql, src.params).await;
        }
        const SETTINGS: [(&str, &str); 4] = [
            ("enable_seqscan", "off"),
            ("enable_bitmapscan", "off"),
            ("jit", "off"),
            ("max_parallel_workers_per_gather", "0"),
        ];
        // The old values are read before any is set (a materialized CTE).
        let before = SETTINGS.map(|(name, _)| format!("current_setting('{name}') AS {name}")).join(", ");
        let set = SETTINGS.map(|(name, value)| format!("set_config('{name}', '{value}', true)")).join(", ");
        let names = SETTINGS.map(|(name, _)| name).join(", ");
        let sql_set = format!("WITH before AS MATERIALIZED (SELECT {before}) SELECT {names}, {set} FROM before");
        let saved = self.rows(&sql_set, Vec::new()).await?;
        let saved = saved.first().ok_or_else(|| StoreError::Corrupt("no row from current_setting".into()))?;
        let old: Vec<P> = (0..SETTINGS.len()).map(|i| saved.get::<String, _>(i).map(P::from)).collect::<Result<_>>()?;
        // A failed read aborts the transaction (and its settings with it):
        // its own error is the one to report.
        let rows = self.rows(sql, src.params).await?;
        let restore = SETTINGS
            .iter()
            .enumerate()
            .map(|(i, (name, _))| format!("set_config('{name}', ${}, true)", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        self.rows(&format!("SELECT {restore}"), old).await?;
        Ok(rows)
    }

    /// `SUM(expr)` of BIGINTs as a BIGINT column `name` (see
    /// [`crate::dialect::sum_bigint`]).
    pub(crate) fn sum(&self, expr: &str, name: &str) -> String {
        format!("{} AS {name}", crate::dialect::sum_bigint(self.backend, expr))
    }

    /// Count, Σ amount and Σ fee of `kind` payments created in the scope,
    /// per currency and current status.
    pub async fn payment_groups(&mut self, kind: Kind, scope: &StatsScope) -> Result<Vec<PaymentGroup>> {
        let mut merged: BTreeMap<(String, String), PaymentGroup> = BTreeMap::new();
        for src in scope.sources(kind, &FIGURES, self.settled_only) {
            // The payments are one row each; a rollup row already sums many.
            let figures = if src.raw() {
                format!(
                    "CAST(COUNT(*) AS BIGINT) AS n, {}, {}, CAST(COUNT(completed_at) AS BIGINT) AS timed",
                    split_sum("amount", "amount"),
                    split_sum("fee", "fee")
                )
            } else {
                ["n", "amount_high", "amount_low", "fee_high", "fee_low", "timed"].map(|c| self.sum(c, c)).join(", ")
            };
            let sql = format!(
                "SELECT currency, status, {figures} FROM {} WHERE {} GROUP BY currency, status",
                src.table, src.clause
            );
            for r in self.rows_from(src, &sql).await? {
                let g = PaymentGroup {
                    currency: r.get("currency")?,
                    status: r.get("status")?,
                    count: r.get("n")?,
                    amount: joined(&r, "amount_high", "amount_low")?,
                    fee: joined(&r, "fee_high", "fee_low")?,
                    timed: r.get("timed")?,
                };
                match merged.get_mut(&(g.currency.clone(), g.status.clone())) {
                    Some(m) => {
                        m.count += g.count;
                        m.amount += g.amount;
                        m.fee += g.fee;
                        m.timed += g.timed;
                    }
                    None => {
                        merged.insert((g.currency.clone(), g.status.clone()), g);
                    }
                }
            }
        }
        Ok(merged.into_values().filter(|g| g.count != 0).collect())
    }

    /// The completion times of the successful `kind` payments in the scope,
    /// per currency, as histograms `bucket → count` (see
    /// `paygate_core::statistics::duration_buckets`): the rollups' for whole
    /// days and 32-day blocks, the payments' own times bucketed here for the
    /// partial days at the ends. Every currency in one pass: a histogram's
    /// key puts the day before the currency, so reading one currency would
    /// scan the others' rows of the period anyway.
    pub async fn completion_histograms(
        &mut self,
        kind: Kind,
        scope: &StatsScope,
    ) -> Result<BTreeMap<String, BTreeMap<usize, i64>>> {
        let mut histograms: BTreeMap<String, BTreeMap<usize, i64>> = BTreeMap::new();
        for part in plan(scope.from, scope.to, &DURATIONS) {
            let src = scope.source(kind, &part, self.settled_only);
            if src.raw() {
                let sql = format!(
                    "SELECT currency, completed_at - created_at AS d FROM {} \
                     WHERE {} AND status = 'success' AND completed_at IS NOT NULL",
                    src.table, src.clause
                );
                for r in self.rows(&sql, src.params).await? {
                    let bucket = duration_bucket(r.get(1)?);
                    *histograms.entry(r.get(0)?).or_default().entry(bucket).or_insert(0) += 1;
                }
                continue;
            }
            let sql = format!(
                "SELECT currency, bucket, {} FROM {} WHERE {} GROUP BY currency, bucket",
                self.sum("n", "n"),
                src.table,
                src.clause
            );
            for r in self.rows(&sql, src.params).await? {
                let bucket: i64 = r.get(1)?;
                let count: i64 = r.get(2)?;
                if count != 0 {
                    let histogram = histograms.entry(r.get(0)?).or_default();
                    *histogram.entry(usize::try_from(bucket).unwrap_or(0)).or_insert(0) += count;
                }
            }
        }
        Ok(histograms)
    }

    /// Disputes opened in the period, and accepted or rejected in it (by
    /// `resolved_at`), per currency.
    pub async fn dispute_counts(&mut self, scope: &StatsScope) -> Result<Vec<DisputeCounts>> {
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
        let rows = self.rows(&sql, params).await?;
        rows.iter()
            .map(|r| {
                Ok(DisputeCounts {
                    currency: r.get("currency")?,
                    opened: r.get("opened")?,
                    accepted: r.get("accepted")?,
                    rejected: r.get("rejected")?,
                })
            })
            .collect()
    }
}
