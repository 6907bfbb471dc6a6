//! Per-merchant request rate limits: API.md section 1's 429 `RATE_LIMITED`
//! with `Retry-After`.
//!
//! Each merchant has a token bucket on this node that refills at its rate
//! (requests per second) up to its burst. Only requests that passed
//! authentication take a token, so someone who knows a merchant's public
//! token but not its secret cannot spend the merchant's budget. Several
//! nodes behind a load balancer each keep their own buckets, so the limit
//! a merchant meets is per node. The operator may give a merchant a rate of
//! its own (`rate_limit_per_second` on the merchant, burst twice that);
//! otherwise the node's settings apply.
//!
//! Tokens are counted in millionths, in integers, so a bucket never drifts
//! and a rate of 1 per second refills exactly one token a second.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Sustained requests per second, and the burst: the bucket's size, i.e.
/// how many requests may come at once after a quiet spell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub per_second: u64,
    pub burst: u64,
}

impl Limit {
    /// `per_second` with a burst of twice that.
    pub fn at(per_second: u64) -> Limit {
        Limit { per_second, burst: per_second.saturating_mul(2) }
    }

    /// The merchant's own rate if the operator set one, else `default`.
    pub fn for_merchant(own: Option<i64>, default: Limit) -> Limit {
        match own.and_then(|n| u64::try_from(n).ok()) {
            Some(per_second) => Limit::at(per_second),
            None => default,
        }
    }
}

/// One request, in the bucket's unit.
const TOKEN: u64 = 1_000_000;

/// Buckets are pruned when there are this many, and then each time their
/// number has doubled, so a node serving very many merchants does not scan
/// them all on every new one.
const PRUNE_FROM: usize = 10_000;

#[derive(Clone, Copy)]
struct Bucket {
    /// Millionths of a request.
    tokens: u64,
    /// Microseconds since the limiter's epoch when `tokens` was right.
    at_micros: u64,
    /// The limit the bucket last ran under (a merchant's own may change).
    limit: Limit,
}

impl Bucket {
    fn capacity(limit: Limit) -> u64 {
        limit.burst.max(1).saturating_mul(TOKEN)
    }

    /// Tokens at `now_micros`, which is never taken to be earlier than the
    /// last update: a caller that read the clock and then waited for the lock
    /// must not rewind the bucket and have the same time refilled twice.
    fn refill(&mut self, now_micros: u64) {
        let now = now_micros.max(self.at_micros);
        // A rate of n per second refills n millionths per microsecond.
        let refill = (now - self.at_micros).saturating_mul(self.limit.per_second);
        self.tokens = self.tokens.saturating_add(refill).min(Bucket::capacity(self.limit));
        self.at_micros = now;
    }
}

struct Buckets {
    by_merchant: HashMap<String, Bucket>,
    prune_at: usize,
}

pub struct RateLimiter {
    epoch: Instant,
    buckets: Mutex<Buckets>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        let buckets = Buckets { by_merchant: HashMap::new(), prune_at: PRUNE_FROM };
        RateLimiter { epoch: Instant::now(), buckets: Mutex::new(buckets) }
    }
}

impl RateLimiter {
    /// Takes one token from `merchant_id`'s bucket, or says in how many
    /// whole seconds (at least 1) a token will be there. A rate of 0 means
    /// no limit.
    pub fn take(&self, merchant_id: &str, limit: Limit) -> Result<(), u64> {
        if limit.per_second == 0 {
            return Ok(());
        }
        let now = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.take_at(merchant_id, limit, now)
    }

    fn take_at(&self, merchant_id: &str, limit: Limit, now_micros: u64) -> Result<(), u64> {
        let mut guard = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let buckets = &mut *guard;
        // Looked up before inserting, so a known merchant's request does not
        // allocate its id again.
        if !buckets.by_merchant.contains_key(merchant_id) {
            if buckets.by_merchant.len() >= buckets.prune_at {
                buckets.by_merchant.retain(|_, b| !is_full(b, now_micros));
                buckets.prune_at = (buckets.by_merchant.len() * 2).max(PRUNE_FROM);
            }
            let fresh = Bucket { tokens: Bucket::capacity(limit), at_micros: now_micros, limit };
            buckets.by_merchant.insert(merchant_id.to_string(), fresh);
        }
        let bucket = buckets.by_merchant.get_mut(merchant_id).expect("inserted above when absent");
        bucket.refill(now_micros);
        bucket.limit = limit;
        bucket.tokens = bucket.tokens.min(Bucket::capacity(limit));
        if bucket.tokens >= TOKEN {
            bucket.tokens -= TOKEN;
            return Ok(());
        }
        let wait_micros = (TOKEN - bucket.tokens).div_ceil(limit.per_second);
        Err(wait_micros.div_ceil(1_000_000).max(1))
    }
}

