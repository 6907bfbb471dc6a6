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

/// Sustained requests per second and the burst allowed on top of it.
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

/// Buckets beyond this are pruned to the ones not yet full again (a full
/// bucket holds nothing a fresh one would not).
const MAX_BUCKETS: usize = 100_000;

struct Bucket {
    /// Millionths of a request.
    tokens: u64,
    /// Microseconds since the limiter's epoch when `tokens` was right.
    at_micros: u64,
}

pub struct RateLimiter {
    epoch: Instant,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter { epoch: Instant::now(), buckets: Mutex::new(HashMap::new()) }
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
        let capacity = limit.burst.max(1).saturating_mul(TOKEN);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(merchant_id) {
            prune(&mut buckets, limit, now_micros);
        }
        let bucket =
            buckets.entry(merchant_id.to_string()).or_insert(Bucket { tokens: capacity, at_micros: now_micros });
        // A rate of n per second refills n millionths per microsecond.
        let refill = now_micros.saturating_sub(bucket.at_micros).saturating_mul(limit.per_second);
        bucket.tokens = bucket.tokens.saturating_add(refill).min(capacity);
        bucket.at_micros = now_micros;
        if bucket.tokens >= TOKEN {
            bucket.tokens -= TOKEN;
            return Ok(());
        }
        let wait_micros = (TOKEN - bucket.tokens).div_ceil(limit.per_second);
        Err(wait_micros.div_ceil(1_000_000).max(1))
    }
}

/// Drops every bucket that has refilled completely by now (under the
/// default limit; a merchant with a higher one just starts full again).
fn prune(buckets: &mut HashMap<String, Bucket>, limit: Limit, now_micros: u64) {
    let capacity = limit.burst.max(1).saturating_mul(TOKEN);
    buckets.retain(|_, b| {
        let refill = now_micros.saturating_sub(b.at_micros).saturating_mul(limit.per_second.max(1));
        b.tokens.saturating_add(refill) < capacity
    });
    if buckets.len() >= MAX_BUCKETS {
        buckets.clear();
    }
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
    fn pruning_keeps_buckets_that_are_still_refilling() {
        let mut buckets = HashMap::new();
        let limit = Limit { per_second: 1, burst: 2 };
        buckets.insert("spent".to_string(), Bucket { tokens: 0, at_micros: 0 });
        buckets.insert("full".to_string(), Bucket { tokens: 2 * TOKEN, at_micros: 0 });
        prune(&mut buckets, limit, SECOND);
        assert!(buckets.contains_key("spent"));
        assert!(!buckets.contains_key("full"));
    }
}
