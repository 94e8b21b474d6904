//! The event calendar: a binary min-heap ordered by (time, sequence number).
//!
//! The sequence number is the insertion counter, so events scheduled for the same instant run
//! in the order they were scheduled (first in, first out), as SimPy does. That tie-break is
//! what makes a run reproducible. Both keys are packed into one `u128` so a comparison is a
//! single integer compare, which matters: the heap sift is most of the engine's cost.
//!
//! A pop leaves the entry it hands out in the root slot, marked spent, and removes it only
//! when the next operation is another pop. A handler mostly schedules something (the next
//! arrival, the next service), and that push then takes the root slot and sifts down from
//! there: one sift instead of a removal's sift down plus an insertion's sift up (issue 13).
//! Keys are unique, so any heap over the same entries pops them in the same order: the
//! sequence of events handled does not change.

use super::time::SimTime;

#[derive(Clone, Copy)]
struct Entry<E> {
    /// `time << 64 | seq`: ordering by this integer is ordering by (time, seq).
    key: u128,
    event: E,
}

/// The future event list of one simulation run. Events are `Copy` (the engine's contract:
/// they are small and moved through the heap), which lets a spent root stay in place.
pub struct Calendar<E> {
    heap: Vec<Entry<E>>,
    /// `heap[0]` is the entry the last pop handed out, not a pending event.
    spent_root: bool,
    seq: u64,
    now: SimTime,
}

impl<E: Copy> Default for Calendar<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy> Calendar<E> {
    pub fn new() -> Self {
        Self::with_capacity(1024)
    }

