//! Recording webhook attempts (see [`crate::events`]): a batch of attempt
//! outcomes written in one transaction. On PostgreSQL that is three
//! statements whatever the batch's size (the attempts logged, the events
//! settled, the attempts whose claim was lost meanwhile counted): one
//! statement per attempt was a round trip each, 40,000 for 20,000
//! deliveries, which held a drain to 4,800-5,200 deliveries a second; with
//! three, 5,750-6,300. On SQLite, where a statement is a call in the same
//! process, one per attempt stays faster: the batched form drained 8,700
//! a second against 11,500 (bench/README.md, webhook delivery).

use crate::db::{Backend, Db, Result};
use crate::dialect;
use crate::events::{AttemptRecord, DeliveryRow, Settle};
use crate::sql::{bind_all, placeholders, P};
use sqlx::Row;
use std::collections::HashSet;

/// Rows per statement: PostgreSQL takes at most 65,535 parameters, and
/// the attempts' INSERT binds ten per row.
const CHUNK: usize = 1_000;

/// The attempt log's columns; each attempt takes its event's merchant,
/// type and object from the event. A macro, so that both statements stay
/// literals: no text is built per attempt.
macro_rules! insert_deliveries {
    () => {
        "INSERT INTO deliveries (id, event_id, merchant_id, event_type, object_id, url, attempt, status, \
         http_status, latency_ms, error, response_excerpt, created_at)"
    };
}

/// How one event moves on after its record.
struct Settlement<'a> {
    event_id: &'a str,
    claim_token: Option<&'a str>,
    status: &'static str,
    next_attempt_at: i64,
    /// 1 when an attempt was made (and counts), else 0.
    attempted: i64,
}

