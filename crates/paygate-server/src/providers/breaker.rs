//! A circuit breaker per provider, on this node: after
//! `provider_breaker_failures` consecutive failures (unreachable, timeout,
//! 5xx) the provider is skipped for `provider_breaker_cooldown_secs`; then
//! one request at a time may probe it. A success closes the breaker; a
//! failed probe opens it for another cool-down. Refusals in the provider's
//! own terms (an unsupported pair, say) are answers, not failures: they do
//! not count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    failures: u32,
    open_until: Option<Instant>,
    /// A probe is out since then: others keep skipping until it returns,
    /// or until a cool-down has passed (its request was dropped, say).
    probing: Option<Instant>,
}

pub struct Breaker {
    threshold: u32,
    cooldown: Duration,
    states: Mutex<HashMap<String, State>>,
}

/// What the breaker says of a provider now.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Closed,
    Open,
    /// The cool-down is over: the next request probes.
    HalfOpen,
}

impl Breaker {
    pub fn new(threshold: u32, cooldown: Duration) -> Breaker {
        Breaker { threshold, cooldown, states: Mutex::new(HashMap::new()) }
    }

    /// Whether routing may list this provider now: closed, or its
    /// cool-down over with no probe out. Takes nothing: the probe slot is
    /// taken by [`Breaker::admits`] just before a request is sent, so a
    /// provider listed but not reached (an earlier one took the payment)
    /// does not keep the slot.
    pub fn may_try(&self, provider: &str) -> bool {
        let now = Instant::now();
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.get(provider).is_none_or(|s| match s.open_until {
            None => true,
            Some(until) => now >= until && !self.probe_out(s, now),
        })
    }

    fn probe_out(&self, s: &State, now: Instant) -> bool {
        s.probing.is_some_and(|since| now.duration_since(since) < self.cooldown)
    }

    /// Whether a request may go to this provider now (taking the probe slot
    /// when the cool-down is over).
    pub fn admits(&self, provider: &str) -> bool {
        self.admits_at(provider, Instant::now())
    }

    fn admits_at(&self, provider: &str, now: Instant) -> bool {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let Some(s) = states.get_mut(provider) else { return true };
        match s.open_until {
            None => true,
            Some(until) if now < until => false,
            Some(_) if self.probe_out(s, now) => false,
            Some(_) => {
                s.probing = Some(now);
                true
            }
        }
    }

    /// An answer (a 4xx refusal included: the upstream is reachable, which
    /// is all the breaker judges): closed again, the probe slot freed.
    pub fn succeeded(&self, provider: &str) {
        self.states.lock().unwrap_or_else(|e| e.into_inner()).remove(provider);
    }

    pub fn failed(&self, provider: &str) {
        self.failed_at(provider, Instant::now())
    }

    fn failed_at(&self, provider: &str, now: Instant) {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let s = states.entry(provider.to_string()).or_default();
        s.failures += 1;
        if s.probing.is_some() || s.failures >= self.threshold {
            if s.open_until.is_none() || s.probing.is_some() {
                tracing::warn!(provider, failures = s.failures, "provider breaker opens");
            }
            s.open_until = Some(now + self.cooldown);
            s.probing = None;
        }
    }

    pub fn condition(&self, provider: &str) -> (Condition, u32) {
        let states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        match states.get(provider) {
            None => (Condition::Closed, 0),
            Some(s) => match s.open_until {
                None => (Condition::Closed, s.failures),
                Some(until) if now < until || self.probe_out(s, now) => (Condition::Open, s.failures),
                Some(_) => (Condition::HalfOpen, s.failures),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_a_provider_does_not_take_the_probe() {
        let b = Breaker::new(1, Duration::from_millis(0));
        b.failed("up");
        assert!(b.may_try("up") && b.may_try("up"), "listed twice, nothing taken");
        assert!(b.admits("up"), "the request that is sent takes the probe");
        let b2 = Breaker::new(1, Duration::from_secs(30));
        b2.failed_at("x", Instant::now() - Duration::from_secs(31));
        assert!(b2.admits("x") && !b2.admits("x"), "one probe at a time");
        let mut states = b2.states.lock().unwrap();
        states.get_mut("x").unwrap().probing = Some(Instant::now() - Duration::from_secs(31));
        drop(states);
        assert!(b2.may_try("x") && b2.admits("x"), "a probe lost for a cool-down frees its slot");
        b.succeeded("up");
        assert!(b.may_try("up"));
    }

    #[test]
    fn opens_after_the_threshold_then_lets_one_probe_through() {
        let b = Breaker::new(3, Duration::from_secs(30));
        let t = Instant::now();
        for _ in 0..2 {
            b.failed_at("up", t);
        }
        assert!(b.admits_at("up", t), "two failures keep it closed");
        b.failed_at("up", t);
        assert!(!b.admits_at("up", t), "the third opens it");
        assert!(b.admits_at("other", t), "per provider");
        let later = t + Duration::from_secs(31);
        assert!(b.admits_at("up", later), "one probe after the cool-down");
        assert!(!b.admits_at("up", later), "and only one");
        b.failed_at("up", later);
        assert!(!b.admits_at("up", later + Duration::from_secs(1)), "a failed probe opens it again");
        let again = later + Duration::from_secs(31);
        assert!(b.admits_at("up", again));
        b.succeeded("up");
        assert!(b.admits_at("up", again) && b.admits_at("up", again), "a good probe closes it");
    }
}
