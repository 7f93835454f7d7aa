//! Token buckets keyed by user or address: each key may spend `burst` tokens at once and
//! regains `per_second` tokens a second. Buckets that are full again are forgotten, so memory
//! follows the number of recently active keys. With several nodes the buckets live in Redis
//! (see [`crate::shared`]), and these local ones stand in while Redis cannot be reached.

use std::collections::HashMap;
use std::fmt::Display;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::shared::RedisShared;

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
    /// The shared buckets and this limiter's name among them.
    shared: Option<(Arc<RedisShared>, &'static str)>,
}

impl<K: Hash + Eq + Clone + Display> RateLimiter<K> {
    /// Limits each key to `rate` on this node.
    pub fn new(rate: Rate) -> Self {
        RateLimiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Limits each key to `rate` across every node sharing `redis`; `kind` names this
    /// limiter's buckets there.
    pub fn shared(rate: Rate, redis: Arc<RedisShared>, kind: &'static str) -> Self {
        RateLimiter {
            shared: Some((redis, kind)),
            ..RateLimiter::new(rate)
        }
    }

    /// Takes one token for `key`; `false` when the bucket is empty.
    pub async fn check(&self, key: &K) -> bool {
        if let Some((redis, kind)) = &self.shared {
            match redis
                .take_token(kind, key, self.rate.per_second, self.rate.burst)
                .await
            {
                Ok(taken) => return taken,
                Err(e) => {
                    tracing::warn!(error = %e, kind, "shared rate limit unavailable; limiting on this node");
                }
            }
        }
        self.check_here(key)
    }

    fn check_here(&self, key: &K) -> bool {
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
            assert!(limiter.check(&"a").await);
        }
        assert!(!limiter.check(&"a").await);
        assert!(limiter.check(&"b").await, "keys are independent");
        tokio::time::advance(Duration::from_millis(500)).await;
        assert!(limiter.check(&"a").await);
        assert!(!limiter.check(&"a").await);
    }
}
