//! Webhook delivery (API.md section 4): claims due events from the outbox,
//! POSTs each body exactly as stored with `X-Signature = hex(HMAC-SHA256(
//! SecretToken, body))`, logs every attempt, and schedules retries.
//!
//! Signing uses the merchant's current SecretToken at the moment of the
//! attempt: after a rotation, merchants verify with the new secret (the
//! rotation answer shows it once). This is documented in the README.

use super::host_turns::{self, host_of};
use super::ssrf::GuardedResolver;
use super::webhook_destinations::{
    describe, merchant_destination, partner_destination, Destination, PARTNER_EVENT_PREFIX,
};
use crate::config::Settings;
use crate::state::AppState;
use paygate_core::callback_url::CallbackUrl;
use paygate_store::events::{new_delivery_id, AttemptRecord, DeliveryRow, EventRow, Settle};
use paygate_store::time::now_micros;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How soon an event put back for a busy host is due again.
const HOST_BUSY_RETRY_MICROS: i64 = 1_000_000;

/// How long a claimed event is reserved for the worker that took it: long
/// enough for one attempt (bounded by the per-attempt timeout), short enough
/// that the events of a worker that died are retried soon by another.
fn lease(settings: &Settings) -> Duration {
    Duration::from_secs(settings.webhook_timeout_secs * 2 + 5)
}
/// Bytes of a response body kept in the attempt log.
const EXCERPT: usize = 256;

/// The HTTP client of the delivery worker: no redirects (a redirect could
/// point anywhere), a per-attempt timeout, and a resolver that refuses
/// internal addresses unless the operator allows them.
pub fn client(settings: &Settings) -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(settings.webhook_timeout_secs))
        .connect_timeout(Duration::from_secs(settings.webhook_timeout_secs.min(5)))
        .no_proxy()
        .user_agent(concat!("paygate-webhooks/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private: settings.allow_private_callbacks,
            static_hosts: Arc::new(settings.webhook_static_hosts.clone()),
        }))
        .build()
        .expect("static client configuration is valid")
}

/// When the next attempt is due after `attempts_made` attempts, or `None`
/// when the schedule is exhausted. ±10% jitter spreads retries of many events
/// failing together; a `Retry-After` longer than the schedule is honoured.
pub fn next_attempt_at(now: i64, schedule: &[u64], attempts_made: i64, retry_after_secs: Option<u64>) -> Option<i64> {
    let delay = *schedule.get(usize::try_from(attempts_made).ok()?.checked_sub(1)?)?;
    let jitter = 0.9 + rand::random::<f64>() * 0.2;
    // Delays are whole seconds; the jitter is applied in milliseconds so no
    // float ever touches money (this is time).
    let mut delay_ms = (delay as f64 * 1000.0 * jitter) as i64;
    if let Some(ra) = retry_after_secs {
        delay_ms = delay_ms.max((ra.min(86_400) * 1000) as i64);
    }
    Some(now + delay_ms * 1000)
}

/// Delivers what is due now, as one batch; returns how many attempts it
/// made. (Tests drain the outbox with it; the running worker pipelines.)
pub async fn try_execute_task(state: &AppState, http: &reqwest::Client) -> anyhow::Result<usize> {
    let limit = state.settings.webhook_concurrency as i64;
    let events = state.db.claim_due_events(now_micros(), lease(&state.settings).as_micros() as i64, limit).await?;
    let n = events.len();
    let mut tasks = tokio::task::JoinSet::new();
    for claimed in events {
        tasks.spawn(deliver(state.clone(), http.clone(), claimed));
    }
    let mut records = Vec::with_capacity(n);
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(record) => records.push(record),
            // A panicked attempt records nothing; its lease expires and the
            // event is claimed again.
            Err(e) => tracing::error!(error = %e, "webhook attempt task failed"),
        }
    }
    record_all(state, records).await;
    Ok(n)
}

/// One claimed event: its attempt (or, behind a waiting one, its parking),
/// measured, as the record to write.
async fn deliver(state: AppState, http: reqwest::Client, claimed: paygate_store::events::Claimed) -> AttemptRecord {
    let event = claimed.event;
    let outcome = match claimed.behind_waiting {
        true => Settle::NoDestination { now: now_micros() },
        false => attempt(&state, &http, &event).await,
    };
    // An event with nowhere to go is not an attempt: not counted.
    if let Settle::Attempted { delivery, .. } = &outcome {
        let status = delivery.status.clone();
        metrics::counter!("paygate_webhook_deliveries_total", "outcome" => status).increment(1);
        if let Some(ms) = delivery.latency_ms {
            metrics::histogram!("paygate_webhook_delivery_seconds").record(ms as f64 / 1000.0);
        }
        if delivery.status == "success" {
            let age = (now_micros() - event.created_at) as f64 / 1e6;
            metrics::histogram!("paygate_webhook_end_to_end_seconds").record(age);
        }
    }
    AttemptRecord { event_id: event.id, claim_token: event.claim_token, outcome }
}

