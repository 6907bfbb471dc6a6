//! What one client connection is doing, as far as its deadlines care: how
//! many requests it has in flight, when it last went quiet, and whether the
//! head of a next request has begun to arrive. The socket wrapper
//! ([`CountingIo`]) and the request guard ([`InFlight`]) update it; the
//! connection's watchdog reads it ([`Activity::deadline`]).

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// No head has started arriving since the connection went quiet.
const NONE: u64 = u64::MAX;

/// The limits a connection lives by.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// From opening, or from the first byte of a later request, to a
    /// complete request head.
    pub header_read: Duration,
    /// Between requests on a keep-alive connection.
    pub keep_alive_idle: Duration,
}

/// Times are milliseconds since `opened`.
pub struct Activity {
    opened: Instant,
    in_flight: AtomicU64,
    served: AtomicU64,
    quiet_since: AtomicU64,
    head_started: AtomicU64,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            opened: Instant::now(),
            in_flight: AtomicU64::new(0),
            served: AtomicU64::new(0),
            quiet_since: AtomicU64::new(0),
            head_started: AtomicU64::new(NONE),
        })
    }

    fn now_ms(&self) -> u64 {
        self.opened.elapsed().as_millis() as u64
    }

    fn at(&self, ms: u64) -> Instant {
        self.opened + Duration::from_millis(ms)
    }

    /// When the connection is to be closed if nothing changes; `None` while
    /// a request is in flight (the request timeout bounds that).
    pub fn deadline(&self, limits: Limits) -> Option<Instant> {
        if self.in_flight.load(Relaxed) > 0 {
            return None;
        }
        // A connection that never completed a request has the header budget
        // from opening, however its first bytes trickle in.
        if self.served.load(Relaxed) == 0 {
            return Some(self.opened + limits.header_read);
        }
        let head_started = self.head_started.load(Relaxed);
        if head_started != NONE {
            return Some(self.at(head_started) + limits.header_read);
        }
        Some(self.at(self.quiet_since.load(Relaxed)) + limits.keep_alive_idle)
    }

    /// Bytes arrived: with nothing in flight they begin a request head.
    fn bytes_read(&self) {
        if self.in_flight.load(Relaxed) == 0 && self.head_started.load(Relaxed) == NONE {
            self.head_started.store(self.now_ms(), Relaxed);
        }
    }

    /// Response bytes went out. A response is still being sent after its
    /// request left the application (a large receipt to a slow client), and
    /// a pipelining client may already send its next head meanwhile: the
    /// clocks start over while the client keeps taking the answer.
    fn bytes_written(&self) {
        let now = self.now_ms();
        self.quiet_since.store(now, Relaxed);
        if self.head_started.load(Relaxed) != NONE {
            self.head_started.store(now, Relaxed);
        }
    }

    /// A complete request head reached the application.
    pub fn begin_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Relaxed);
        self.head_started.store(NONE, Relaxed);
        InFlight(self.clone())
    }
}

/// A request the application is answering; dropped when its response is
/// ready (or the request is abandoned).
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let a = &self.0;
        a.served.fetch_add(1, Relaxed);
        a.quiet_since.store(a.now_ms(), Relaxed);
        a.in_flight.fetch_sub(1, Relaxed);
    }
}

/// The client's socket, telling its [`Activity`] when bytes arrive.
pub struct CountingIo<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> CountingIo<T> {
    pub fn new(inner: T, activity: Arc<Activity>) -> Self {
        CountingIo { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for CountingIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for CountingIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.bytes_written();
        }
        polled
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.bytes_written();
        }
        polled
    }
    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits { header_read: Duration::from_secs(10), keep_alive_idle: Duration::from_secs(60) };

    #[test]
    fn a_new_connection_gets_the_header_budget_then_keep_alive_between_requests() {
        let a = Activity::new();
        assert_eq!(a.deadline(LIMITS), Some(a.opened + LIMITS.header_read));
        a.bytes_read();
        assert_eq!(
            a.deadline(LIMITS),
            Some(a.opened + LIMITS.header_read),
            "the first head's budget runs from opening"
        );
        let request = a.begin_request();
        assert_eq!(a.deadline(LIMITS), None, "no deadline while a request is in flight");
        drop(request);
        let answered = Instant::now();
        let idle = a.deadline(LIMITS).unwrap();
        assert!(idle > answered && idle <= answered + LIMITS.keep_alive_idle, "{idle:?} {answered:?}");
        assert!(idle + Duration::from_millis(2) >= answered + LIMITS.keep_alive_idle);
        a.bytes_read();
        let head = a.deadline(LIMITS).unwrap();
        assert!(head < idle, "a started head must complete within the header budget");
        assert!(head + Duration::from_millis(2) >= answered + LIMITS.header_read);
    }
}
