//! The webhook outbox: claiming due events with a lease, recording each
//! attempt, and the merchant-facing log of deliveries.
//!
//! A worker claims events by setting `lease_until`; a claim is only taken
//! where no live lease exists (and, on PostgreSQL, with `FOR UPDATE SKIP
//! LOCKED`, so several workers and nodes never take the same event at once).
//! A worker that dies leaves its lease to expire, and the event is claimed
//! again: nothing is lost, and the worst case is one extra delivery, which
//! at-least-once delivery allows.
//!
//! Order: each event carries its object's `sequence`. An event is claimed
//! only when no earlier event of the same object is `pending`, and one
//! claimed behind a `waiting` event is parked beside it without an attempt,
//! so a receiver never sees `payout.success` before `payout.processing`
//! (unless the earlier one finally failed).
//!
//! No destination: an event whose object has no `callback_url` while its
//! merchant has no `webhook_url` is not an attempt. It becomes `waiting`
//! (no attempt logged, nothing counted as an error) and goes back to
//! `pending`, due at once, when the merchant's webhook URL is set.

use crate::db::{Db, Result};
use crate::dialect;
use crate::sql::{bind_all, P};
use paygate_core::ids::{new_monotonic_id, IdKind};
use sqlx::any::AnyRow;
use sqlx::Row;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventRow {
    pub id: String,
    pub merchant_id: String,
    pub event_type: String,
    pub object_id: String,
    pub callback_url: Option<String>,
    /// The exact bytes to send and sign.
    pub body: String,
    /// `pending`, `waiting` (no destination yet), `delivered` or `failed`.
    pub status: String,
    /// 1, 2, … per object, in the order the events happened.
    pub sequence: i64,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub created_at: i64,
    /// The claim that holds the event (set by `claim_due_events`).
    pub claim_token: Option<String>,
}

const EVENT_COLUMNS: &str = "id, merchant_id, event_type, object_id, callback_url, body, status, sequence, attempts, \
     next_attempt_at, created_at, claim_token";

fn event_from(r: &AnyRow) -> Result<EventRow> {
    Ok(EventRow {
        id: r.try_get("id")?,
        merchant_id: r.try_get("merchant_id")?,
        event_type: r.try_get("event_type")?,
        object_id: r.try_get("object_id")?,
        callback_url: r.try_get("callback_url")?,
        body: r.try_get("body")?,
        status: r.try_get("status")?,
        sequence: r.try_get("sequence")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        created_at: r.try_get("created_at")?,
        claim_token: r.try_get("claim_token")?,
    })
}

/// An event a worker claimed.
pub struct Claimed {
    pub event: EventRow,
    /// An earlier event of the same object is waiting for a destination:
    /// this one must not be sent before it, so it waits too (settled as
    /// [`Settle::NoDestination`] without an attempt). Sending it because a
    /// URL appeared since the claim could overtake the earlier one, which
    /// the same change of URL has just released.
    pub behind_waiting: bool,
}

/// One delivery attempt, as logged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryRow {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    pub object_id: String,
    pub url: Option<String>,
    pub attempt: i64,
    /// `success`, `failed` (non-2xx) or `error` (timeout, connection, refused target).
    pub status: String,
    pub http_status: Option<i64>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub created_at: i64,
}

/// What became of a claimed event.
pub struct AttemptRecord {
    pub event_id: String,
    /// The claim the event was taken under; only it may settle the event.
    pub claim_token: Option<String>,
    pub outcome: Settle,
}

pub enum Settle {
    /// An attempt was made and is logged. `retry_at: Some(t)`: retry at `t`;
    /// `None`: final (`delivered` when the attempt succeeded, `failed`
    /// otherwise).
    Attempted { delivery: Box<DeliveryRow>, retry_at: Option<i64> },
    /// Nowhere to send it: the event waits for the merchant's webhook URL
    /// (or is due again at once if one was set meanwhile).
    NoDestination { now: i64 },
    /// Not attempted: its receiver already has all the attempts it may
    /// have at once. Due again at `until`, with no attempt counted.
    Deferred { until: i64 },
}

/// Filters of the deliveries log.
#[derive(Default, Clone)]
pub struct DeliveryFilter {
    pub merchant_id: Option<String>,
    pub event_id: Option<String>,
    pub object_id: Option<String>,
    pub status: Option<String>,
    pub before_id: Option<String>,
    pub limit: i64,
}

