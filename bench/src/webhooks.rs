//! `webhooks`, `webhooks-drain`, `webhooks-paced`: how fast status changes
//! reach a merchant's endpoint.
//!
//! The bench hosts the receiver itself (a minimal HTTP/1.1 keep-alive server
//! on 127.0.0.1 that answers 200 at once), so the figures are the gateway's.
//! Set-up creates pending payins; then `connections` workers cancel them, each
//! cancel being one `payin.cancelled` event. The three modes differ in how the
//! events are produced:
//! - `webhooks`: `EVENTS` cancels as fast as the gateway allows while it
//!   delivers: production and delivery share the cores and the writer.
//!   Reported: deliveries/s (first cancel → last receipt) and end-to-end
//!   latency (cancel request sent → event received, an upper bound that
//!   includes the cancel call itself).
//! - `webhooks-drain`: delivery capacity alone. The merchant has no webhook
//!   URL while `EVENTS` cancels commit, so the gateway parks every event as
//!   `waiting`; setting the URL makes them all due at once (as when a merchant
//!   configures its endpoint after a backlog built up). Deliveries/s over
//!   settings call → last receipt; the latency column is each receipt's time
//!   after the settings call.
//! - `webhooks-paced`: production below capacity, `--webhook-rate` cancels a
//!   second for `--duration` seconds: end-to-end latency as a merchant sees
//!   it, from the moment each cancel was due (so a lagging gateway shows).

use crate::api::{self, Merchant};
use crate::load::Run;
use crate::scenarios::{Ctx, Outcome};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Events per run: enough for a few seconds of delivery on this hardware.
const EVENTS: usize = 20_000;

type Received = Arc<Mutex<Vec<(Instant, String)>>>;

/// How the events are produced (see the module's comment).
#[derive(Clone, Copy, Debug)]
pub enum Mode {
    Race,
    Drain,
    Paced { per_second: u64 },
}

/// Serves one keep-alive connection: reads each request (headers, then the
/// Content-Length body), notes the payin id in the body, answers 200.
async fn serve(mut sock: tokio::net::TcpStream, received: Received) {
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    loop {
        let header_end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        };
        let head = String::from_utf8_lossy(&buf[..header_end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < header_end + len {
            match sock.read_buf(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
        let body = String::from_utf8_lossy(&buf[header_end..header_end + len]).into_owned();
        let id = body.split("\"data\":{\"id\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("").to_string();
        received.lock().unwrap().push((Instant::now(), id));
        if sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
            return;
        }
        buf.drain(..header_end + len);
    }
}

async fn start_receiver(received: Received) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    let task = tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(serve(sock, received.clone()));
        }
    });
    Ok((url, task))
}

/// Runs `make(i)` for i in 0..n on `workers` closed-loop tasks.
async fn in_parallel<F, Fut>(workers: u64, n: usize, make: F) -> Vec<Option<(Instant, String)>>
where
    F: Fn(usize, reqwest::Client) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Option<(Instant, String)>> + Send,
{
    let next = Arc::new(AtomicUsize::new(0));
    let make = Arc::new(make);
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (next, make) = (next.clone(), make.clone());
        tasks.push(tokio::spawn(async move {
            let client = api::client(Duration::from_secs(10)).expect("client");
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return out;
                }
                out.push(make(i, client.clone()).await);
            }
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap_or_default());
    }
    all
}

