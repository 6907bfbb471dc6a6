//! A small map whose entries are served for a fixed time after they were
//! put, for the caches that spare signed requests a database round trip.
//! A zero time turns the cache off. Beyond `MAX_ENTRIES` it is emptied
//! wholesale rather than evicted one by one: it refills itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const MAX_ENTRIES: usize = 100_000;

pub struct TtlMap<V> {
    ttl: Duration,
    entries: Mutex<HashMap<String, (Arc<V>, Instant)>>,
}

impl<V> TtlMap<V> {
    pub fn new(ttl: Duration) -> TtlMap<V> {
        TtlMap { ttl, entries: Mutex::new(HashMap::new()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<V>, Instant)>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<Arc<V>> {
        if self.ttl.is_zero() {
            return None;
        }
        self.lock().get(key).filter(|(_, at)| at.elapsed() < self.ttl).map(|(v, _)| v.clone())
    }

    pub fn put(&self, key: &str, value: Arc<V>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key.to_string(), (value, Instant::now()));
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Drops every entry `matches` picks.
    pub fn forget_where(&self, matches: impl Fn(&V) -> bool) {
        self.lock().retain(|_, (v, _)| !matches(v));
    }
}
