//! The figures of the operator's overview page.

use crate::db::{Db, Result};
use sqlx::Row;

#[derive(Debug, Default)]
pub struct Overview {
    /// (currency, volume of successful payins since `today`, since `month`).
    pub volumes: Vec<(String, i64, i64)>,
    /// Payins that ended since `month`: successful, and all that ended.
    pub succeeded: i64,
    pub ended: i64,
    pub open_disputes: i64,
    pub webhook_backlog: i64,
    /// (day start in µs, successful payins that day) for the chart.
    pub per_day: Vec<(i64, i64)>,
}

impl Db {
    pub async fn overview(&self, today: i64, month: i64, days_from: i64) -> Result<Overview> {
        let mut o = Overview::default();
        let rows = sqlx::query(
            "SELECT currency, CAST(SUM(CASE WHEN completed_at >= $1 THEN amount ELSE 0 END) AS BIGINT) AS today, \
             CAST(SUM(amount) AS BIGINT) AS month FROM payins WHERE status = 'success' AND completed_at >= $2 \
             GROUP BY currency ORDER BY currency",
        )
        .bind(today)
        .bind(month)
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            o.volumes.push((r.try_get("currency")?, r.try_get("today")?, r.try_get("month")?));
        }
        let r = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN status = 'success' THEN 1 ELSE 0 END), 0) AS BIGINT) AS ok, \
             CAST(COUNT(*) AS BIGINT) AS n FROM payins WHERE status <> 'pending' AND completed_at >= $1",
        )
        .bind(month)
        .fetch_one(self.pool())
        .await?;
        (o.succeeded, o.ended) = (r.try_get("ok")?, r.try_get("n")?);
        o.open_disputes = sqlx::query("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM disputes WHERE status = 'open'")
            .fetch_one(self.pool())
            .await?
            .try_get("n")?;
        o.webhook_backlog = self.pending_event_count().await?;
        let day = 86_400_000_000i64;
        let rows = sqlx::query(
            "SELECT CAST((completed_at - $1) / $2 AS BIGINT) AS d, CAST(COUNT(*) AS BIGINT) AS n FROM payins \
             WHERE status = 'success' AND completed_at >= $1 GROUP BY 1 ORDER BY 1",
        )
        .bind(days_from)
        .bind(day)
        .fetch_all(self.pool())
        .await?;
        for r in rows {
            let d: i64 = r.try_get("d")?;
            o.per_day.push((days_from + d * day, r.try_get("n")?));
        }
        Ok(o)
    }
}