pub async fn run(ctx: &Ctx<'_>, mode: Mode) -> anyhow::Result<Outcome> {
    let events = match mode {
        Mode::Race | Mode::Drain => EVENTS,
        Mode::Paced { per_second } => (per_second * ctx.duration.as_secs()) as usize,
    };
    let client = api::client(Duration::from_secs(30))?;
    let name = match mode {
        Mode::Race => "hooks",
        Mode::Drain => "hooks-drain",
        Mode::Paced { .. } => "hooks-paced",
    };
    let merchant: Merchant = api::create_merchant(&client, ctx.base, ctx.admin_token, name).await?;
    let received: Received = Arc::new(Mutex::new(Vec::new()));
    let (hook_url, receiver) = start_receiver(received.clone()).await?;
    if !matches!(mode, Mode::Drain) {
        set_webhook_url(&client, ctx.base, &merchant, &hook_url).await?;
    }

    // Phase 1: pending payins to cancel (no events yet).
    let (base, m) = (ctx.base.to_string(), merchant.clone());
    let created = in_parallel(ctx.connections, events, move |i, c| {
        let (base, m) = (base.clone(), m.clone());
        async move {
            let body = format!(r#"{{"merchant_order_id":"wh-{i}","amount":"10.00","currency":"RUB","method":"card","customer_id":"c"}}"#);
            let resp = api::signed_post(&c, &format!("{base}/api/v1/payin/create"), &m, body).send().await.ok()?;
            let v: serde_json::Value = resp.json().await.ok()?;
            Some((Instant::now(), v["data"]["id"].as_str()?.to_string()))
        }
    })
    .await;
    let ids: Arc<Vec<String>> = Arc::new(created.into_iter().flatten().map(|(_, id)| id).collect());
    anyhow::ensure!(ids.len() == events, "created {} of {events} payins", ids.len());

    // Phase 2: cancel them all (at full speed, or paced); each cancel commits one event.
    let (base, m, list) = (ctx.base.to_string(), merchant.clone(), ids.clone());
    let started = Instant::now();
    let sent = in_parallel(ctx.connections, events, move |i, c| {
        let (base, m, list) = (base.clone(), m.clone(), list.clone());
        async move {
            // Paced: latency counts from when the cancel was due, so a
            // gateway that falls behind the pace is not flattered by it.
            let at = match mode {
                Mode::Paced { per_second } => {
                    let due = started + Duration::from_secs_f64(i as f64 / per_second as f64);
                    tokio::time::sleep_until(due.into()).await;
                    due
                }
                _ => Instant::now(),
            };
            let body = format!(r#"{{"id":"{}"}}"#, list[i]);
            let resp = api::signed_post(&c, &format!("{base}/api/v1/payin/cancel"), &m, body).send().await.ok()?;
            resp.status().is_success().then(|| (at, list[i].clone()))
        }
    })
    .await;
    let produce_secs = started.elapsed().as_secs_f64();
    let mut sent: HashMap<String, Instant> = sent.into_iter().flatten().map(|(at, id)| (id, at)).collect();
    // Drain: once every event is parked, the URL makes them all due at once.
    let started = if let Mode::Drain = mode {
        wait_until_parked(ctx.database_url, &merchant.id, sent.len()).await?;
        let opened = Instant::now();
        set_webhook_url(&client, ctx.base, &merchant, &hook_url).await?;
        sent.values_mut().for_each(|at| *at = opened);
        opened
    } else {
        started
    };

    // Wait (bounded) for the deliveries to drain.
    let deadline = Instant::now() + Duration::from_secs(60);
    while received.lock().unwrap().len() < sent.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    receiver.abort();
    let got = received.lock().unwrap().clone();
    let last = got.iter().map(|(t, _)| *t).max().unwrap_or(started);
    let mut latencies_us: Vec<u32> = got
        .iter()
        .filter_map(|(t, id)| {
            sent.get(id).map(|s| t.saturating_duration_since(*s).as_micros().min(u128::from(u32::MAX)) as u32)
        })
        .collect();
    latencies_us.sort_unstable();
    let distinct: std::collections::HashSet<&String> = got.iter().map(|(_, id)| id).collect();
    let missing = sent.len().saturating_sub(distinct.len());
    let run = Run {
        latencies_us,
        completed: distinct.len() as u64,
        elapsed: last.saturating_duration_since(started),
        ..Default::default()
    };
    let note = format!(
        "{} events produced at {:.0}/s; {} delivered{}; latency = {}",
        sent.len(),
        sent.len() as f64 / produce_secs,
        distinct.len(),
        if missing > 0 { format!(", {missing} MISSING") } else { String::new() },
        match mode {
            Mode::Drain => "URL set → received",
            Mode::Paced { .. } => "cancel due → received",
            Mode::Race => "cancel sent → received",
        },
    );
    Ok(Outcome { run, lines: vec![note.clone()], note, check_ok: missing == 0 })
}

async fn set_webhook_url(client: &reqwest::Client, base: &str, merchant: &Merchant, url: &str) -> anyhow::Result<()> {
    let body = format!(r#"{{"webhook_url":"{url}"}}"#);
    let resp = api::signed_post(client, &format!("{base}/api/v1/webhook/settings"), merchant, body).send().await?;
    api::expect_data("POST /api/v1/webhook/settings", resp, &[reqwest::StatusCode::OK]).await?;
    Ok(())
}

/// Waits (up to a minute) until the gateway has parked `events` of the
/// merchant's events as `waiting` (read straight from its database).
async fn wait_until_parked(database_url: &str, merchant_id: &str, events: usize) -> anyhow::Result<()> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(database_url).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let parked: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE merchant_id = $1 AND status = 'waiting'")
                .bind(merchant_id)
                .fetch_one(&pool)
                .await?;
        if parked as usize >= events {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "only {parked} of {events} events parked after a minute");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
