//! Merchants by public token, with their opened secrets, kept for a short
//! time so a signed request costs no database round trip.
//!
//! Staleness is bounded and one-sided:
//! - changes made through this process's admin API drop the entry at once;
//! - a signature that does not verify against a cached entry is checked
//!   again against a fresh read before it is refused, so a secret rotated
//!   elsewhere works immediately;
//! - other changes made elsewhere (another node, the CLI) are seen within
//!   `auth_cache_ttl_ms` (1 s by default; 0 turns the cache off).

use paygate_store::merchants::MerchantRecord;
use secrecy::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What authentication needs about a merchant.
pub struct CachedMerchant {
    pub record: MerchantRecord,
    /// Secrets usable at `fetched` (current, then previous within grace).
    pub secrets: Vec<SecretString>,
    /// When the previous secret stops being accepted (µs), if there is one.
    pub prev_secret_until: Option<i64>,
}

struct Entry {
    merchant: Arc<CachedMerchant>,
    fetched: Instant,
}

pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<String, Entry>>,
}

/// Entries beyond this are dropped wholesale rather than evicted one by one:
/// the cache is a convenience and refills itself.
const MAX_ENTRIES: usize = 100_000;

impl AuthCache {
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache { ttl, entries: Mutex::new(HashMap::new()) }
    }

    pub fn get(&self, token: &str) -> Option<Arc<CachedMerchant>> {
        if self.ttl.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(token).filter(|e| e.fetched.elapsed() < self.ttl).map(|e| e.merchant.clone())
    }

    pub fn put(&self, token: &str, merchant: Arc<CachedMerchant>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(token.to_string(), Entry { merchant, fetched: Instant::now() });
    }

    pub fn forget(&self, token: &str) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
    }
}
