//! The statistics rollups (migrations 0017 and 0018, every level of
//! [`crate::statistics_levels`], and PostgreSQL's hourly series of 0021)
//! against the payments they sum:
//! [`Db::statistics_differences`] recomputes every rollup row from the
//! payments and names each one that differs, and
//! [`Db::rebuild_statistics`] recomputes them all, writers held off.

use crate::db::{Db, Result};
use crate::payments::Kind;
use crate::statistics::{settled_only, sum_as, unsettled};
use crate::statistics_levels::{Level, DURATIONS, FIGURES};
use crate::statistics_series::{figures_of_payments, keeps_series_rollup, SERIES_FIGURES, SERIES_HOURLY};
use paygate_core::statistics::{join_split, MICROS_PER_HOUR};
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// Per payment table: the rows a figures level should have, from its
/// payments (settled ones only where the rollups leave the others out).
fn figures_from_payments(level: &Level, kind: Kind, settled_only: bool) -> String {
    let (time, w) = (level.time, level.width);
    let (name, table) = (kind.name(), kind.table());
    let only = if settled_only { format!("WHERE NOT ({})", unsettled(kind)) } else { String::new() };
    format!(
        "SELECT merchant_id, mode, '{name}' AS kind, created_at - created_at % {w} AS {time}, currency, status, \
         CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(amount / 1000000000) AS BIGINT) AS amount_high, \
         CAST(SUM(amount % 1000000000) AS BIGINT) AS amount_low, CAST(SUM(fee / 1000000000) AS BIGINT) AS fee_high, \
         CAST(SUM(fee % 1000000000) AS BIGINT) AS fee_low, CAST(COUNT(completed_at) AS BIGINT) AS timed \
         FROM {table} {only} GROUP BY merchant_id, mode, created_at - created_at % {w}, currency, status"
    )
}

/// The rows a histogram level should have.
fn durations_from_payments(level: &Level, kind: Kind) -> String {
    let (time, w) = (level.time, level.width);
    let (name, table) = (kind.name(), kind.table());
    format!(
        "SELECT merchant_id, mode, '{name}' AS kind, created_at - created_at % {w} AS {time}, currency, \
         (SELECT bucket FROM stats_buckets WHERE low <= completed_at - created_at ORDER BY low DESC LIMIT 1) AS bucket, \
         CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE status = 'success' AND completed_at IS NOT NULL \
         GROUP BY merchant_id, mode, created_at - created_at % {w}, currency, bucket"
    )
}

/// The rows PostgreSQL's hourly series rollup should have: per hour and
/// currency, the settled payments' count and the successful ones' count,
/// turnover and fees.
fn series_from_payments(kind: Kind) -> String {
    let (name, table, w) = (kind.name(), kind.table(), MICROS_PER_HOUR);
    format!(
        "SELECT merchant_id, mode, '{name}' AS kind, created_at - created_at % {w} AS hour, currency, {} \
         FROM {table} WHERE NOT ({}) GROUP BY merchant_id, mode, created_at - created_at % {w}, currency",
        figures_of_payments(),
        unsettled(kind)
    )
}

const SERIES_KEY: &str = "merchant_id, mode, kind, hour, currency";

/// One series row's key and (count, successes, turnover, fees).
type Series = BTreeMap<String, (i64, i64, i128, i128)>;

fn series_figures(rows: &[sqlx::any::AnyRow]) -> Result<Series> {
    let mut out = BTreeMap::new();
    for r in rows {
        let (n, successes): (i64, i64) = (r.try_get("n")?, r.try_get("success_n")?);
        let turnover = join_split(r.try_get("turnover_high")?, r.try_get("turnover_low")?);
        let fees = join_split(r.try_get("fees_high")?, r.try_get("fees_low")?);
        if n == 0 && successes == 0 && turnover == 0 && fees == 0 {
            continue; // emptied by moves: the same as no row
        }
        let key = format!(
            "{SERIES_HOURLY} {} {} {} hour {} {}",
            r.try_get::<String, _>("merchant_id")?,
            r.try_get::<String, _>("mode")?,
            r.try_get::<String, _>("kind")?,
            r.try_get::<i64, _>("hour")?,
            r.try_get::<String, _>("currency")?
        );
        out.insert(key, (n, successes, turnover, fees));
    }
    Ok(out)
}

const KINDS: [Kind; 2] = [Kind::PayIn, Kind::PayOut];
fn figures_columns(level: &Level) -> String {
    format!(
        "merchant_id, mode, kind, {}, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed",
        level.time
    )
}

fn durations_columns(level: &Level) -> String {
    format!("merchant_id, mode, kind, {}, currency, bucket, n", level.time)
}

/// One rollup row's key and figures, as compared.
type Figures = BTreeMap<String, (i64, i128, i128, i64)>;

fn level_figures(level: &Level, rows: &[sqlx::any::AnyRow]) -> Result<Figures> {
    let mut out = BTreeMap::new();
    for r in rows {
        let n: i64 = r.try_get("n")?;
        let amount = join_split(r.try_get("amount_high")?, r.try_get("amount_low")?);
        let fee = join_split(r.try_get("fee_high")?, r.try_get("fee_low")?);
        let timed: i64 = r.try_get("timed")?;
        if n == 0 && amount == 0 && fee == 0 && timed == 0 {
            continue; // emptied by moves: the same as no row
        }
        let key = format!(
            "{} {} {} {} {} {} {} {}",
            level.table,
            r.try_get::<String, _>("merchant_id")?,
            r.try_get::<String, _>("mode")?,
            r.try_get::<String, _>("kind")?,
            level.time,
            r.try_get::<i64, _>(level.time)?,
            r.try_get::<String, _>("currency")?,
            r.try_get::<String, _>("status")?
        );
        out.insert(key, (n, amount, fee, timed));
    }
    Ok(out)
}