impl Db {
    /// Logs attempts and moves their events on, all in one transaction: a
    /// worker records a whole claimed batch at once, so deliveries cost one
    /// commit per batch (SQLite has a single writer; one commit per attempt
    /// made concurrent deliveries queue for its lock). Leases are released;
    /// `attempts` counts every attempt made.
    pub async fn record_attempts(&self, records: &[AttemptRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool().acquire().await?;
        let _turn = self.write_turn().await;
        // The no-destination check reads before it writes.
        let mut tx = dialect::begin_write(self.backend(), &mut conn).await?;
        let mut logged: Vec<&DeliveryRow> = Vec::new();
        let mut settlements = Vec::with_capacity(records.len());
        for rec in records {
            let (status, next_attempt_at, attempted) = match &rec.outcome {
                Settle::Attempted { delivery, retry_at } => {
                    logged.push(delivery);
                    match (retry_at, delivery.status.as_str()) {
                        (_, "success") => ("delivered", delivery.created_at, 1),
                        (Some(t), _) => ("pending", *t, 1),
                        (None, _) => ("failed", delivery.created_at, 1),
                    }
                }
                Settle::Deferred { until } => ("pending", *until, 0),
                Settle::NoDestination { now } => {
                    let status =
                        if self.has_no_webhook_url(&mut tx, &rec.event_id).await? { "waiting" } else { "pending" };
                    (status, *now, 0)
                }
            };
            let (event_id, claim_token) = (rec.event_id.as_str(), rec.claim_token.as_deref());
            settlements.push(Settlement { event_id, claim_token, status, next_attempt_at, attempted });
        }
        if self.backend() == Backend::Sqlite {
            for delivery in logged {
                log_delivery(&mut tx, delivery).await?;
            }
            for one in &settlements {
                settle_one(&mut tx, one).await?;
            }
            tx.commit().await?;
            return Ok(());
        }
        for chunk in logged.chunks(CHUNK) {
            log_deliveries(&mut tx, chunk).await?;
        }
        for chunk in settlements.chunks(CHUNK) {
            // An event twice in one statement could not tell which of its
            // records settled it (RETURNING names the event, and the claim
            // is cleared); such a batch, if ever, settles one at a time.
            let mut seen = HashSet::new();
            if chunk.iter().all(|s| seen.insert(s.event_id)) {
                settle(&mut tx, chunk).await?;
            } else {
                for one in chunk {
                    settle_one(&mut tx, one).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Whether the event still has nowhere to go: no callback URL of its own
    /// and none on its merchant. On PostgreSQL
    /// the merchant row is share-locked until commit: a concurrent
    /// [`Db::update_merchant`] that sets the URL either committed first (and
    /// this sees the URL) or waits for this transaction and then releases
    /// the event this one parks. Either way no event is left waiting
    /// beside a URL.
    async fn has_no_webhook_url(&self, conn: &mut sqlx::AnyConnection, event_id: &str) -> Result<bool> {
        let lock = dialect::for_share(self.backend());
        let sql = format!(
            "SELECT id FROM merchants WHERE id = (SELECT merchant_id FROM events WHERE id = $1 AND callback_url IS NULL) \
             AND webhook_url IS NULL{lock}"
        );
        Ok(sqlx::query(&sql).bind(event_id).fetch_optional(&mut *conn).await?.is_some())
    }
}

/// `(VALUES ($1, …, $width), ($width+1, …), …)` for `rows` rows; its
/// columns are `column1`, `column2`, … on both engines.
fn values(rows: usize, width: usize) -> String {
    let rows: Vec<String> = (0..rows).map(|r| format!("({})", placeholders(r * width + 1, width))).collect();
    format!("(VALUES {})", rows.join(", "))
}

/// Logs attempts, each with its event's own merchant, type and object.
async fn log_deliveries(conn: &mut sqlx::AnyConnection, rows: &[&DeliveryRow]) -> Result<()> {
    let sql = format!(
        concat!(
            insert_deliveries!(),
            " SELECT v.column1, e.id, e.merchant_id, e.event_type, e.object_id, v.column2, v.column3, v.column4, \
             v.column5, v.column6, v.column7, v.column8, v.column9 FROM {} AS v JOIN events e ON e.id = v.column10"
        ),
        values(rows.len(), 10)
    );
    let params = rows.iter().flat_map(|d| {
        [
            P::T(d.id.clone()),
            P::OT(d.url.clone()),
            P::I(d.attempt),
            P::T(d.status.clone()),
            P::OI(d.http_status),
            P::OI(d.latency_ms),
            P::OT(d.error.clone()),
            P::OT(d.response_excerpt.clone()),
            P::I(d.created_at),
            P::T(d.event_id.clone()),
        ]
    });
    bind_all(sqlx::query(&sql), params.collect()).execute(conn).await?;
    Ok(())
}

/// [`log_deliveries`] for one attempt.
async fn log_delivery(conn: &mut sqlx::AnyConnection, d: &DeliveryRow) -> Result<()> {
    sqlx::query(concat!(
        insert_deliveries!(),
        " SELECT $1, id, merchant_id, event_type, object_id, $2, $3, $4, $5, $6, $7, $8, $9 FROM events WHERE id = $10"
    ))
    .bind(&d.id)
    .bind(&d.url)
    .bind(d.attempt)
    .bind(&d.status)
    .bind(d.http_status)
    .bind(d.latency_ms)
    .bind(&d.error)
    .bind(&d.response_excerpt)
    .bind(d.created_at)
    .bind(&d.event_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// [`settle`] for one record, by the number of rows it changed.
async fn settle_one(conn: &mut sqlx::AnyConnection, s: &Settlement<'_>) -> Result<()> {
    let settled = sqlx::query(
        "UPDATE events SET status = $1, attempts = attempts + $5, next_attempt_at = $2, lease_until = NULL, \
         claim_token = NULL WHERE id = $3 AND claim_token = $4",
    )
    .bind(s.status)
    .bind(s.next_attempt_at)
    .bind(s.event_id)
    .bind(s.claim_token)
    .bind(s.attempted)
    .execute(&mut *conn)
    .await?;
    if settled.rows_affected() == 0 && s.attempted == 1 {
        count_lost_attempt(conn, s.event_id).await?;
    }
    Ok(())
}

/// An attempt whose claim was lost meanwhile still counts.
async fn count_lost_attempt(conn: &mut sqlx::AnyConnection, event_id: &str) -> Result<()> {
    sqlx::query("UPDATE events SET attempts = attempts + 1 WHERE id = $1").bind(event_id).execute(conn).await?;
    Ok(())
}

/// Settles events whose claim still holds: only the attempt whose claim
/// holds the event moves it on (a resend or an expired lease may have
/// handed it to another worker meanwhile, whose outcome must not be
/// overwritten). An attempt whose claim was lost still counts.
async fn settle(conn: &mut sqlx::AnyConnection, rows: &[Settlement<'_>]) -> Result<()> {
    let sql = format!(
        "UPDATE events SET status = v.column3, attempts = attempts + v.column5, next_attempt_at = v.column4, \
         lease_until = NULL, claim_token = NULL FROM {} AS v \
         WHERE events.id = v.column1 AND events.claim_token = v.column2 RETURNING events.id",
        values(rows.len(), 5)
    );
    let params = rows.iter().flat_map(|s| {
        [
            P::T(s.event_id.to_string()),
            P::OT(s.claim_token.map(str::to_string)),
            P::T(s.status.to_string()),
            P::I(s.next_attempt_at),
            P::I(s.attempted),
        ]
    });
    let settled = bind_all(sqlx::query(&sql), params.collect()).fetch_all(&mut *conn).await?;
    let settled: HashSet<String> = settled.iter().map(|r| r.try_get::<String, _>(0)).collect::<Result<_, _>>()?;
    for lost in rows.iter().filter(|s| s.attempted == 1 && !settled.contains(s.event_id)) {
        count_lost_attempt(&mut *conn, lost.event_id).await?;
    }
    Ok(())
}