/// Writes attempt records in one statement batch; one the database
/// refuses must not stall the others, so then they go one by one (only
/// that one waits for its lease).
async fn record_all(state: &AppState, records: Vec<AttemptRecord>) {
    if records.is_empty() {
        return;
    }
    if let Err(e) = state.db.record_attempts(&records).await {
        tracing::warn!(error = %e, "recording a batch of attempts failed; recording one by one");
        for record in records {
            if let Err(e) = state.db.record_attempts(std::slice::from_ref(&record)).await {
                tracing::error!(error = %e, event_id = %record.event_id, "recording an attempt failed");
            }
        }
    }
}

/// The event's merchant, from the short-lived cache when it is there.
async fn merchant_of(
    state: &AppState,
    id: &str,
) -> Result<Option<Arc<paygate_store::merchants::MerchantRecord>>, paygate_store::StoreError> {
    if let Some(m) = state.delivery_merchants.get(id) {
        return Ok(Some(m));
    }
    let Some(m) = state.db.merchant(id).await? else { return Ok(None) };
    let m = Arc::new(m);
    state.delivery_merchants.put(id, m.clone());
    Ok(Some(m))
}

/// One attempt at one event. Never fails: every problem becomes a logged
/// attempt with an error, and the schedule decides what comes next.
async fn attempt(state: &AppState, http: &reqwest::Client, event: &EventRow) -> Settle {
    let started = now_micros();
    let attempts_made = event.attempts + 1;
    let schedule = &state.settings.webhook_retry_schedule_secs;
    let mut delivery = DeliveryRow {
        id: new_delivery_id(),
        event_id: event.id.clone(),
        event_type: event.event_type.clone(),
        object_id: event.object_id.clone(),
        url: None,
        attempt: attempts_made,
        status: "error".into(),
        http_status: None,
        latency_ms: None,
        error: None,
        response_excerpt: None,
        created_at: started,
    };
    // A failed attempt, retried on schedule.
    let retry = |delivery: DeliveryRow, retry_after: Option<u64>| Settle::Attempted {
        delivery: Box::new(delivery),
        retry_at: next_attempt_at(started, schedule, attempts_made, retry_after),
    };
    let merchant = match merchant_of(state, &event.merchant_id).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            delivery.error = Some("merchant no longer exists".into());
            return Settle::Attempted { delivery: Box::new(delivery), retry_at: None };
        }
        Err(e) => {
            delivery.error = Some(format!("store: {e}"));
            return retry(delivery, None);
        }
    };
    let signed = match event.event_type.starts_with(PARTNER_EVENT_PREFIX) {
        true => partner_destination(state, &merchant.id, event).await,
        false => merchant_destination(state, &merchant, event),
    };
    let (url, header_name, signature) = match signed {
        Destination::Ready { url, header, signature } => (url, header, signature),
        Destination::None => return Settle::NoDestination { now: started },
        Destination::Broken { url, error, retry: again } => {
            delivery.url = url;
            delivery.error = Some(error);
            return match again {
                true => retry(delivery, None),
                false => Settle::Attempted { delivery: Box::new(delivery), retry_at: None },
            };
        }
    };
    delivery.url = Some(url.clone());
    // The URL was checked when it was saved; checked again here because the
    // operator's setting may have changed since (host names are checked by
    // the resolver at connect time).
    if let Err(e) = CallbackUrl::parse(&url, state.settings.allow_private_callbacks) {
        delivery.error = Some(format!("callback URL refused: {e}"));
        return retry(delivery, None);
    }
    // Its host already has all the attempts it may have at once (it is slow
    // or down): back in the queue for a moment, so this slot serves others.
    let Some(_turn) = state.webhook_hosts.enter_within(&host_of(&url), host_turns::BRIEF_WAIT).await else {
        metrics::counter!("paygate_webhook_host_deferrals_total").increment(1);
        return Settle::Deferred { until: started + HOST_BUSY_RETRY_MICROS };
    };
    let clock = Instant::now();
    let sent = http
        .post(&url)
        .header("Content-Type", "application/json")
        .header(header_name, signature)
        .header("X-Event-Id", &event.id)
        .header("X-Event-Type", &event.event_type)
        .body(event.body.clone())
        .send()
        .await;
    match sent {
        Ok(mut resp) => {
            let status = resp.status();
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let mut excerpt = Vec::new();
            while excerpt.len() < EXCERPT {
                match resp.chunk().await {
                    Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                    _ => break,
                }
            }
            excerpt.truncate(EXCERPT);
            // Whatever the receiver sent, the log keeps printable text only
            // (PostgreSQL TEXT refuses NUL bytes outright).
            excerpt.retain(|b| *b >= 0x20 || *b == b'\n' || *b == b'\t');
            delivery.latency_ms = Some(clock.elapsed().as_millis() as i64);
            delivery.http_status = Some(i64::from(status.as_u16()));
            delivery.response_excerpt = Some(String::from_utf8_lossy(&excerpt).into_owned());
            if status.is_success() {
                delivery.status = "success".into();
                Settle::Attempted { delivery: Box::new(delivery), retry_at: None }
            } else {
                delivery.status = "failed".into();
                delivery.error = Some(format!("HTTP {}", status.as_u16()));
                retry(delivery, retry_after)
            }
        }
        Err(e) => {
            delivery.latency_ms = Some(clock.elapsed().as_millis() as i64);
            delivery.error = Some(describe(&e));
            retry(delivery, None)
        }
    }
}

