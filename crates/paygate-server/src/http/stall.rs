//! A request body that stops arriving is answered 408 `REQUEST_TIMEOUT`
//! after `request_body_timeout_secs` without a byte, and its connection is
//! closed. Without this a client could hold a handler (and its socket) until
//! the request timeout, and then get a 503 that invites an immediate retry.
//!
//! Every route is covered, whichever extractor reads the body: the body is
//! wrapped so that a pause longer than the limit ends it with an error, and
//! the answer to such a request is replaced by the 408.

use crate::error::ApiError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

pub async fn answer_stalled_bodies(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    let stalled = Arc::new(AtomicBool::new(false));
    let (parts, body) = req.into_parts();
    let guarded = StallGuard { inner: body, limit, timer: None, stalled: stalled.clone() };
    let response = next.run(Request::from_parts(parts, Body::new(guarded))).await;
    if !stalled.load(Ordering::Relaxed) {
        return response;
    }
    let mut timed_out = ApiError::RequestTimeout.into_response();
    // The rest of the body never came: the connection cannot carry another request.
    timed_out.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    timed_out
}

struct StallGuard {
    inner: Body,
    limit: Duration,
    /// Running while the body is waited for.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    stalled: Arc<AtomicBool>,
}

impl HttpBody for StallGuard {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            self.timer = None;
            return Poll::Ready(frame);
        }
        let limit = self.limit;
        let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if timer.as_mut().poll(cx).is_ready() {
            self.stalled.store(true, Ordering::Relaxed);
            return Poll::Ready(Some(Err(axum::Error::new("request body stalled"))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
