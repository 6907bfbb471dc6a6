//! Connections cannot be hoarded: sockets that never send a request, send
//! half a request head, or sit idle between keep-alive requests are closed
//! on their deadlines while `/healthz` keeps answering; a request body that
//! stops arriving is answered 408 and changes nothing; and beyond
//! `max_connections` new clients wait for a free slot instead of being
//! served. Raw sockets on loopback, so nothing in between pools or retries.

use crate::both_backends;
use crate::helpers::*;
use crate::signing::{now_secs, sign};
use serde_json::Value;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

both_backends!(
    idle_and_half_open_connections_close_on_time,
    a_stalled_body_is_408_and_changes_nothing,
    a_slow_reader_keeps_its_connection_while_it_reads
);

// The cap is per server, not per database; one backend shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_new_connections_wait_for_a_slot() {
    beyond_the_cap(spawn_app(sqlite().with(|s| s.max_connections = 20)).await).await;
}

const HEADER_READ: u64 = 2;
const KEEP_ALIVE_IDLE: u64 = 4;
/// Deadlines are checked when due; closing may lag by scheduling only.
const SLACK: Duration = Duration::from_secs(5);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_string()
}

/// Reads until the server closes the socket; the time it took, and what came.
async fn until_closed(mut s: TcpStream, started: Instant) -> (Duration, Vec<u8>) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(30), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (started.elapsed(), got),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("the server kept the connection open for 30 s"),
        }
    }
}

async fn healthz_answers(app: &TestApp) {
    let fresh = reqwest::Client::new();
    let resp = fresh.get(app.url("/healthz")).send().await.expect("/healthz answers");
    assert_eq!(resp.status(), 200);
}

async fn idle_and_half_open_connections_close_on_time(app: TestApp) {
    let app = app
        .restart_with(|s| {
            s.header_read_timeout_secs = HEADER_READ;
            s.keep_alive_idle_secs = KEEP_ALIVE_IDLE;
        })
        .await;
    let started = Instant::now();
    let mut silent = Vec::new();
    let mut half_open = Vec::new();
    let mut kept_alive = Vec::new();
    for _ in 0..150 {
        silent.push(TcpStream::connect(addr(&app)).await.unwrap());
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"POST /api/v1/balance HTTP/1.1\r\nHost: paygate\r\nContent-Type: app").await.unwrap();
        half_open.push(s);
    }
    for _ in 0..100 {
        let mut s = TcpStream::connect(addr(&app)).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: paygate\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 1024];
        let n = s.read(&mut buf).await.unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&buf[..n]));
        kept_alive.push((s, Instant::now()));
    }
    // 400 sockets held open: a new client is still served at once.
    for _ in 0..5 {
        healthz_answers(&app).await;
    }
    let closes: Vec<_> = silent.into_iter().chain(half_open).map(|s| tokio::spawn(until_closed(s, started))).collect();
    let idles: Vec<_> = kept_alive.into_iter().map(|(s, at)| tokio::spawn(until_closed(s, at))).collect();
    let header = Duration::from_secs(HEADER_READ);
    for close in closes {
        let (after, got) = close.await.unwrap();
        assert!(got.is_empty(), "no answer to an incomplete request: {}", String::from_utf8_lossy(&got));
        assert!(after >= header - Duration::from_millis(100), "closed early, after {after:?}");
        // Opened within the first moments of the test, so due by then.
        assert!(after <= header + SLACK, "closed late, after {after:?}");
    }
    let idle = Duration::from_secs(KEEP_ALIVE_IDLE);
    for close in idles {
        let (after, got) = close.await.unwrap();
        assert!(got.is_empty());
        assert!(after >= idle - Duration::from_millis(100), "idle keep-alive closed early, after {after:?}");
        assert!(after <= idle + SLACK, "idle keep-alive closed late, after {after:?}");
    }
    healthz_answers(&app).await;
}

