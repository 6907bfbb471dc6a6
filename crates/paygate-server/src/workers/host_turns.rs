//! Webhook attempts in flight per receiving host. A receiver that is slow
//! or dead holds at most `webhook_host_concurrency` of the node's
//! `webhook_concurrency` slots; its further events are put back for a
//! moment (not counted as attempts) instead of waiting in a slot that
//! another merchant's delivery could use. A fast receiver at its limit
//! frees turns within milliseconds: an attempt waits [`BRIEF_WAIT`] for one
//! before giving up its slot.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::Notify;

/// How long an attempt waits for a turn at a busy host.
pub const BRIEF_WAIT: Duration = Duration::from_millis(50);

pub struct HostTurns {
    limit: usize,
    in_flight: Mutex<HashMap<String, usize>>,
    freed: Notify,
}

/// One attempt's turn at a host; dropping it frees the turn.
pub struct HostTurn<'a> {
    turns: &'a HostTurns,
    host: String,
}

impl HostTurns {
    pub fn new(limit: usize) -> HostTurns {
        HostTurns { limit: limit.max(1), in_flight: Mutex::new(HashMap::new()), freed: Notify::new() }
    }

    /// A turn at `host`, waiting up to `wait` for one to be freed.
    pub async fn enter_within(&self, host: &str, wait: Duration) -> Option<HostTurn<'_>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a turn freed in between wakes us.
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            if let Some(turn) = self.try_enter(host) {
                return Some(turn);
            }
            tokio::time::timeout_at(deadline, freed).await.ok()?;
        }
    }

    /// A turn at `host` (`name:port`), unless it already has `limit`.
    pub fn try_enter(&self, host: &str) -> Option<HostTurn<'_>> {
        let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        let n = in_flight.entry(host.to_string()).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(HostTurn { turns: self, host: host.to_string() })
    }
}

impl Drop for HostTurn<'_> {
    fn drop(&mut self) {
        let mut in_flight = self.turns.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = in_flight.get_mut(&self.host) {
            *n -= 1;
            // Hosts come and go with merchants' settings: keep only busy ones.
            if *n == 0 {
                in_flight.remove(&self.host);
            }
        }
        drop(in_flight);
        self.turns.freed.notify_waiters();
    }
}

/// `host:port` of a webhook URL, the unit the limit counts in.
pub fn host_of(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!("{}:{}", u.host_str().unwrap_or(""), u.port_or_known_default().unwrap_or(0)),
        Err(_) => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_gets_at_most_its_limit_and_turns_come_back() {
        let turns = HostTurns::new(2);
        let a = host_of("https://hooks.example.com/a");
        assert_eq!(a, "hooks.example.com:443");
        let first = turns.try_enter(&a).unwrap();
        let _second = turns.try_enter(&a).unwrap();
        assert!(turns.try_enter(&a).is_none(), "a third turn at the same host");
        assert!(turns.try_enter(&host_of("http://other.example.com:8080/")).is_some(), "another host is not limited");
        drop(first);
        assert!(turns.try_enter(&a).is_some(), "a finished attempt frees its turn");
    }

    #[tokio::test]
    async fn a_waiting_attempt_gets_the_turn_freed_meanwhile() {
        let turns = std::sync::Arc::new(HostTurns::new(1));
        let held = turns.try_enter("h:1").map(|t| t.host.clone());
        assert!(held.is_some());
        // The turn above was dropped at once (only its name was kept).
        let first = turns.enter_within("h:1", BRIEF_WAIT).await.expect("a free turn");
        assert!(turns.enter_within("h:1", Duration::from_millis(20)).await.is_none(), "no turn while one is held");
        let waiter = {
            let turns = turns.clone();
            tokio::spawn(async move { turns.enter_within("h:1", Duration::from_secs(5)).await.is_some() })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(first);
        assert!(waiter.await.unwrap(), "the freed turn went to the waiting attempt");
    }
}
