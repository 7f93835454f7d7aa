//! What the engine measures of its own work, for an application's metrics: how many sends
//! each group commit carried and how long it took, how long each Redis command took.
//!
//! An application hands an [`Observer`] to [`Engine::observe`](crate::Engine::observe); the
//! parts that measure (the group commit's writer tasks, the Redis connections) were built before it
//! and share one [`Observers`] slot, filled once.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Receives the engine's measurements. Called on the hot path (once per commit, once per
/// Redis command): keep it cheap, such as a histogram update, and never block.
pub trait Observer: Send + Sync + 'static {
    /// A group of `sends` was committed together (one `MessageStore::append_messages` call),
    /// which took `took` from handing it to the store to its commit.
    fn committed(&self, sends: usize, took: Duration) {
        let _ = (sends, took);
    }

    /// A Redis command (or pipeline) was answered, or failed, after `took`.
    fn redis_command(&self, took: Duration) {
        let _ = took;
    }
}

/// The slot the measuring parts report to: empty until an observer is set, then that one for
/// good. Clones share the slot.
#[derive(Clone, Default)]
pub struct Observers(Arc<OnceLock<Arc<dyn Observer>>>);

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("set", &self.0.get().is_some())
            .finish()
    }
}

impl Observers {
    /// Reports to `observer` from now on. `false` (and nothing changes) if an observer was
    /// set already: the first one stays.
    pub fn set(&self, observer: Arc<dyn Observer>) -> bool {
        self.0.set(observer).is_ok()
    }

    /// The observer, once set.
    pub(crate) fn get(&self) -> Option<&dyn Observer> {
        self.0.get().map(|o| &**o)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Observer for Count {
        fn committed(&self, sends: usize, _took: Duration) {
            self.0.fetch_add(sends, Ordering::Relaxed);
        }
    }

    #[test]
    fn the_first_observer_stays_and_clones_share_it() {
        let slot = Observers::default();
        let shared = slot.clone();
        assert!(shared.get().is_none());
        let first = Arc::new(Count::default());
        assert!(slot.set(Arc::clone(&first) as Arc<dyn Observer>));
        assert!(!slot.set(Arc::new(Count::default())));
        shared.get().expect("set").committed(3, Duration::ZERO);
        assert_eq!(first.0.load(Ordering::Relaxed), 3);
    }
}
