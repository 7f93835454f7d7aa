//! Token buckets keyed by user or address: each key may spend `burst` tokens at once and
//! regains `per_second` tokens a second. Buckets that are full again are forgotten, so memory
//! follows the number of recently active keys.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use tokio::time::Instant;

/// A rate: sustained per second, with a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens regained per second.
    pub per_second: f64,
    /// Bucket size.
    pub burst: f64,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Buckets for one kind of action.
pub struct RateLimiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// Limits each key to `rate`.
    pub fn new(rate: Rate) -> Self {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`; `false` when the bucket is empty.
    pub fn check(&self, key: &K) -> bool {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > 10_000 {
            let rate = self.rate;
            buckets.retain(|_, b| refill(b, rate, now) < rate.burst);
        }
        let rate = self.rate;
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: rate.burst,
            at: now,
        });
        if refill(bucket, rate, now) >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

fn refill(bucket: &mut Bucket, rate: Rate, now: Instant) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * rate.per_second).min(rate.burst);
    bucket.at = now;
    bucket.tokens
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn bursts_then_refills_at_the_rate() {
        let limiter = RateLimiter::new(Rate {
            per_second: 2.0,
            burst: 3.0,
        });
        for _ in 0..3 {
            assert!(limiter.check(&"a"));
        }
        assert!(!limiter.check(&"a"));
        assert!(limiter.check(&"b"), "keys are independent");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(limiter.check(&"a"));
        assert!(!limiter.check(&"a"));
    }
}