async fn a_stalled_body_is_408_and_changes_nothing(app: TestApp) {
    let app = app.restart_with(|s| s.request_body_timeout_secs = 1).await;
    let merchants = app.count("merchants").await;
    let body = r#"{"email":"stalled@example.com","name":"Stalled","mode":"test"}"#;
    let head = format!(
        "POST /admin/v1/merchants HTTP/1.1\r\nHost: paygate\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let (status, response) = stalled_request(&app, &head, &body[..20]).await;
    assert_eq!(status, 408, "{response}");
    assert_eq!(response["error"]["code"], "REQUEST_TIMEOUT", "{response}");
    assert_eq!(app.count("merchants").await, merchants, "a stalled create changes nothing");
    let audited: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM audit_log WHERE action = 'POST /admin/v1/merchants' AND via = 'admin-api'",
    )
    .fetch_all(app.state.db.pool())
    .await
    .unwrap();
    assert_eq!(audited, ["408"], "the audit log records what the operator's client got");

    let m = app.create_merchant("stall-signed@example.com").await;
    let ts = now_secs().to_string();
    let head = format!(
        "POST /api/v1/payin/create HTTP/1.1\r\nHost: paygate\r\nX-App-Token: {}\r\nX-App-Access-Ts: {ts}\r\n\
         X-App-Access-Sig: {}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n",
        m.public_token,
        sign(&m.secret, &ts, &m.email)
    );
    let (status, response) = stalled_request(&app, &head, r#"{"merchant_order_id":"stalled-1","#).await;
    assert_eq!(status, 408, "{response}");
    assert_eq!(app.count("payins").await, 0);
}

/// Sends `head` and the start of a body, then nothing: the status and body
/// of the answer, after checking that the server also closed the socket.
async fn stalled_request(app: &TestApp, head: &str, partial_body: &str) -> (u16, Value) {
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(partial_body.as_bytes()).await.unwrap();
    let (_, raw) = until_closed(s, Instant::now()).await;
    let text = String::from_utf8_lossy(&raw).to_string();
    let status: u16 = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no status line: {text}"));
    assert!(text.to_ascii_lowercase().contains("\r\nconnection: close\r\n"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}")))
}

async fn beyond_the_cap(app: TestApp) {
    let mut held = Vec::new();
    for _ in 0..20 {
        held.push(TcpStream::connect(addr(&app)).await.unwrap());
    }
    // The kernel completes the handshake, but paygate does not take the
    // connection while 20 are open: its request goes unanswered.
    let mut waiting = TcpStream::connect(addr(&app)).await.unwrap();
    waiting.write_all(b"GET /healthz HTTP/1.1\r\nHost: paygate\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut buf = [0u8; 64];
    let early = tokio::time::timeout(Duration::from_millis(700), waiting.read(&mut buf)).await;
    assert!(early.is_err(), "served beyond the cap: {early:?}");
    drop(held);
    let (_, raw) = until_closed(waiting, Instant::now()).await;
    assert!(raw.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&raw));
}

/// A client that takes its answer slowly (a phone downloading a 4.5 MiB
/// receipt) is not cut off by the keep-alive deadline while bytes still
/// flow: the server's own writes count as activity.
async fn a_slow_reader_keeps_its_connection_while_it_reads(app: TestApp) {
    let app = app
        .restart_with(|s| {
            s.header_read_timeout_secs = 1;
            s.keep_alive_idle_secs = 1;
        })
        .await;
    let m = app.create_merchant("slow-reader@example.com").await;
    let paid = crate::dispute_support::paid_payin(&app, &m, "slow-reader", "100.00").await;
    let mut receipt = crate::dispute_support::PDF.to_vec();
    receipt.resize(4_500_000, b' ');
    let body = crate::dispute_support::dispute_body(&paid, "10.00", &receipt);
    let (status, dispute) = app.signed(&m, "/api/v1/dispute/create", body).await;
    assert_eq!(status, 201, "{dispute}");
    let id = dispute["data"]["id"].as_str().unwrap();
    // A small receive buffer, so the kernel takes the answer off the
    // server's hands only as fast as the client reads it.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut s = socket.connect(addr(&app).parse().unwrap()).await.unwrap();
    let request = format!(
        "GET /admin/v1/disputes/{id}/receipt HTTP/1.1\r\nHost: paygate\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n\r\n"
    );
    s.write_all(request.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    // About 1.3 MB a second: the answer takes several times the 1 s deadlines.
    let complete = 'reading: loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let mut this_tick = 0;
        while this_tick < 131_072 {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break 'reading false,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    this_tick += n;
                }
            }
            if got.len() >= receipt.len() {
                break 'reading true;
            }
        }
    };
    assert!(complete, "cut off after {:?} with {} bytes", started.elapsed(), got.len());
    assert!(started.elapsed() > Duration::from_secs(2), "the answer was not slow enough to show anything");
}