/// Runs until `shutdown` fires.
pub async fn run(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let http = client(&state.settings);
    let idle = Duration::from_millis(state.settings.webhook_poll_ms);
    // A pipeline, not batch after batch: as soon as attempts finish, their
    // slots take new events, so one slow receiver holds only its own slots
    // and never the deliveries of others; records are written in batches by
    // one task beside it.
    let slots = Arc::new(tokio::sync::Semaphore::new(state.settings.webhook_concurrency.max(1)));
    let (records_tx, records_rx) = tokio::sync::mpsc::unbounded_channel::<AttemptRecord>();
    let recorder = tokio::spawn(record_loop(state.clone(), records_rx));
    let mut in_flight = tokio::task::JoinSet::new();
    let mut gauge_at = Instant::now();
    loop {
        while let Some(done) = in_flight.try_join_next() {
            if let Err(e) = done {
                tracing::error!(error = %e, "webhook attempt task failed");
            }
        }
        let free = slots.available_permits();
        let claimed = if free == 0 {
            Ok(Vec::new())
        } else {
            state.db.claim_due_events(now_micros(), lease(&state.settings).as_micros() as i64, free as i64).await
        };
        // Whether the slots, not the queue, limited this claim: only then can
        // a finished attempt let the next claim take more. Otherwise every
        // finished attempt would cost a claim (a write transaction) that
        // finds nothing new; on SQLite those claims took turns with the
        // writer's batches and delivery fell seconds behind at 1,000 events/s.
        let slot_bound = claimed.as_ref().is_ok_and(|events| events.len() >= free);
        let pause = match claimed {
            Ok(events) if !events.is_empty() => {
                for event in events {
                    let Ok(permit) = slots.clone().acquire_owned().await else { break };
                    let (state, http, tx) = (state.clone(), http.clone(), records_tx.clone());
                    in_flight.spawn(async move {
                        let record = deliver(state, http, event).await;
                        let _ = tx.send(record);
                        drop(permit);
                    });
                }
                // Slots were the limit: claim again at once. Otherwise the
                // queue is empty: until a commit or the poll interval.
                if slot_bound {
                    Duration::ZERO
                } else {
                    idle
                }
            }
            // Nothing due, or every slot busy: until an event is committed
            // here, an attempt finishes, or the poll interval passes.
            Ok(_) => idle,
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), "webhook delivery step failed; retrying");
                idle * 4
            }
        };
        if gauge_at.elapsed() > Duration::from_secs(5) {
            if let Ok(depth) = state.db.pending_event_count().await {
                metrics::gauge!("paygate_webhook_queue_depth").set(depth as f64);
            }
            if let Ok(waiting) = state.db.waiting_event_count().await {
                metrics::gauge!("paygate_webhook_waiting_for_destination").set(waiting as f64);
            }
            gauge_at = Instant::now();
        }
        if pause.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            // A batch with events just committed on this node.
            _ = state.writer.events_ready.notified() => {}
            // An attempt finished: its slot can take the next event.
            Some(_) = in_flight.join_next(), if slot_bound && !in_flight.is_empty() => {}
            _ = shutdown.changed() => break,
        }
    }
    // Attempts under way finish (each bounded by its timeout) and are
    // recorded before the worker stops.
    while in_flight.join_next().await.is_some() {}
    drop(records_tx);
    let _ = recorder.await;
}

/// Writes the records of finished attempts: whatever has arrived, in one
/// batch, as soon as the previous batch is written.
async fn record_loop(state: AppState, mut records: tokio::sync::mpsc::UnboundedReceiver<AttemptRecord>) {
    while let Some(first) = records.recv().await {
        let mut batch = vec![first];
        while batch.len() < 512 {
            match records.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        record_all(&state, batch).await;
        // A settled event may have held back the next one of its object.
        state.wake_deliveries();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_with_jitter_and_retry_after() {
        let s = [10, 60];
        let a = next_attempt_at(0, &s, 1, None).unwrap();
        assert!((9_000_000..=11_000_000).contains(&a), "{a}");
        let b = next_attempt_at(0, &s, 2, None).unwrap();
        assert!((54_000_000..=66_000_000).contains(&b), "{b}");
        assert_eq!(next_attempt_at(0, &s, 3, None), None, "exhausted");
        assert_eq!(next_attempt_at(0, &s, 1, Some(600)), Some(600_000_000));
        assert_eq!(next_attempt_at(0, &s, 1, Some(10_000_000)), Some(86_400_000_000), "Retry-After is capped");
    }
}
