//! Point reads that arrive together share one statement.
//!
//! A read joins a queue; a dispatcher takes everything queued (up to
//! [`MAX_BATCH`] keys) as soon as a statement slot is free ([`IN_FLIGHT`]:
//! one), runs one statement for the lot, and hands each reader the rows that
//! match its key. Under light load a read is alone in its batch and costs
//! what it did before; under heavy load a poll costs a fraction of a round
//! trip and of a statement execution.
//!
//! Freshness is that of a direct read: a batch's statement starts after
//! every read in it was queued, so it sees every commit acknowledged before
//! any of those reads arrived. Nothing is cached between batches here
//! (payin and payout bodies are kept by version, which each batch reads
//! anew: see `rendered`).

use paygate_store::StoreError;
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Semaphore};

/// Keys per statement: large enough to take a burst of 64 connections'
/// polls at once, small enough for a short IN list.
const MAX_BATCH: usize = 64;
/// Statements in flight at once per kind of read: one. A statement's fixed
/// cost (the hand-off to sqlx's SQLite thread or the PostgreSQL round trip,
/// the row conversion, the wake-ups) outweighs its per-key cost, so the
/// fewer statements the better: with one in flight, the reads that arrive
/// meanwhile all go into the next. Measured with 64 connections polling
/// (bench/README.md): `payin/get` 0.32–0.36 × healthz with 4 in flight,
/// 0.64–0.65 with 1 on SQLite; 0.38–0.40 and 0.52–0.58 on PostgreSQL. A
/// read waits at most for the statement in flight, then its own. (On
/// PostgreSQL each kind of read keeps one connection, `PollReader`, which
/// would serialise more statements in flight anyway.)
const IN_FLIGHT: usize = 1;

pub type Rows<R> = Result<Vec<R>, Arc<StoreError>>;
type Fetch<K, R> =
    Arc<dyn Fn(Vec<K>) -> Pin<Box<dyn Future<Output = Result<Vec<R>, StoreError>> + Send>> + Send + Sync>;

struct Waiter<K, R> {
    key: K,
    answer: oneshot::Sender<Rows<R>>,
}

/// Reads of rows of type `R` by keys of type `K`.
pub struct Coalescer<K, R> {
    queue: mpsc::UnboundedSender<Waiter<K, R>>,
}

impl<K, R> Coalescer<K, R>
where
    K: Clone + Ord + Send + Sync + 'static,
    R: Clone + Send + Sync + 'static,
{
    /// `fetch` reads the rows of many keys at once; `matches` says which
    /// of them answer one key (rows of other keys must never reach it).
    pub fn start<F, Fut>(fetch: F, matches: fn(&K, &R) -> bool) -> Self
    where
        F: Fn(Vec<K>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Vec<R>, StoreError>> + Send + 'static,
    {
        let fetch: Fetch<K, R> = Arc::new(move |keys| Box::pin(fetch(keys)));
        let (queue, waiting) = mpsc::unbounded_channel();
        tokio::spawn(dispatch(waiting, fetch, matches));
        Coalescer { queue }
    }

    /// The rows matching `key`, read after this call began.
    pub async fn read(&self, key: K) -> Rows<R> {
        let (answer, answered) = oneshot::channel();
        if self.queue.send(Waiter { key, answer }).is_err() {
            return Err(Arc::new(StoreError::Corrupt("the read dispatcher has stopped".into())));
        }
        answered.await.unwrap_or_else(|_| Err(Arc::new(StoreError::Corrupt("a batched read was dropped".into()))))
    }
}

async fn dispatch<K, R>(
    mut waiting: mpsc::UnboundedReceiver<Waiter<K, R>>,
    fetch: Fetch<K, R>,
    matches: fn(&K, &R) -> bool,
) where
    K: Clone + Ord + Send + Sync + 'static,
    R: Clone + Send + Sync + 'static,
{
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    while let Some(first) = waiting.recv().await {
        // While every slot is busy, reads keep queueing: the next batch
        // takes them all.
        let Ok(slot) = slots.clone().acquire_owned().await else { return };
        // Readers that gave up (their request timed out while the database
        // was slow) are dropped here, not read for.
        let mut batch: Vec<Waiter<K, R>> = Some(first).into_iter().filter(|w| !w.answer.is_closed()).collect();
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(w) if w.answer.is_closed() => {}
                Ok(w) => batch.push(w),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let fetch = fetch.clone();
        tokio::spawn(async move {
            let keys: BTreeSet<K> = batch.iter().map(|w| w.key.clone()).collect();
            let result = fetch(keys.into_iter().collect()).await.map_err(Arc::new);
            drop(slot);
            if let Err(e) = &result {
                tracing::warn!(error = %e, readers = batch.len(), "a batched read failed");
            }
            for w in batch {
                let rows = match &result {
                    Ok(rows) => Ok(rows.iter().filter(|r| matches(&w.key, r)).cloned().collect()),
                    Err(e) => Err(e.clone()),
                };
                // A reader that gave up (its request timed out) is gone.
                let _ = w.answer.send(rows);
            }
        });
    }
}
