//! Reads coalesced per key: requests for the same key that arrive while a
//! read of it is in flight share the next one; requests for different keys
//! never wait for each other. For reads whose cost varies by key (a list
//! page with wide filters can take far longer than another merchant's
//! first page), where one queue for all keys would hold every merchant
//! behind the slowest page.
//!
//! Freshness is that of a direct read: a request joins only a read that has
//! not started yet, so the statement begins after the request arrived. Each
//! read runs in a task of its own, so a request that gives up (its client
//! went away) neither cancels the read others wait for nor leaves them
//! waiting. Nothing is kept once a key's last waiter has its answer.

use paygate_store::StoreError;
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

pub type Answer<V> = Result<V, Arc<StoreError>>;

/// The next read of one key, before it starts: whoever arrives joins it.
type Queued<V> = watch::Receiver<Option<Answer<V>>>;

/// One key's reads: at most one in flight (`running`) and one queued.
struct Lane<V> {
    running: tokio::sync::Mutex<()>,
    queued: Mutex<Option<Queued<V>>>,
}

pub struct PerKey<K, V> {
    lanes: Lanes<K, V>,
}

impl<K, V> PerKey<K, V>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new() -> Self {
        PerKey { lanes: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// `fetch(key)`'s answer, from a read that started after this call began.
    pub async fn read<F, Fut>(&self, key: K, fetch: F) -> Answer<V>
    where
        F: FnOnce(K) -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, StoreError>> + Send + 'static,
    {
        // Taking the lane and joining its queued read happen under the
        // map's lock: whoever holds a lane has joined a read.
        let (holding, mut answer, start) = {
            let mut lanes = lock(&self.lanes);
            let lane = lanes.entry(key.clone()).or_insert_with(|| Arc::new(Lane::new())).clone();
            let mut queued = lock(&lane.queued);
            let (answer, start) = match &*queued {
                Some(next) => (next.clone(), None),
                None => {
                    let (tx, rx) = watch::channel(None);
                    *queued = Some(rx.clone());
                    (rx, Some(tx))
                }
            };
            drop(queued);
            (Holding { lanes: self.lanes.clone(), key: key.clone(), lane: Some(lane) }, answer, start)
        };
        if let Some(tx) = start {
            let read = Holding { lanes: self.lanes.clone(), key: key.clone(), lane: holding.lane.clone() };
            tokio::spawn(run(read, tx, fetch));
        }
        // `holding` leaves below, or when the request gives up.
        let got = match answer.wait_for(Option::is_some).await {
            Ok(v) => v.clone().unwrap_or_else(|| Err(dropped())),
            Err(_) => Err(dropped()),
        };
        drop(holding);
        got
    }
}

/// A reference to a key's lane that leaves (see [`leave`]) when dropped,
/// however its holder ends: answered, given up, or panicked.
struct Holding<K: Eq + Hash, V> {
    lanes: Lanes<K, V>,
    key: K,
    lane: Option<Arc<Lane<V>>>,
}

impl<K: Eq + Hash, V> Holding<K, V> {
    fn lane(&self) -> &Lane<V> {
        self.lane.as_ref().expect("a lane is held until dropped")
    }
}

impl<K: Eq + Hash, V> Drop for Holding<K, V> {
    fn drop(&mut self) {
        if let Some(lane) = self.lane.take() {
            leave(&self.lanes, &self.key, lane);
        }
    }
}

type Lanes<K, V> = Arc<Mutex<HashMap<K, Arc<Lane<V>>>>>;

/// Lets go of `lane`, and forgets it when nothing else holds it and nothing
/// is queued: the map holds only keys being read (cursors make keys
/// unbounded). Requests and reads both leave this way, each dropping its
/// reference under the map's lock, so the last one out sees only the map's.
fn leave<K: Eq + Hash, V>(lanes: &Mutex<HashMap<K, Arc<Lane<V>>>>, key: &K, lane: Arc<Lane<V>>) {
    let mut lanes = lock(lanes);
    drop(lane);
    if let Some(l) = lanes.get(key) {
        if Arc::strong_count(l) == 1 && lock(&l.queued).is_none() {
            lanes.remove(key);
        }
    }
}

impl<K, V> Default for PerKey<K, V>
where
    K: Clone + Eq + Hash + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<V> Lane<V> {
    fn new() -> Self {
        Lane { running: tokio::sync::Mutex::new(()), queued: Mutex::new(None) }
    }
}

/// The queued read: waits for the key's read in flight, closes the queue
/// (later requests queue the next read) and fetches.
async fn run<K, V, F, Fut>(read: Holding<K, V>, tx: watch::Sender<Option<Answer<V>>>, fetch: F)
where
    K: Clone + Eq + Hash,
    F: FnOnce(K) -> Fut,
    Fut: Future<Output = Result<V, StoreError>>,
{
    let turn = read.lane().running.lock().await;
    lock(&read.lane().queued).take();
    let answer = fetch(read.key.clone()).await.map_err(Arc::new);
    if let Err(e) = &answer {
        tracing::warn!(error = %e, "a shared read failed");
    }
    // Nobody waiting (every request gave up) is not an error.
    let _ = tx.send(Some(answer));
    drop(turn);
}

fn dropped() -> Arc<StoreError> {
    Arc::new(StoreError::Corrupt("a shared read stopped before answering".into()))
}

/// A poisoned lock only means a panic elsewhere held it; the map is still whole.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::sync::oneshot;

