//! The statistics rollups (migration 0017) against the payments they sum:
//! [`Db::statistics_differences`] recomputes every rollup row from the
//! payments and names each one that differs, and
//! [`Db::rebuild_statistics`] recomputes them all, writers held off.

use crate::db::{Db, Result};
use paygate_core::statistics::join_split;
use sqlx::Row;
use std::collections::BTreeMap;

/// Per payment table: the rollup rows it should have, as the migration
/// first computed them.
fn hourly_from_payments(kind: &str, table: &str) -> String {
    format!(
        "SELECT merchant_id, mode, '{kind}' AS kind, created_at - created_at % 3600000000 AS hour, currency, status, \
         CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(amount / 1000000000) AS BIGINT) AS amount_high, \
         CAST(SUM(amount % 1000000000) AS BIGINT) AS amount_low, CAST(SUM(fee / 1000000000) AS BIGINT) AS fee_high, \
         CAST(SUM(fee % 1000000000) AS BIGINT) AS fee_low, CAST(COUNT(completed_at) AS BIGINT) AS timed \
         FROM {table} GROUP BY merchant_id, mode, created_at - created_at % 3600000000, currency, status"
    )
}

fn durations_from_payments(kind: &str, table: &str) -> String {
    format!(
        "SELECT merchant_id, mode, '{kind}' AS kind, created_at - created_at % 86400000000 AS day, currency, \
         (SELECT bucket FROM stats_buckets WHERE low <= completed_at - created_at ORDER BY low DESC LIMIT 1) AS bucket, \
         CAST(COUNT(*) AS BIGINT) AS n FROM {table} WHERE status = 'success' AND completed_at IS NOT NULL \
         GROUP BY merchant_id, mode, created_at - created_at % 86400000000, currency, bucket"
    )
}

const TABLES: [(&str, &str); 2] = [("payin", "payins"), ("payout", "payouts")];
const HOURLY: &str =
    "merchant_id, mode, kind, hour, currency, status, n, amount_high, amount_low, fee_high, fee_low, timed";
const DURATIONS: &str = "merchant_id, mode, kind, day, currency, bucket, n";

/// One rollup row's key and figures, as compared.
type Figures = BTreeMap<String, (i64, i128, i128, i64)>;

fn hourly_figures(rows: &[sqlx::any::AnyRow]) -> Result<Figures> {
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
            "{} {} {} hour {} {} {}",
            r.try_get::<String, _>("merchant_id")?,
            r.try_get::<String, _>("mode")?,
            r.try_get::<String, _>("kind")?,
            r.try_get::<i64, _>("hour")?,
            r.try_get::<String, _>("currency")?,
            r.try_get::<String, _>("status")?
        );
        out.insert(key, (n, amount, fee, timed));
    }
    Ok(out)
}

fn duration_figures(rows: &[sqlx::any::AnyRow]) -> Result<BTreeMap<String, i64>> {
    let mut out = BTreeMap::new();
    for r in rows {
        let n: i64 = r.try_get("n")?;
        if n == 0 {
            continue;
        }
        let key = format!(
            "{} {} {} day {} {} bucket {}",
            r.try_get::<String, _>("merchant_id")?,
            r.try_get::<String, _>("mode")?,
            r.try_get::<String, _>("kind")?,
            r.try_get::<i64, _>("day")?,
            r.try_get::<String, _>("currency")?,
            r.try_get::<i64, _>("bucket")?
        );
        out.insert(key, n);
    }
    Ok(out)
}

impl Db {
    /// Every rollup row that is not what the payments add up to, as
    /// `key: rollup … ≠ payments …`; empty when they agree.
    pub async fn statistics_differences(&self) -> Result<Vec<String>> {
        let mut expected_hourly = Figures::new();
        let mut expected_durations = BTreeMap::new();
        for (kind, table) in TABLES {
            let rows = sqlx::query(&hourly_from_payments(kind, table)).fetch_all(self.pool()).await?;
            expected_hourly.extend(hourly_figures(&rows)?);
            let rows = sqlx::query(&durations_from_payments(kind, table)).fetch_all(self.pool()).await?;
            expected_durations.extend(duration_figures(&rows)?);
        }
        // Summed over the writers' shards.
        let sum = |c: &str| format!("CAST(SUM({c}) AS BIGINT) AS {c}");
        let key = "merchant_id, mode, kind, hour, currency, status";
        let sql = format!(
            "SELECT {key}, {}, {}, {}, {}, {}, {} FROM stats_hourly GROUP BY {key}",
            sum("n"),
            sum("amount_high"),
            sum("amount_low"),
            sum("fee_high"),
            sum("fee_low"),
            sum("timed")
        );
        let hourly = hourly_figures(&sqlx::query(&sql).fetch_all(self.pool()).await?)?;
        let key = "merchant_id, mode, kind, day, currency, bucket";
        let sql = format!("SELECT {key}, {} FROM stats_durations GROUP BY {key}", sum("n"));
        let durations = duration_figures(&sqlx::query(&sql).fetch_all(self.pool()).await?)?;
        let mut out = Vec::new();
        for key in expected_hourly.keys().chain(hourly.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (want, have) = (expected_hourly.get(key), hourly.get(key));
            if want != have {
                out.push(format!("{key}: rollup (n, amount, fee, timed) {have:?} ≠ payments {want:?}"));
            }
        }
        for key in expected_durations.keys().chain(durations.keys()).collect::<std::collections::BTreeSet<_>>() {
            let (want, have) = (expected_durations.get(key), durations.get(key));
            if want != have {
                out.push(format!("{key}: rollup count {have:?} ≠ payments {want:?}"));
            }
        }
        Ok(out)
    }

    /// Recomputes every rollup from the payments, in one transaction that
    /// holds writers off (a write meanwhile would be counted twice or not
    /// at all).
    pub async fn rebuild_statistics(&self) -> Result<()> {
        let mut conn = self.pool().acquire().await?;
        let mut tx = crate::dialect::begin_write(self.backend(), &mut conn).await?;
        for (_, table) in TABLES {
            crate::dialect::lock_table_against_writers(self.backend(), &mut tx, table).await?;
        }
        sqlx::query("DELETE FROM stats_hourly").execute(&mut *tx).await?;
        sqlx::query("DELETE FROM stats_durations").execute(&mut *tx).await?;
        for (kind, table) in TABLES {
            let sql = format!("INSERT INTO stats_hourly ({HOURLY}) {}", hourly_from_payments(kind, table));
            sqlx::query(&sql).execute(&mut *tx).await?;
            let sql = format!("INSERT INTO stats_durations ({DURATIONS}) {}", durations_from_payments(kind, table));
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
