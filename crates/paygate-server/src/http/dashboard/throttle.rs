//! Sign-in throttling: after [`MAX_FAILURES`] wrong sign-ins within
//! [`WINDOW`] from one address, or for one e-mail, further tries from there
//! or for it are refused unchecked until the window ends. Password guessing
//! then gets a few dozen tries an hour instead of as many as argon2 allows,
//! and a blocked try costs no password check. Counts live on this node
//! only, in memory.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const MAX_FAILURES: u32 = 10;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Entries are pruned when there are more than this many.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Default)]
pub struct SignInThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl SignInThrottle {
    /// Seconds until the first of `keys` that is blocked may try again.
    pub fn blocked(&self, keys: &[String]) -> Option<u64> {
        self.blocked_at(keys, Instant::now())
    }

    fn blocked_at(&self, keys: &[String], now: Instant) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        keys.iter()
            .filter_map(|k| map.get(k))
            .filter(|(n, since)| *n >= MAX_FAILURES && now.duration_since(*since) < WINDOW)
            .map(|(_, since)| (WINDOW - now.duration_since(*since)).as_secs().max(1))
            .max()
    }

    pub fn failed(&self, keys: &[String]) {
        self.failed_at(keys, Instant::now())
    }

    fn failed_at(&self, keys: &[String], now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, (_, since)| now.duration_since(*since) < WINDOW);
        }
        for k in keys {
            let entry = map.entry(k.clone()).or_insert((0, now));
            if now.duration_since(entry.1) >= WINDOW {
                *entry = (0, now);
            }
            entry.0 += 1;
        }
    }

    /// A good sign-in clears its e-mail's count (not its address's: one
    /// good account must not reset the guessing of others from there).
    pub fn succeeded(&self, email_key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(email_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_until_the_window_ends() {
        let t = SignInThrottle::default();
        let keys = vec!["ip:10.0.0.1".to_string(), "email:a@example.com".to_string()];
        let start = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed_at(&keys, start);
        }
        assert_eq!(t.blocked_at(&keys, start), None);
        t.failed_at(&keys, start);
        assert_eq!(t.blocked_at(&keys, start), Some(WINDOW.as_secs()));
        assert_eq!(t.blocked_at(&["ip:10.0.0.2".to_string()], start), None);
        assert_eq!(t.blocked_at(&keys, start + WINDOW), None);
        t.failed_at(&keys, start + WINDOW);
        assert_eq!(t.blocked_at(&keys, start + WINDOW), None, "a new window starts from one failure");
        t.succeeded("email:a@example.com");
        assert_eq!(t.blocked_at(&keys[1..], start), None);
    }
}
