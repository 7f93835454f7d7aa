//! How many of something each user holds at once: real-time connections, uploads in flight.

use std::collections::HashMap;

use jeco_core::ids::UserId;

/// Per-user counts and their total. Users at zero take no room.
#[derive(Debug, Default)]
pub(crate) struct PerUser {
    by_user: HashMap<UserId, usize>,
    total: usize,
}

impl PerUser {
    /// How many `user` holds.
    pub(crate) fn of(&self, user: UserId) -> usize {
        self.by_user.get(&user).copied().unwrap_or(0)
    }

    /// How many all users hold together.
    pub(crate) fn total(&self) -> usize {
        self.total
    }

    /// `user` holds one more.
    pub(crate) fn add(&mut self, user: UserId) {
        *self.by_user.entry(user).or_insert(0) += 1;
        self.total += 1;
    }

    /// `user` gave one back (nothing happens if they held none).
    pub(crate) fn remove(&mut self, user: UserId) {
        if let Some(n) = self.by_user.get_mut(&user) {
            *n -= 1;
            self.total -= 1;
            if *n == 0 {
                self.by_user.remove(&user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_go_up_and_down_and_zero_takes_no_room() {
        let mut counts = PerUser::default();
        let (a, b) = (UserId(1), UserId(2));
        counts.add(a);
        counts.add(a);
        counts.add(b);
        assert_eq!((counts.of(a), counts.of(b), counts.total()), (2, 1, 3));
        counts.remove(b);
        counts.remove(b);
        assert_eq!((counts.of(b), counts.total()), (0, 2));
        assert!(!counts.by_user.contains_key(&b));
    }
}
