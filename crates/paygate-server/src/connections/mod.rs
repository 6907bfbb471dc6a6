//! Client connections: accepting them up to a cap, serving HTTP/1.1 on
//! each, and closing those that hold a socket without using it.
//!
//! - At `max_connections` open connections the listener stops accepting;
//!   new clients wait in the kernel's listen queue until one closes.
//! - A connection must send a complete request head within
//!   `header_read_timeout_secs` of opening, or of the first byte of a later
//!   request (slow-header and half-open clients).
//! - Between requests a keep-alive connection may stay quiet for
//!   `keep_alive_idle_secs`.
//!
//! A stalled request *body* is the application's to answer (408, see
//! `crate::http::stall`); the request timeout bounds a request in flight.

mod activity;

use activity::{Activity, CountingIo, Limits};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// How connections are limited.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionSettings {
    pub max_connections: usize,
    pub header_read: Duration,
    pub keep_alive_idle: Duration,
}

impl ConnectionSettings {
    pub fn of(settings: &crate::config::Settings) -> Self {
        ConnectionSettings {
            max_connections: settings.max_connections,
            header_read: Duration::from_secs(settings.header_read_timeout_secs),
            keep_alive_idle: Duration::from_secs(settings.keep_alive_idle_secs),
        }
    }
}

/// Clients that may wait for `accept` at once. The kernel caps it at
/// `net.core.somaxconn` (4096 on current Linux). Tokio's `bind` asks for
/// 128 (mio's default), and a burst of more new connections than that has
/// its SYNs dropped and retried a second later; at `max_connections` the
/// queue is also where new clients wait.
const LISTEN_BACKLOG: u32 = 4096;

/// Listens on `address` with [`LISTEN_BACKLOG`].
pub fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    // As std's and tokio's `bind`: a restart can listen again at once.
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops
/// accepting, lets requests in flight finish and closes idle connections,
/// and returns once every connection has closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionSettings,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            slot = slots.clone().acquire_owned() => {
                let slot = slot.expect("the semaphore is never closed");
                tokio::select! {
                    _ = &mut shutdown => break,
                    accepted = listener.accept() => accepted.map(|a| (a, slot)),
                }
            }
        };
        match accepted {
            Ok(((stream, peer), slot)) => {
                let (app, stopping) = (app.clone(), stopping.clone());
                tokio::spawn(async move {
                    serve_connection(stream, peer, app, limits, stopping).await;
                    drop(slot);
                });
            }
            // A client that gave up before it was accepted: only that one
            // is lost.
            Err(e)
                if matches!(e.kind(), std::io::ErrorKind::ConnectionAborted | std::io::ErrorKind::ConnectionReset) => {}
            // Out of file descriptors or memory: pause briefly so the loop
            // does not spin while connections close.
            Err(e) => {
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    let _ = stop.send(true);
    // Every connection holds a slot until it has closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
    Ok(())
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    settings: ConnectionSettings,
    mut stopping: watch::Receiver<bool>,
) {
    // Responses are written whole; waiting to coalesce them only adds latency.
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = TokioIo::new(CountingIo::new(stream, activity.clone()));
    let watched = activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let in_flight = watched.begin_request();
        let app = app.clone();
        async move {
            let response = app.oneshot(request.map(axum::body::Body::new)).await;
            drop(in_flight);
            response
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    // The watchdog below keeps the header deadline; hyper's own would also
    // cut keep-alive connections at the header budget.
    http.header_read_timeout(None);
    let connection = http.serve_connection(io, service);
    tokio::pin!(connection);
    let limits = Limits { header_read: settings.header_read, keep_alive_idle: settings.keep_alive_idle };
    let mut draining = false;
    loop {
        // With a request in flight, look again after a header budget.
        let wake = activity.deadline(limits).unwrap_or_else(|| tokio::time::Instant::now() + settings.header_read);
        tokio::select! {
            _ = connection.as_mut() => return,
            _ = tokio::time::sleep_until(wake) => {
                if activity.deadline(limits).is_some_and(|d| d <= tokio::time::Instant::now()) {
                    // Dropping the connection closes the socket.
                    return;
                }
            }
            // Shutting down (or the server is gone): finish what is in
            // flight, then close.
            _ = stopping.wait_for(|stop| *stop), if !draining => {
                draining = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}