fn level_durations(level: &Level, rows: &[sqlx::any::AnyRow]) -> Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for r in rows {
        let n: i64 = r.try_get("n")?;
        if n == 0 {
            continue;
        }
        let key = format!(
            "{} {} {} {} {} {} {} bucket {}",
            level.table,
            r.try_get::<String, _>("merchant_id")?,
            r.try_get::<String, _>("mode")?,
            r.try_get::<String, _>("kind")?,
            level.time,
            r.try_get::<i64, _>(level.time)?,
            r.try_get::<String, _>("currency")?,
            r.try_get::<i64, _>("bucket")?
        );
        out.insert(key, n);
    }
    Ok(out)
}

/// Keys whose value differs between what the rollups hold and what the
/// payments add up to, each as a line.
fn differences<V: PartialEq + std::fmt::Debug>(
    want: &BTreeMap<String, V>,
    have: &BTreeMap<String, V>,
    what: &str,
) -> Vec<String> {
    let keys: BTreeSet<&String> = want.keys().chain(have.keys()).collect();
    keys.into_iter()
        .filter(|k| want.get(*k) != have.get(*k))
        .map(|k| format!("{k}: rollup {what} {:?} ≠ payments {:?}", have.get(k), want.get(k)))
        .collect()
}

impl Db {
    /// Every rollup row (of every level) that is not what the payments add
    /// up to, as `key: rollup … ≠ payments …`; empty when they agree.
    pub async fn statistics_differences(&self) -> Result<Vec<String>> {
        // One snapshot: payments and rollups read while writes go on would
        // differ by whatever was written between the reads.
        let mut tx = self.read_snapshot().await?;
        let mut out = Vec::new();
        for level in &FIGURES {
            let mut want = Figures::new();
            for kind in KINDS {
                let rows = sqlx::query(&figures_from_payments(level, kind, settled_only(self.backend())))
                    .fetch_all(&mut *tx)
                    .await?;
                want.extend(level_figures(level, &rows)?);
            }
            // Summed over the writers' shards.
            let key = format!("merchant_id, mode, kind, {}, currency, status", level.time);
            let sums = ["n", "amount_high", "amount_low", "fee_high", "fee_low", "timed"].map(sum_as).join(", ");
            let sql = format!("SELECT {key}, {sums} FROM {} GROUP BY {key}", level.table);
            let have = level_figures(level, &sqlx::query(&sql).fetch_all(&mut *tx).await?)?;
            out.extend(differences(&want, &have, "(n, amount, fee, timed)"));
        }
        for level in &DURATIONS {
            let mut want = BTreeMap::new();
            for kind in KINDS {
                let rows = sqlx::query(&durations_from_payments(level, kind)).fetch_all(&mut *tx).await?;
                want.extend(level_durations(level, &rows)?);
            }
            let key = format!("merchant_id, mode, kind, {}, currency, bucket", level.time);
            let sql = format!("SELECT {key}, {} FROM {} GROUP BY {key}", sum_as("n"), level.table);
            let have = level_durations(level, &sqlx::query(&sql).fetch_all(&mut *tx).await?)?;
            out.extend(differences(&want, &have, "count"));
        }
        if keeps_series_rollup(self.backend()) {
            let mut want = Series::new();
            for kind in KINDS {
                want.extend(series_figures(&sqlx::query(&series_from_payments(kind)).fetch_all(&mut *tx).await?)?);
            }
            let sums = SERIES_FIGURES.map(sum_as).join(", ");
            let sql = format!("SELECT {SERIES_KEY}, {sums} FROM {SERIES_HOURLY} GROUP BY {SERIES_KEY}");
            let have = series_figures(&sqlx::query(&sql).fetch_all(&mut *tx).await?)?;
            out.extend(differences(&want, &have, "(n, successes, turnover, fees)"));
        }
        Ok(out)
    }

    /// Recomputes every rollup from the payments, in one transaction that
    /// holds writers off (a write meanwhile would be counted twice or not
    /// at all).
    pub async fn rebuild_statistics(&self) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        let mut tx = crate::dialect::begin_write(self.backend(), &mut conn).await?;
        for kind in KINDS {
            crate::dialect::lock_table_against_writers(self.backend(), &mut tx, kind.table()).await?;
        }
        for level in FIGURES.iter().chain(&DURATIONS) {
            sqlx::query(&format!("DELETE FROM {}", level.table)).execute(&mut *tx).await?;
        }
        let series = keeps_series_rollup(self.backend());
        if series {
            sqlx::query(&format!("DELETE FROM {SERIES_HOURLY}")).execute(&mut *tx).await?;
        }
        for kind in KINDS {
            for level in &FIGURES {
                let sql = format!(
                    "INSERT INTO {} ({}) {}",
                    level.table,
                    figures_columns(level),
                    figures_from_payments(level, kind, settled_only(self.backend()))
                );
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            for level in &DURATIONS {
                let sql = format!(
                    "INSERT INTO {} ({}) {}",
                    level.table,
                    durations_columns(level),
                    durations_from_payments(level, kind)
                );
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
            if series {
                let columns = format!("{SERIES_KEY}, {}", SERIES_FIGURES.join(", "));
                let sql = format!("INSERT INTO {SERIES_HOURLY} ({columns}) {}", series_from_payments(kind));
                sqlx::query(&sql).execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }
}