    /// A liveness bound, not a timing assertion: a read that never answers.
    const STUCK: Duration = Duration::from_secs(10);

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn another_key_is_not_held_behind_a_slow_read() {
        let reads: Arc<PerKey<&'static str, u32>> = Arc::new(PerKey::new());
        let (release, held) = oneshot::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        let slow = {
            let reads = reads.clone();
            tokio::spawn(async move {
                reads
                    .read("slow", |_| async move {
                        started_tx.send(()).ok();
                        held.await.ok();
                        Ok(1)
                    })
                    .await
            })
        };
        started.await.unwrap();
        // The slow read is held mid-statement: the other key answers anyway.
        let fast = tokio::time::timeout(STUCK, reads.read("fast", |_| async { Ok(2) })).await;
        assert_eq!(fast.expect("the fast key waited for the slow one").unwrap(), 2);
        assert!(!slow.is_finished());
        release.send(()).unwrap();
        assert_eq!(slow.await.unwrap().unwrap(), 1);
        // The read's task lets go after its requests: then the key is forgotten.
        tokio::time::timeout(STUCK, async {
            while !lock(&reads.lanes).is_empty() {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("an idle key was kept");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_share_only_a_read_that_has_not_started() {
        let reads: Arc<PerKey<&'static str, usize>> = Arc::new(PerKey::new());
        let fetches = Arc::new(AtomicUsize::new(0));
        let (release, held) = oneshot::channel::<()>();
        let (started_tx, started) = oneshot::channel::<()>();
        // Read 1 starts and is held mid-statement.
        let first = {
            let (reads, fetches) = (reads.clone(), fetches.clone());
            tokio::spawn(async move {
                reads
                    .read("k", move |_| async move {
                        let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
                        started_tx.send(()).ok();
                        held.await.ok();
                        Ok(n)
                    })
                    .await
            })
        };
        started.await.unwrap();
        // Arriving after read 1 started: they must not get its answer; they
        // share one read of their own.
        let later: Vec<_> = (0..5)
            .map(|_| {
                let (reads, fetches) = (reads.clone(), fetches.clone());
                tokio::spawn(async move {
                    reads.read("k", move |_| async move { Ok(fetches.fetch_add(1, Ordering::SeqCst) + 1) }).await
                })
            })
            .collect();
        // Until all five have joined the queued read (a request holds the
        // lane only once it has): the map, read 1's request and task, read
        // 2's task and the five requests hold it.
        tokio::time::timeout(STUCK, async {
            while lock(&reads.lanes).get("k").map(Arc::strong_count) != Some(9) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
        .await
        .expect("the five requests never queued");
        release.send(()).unwrap();
        assert_eq!(tokio::time::timeout(STUCK, first).await.unwrap().unwrap().unwrap(), 1);
        for request in later {
            assert_eq!(tokio::time::timeout(STUCK, request).await.unwrap().unwrap().unwrap(), 2);
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 2, "five requests shared the second read");
    }

    #[tokio::test]
    async fn a_failed_read_answers_its_waiters_with_the_error() {
        let reads: PerKey<&'static str, u32> = PerKey::new();
        let got = reads.read("k", |_| async { Err(StoreError::Corrupt("boom".into())) }).await;
        assert!(got.unwrap_err().to_string().contains("boom"));
        assert_eq!(reads.read("k", |_| async { Ok(7) }).await.unwrap(), 7, "the next read starts afresh");
    }
}
