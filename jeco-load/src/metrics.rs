//! Counters and latency histograms that the connection tasks record into without sharing a
//! lock: each worker thread has its own shard, registered once, and a run merges the shards
//! when it is over.

use std::cell::OnceCell;
use std::sync::{Arc, Mutex, PoisonError};

use hdrhistogram::Histogram;
use serde::Serialize;

/// Highest latency recorded, in microseconds (an hour); longer ones are clamped.
const HIGHEST_US: u64 = 3_600_000_000;

/// What one step of a run counted (or, once merged, the whole step).
#[derive(Clone, Debug)]
pub(crate) struct StepCounts {
    /// Send to receipt on each member, microseconds.
    pub(crate) latency: Histogram<u64>,
    /// Send to ack on the sender, microseconds.
    pub(crate) ack: Histogram<u64>,
    /// Messages received by members (each member counts).
    pub(crate) deliveries: u64,
    /// Sends acknowledged.
    pub(crate) acks: u64,
    /// Acks received before the step ended.
    pub(crate) acks_in_step: u64,
    /// Deliveries received before the step ended.
    pub(crate) deliveries_in_step: u64,
    /// Sends written to a socket.
    pub(crate) sends: u64,
    /// Sends not made because the sender had too many unacknowledged ones in flight.
    pub(crate) skipped: u64,
    /// Sends answered with an `error` frame.
    pub(crate) send_errors: u64,
}

impl StepCounts {
    fn new() -> StepCounts {
        StepCounts {
            latency: new_histogram(),
            ack: new_histogram(),
            deliveries: 0,
            acks: 0,
            acks_in_step: 0,
            deliveries_in_step: 0,
            sends: 0,
            skipped: 0,
            send_errors: 0,
        }
    }

    fn merge(&mut self, other: &StepCounts) {
        let _ = self.latency.add(&other.latency);
        let _ = self.ack.add(&other.ack);
        self.deliveries += other.deliveries;
        self.acks += other.acks;
        self.acks_in_step += other.acks_in_step;
        self.deliveries_in_step += other.deliveries_in_step;
        self.sends += other.sends;
        self.skipped += other.skipped;
        self.send_errors += other.send_errors;
    }
}

/// A histogram for microsecond latencies with three significant digits.
pub(crate) fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIGHEST_US, 3).expect("constant, valid histogram bounds")
}

/// Records a latency in microseconds.
pub(crate) fn record(h: &mut Histogram<u64>, micros: u64) {
    let _ = h.record(micros.clamp(1, HIGHEST_US));
}

type Shard = Arc<Mutex<Vec<StepCounts>>>;

static SHARDS: Mutex<Vec<Shard>> = Mutex::new(Vec::new());

thread_local! {
    static LOCAL: OnceCell<Shard> = const { OnceCell::new() };
}

/// Runs `f` on this thread's counters of `step`.
pub(crate) fn with_step<R>(step: usize, f: impl FnOnce(&mut StepCounts) -> R) -> R {
    LOCAL.with(|cell| {
        let shard = cell.get_or_init(|| {
            let shard: Shard = Arc::default();
            SHARDS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(shard.clone());
            shard
        });
        let mut steps = shard.lock().unwrap_or_else(PoisonError::into_inner);
        while steps.len() <= step {
            steps.push(StepCounts::new());
        }
        f(&mut steps[step])
    })
}

/// Merges every thread's counters into one per step (`steps` of them) and resets them for
/// the next run. Call when no task records any more.
pub(crate) fn take(steps: usize) -> Vec<StepCounts> {
    let mut out: Vec<StepCounts> = (0..steps).map(|_| StepCounts::new()).collect();
    let shards = SHARDS.lock().unwrap_or_else(PoisonError::into_inner);
    for shard in shards.iter() {
        let mut counts = shard.lock().unwrap_or_else(PoisonError::into_inner);
        for (i, c) in counts.iter().enumerate() {
            if let Some(o) = out.get_mut(i) {
                o.merge(c);
            }
        }
        counts.clear();
    }
    out
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub(crate) struct Latency {
    /// Samples.
    pub(crate) count: u64,
    /// Median.
    pub(crate) p50_ms: f64,
    /// 90th percentile.
    pub(crate) p90_ms: f64,
    /// 99th percentile.
    pub(crate) p99_ms: f64,
    /// Largest.
    pub(crate) max_ms: f64,
}

impl Latency {
    /// Summarises a microsecond histogram.
    pub(crate) fn of(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50_ms: ms(h.value_at_quantile(0.50)),
            p90_ms: ms(h.value_at_quantile(0.90)),
            p99_ms: ms(h.value_at_quantile(0.99)),
            max_ms: ms(h.max()),
        }
    }

    /// `p50/p90/p99/max` in milliseconds, for a report line.
    pub(crate) fn brief(&self) -> String {
        if self.count == 0 {
            return "-".to_owned();
        }
        format!(
            "{}/{}/{}/{} ms",
            fmt_ms(self.p50_ms),
            fmt_ms(self.p90_ms),
            fmt_ms(self.p99_ms),
            fmt_ms(self.max_ms)
        )
    }
}

/// A millisecond figure with sensible precision.
pub(crate) fn fmt_ms(ms: f64) -> String {
    if ms < 1.0 {
        format!("{ms:.3}")
    } else if ms < 100.0 {
        format!("{ms:.2}")
    } else {
        format!("{ms:.0}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_merge_and_reset() {
        with_step(1, |s| {
            s.deliveries += 3;
            record(&mut s.latency, 1500);
        });
        std::thread::spawn(|| with_step(1, |s| s.deliveries += 2))
            .join()
            .ok();
        let steps = take(2);
        assert_eq!(steps[1].deliveries, 5);
        assert_eq!(Latency::of(&steps[1].latency).count, 1);
        assert_eq!(take(2)[1].deliveries, 0);
    }
}