    pub fn with_capacity(cap: usize) -> Self {
        Calendar {
            heap: Vec::with_capacity(cap),
            spent_root: false,
            seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// Back to the state [`Calendar::with_capacity`] makes (no event, time zero, sequence
    /// zero), keeping the heap's buffer: a run that reuses one calendar per thread allocates
    /// nothing (the availability fast path's passes, issue 13).
    pub fn clear(&mut self) {
        self.heap.clear();
        self.spent_root = false;
        self.seq = 0;
        self.now = SimTime::ZERO;
    }

    /// Drops every pending event, keeping the clock and the sequence: the run ends at `now`
    /// (a model that must stop at once, `Stack`'s bound on requests in flight). Callable from
    /// a handler: the event being handled was already handed out.
    pub fn clear_pending(&mut self) {
        self.heap.clear();
        self.spent_root = false;
    }

    /// The current simulated time: the time of the event being handled.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len() - usize::from(self.spent_root)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Schedules `event` at absolute time `at`. Times in the past are clamped to now, so time
    /// never goes backwards.
    #[inline(always)]
    pub fn schedule_at(&mut self, at: SimTime, event: E) {
        let at = at.max(self.now);
        let key = ((at.0 as u128) << 64) | self.seq as u128;
        self.seq += 1;
        self.push(Entry { key, event });
    }

    /// Schedules `event` after `delay` from now.
    #[inline(always)]
    pub fn schedule_in(&mut self, delay: SimTime, event: E) {
        self.schedule_at(self.now + delay, event);
    }

    /// Pops the earliest event if it is due at or before `until`, advancing the clock to it.
    #[inline]
    pub fn pop_until(&mut self, until: SimTime) -> Option<E> {
        if self.spent_root {
            self.remove_spent_root();
        }
        let first = self.heap.first()?;
        let at = SimTime((first.key >> 64) as u64);
        if at > until {
            return None;
        }
        self.now = at;
        self.spent_root = true;
        Some(first.event)
    }

    /// Moves the clock forward to `t` (never backwards).
    pub fn advance_to(&mut self, t: SimTime) {
        if t > self.now {
            self.now = t;
        }
    }

    #[inline(always)]
    fn push(&mut self, entry: Entry<E>) {
        if self.spent_root {
            // The new entry takes the spent root's slot.
            self.spent_root = false;
            self.sift_down_from_root(entry);
            return;
        }
        // Sift up with a hole instead of swaps: one move per level.
        let mut pos = self.heap.len();
        let key = entry.key;
        self.heap.push(entry);
        let heap = self.heap.as_mut_ptr();
        // SAFETY: `pos` and every `parent` are < len.
        unsafe {
            while pos > 0 {
                let parent = (pos - 1) / 2;
                if (*heap.add(parent)).key <= key {
                    break;
                }
                std::ptr::copy_nonoverlapping(heap.add(parent), heap.add(pos), 1);
                pos = parent;
            }
            std::ptr::write(heap.add(pos), entry);
        }
    }

    /// Takes the spent root out: the last entry fills its slot and sifts down.
    #[inline]
    fn remove_spent_root(&mut self) {
        self.spent_root = false;
        let last = self.heap.pop().expect("a spent root is in the heap");
        if !self.heap.is_empty() {
            self.sift_down_from_root(last);
        }
    }

    /// Writes `item` into the root slot, whose contents are no longer wanted, and sifts it
    /// down with a hole ("bottom-up" style: one move per level).
    #[inline(always)]
    fn sift_down_from_root(&mut self, item: Entry<E>) {
        let len = self.heap.len();
        let heap = self.heap.as_mut_ptr();
        // SAFETY: len >= 1 (the root slot exists) and every index read or written is < len.
        unsafe {
            let mut pos = 0usize;
            let key = item.key;
            // While both children exist: one bound check per level instead of two.
            loop {
                let left = 2 * pos + 1;
                let right = left + 1;
                if right >= len {
                    // At most a left child, and it is the last entry (a leaf).
                    if left < len && (*heap.add(left)).key < key {
                        std::ptr::copy_nonoverlapping(heap.add(left), heap.add(pos), 1);
                        pos = left;
                    }
                    break;
                }
                let child = if (*heap.add(right)).key < (*heap.add(left)).key {
                    right
                } else {
                    left
                };
                if key <= (*heap.add(child)).key {
                    break;
                }
                std::ptr::copy_nonoverlapping(heap.add(child), heap.add(pos), 1);
                pos = child;
            }
            std::ptr::write(heap.add(pos), item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{Rng, StreamId};

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut cal = Calendar::new();
        cal.schedule_at(SimTime(5), "b1");
        cal.schedule_at(SimTime(1), "a");
        cal.schedule_at(SimTime(5), "b2");
        cal.schedule_at(SimTime(3), "c");
        cal.schedule_at(SimTime(5), "b3");
        let mut out = vec![];
        while let Some(e) = cal.pop_until(SimTime::MAX) {
            out.push((cal.now().0, e));
        }
        assert_eq!(
            out,
            vec![(1, "a"), (3, "c"), (5, "b1"), (5, "b2"), (5, "b3")]
        );
    }

    #[test]
    fn stops_at_horizon_and_never_goes_back() {
        let mut cal = Calendar::new();
        cal.schedule_at(SimTime(10), 1);
        cal.schedule_at(SimTime(20), 2);
        assert_eq!(cal.pop_until(SimTime(15)), Some(1));
        assert_eq!(cal.pop_until(SimTime(15)), None);
        cal.schedule_at(SimTime(3), 3); // in the past: clamped to now = 10
        assert_eq!(cal.pop_until(SimTime(15)), Some(3));
        assert_eq!(cal.now(), SimTime(10));
    }

    #[test]
    fn a_handed_out_event_is_not_pending() {
        let mut cal = Calendar::new();
        cal.schedule_at(SimTime(2), 'b');
        cal.schedule_at(SimTime(1), 'a');
        assert_eq!(cal.pop_until(SimTime::MAX), Some('a'));
        assert_eq!(cal.len(), 1);
        // A push into the spent root's slot, then a pop that must remove a spent root.
        cal.schedule_at(SimTime(3), 'c');
        assert_eq!(cal.len(), 2);
        assert_eq!(cal.pop_until(SimTime::MAX), Some('b'));
        assert_eq!(cal.pop_until(SimTime::MAX), Some('c'));
        assert!(cal.is_empty());
        assert_eq!(cal.pop_until(SimTime::MAX), None);
        assert!(cal.is_empty());
        // Past `until`: nothing handed out, nothing lost.
        cal.schedule_at(SimTime(9), 'd');
        assert_eq!(cal.pop_until(SimTime(8)), None);
        assert_eq!(cal.len(), 1);
        assert_eq!(cal.pop_until(SimTime(9)), Some('d'));
        assert!(cal.is_empty());
    }

    #[test]
    fn clear_pending_keeps_the_clock() {
        let mut cal = Calendar::new();
        cal.schedule_at(SimTime(4), 'a');
        cal.schedule_at(SimTime(6), 'b');
        assert_eq!(cal.pop_until(SimTime::MAX), Some('a'));
        // From inside the handler of 'a': nothing else runs, the clock stays at 4.
        cal.clear_pending();
        assert!(cal.is_empty());
        assert_eq!(cal.pop_until(SimTime::MAX), None);
        assert_eq!(cal.now(), SimTime(4));
    }

    #[test]
    fn matches_a_sort_on_random_input() {
        let mut rng = Rng::new(StreamId::new(7, "calendar-test", 0));
        let mut cal = Calendar::new();
        let mut expect = vec![];
        for i in 0..10_000u64 {
            // the calendar clamps past times to now; the oracle does the same
            let t = rng.below(1000).max(cal.now().0);
            cal.schedule_at(SimTime(t), i);
            expect.push((t, i));
            if i % 3 == 0 {
                // interleave pops with pushes
                let e = cal.pop_until(SimTime::MAX).unwrap();
                let pos = expect
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, k)| **k)
                    .map(|(p, _)| p)
                    .unwrap();
                assert_eq!(expect.remove(pos).1, e);
            }
        }
        assert_eq!(cal.len(), expect.len());
    }
}
