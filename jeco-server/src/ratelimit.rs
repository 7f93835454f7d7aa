//! Rate limits keyed by user or address: each key may spend `burst` at once and regains
//! `per_second` a second (the generic cell rate algorithm of `governor`). A refusal says when
//! to try again. With several nodes the buckets live in Redis (see [`crate::shared`]), and
//! these local ones stand in while Redis cannot be reached.

use std::fmt::Display;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter as Gcra};
use prometheus_client::metrics::counter::Counter;

use crate::shared::RedisShared;

/// A rate: sustained per second, with a burst allowance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    /// Tokens regained per second (more than 0).
    pub per_second: f64,
    /// How many may be spent at once (at least 1).
    pub burst: f64,
}

impl Rate {
    /// The quota this rate stands for.
    fn quota(self) -> Quota {
        let period = Duration::from_secs_f64(1.0 / self.per_second.max(1e-6));
        let burst = NonZeroU32::new(self.burst.max(1.0).min(f64::from(u32::MAX)) as u32)
            .unwrap_or(NonZeroU32::MIN);
        Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst)
    }

    /// How long until one more is allowed after a refusal, at most: one period of the rate.
    fn period(self) -> Duration {
        Duration::from_secs_f64(1.0 / self.per_second.max(1e-6))
    }
}

/// Keys tracked before the ones whose buckets are full again are forgotten.
const TRACKED_KEYS: usize = 10_000;

/// The buckets of one kind of action.
pub struct RateLimiter<K: Hash + Eq + Clone, C: Clock = DefaultClock> {
    rate: Rate,
    local: Gcra<K, DashMapStateStore<K>, C, NoOpMiddleware<C::Instant>>,
    clock: C,
    /// The shared buckets and this limiter's name among them.
    shared: Option<(Arc<RedisShared>, &'static str)>,
    /// Counts refusals, for the metrics.
    refused: Counter,
}

impl<K: Hash + Eq + Clone + Display> RateLimiter<K> {
    /// Limits each key to `rate` on this node.
    pub fn new(rate: Rate) -> Self {
        RateLimiter::with_clock(rate, DefaultClock::default())
    }

    /// Limits each key to `rate` across every node sharing `redis`; `kind` names this
    /// limiter's buckets there.
    pub fn shared(rate: Rate, redis: Arc<RedisShared>, kind: &'static str) -> Self {
        RateLimiter {
            shared: Some((redis, kind)),
            ..RateLimiter::new(rate)
        }
    }
}

impl<K: Hash + Eq + Clone + Display, C: Clock + Clone> RateLimiter<K, C> {
    /// Limits each key to `rate` on this node, by `clock`.
    pub fn with_clock(rate: Rate, clock: C) -> Self {
        RateLimiter {
            rate,
            local: Gcra::dashmap_with_clock(rate.quota(), clock.clone()),
            clock,
            shared: None,
            refused: Counter::default(),
        }
    }

    /// The same limiter, counting its refusals in `refused`.
    pub fn counting_refusals(self, refused: Counter) -> Self {
        RateLimiter { refused, ..self }
    }

    /// The rate enforced.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes one for `key`, or refuses with `rate_limited` saying when to try again; `what`
    /// names what is limited, for the message ("messages").
    pub async fn admit(&self, key: &K, what: &str) -> jeco_core::Result<()> {
        self.check(key).await.map_err(|wait| {
            self.refused.inc();
            jeco_core::Error::rate_limited(format!("too many {what}; try again in a moment"), wait)
        })
    }

    /// Takes one for `key`; when there is none left, how long until there is.
    pub async fn check(&self, key: &K) -> Result<(), Duration> {
        if let Some((redis, kind)) = &self.shared {
            match redis
                .take_token(kind, key, self.rate.per_second, self.rate.burst)
                .await
            {
                // The shared bucket does not say when it refills; one period is the most it
                // can take.
                Ok(taken) => {
                    return if taken {
                        Ok(())
                    } else {
                        Err(self.rate.period())
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind, "shared rate limit unavailable; limiting on this node");
                }
            }
        }
        self.check_here(key)
    }

    fn check_here(&self, key: &K) -> Result<(), Duration> {
        if self.local.len() > TRACKED_KEYS {
            self.local.retain_recent();
        }
        self.local
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(self.clock.now()))
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::FakeRelativeClock;

    use super::*;

    #[tokio::test]
    async fn bursts_then_refills_at_the_rate_and_says_when() {
        let clock = FakeRelativeClock::default();
        let limiter = RateLimiter::with_clock(
            Rate {
                per_second: 2.0,
                burst: 3.0,
            },
            clock.clone(),
        );
        for _ in 0..3 {
            assert_eq!(limiter.check(&"a").await, Ok(()));
        }
        let wait = limiter.check(&"a").await.unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(500),
            "{wait:?}"
        );
        assert_eq!(limiter.check(&"b").await, Ok(()), "keys are independent");
        clock.advance(Duration::from_millis(500));
        assert_eq!(limiter.check(&"a").await, Ok(()));
        assert!(limiter.check(&"a").await.is_err());
    }

    #[test]
    fn a_slow_rate_is_a_long_period() {
        let per_minute = Rate {
            per_second: 12.0 / 60.0,
            burst: 12.0,
        };
        assert_eq!(per_minute.period(), Duration::from_secs(5));
        assert_eq!(per_minute.quota().burst_size().get(), 12);
    }
}