impl Db {
    /// Claims up to `limit` due events for `lease_micros`, returning them.
    pub async fn claim_due_events(&self, now: i64, lease_micros: i64, limit: i64) -> Result<Vec<Claimed>> {
        let skip_locked = dialect::for_update_skip_locked(self.backend());
        // An event waits while an earlier one of its object is pending:
        // claimed together they could arrive in either order. One behind a
        // `waiting` event is claimed, but only to be parked beside it (see
        // `Claimed::behind_waiting`), so it does not sit at the head of the
        // due index for every claim to step over.
        //
        // The events table can grow by tens of thousands of rows in seconds
        // (a burst, or a backlog made due at once), long before autovacuum
        // analyzes it, and PostgreSQL then plans from a table it believes
        // tiny. Two defences, both measured (bench/README.md,
        // webhooks-drain, 1,100 → 5,800 deliveries/s):
        // - the status test is written `status || ''` so that no partial
        //   index on status can serve it: an object's few events are found
        //   through (object_id, sequence), not by reading every waiting or
        //   due event's entry for every claimed row;
        // - the statement is not kept prepared (`persistent(false)`), so it
        //   is planned with the table's current size at each claim; a cached
        //   generic plan made while the table was small scanned the whole
        //   table for every claimed row (50 ms each, 390 deliveries/s).
        let earlier = |row: &str, status: &str| {
            format!(
                "EXISTS (SELECT 1 FROM events AS earlier WHERE earlier.object_id = {row}.object_id \
                 AND earlier.sequence < {row}.sequence AND earlier.status || '' = '{status}')"
            )
        };
        let (pending, waiting) = (earlier("due", "pending"), earlier("events", "waiting"));
        let sql = format!(
            "UPDATE events SET lease_until = $1, claim_token = $4 WHERE id IN (SELECT id FROM events AS due \
             WHERE status = 'pending' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2) \
             AND NOT {pending} ORDER BY next_attempt_at LIMIT $3{skip_locked}) \
             RETURNING {EVENT_COLUMNS}, CASE WHEN {waiting} THEN 1 ELSE 0 END AS behind_waiting"
        );
        let token = new_monotonic_id(IdKind::Event).replacen("evt_", "claim_", 1);
        // The connection before the turn: a turn holder never waits for the
        // pool, so a busy pool cannot stall the writer behind it.
        let mut conn = self.pool().acquire().await?;
        let _turn = self.write_turn().await;
        let rows = sqlx::query(&sql)
            .persistent(false)
            .bind(now + lease_micros)
            .bind(now)
            .bind(limit)
            .bind(token)
            .fetch_all(&mut *conn)
            .await?;
        rows.iter()
            .map(|r| Ok(Claimed { event: event_from(r)?, behind_waiting: r.try_get::<i64, _>("behind_waiting")? == 1 }))
            .collect()
    }

    /// Queues an event again now (resend), whatever its state, with a fresh
    /// retry schedule (the attempt log keeps every earlier attempt). `merchant_id`
    /// scopes it; returns false when no such event is visible.
    pub async fn requeue_event(&self, event_id: &str, merchant_id: Option<&str>, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE events SET status = 'pending', next_attempt_at = $1, lease_until = NULL, claim_token = NULL, attempts = 0 \
             WHERE id = $2 AND ($3 IS NULL OR merchant_id = $3)",
        )
        .bind(now)
        .bind(event_id)
        .bind(merchant_id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn event(&self, event_id: &str) -> Result<Option<EventRow>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
        sqlx::query(&sql).bind(event_id).fetch_optional(self.pool()).await?.as_ref().map(event_from).transpose()
    }

    /// Events of one object, oldest first (tests and operators).
    pub async fn events_of(&self, object_id: &str) -> Result<Vec<EventRow>> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE object_id = $1 ORDER BY id");
        let rows = sqlx::query(&sql).bind(object_id).fetch_all(self.pool()).await?;
        rows.iter().map(event_from).collect()
    }

    /// Events to be delivered (the queue-depth gauge).
    pub async fn pending_event_count(&self) -> Result<i64> {
        self.count_events("pending").await
    }

    /// Events with no destination yet (waiting for a webhook URL).
    pub async fn waiting_event_count(&self) -> Result<i64> {
        self.count_events("waiting").await
    }

    async fn count_events(&self, status: &'static str) -> Result<i64> {
        // The status is a literal so that each count uses its partial index.
        let sql = format!("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM events WHERE status = '{status}'");
        Ok(sqlx::query(&sql).fetch_one(self.pool()).await?.try_get("n")?)
    }

    /// Attempts, newest first.
    pub async fn deliveries(&self, f: &DeliveryFilter) -> Result<Vec<DeliveryRow>> {
        let mut conds = Vec::new();
        let mut params: Vec<P> = Vec::new();
        for (col, value) in [
            ("merchant_id", &f.merchant_id),
            ("event_id", &f.event_id),
            ("object_id", &f.object_id),
            ("status", &f.status),
        ] {
            if let Some(v) = value {
                params.push(v.clone().into());
                conds.push(format!("{col} = ${}", params.len()));
            }
        }
        if let Some(b) = &f.before_id {
            params.push(b.clone().into());
            conds.push(format!("id < ${}", params.len()));
        }
        params.push(f.limit.into());
        let clause = if conds.is_empty() { String::new() } else { format!(" WHERE {}", conds.join(" AND ")) };
        let sql = format!(
            "SELECT id, event_id, event_type, object_id, url, attempt, status, http_status, latency_ms, error, \
             response_excerpt, created_at FROM deliveries{clause} ORDER BY id DESC LIMIT ${}",
            params.len()
        );
        let rows = bind_all(sqlx::query(&sql), params).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(DeliveryRow {
                    id: r.try_get("id")?,
                    event_id: r.try_get("event_id")?,
                    event_type: r.try_get("event_type")?,
                    object_id: r.try_get("object_id")?,
                    url: r.try_get("url")?,
                    attempt: r.try_get("attempt")?,
                    status: r.try_get("status")?,
                    http_status: r.try_get("http_status")?,
                    latency_ms: r.try_get("latency_ms")?,
                    error: r.try_get("error")?,
                    response_excerpt: r.try_get("response_excerpt")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect()
    }
}

/// A new delivery id (time-ordered).
pub fn new_delivery_id() -> String {
    new_monotonic_id(IdKind::Delivery)
}
