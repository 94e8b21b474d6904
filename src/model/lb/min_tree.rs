//! An implicit segment tree of per-subtree minimum keys: `leastconn`'s index of its candidates.
//!
//! One flat `Vec<u64>` of 2·P slots, P the pool size rounded up to a power of two: slot P + i
//! holds server i's key and slot v < P the minimum of slots 2v and 2v + 1, so slot 1 is the
//! minimum of the pool. [`NONE`] (the largest `u64`) stands for "not a candidate" and fills the
//! slots past the last server. It answers the two questions `leastconn` asks, in O(log n) and
//! with no allocation after it is sized:
//! - [`MinTree::set`]: re-key one server (a walk up from its leaf that stops at the first node
//!   whose minimum does not change, which at a balanced pool is usually within a level or two);
//! - [`MinTree::first_at_most`]: the first server at or after index r whose key is at most m,
//!   which with m the root's minimum is "the first lightest server from the rotation point", the
//!   successor query of the tie rule that a binary heap cannot answer without popping every tie.
//!
//! Keys are plain integers (a fraction's exact order-preserving image is the caller's job:
//! [`super::leastconn`]), so a node costs one comparison, not a product of fractions.

/// The key of a slot that holds no candidate (and of the padding past the last server).
pub(crate) const NONE: u64 = u64::MAX;

/// Minimum keys over a pool of servers. Build with [`MinTree::reset`] and [`MinTree::fill`].
#[derive(Clone, Debug, Default)]
pub(crate) struct MinTree {
    /// Slot 1 is the root, slots `leaves..2·leaves` the servers (slot 0 unused).
    slots: Vec<u64>,
    /// P: the number of leaves, a power of two (0 before the first reset).
    leaves: usize,
}

impl MinTree {
    /// Sizes the tree for `n` servers, every key [`NONE`] (O(n), on up/down only).
    pub fn reset(&mut self, n: usize) {
        self.leaves = n.max(1).next_power_of_two();
        self.slots.clear();
        self.slots.resize(2 * self.leaves, NONE);
    }

    /// Sets every server's key from `key(i)` and recomputes the inner nodes bottom-up in O(n)
    /// (after [`MinTree::reset`] for `n` servers).
    pub fn fill(&mut self, n: usize, mut key: impl FnMut(usize) -> u64) {
        for i in 0..n {
            self.slots[self.leaves + i] = key(i);
        }
        for v in (1..self.leaves).rev() {
            self.slots[v] = self.slots[2 * v].min(self.slots[2 * v + 1]);
        }
    }

    /// Server `i`'s key as filed.
    #[inline]
    pub fn key(&self, i: usize) -> u64 {
        self.slots[self.leaves + i]
    }

    /// The smallest key in the pool ([`NONE`] if no server is a candidate).
    #[inline]
    pub fn min(&self) -> u64 {
        self.slots[1]
    }

    /// Files server `i` under `key`: the leaf, then each ancestor whose minimum changes.
    #[inline]
    pub fn set(&mut self, i: usize, key: u64) {
        let slots = &mut self.slots[..];
        let mut v = self.leaves + i;
        slots[v] = key;
        while v > 1 {
            let m = slots[v].min(slots[v ^ 1]);
            v >>= 1;
            if slots[v] == m {
                // This subtree's minimum is unchanged, so is every one above it.
                return;
            }
            slots[v] = m;
        }
    }

    /// The lowest index at or after `from` whose key is at most `m` (< [`NONE`], so that the
    /// padding never matches), if any. A walk up from `from`'s leaf over the right siblings
    /// until one's subtree holds a key <= m, then down to its leftmost such leaf (the segment
    /// tree "max_right" search of AtCoder's library).
    #[inline]
    pub fn first_at_most(&self, from: usize, m: u64) -> Option<usize> {
        debug_assert!(m < NONE);
        if from >= self.leaves {
            return None;
        }
        let slots = &self.slots[..];
        let mut v = self.leaves + from;
        loop {
            // Up while v is a left child: its parent covers the same start and more.
            while v & 1 == 0 {
                v >>= 1;
            }
            if slots[v] <= m {
                break;
            }
            // v's subtree holds nothing <= m: on to the next subtree to the right, unless
            // v was the last one at its level (v + 1 a power of two: past the last leaf).
            v += 1;
            if v & (v - 1) == 0 {
                return None;
            }
        }
        while v < self.leaves {
            v <<= 1;
            if slots[v] > m {
                v += 1;
            }
        }
        Some(v - self.leaves)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::rng;

    /// Every query against the brute-force answer over random keys, pool sizes on both sides
    /// of a power of two (the padding leaves), with updates that do and do not move a minimum.
    #[test]
    fn queries_match_brute_force() {
        let mut r = rng("min-tree");
        for n in [1usize, 2, 3, 5, 8, 9, 100] {
            let mut keys: Vec<u64> = (0..n).map(|_| r.below(5)).collect();
            let mut t = MinTree::default();
            t.reset(n);
            t.fill(n, |i| keys[i]);
            for _ in 0..5_000 {
                let i = r.below(n as u64) as usize;
                keys[i] = match r.below(6) {
                    0 => NONE,
                    k => k - 1,
                };
                t.set(i, keys[i]);
                let min = keys.iter().copied().min().unwrap_or(NONE);
                assert_eq!(t.min(), min);
                assert_eq!(t.key(i), keys[i]);
                let from = r.below(n as u64 + 2) as usize;
                let m = r.below(6);
                let want = (from..n).find(|&j| keys[j] <= m);
                assert_eq!(t.first_at_most(from, m), want, "n {n} from {from} m {m}");
            }
        }
    }
}