/// Whether `b` has refilled completely by `now_micros`: forgetting it then
/// changes nothing, as a new bucket starts full.
fn is_full(b: &Bucket, now_micros: u64) -> bool {
    let mut b = *b;
    b.refill(now_micros);
    b.tokens >= Bucket::capacity(b.limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: u64 = 1_000_000;

    #[test]
    fn burst_then_the_rate() {
        let limiter = RateLimiter::default();
        let limit = Limit { per_second: 2, burst: 3 };
        for _ in 0..3 {
            assert_eq!(limiter.take_at("m", limit, 0), Ok(()));
        }
        assert_eq!(limiter.take_at("m", limit, 0), Err(1));
        // Half a second refills exactly one token at 2 per second.
        assert_eq!(limiter.take_at("m", limit, SECOND / 2 - 1), Err(1));
        assert_eq!(limiter.take_at("m", limit, SECOND / 2), Ok(()));
        assert_eq!(limiter.take_at("m", limit, SECOND / 2), Err(1));
        // A long pause refills only up to the burst.
        for _ in 0..3 {
            assert_eq!(limiter.take_at("m", limit, 100 * SECOND), Ok(()));
        }
        assert_eq!(limiter.take_at("m", limit, 100 * SECOND), Err(1));
    }

    #[test]
    fn retry_after_is_whole_seconds_until_a_token() {
        let limiter = RateLimiter::default();
        // One request a second: just after the burst, the next is 1 s away.
        let limit = Limit { per_second: 1, burst: 1 };
        assert_eq!(limiter.take_at("m", limit, 0), Ok(()));
        assert_eq!(limiter.take_at("m", limit, 0), Err(1));
        assert_eq!(limiter.take_at("m", limit, SECOND / 4), Err(1));
        assert_eq!(limiter.take_at("m", limit, SECOND), Ok(()));
    }

    #[test]
    fn merchants_have_separate_buckets_and_zero_means_unlimited() {
        let limiter = RateLimiter::default();
        let limit = Limit { per_second: 1, burst: 1 };
        assert_eq!(limiter.take_at("a", limit, 0), Ok(()));
        assert_eq!(limiter.take_at("a", limit, 0), Err(1));
        assert_eq!(limiter.take_at("b", limit, 0), Ok(()));
        let unlimited = Limit { per_second: 0, burst: 0 };
        for _ in 0..1000 {
            assert_eq!(limiter.take("a", unlimited), Ok(()));
        }
    }

    #[test]
    fn a_merchants_own_rate_replaces_the_default() {
        let default = Limit { per_second: 1000, burst: 5000 };
        assert_eq!(Limit::for_merchant(None, default), default);
        assert_eq!(Limit::for_merchant(Some(7), default), Limit { per_second: 7, burst: 14 });
        assert_eq!(Limit::for_merchant(Some(0), default), Limit { per_second: 0, burst: 0 });
        // The column's CHECK keeps negatives out; were one there, the default holds.
        assert_eq!(Limit::for_merchant(Some(-1), default), default);
    }

    #[test]
    fn huge_rates_and_gaps_do_not_overflow() {
        let limiter = RateLimiter::default();
        let limit = Limit { per_second: u64::MAX, burst: u64::MAX };
        assert_eq!(limiter.take_at("m", limit, 0), Ok(()));
        assert_eq!(limiter.take_at("m", limit, u64::MAX), Ok(()));
    }

    #[test]
    fn a_late_caller_does_not_rewind_the_clock() {
        let limiter = RateLimiter::default();
        let limit = Limit { per_second: 1, burst: 2 };
        assert_eq!(limiter.take_at("m", limit, 2 * SECOND), Ok(()));
        assert_eq!(limiter.take_at("m", limit, 2 * SECOND), Ok(()));
        // Read the clock at 1 s, got the lock after the calls above.
        assert_eq!(limiter.take_at("m", limit, SECOND), Err(1));
        // Had the bucket gone back to 1 s, 3 s would find two seconds' worth.
        assert_eq!(limiter.take_at("m", limit, 3 * SECOND), Ok(()));
        assert_eq!(limiter.take_at("m", limit, 3 * SECOND), Err(1));
    }

    #[test]
    fn lowering_a_merchants_rate_applies_at_once() {
        let limiter = RateLimiter::default();
        assert_eq!(limiter.take_at("m", Limit { per_second: 100, burst: 100 }, 0), Ok(()));
        let lower = Limit { per_second: 1, burst: 1 };
        assert_eq!(limiter.take_at("m", lower, 0), Ok(()));
        assert_eq!(limiter.take_at("m", lower, 0), Err(1));
    }

    #[test]
    fn pruning_forgets_only_full_buckets_under_their_own_limits() {
        let limiter = RateLimiter::default();
        let slow = Limit { per_second: 1, burst: 2 };
        let fast = Limit { per_second: 1000, burst: 2 };
        assert_eq!(limiter.take_at("slow", slow, 0), Ok(()));
        assert_eq!(limiter.take_at("fast", fast, 0), Ok(()));
        for i in 0..PRUNE_FROM - 2 {
            assert_eq!(limiter.take_at(&format!("filler-{i}"), fast, 0), Ok(()));
        }
        // At 0.5 s the fast ones are full again; the slow one is not.
        assert_eq!(limiter.take_at("newcomer", fast, SECOND / 2), Ok(()));
        let buckets = limiter.buckets.lock().unwrap();
        assert!(buckets.by_merchant.contains_key("slow"));
        assert!(!buckets.by_merchant.contains_key("fast"));
        assert_eq!(buckets.by_merchant.len(), 2, "slow and newcomer");
        assert_eq!(buckets.prune_at, PRUNE_FROM);
        // The slow bucket kept what it had spent.
        drop(buckets);
        assert_eq!(limiter.take_at("slow", slow, SECOND / 2), Ok(()));
        assert_eq!(limiter.take_at("slow", slow, SECOND / 2), Err(1));
    }
}
