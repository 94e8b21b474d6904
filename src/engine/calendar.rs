//! The event calendar: a binary min-heap ordered by (time, sequence number).
//!
//! The sequence number is the insertion counter, so events scheduled for the same instant run
//! in the order they were scheduled (first in, first out), as SimPy does. That tie-break is
//! what makes a run reproducible. Both keys are packed into one `u128` so a comparison is a
//! single integer compare, which matters: the heap sift is most of the engine's cost.

use super::time::SimTime;

struct Entry<E> {
    /// `time << 64 | seq`: ordering by this integer is ordering by (time, seq).
    key: u128,
    event: E,
}

/// The future event list of one simulation run.
pub struct Calendar<E> {
    heap: Vec<Entry<E>>,
    seq: u64,
    now: SimTime,
}

impl<E> Default for Calendar<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> Calendar<E> {
    pub fn new() -> Self {
        Self::with_capacity(1024)
    }

    pub fn with_capacity(cap: usize) -> Self {
        Calendar {
            heap: Vec::with_capacity(cap),
            seq: 0,
            now: SimTime::ZERO,
        }
    }

    /// The current simulated time: the time of the event being handled.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
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
        let first = self.heap.first()?;
        let at = SimTime((first.key >> 64) as u64);
        if at > until {
            return None;
        }
        self.now = at;
        Some(self.pop_min().event)
    }

    /// Moves the clock forward to `t` (never backwards).
    pub fn advance_to(&mut self, t: SimTime) {
        if t > self.now {
            self.now = t;
        }
    }

    #[inline(always)]
    fn push(&mut self, entry: Entry<E>) {
        // Sift up with a hole instead of swaps: one move per level.
        let mut pos = self.heap.len();
        let key = entry.key;
        self.heap.push(entry);
        let heap = self.heap.as_mut_ptr();
        // SAFETY: `pos` and every `parent` are < len; the element at the original `pos` is
        // read out once and written back once, so no value is duplicated or dropped.
        unsafe {
            let item = std::ptr::read(heap.add(pos));
            while pos > 0 {
                let parent = (pos - 1) / 2;
                if (*heap.add(parent)).key <= key {
                    break;
                }
                std::ptr::copy_nonoverlapping(heap.add(parent), heap.add(pos), 1);
                pos = parent;
            }
            std::ptr::write(heap.add(pos), item);
        }
    }

    #[inline]
    fn pop_min(&mut self) -> Entry<E> {
        let last = self.heap.pop().expect("pop_min on empty heap");
        if self.heap.is_empty() {
            return last;
        }
        let len = self.heap.len();
        let heap = self.heap.as_mut_ptr();
        // SAFETY: indices stay < len. The root is read out (returned), then `last` is sifted
        // down into the hole with one move per level ("bottom-up" heap pop), written once.
        unsafe {
            let root = std::ptr::read(heap);
            let mut pos = 0usize;
            let key = last.key;
            loop {
                let left = 2 * pos + 1;
                if left >= len {
                    break;
                }
                let right = left + 1;
                let child = if right < len && (*heap.add(right)).key < (*heap.add(left)).key {
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
            std::ptr::write(heap.add(pos), last);
            root
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
