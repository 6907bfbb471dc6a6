//! The closed-loop driver: N workers, each with its own `reqwest::Client` (so
//! its own keep-alive connection), each sending one request, awaiting the
//! answer, and sending the next, until the deadline. A closed loop measures
//! what the server sustains at N outstanding requests, without the coordinated
//! omission of an open-loop rate that the server cannot keep up with.

use crate::api;
use reqwest::{Client, RequestBuilder, StatusCode};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Not counted: fills connection pools, caches and the database's buffers.
pub const WARMUP: Duration = Duration::from_secs(1);
/// One request slower than this counts as an error ("timeout"); it also bounds
/// how long a worker can overrun the deadline.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// One kind of request, sent over and over.
pub trait Workload: Send + Sync + 'static {
    /// Request number `seq` of worker `worker` (both start at 0).
    fn request(&self, client: &Client, worker: u64, seq: u64) -> RequestBuilder;
    /// The status that counts as success; anything else is an error.
    fn expected(&self) -> StatusCode;
    /// Sees the body of every successful response, warm-up included, and says
    /// how much money it moved (minor units); used by the hot-payout balance check.
    fn accepted(&self, _body: &[u8]) -> Result<i64, String> {
        Ok(0)
    }
}

/// What the measured window saw, plus whole-run totals for accounting checks.
#[derive(Default)]
pub struct Run {
    /// Latency of every HTTP response in the window, microseconds, sorted.
    pub latencies_us: Vec<u32>,
    /// Requests in the window: HTTP responses plus transport failures.
    pub completed: u64,
    /// Errors in the window by status code, or "timeout" / "transport" / "bad-body".
    pub errors: BTreeMap<String, u64>,
    /// From the end of the warm-up to the moment the last worker stopped.
    pub elapsed: Duration,
    /// Every status seen, warm-up included.
    pub all_statuses: BTreeMap<u16, u64>,
    /// Requests without an HTTP answer, warm-up included: their effect is unknown.
    pub all_transport_errors: u64,
    /// Sum of `Workload::accepted` over the whole run.
    pub accepted_value: i64,
}

pub async fn run<W: Workload>(workload: Arc<W>, connections: u64, duration: Duration) -> anyhow::Result<Run> {
    // Clients are built before the clock starts: building one loads TLS roots.
    let clients = (0..connections).map(|_| api::client(REQUEST_TIMEOUT)).collect::<anyhow::Result<Vec<_>>>()?;
    let t0 = Instant::now();
    let warmup_end = t0 + WARMUP;
    let deadline = warmup_end + duration;
    let mut tasks = Vec::with_capacity(clients.len());
    for (worker, client) in (0u64..).zip(clients) {
        let w = Arc::clone(&workload);
        tasks.push(tokio::spawn(async move { worker_loop(&*w, &client, worker, warmup_end, deadline).await }));
    }
    let mut total = Run::default();
    let mut last_finish = warmup_end;
    // Every worker stops by deadline + REQUEST_TIMEOUT; the margin is for a
    // starved scheduler, so the process always exits by itself.
    let hard_stop = tokio::time::Instant::from_std(deadline + REQUEST_TIMEOUT + Duration::from_secs(10));
    for task in tasks {
        let (part, finished) = match tokio::time::timeout_at(hard_stop, task).await {
            Ok(joined) => joined?,
            Err(_) => anyhow::bail!("workers did not stop {:?} after the deadline", REQUEST_TIMEOUT),
        };
        last_finish = last_finish.max(finished);
        total.merge(part);
    }
    total.elapsed = last_finish.saturating_duration_since(warmup_end);
    total.latencies_us.sort_unstable();
    Ok(total)
}

async fn worker_loop<W: Workload>(
    w: &W,
    client: &Client,
    worker: u64,
    warmup_end: Instant,
    deadline: Instant,
) -> (Run, Instant) {
    let mut run = Run::default();
    let expected = w.expected();
    for seq in 0u64.. {
        let start = Instant::now();
        if start >= deadline {
            break;
        }
        let sent = w.request(client, worker, seq).send().await;
        let mut error: Option<String> = None;
        let mut status = None;
        match sent {
            // The body is always read in full: an unread body would cost the
            // connection its keep-alive and turn the test into a connect test.
            Ok(resp) => match (resp.status(), resp.bytes().await) {
                (s, Ok(body)) => {
                    status = Some(s);
                    *run.all_statuses.entry(s.as_u16()).or_default() += 1;
                    if s != expected {
                        error = Some(s.as_u16().to_string());
                    } else {
                        match w.accepted(&body) {
                            Ok(v) => run.accepted_value += v,
                            Err(_) => error = Some("bad-body".into()),
                        }
                    }
                }
                (_, Err(e)) => error = Some(transport(&e, &mut run)),
            },
            Err(e) => error = Some(transport(&e, &mut run)),
        }
        let took = start.elapsed();
        if start >= warmup_end {
            run.completed += 1;
            if status.is_some() {
                run.latencies_us.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
            if let Some(e) = error {
                *run.errors.entry(e).or_default() += 1;
            }
        }
    }
    (run, Instant::now())
}

fn transport(e: &reqwest::Error, run: &mut Run) -> String {
    run.all_transport_errors += 1;
    if e.is_timeout() { "timeout" } else { "transport" }.to_string()
}

impl Run {
    fn merge(&mut self, other: Run) {
        self.latencies_us.extend(other.latencies_us);
        self.completed += other.completed;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
        for (k, v) in other.all_statuses {
            *self.all_statuses.entry(k).or_default() += v;
        }
        self.all_transport_errors += other.all_transport_errors;
        self.accepted_value += other.accepted_value;
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}
