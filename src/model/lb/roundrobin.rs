//! `balance roundrobin`: dynamic weighted round-robin, interleaved ("smooth").
//!
//! HAProxy implements it with its "fast weighted round-robin" trees, where a server's next
//! position advances by `total_weight / eweight` after each pick (domain.md §1.1; HAP-CFG L6357,
//! HAP-SRC src/lb_fwrr.c L534–680). domain.md allows any smooth weighted round-robin with the same
//! proportions, so this file uses nginx's smooth WRR (NGX-SRC
//! src/http/ngx_http_upstream_round_robin.c, `ngx_http_upstream_get_peer`): every eligible server
//! gains its weight, the richest is chosen and pays the total back. Over any window of Σw picks
//! each server is chosen exactly `w` times and a heavy server is spread out rather than bunched.
//! The exact interleaving order differs from fwrr's; the proportions and the strict alternation
//! for equal weights are the same.
//!
//! nginx loops over every server per pick, which cost 2.1 µs per request at 1,000 servers
//! (issue 13). The same sequence comes out of a tree: the gains are counted once, globally
//! (`gains`), and a server stores `base = credit − weight · gains`, so its credit is
//! `base + weight · gains` without touching it. Servers of one weight keep their order as gains
//! grow, so each distinct weight has an indexed max-heap (the `priority-queue` crate) of its
//! eligible servers by (base, lowest index); a pick compares the heads of the D weight classes
//! and re-keys the winner: O(D + log n) per pick, D = 1 or 2 in practice. A server leaving
//! eligibility (down, full, hidden from a redispatch) has its credit frozen and rejoins with it,
//! exactly as nginx's loop simply skips it: outputs are byte-identical to the loop's.

use std::cmp::Reverse;
use std::hash::{BuildHasherDefault, Hasher};

use priority_queue::PriorityQueue;

use super::{Pick, Policy, SMALL_POOL, ServerView, UsableCount};
use crate::engine::Rng;

/// Hashes a server index by one multiplication (Fibonacci hashing): the heaps' index maps need
/// no protection against chosen keys, and SipHash (std's default) would cost more than the
/// heap operation itself. Deterministic, unlike `RandomState` (the heaps' order never depends
/// on it anyway: priorities are unique).
#[derive(Clone, Copy, Debug, Default)]
struct IndexHasher(u64);

impl Hasher for IndexHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0 ^ u64::from(i)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// Eligible servers of one weight, richest first: priority (base, Reverse(index)), so the
/// max is the largest credit and, among equal credits, the lowest index (nginx's strict `>`).
type Heap = PriorityQueue<u32, (i64, Reverse<u32>), BuildHasherDefault<IndexHasher>>;

/// What the policy remembers of one server.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// Weight the server was filed with.
    weight: i64,
    /// In a heap: usable and not full when last told.
    eligible: bool,
    /// Eligible: `base` (credit − weight · gains). Not eligible: the frozen credit itself.
    value: i64,
}

/// Smooth weighted round-robin over per-weight heaps. Build with [`RoundRobin::new`].
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    /// Picks that found an eligible server since the last reset: each added every eligible
    /// server's weight to its credit.
    gains: i64,
    /// Σ weight of the eligible servers: what the chosen server pays back.
    total: i64,
    slots: Vec<Slot>,
    /// One heap per distinct weight, (weight, heap); a few entries.
    classes: Vec<(i64, Heap)>,
    usable: UsableCount,
    /// At most [`SMALL_POOL`] servers: `classes` stay empty and a pick scans `slots`.
    small: bool,
}

impl RoundRobin {
    /// [`Policy::pick`] beyond a pool of one whose server is filed as it is.
    #[inline(never)]
    fn pick_from_heap(&mut self, servers: &[ServerView]) -> Pick {
        if self.slots.len() != servers.len() {
            self.servers_changed(servers);
        }
        while let Some((i, w)) = self.richest() {
            let s = &servers[i];
            if !s.is_usable() || s.is_full() || i64::from(s.weight) != w {
                self.sync(servers, i);
                self.usable.update(servers, i);
                continue;
            }
            self.gains += 1;
            let total = self.total;
            let slot = &mut self.slots[i];
            slot.value -= total;
            let base = slot.value;
            if !self.small {
                self.class(w)
                    .change_priority(&(i as u32), (base, Reverse(i as u32)));
            }
            return Pick::Server(i);
        }
        self.usable.no_free_server()
    }

    pub fn new(servers: &[ServerView]) -> Self {
        let mut rr = RoundRobin::default();
        rr.servers_changed(servers);
        rr
    }

    /// The heap of weight `w`, created on first use.
    fn class(&mut self, w: i64) -> &mut Heap {
        let k = match self.classes.iter().position(|(cw, _)| *cw == w) {
            Some(k) => k,
            None => {
                self.classes.push((w, Heap::default()));
                self.classes.len() - 1
            }
        };
        &mut self.classes[k].1
    }

    /// Brings server `i`'s slot in line with its live flags: freezes its credit when it stops
    /// being eligible, files it again (with the same credit) when it comes back.
    #[inline]
    fn sync(&mut self, servers: &[ServerView], i: usize) {
        let s = &servers[i];
        let eligible = s.is_usable() && !s.is_full();
        let weight = i64::from(s.weight);
        let slot = self.slots[i];
        if slot.eligible == eligible && (!eligible || slot.weight == weight) {
            return;
        }
        let gains = self.gains;
        let mut credit = slot.value;
        if slot.eligible {
            credit = slot.value + slot.weight * gains;
            if !self.small {
                self.class(slot.weight).remove(&(i as u32));
            }
            self.total -= slot.weight;
        }
        let mut value = credit;
        if eligible {
            value = credit - weight * gains;
            if !self.small {
                self.class(weight)
                    .push(i as u32, (value, Reverse(i as u32)));
            }
            self.total += weight;
        }
        self.slots[i] = Slot {
            weight,
            eligible,
            value,
        };
    }

    /// `server_updated` when something did change (up, down, full, weight): out of line.
    #[cold]
    #[inline(never)]
    fn resync(&mut self, servers: &[ServerView], i: usize) {
        self.sync(servers, i);
        self.usable.update(servers, i);
    }

    /// The richest eligible server after this pick's gain (credit at `gains + 1`), lowest
    /// index on a tie, with its weight.
    #[inline]
    fn richest(&self) -> Option<(usize, i64)> {
        let g = self.gains + 1;
        if self.small {
            // The same rule over the slots: ascending index, so strict `>` keeps the lowest.
            let mut best: Option<(i64, usize, i64)> = None;
            for (i, s) in self.slots.iter().enumerate() {
                if !s.eligible {
                    continue;
                }
                let credit = s.value + s.weight * g;
                if best.is_none_or(|(c, _, _)| credit > c) {
                    best = Some((credit, i, s.weight));
                }
            }
            return best.map(|(_, i, w)| (i, w));
        }
        let mut best: Option<(i64, u32, i64)> = None;
        for (w, heap) in &self.classes {
            let Some((&i, &(base, _))) = heap.peek() else {
                continue;
            };
            let credit = base + w * g;
            if best.is_none_or(|(c, j, _)| credit > c || (credit == c && i < j)) {
                best = Some((credit, i, *w));
            }
        }
        best.map(|(_, i, w)| (i as usize, w))
    }
}

impl Policy for RoundRobin {
    /// Eligible = usable and not full: HAProxy skips a full server and tries the next one
    /// (lb_fwrr.c `fwrr_get_next_server`); a full server does not gain credit meanwhile, so it
    /// does not come back with a burst. All usable servers full → backend queue. A chosen
    /// server that the live flags contradict (changed without notice, which the backend never
    /// does) is frozen and the choice made again, so a stale heap never returns it.
    ///
    /// Inlined for its one-server case (a call and its register saves were 38 of
    /// the 44 instructions per request a pick took on `mm1.toml`); the rest is [`RoundRobin::pick_from_heap`].
    #[inline(always)]
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, _rng: &mut Rng) -> Pick {
        // A pool of one: its credit is compared with nobody's, so it decides nothing and is
        // not kept; the server is chosen whenever it is eligible as filed (the loop below
        // would choose it too). Anything else (not eligible, or filed otherwise) goes the
        // long way, which files it again.
        if let ([s], [slot]) = (servers, &self.slots[..])
            && slot.eligible
            && s.is_usable()
            && !s.is_full()
            && i64::from(s.weight) == slot.weight
        {
            return Pick::Server(0);
        }
        self.pick_from_heap(servers)
    }

    /// Restarts the interleaving from zero credit, as HAProxy's static-rr does when it rebuilds
    /// its map. Credits are bounded by the total weight, so without the reset a returning
    /// server would start from a stale credit; with it, the new round is clean. Called only on
    /// up/down and weight changes, so the reset never disturbs steady-state proportions.
    fn servers_changed(&mut self, servers: &[ServerView]) {
        self.gains = 0;
        self.total = 0;
        self.classes.clear();
        self.slots.clear();
        self.slots.resize(servers.len(), Slot::default());
        self.small = servers.len() <= SMALL_POOL;
        for i in 0..servers.len() {
            self.sync(servers, i);
        }
        self.usable.rebuild(servers);
    }

    #[inline]
    fn server_updated(&mut self, servers: &[ServerView], i: usize) {
        if i >= self.slots.len() {
            self.servers_changed(servers);
            return;
        }
        // The common case, checked here without a call: a request started or ended and the
        // server is as eligible (and as usable, with the same weight) as it was filed, so
        // `sync` and the usable count would both return without a change.
        let s = &servers[i];
        let eligible = s.is_usable() && !s.is_full();
        let slot = self.slots[i];
        if slot.eligible == eligible
            && (!eligible || slot.weight == i64::from(s.weight))
            && self.usable.is_current(servers, i)
        {
            return;
        }
        self.resync(servers, i);
    }

    fn fifo_fair(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::{rng, servers};

    fn picks(rr: &mut RoundRobin, s: &[ServerView], n: usize) -> Vec<usize> {
        let mut r = rng("rr");
        (0..n)
            .map(|_| match rr.pick(s, 0, &mut r) {
                Pick::Server(i) => i,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    fn max_run(seq: &[usize], server: usize) -> usize {
        let (mut best, mut run) = (0, 0);
        for &x in seq {
            run = if x == server { run + 1 } else { 0 };
            best = best.max(run);
        }
        best
    }

    #[test]
    fn a_pool_of_one_follows_its_flags() {
        let mut s = servers(&[2]);
        let mut rr = RoundRobin::new(&s);
        assert_eq!(picks(&mut rr, &s, 5), vec![0; 5]);
        let mut r = rng("rr1");
        // Full (maxconn reached), told or not: the backend queue; free again: chosen.
        s[0].maxconn = 1;
        s[0].served = 1;
        assert_eq!(rr.pick(&s, 0, &mut r), Pick::BackendQueue);
        rr.server_updated(&s, 0);
        assert_eq!(rr.pick(&s, 0, &mut r), Pick::BackendQueue);
        s[0].served = 0;
        rr.server_updated(&s, 0);
        assert_eq!(rr.pick(&s, 0, &mut r), Pick::Server(0));
        // Down without notice: never chosen; a 503 once nothing is usable.
        s[0].usable = false;
        assert_eq!(rr.pick(&s, 0, &mut r), Pick::NoServer);
        s[0].usable = true;
        rr.servers_changed(&s);
        assert_eq!(rr.pick(&s, 0, &mut r), Pick::Server(0));
    }

    #[test]
    fn weights_3_to_1_exact_and_smooth() {
        let s = servers(&[3, 1]);
        let mut rr = RoundRobin::new(&s);
        let seq = picks(&mut rr, &s, 4000);
        assert_eq!(seq.iter().filter(|&&i| i == 0).count(), 3000);
        assert_eq!(seq.iter().filter(|&&i| i == 1).count(), 1000);
        // Smooth: never more than weight-ratio (3) consecutive picks of the heavy server.
        assert!(max_run(&seq, 0) <= 3);
        assert_eq!(&seq[..4], &[0, 0, 1, 0]);
    }

    #[test]
    fn equal_weights_alternate_strictly() {
        let s = servers(&[2, 2, 2]);
        let mut rr = RoundRobin::new(&s);
        let seq = picks(&mut rr, &s, 30);
        for (k, &i) in seq.iter().enumerate() {
            assert_eq!(i, k % 3);
        }
    }

    #[test]
    fn skips_full_then_backend_queue_then_no_server() {
        let mut s = servers(&[1, 1]);
        let mut rr = RoundRobin::new(&s);
        let mut r = rng("rr");
        s[0].maxconn = 1;
        s[0].served = 1;
        for _ in 0..5 {
            assert_eq!(rr.pick(&s, 0, &mut r), Pick::Server(1));
        }
        s[1].maxconn = 2;
        s[1].served = 1;
        s[1].queued = 1; // own queue non-empty: full too
        assert_eq!(rr.pick(&s, 0, &mut r), Pick::BackendQueue);
        s[0].usable = false;
        s[1].usable = false;
        rr.servers_changed(&s);
        assert_eq!(rr.pick(&s, 0, &mut r), Pick::NoServer);
    }

    #[test]
    fn never_returns_unusable_even_without_servers_changed() {
        let mut s = servers(&[5, 1, 1]);
        let mut rr = RoundRobin::new(&s);
        s[0].usable = false; // no servers_changed call
        let seq = picks(&mut rr, &s, 100);
        assert!(seq.iter().all(|&i| i != 0));
        assert_eq!(seq.iter().filter(|&&i| i == 1).count(), 50);
        s[1].weight = 0; // weight 0 is not a candidate either
        let seq = picks(&mut rr, &s, 10);
        assert!(seq.iter().all(|&i| i == 2));
    }

    /// nginx's loop, which the heaps replaced (issue 13), kept as the reference.
    struct Loop {
        current: Vec<i64>,
    }

    impl Loop {
        fn pick(&mut self, servers: &[ServerView]) -> Option<usize> {
            let mut total: i64 = 0;
            let mut best: Option<usize> = None;
            let mut best_current = i64::MIN;
            for (i, (s, cur)) in servers.iter().zip(self.current.iter_mut()).enumerate() {
                if !s.is_usable() || s.is_full() {
                    continue;
                }
                let w = i64::from(s.weight);
                *cur += w;
                total += w;
                if *cur > best_current {
                    best_current = *cur;
                    best = Some(i);
                }
            }
            let i = best?;
            self.current[i] -= total;
            Some(i)
        }
    }

    /// The heaps pick exactly what nginx's loop picks over 200,000 random updates: requests
    /// starting and ending against maxconn (eligibility flipping with frozen credit), servers
    /// leaving and rejoining rotation without a reset (a redispatch hiding one), resets on
    /// `servers_changed`, and weights 1..=5 in up to five classes.
    #[test]
    fn heaps_pick_what_the_loop_picks() {
        let mut r = rng("rr-brute");
        for n in [1usize, 2, 3, 8, 50] {
            let weights: Vec<u32> = (0..n).map(|_| 1 + r.below(5) as u32).collect();
            let mut s = servers(&weights);
            for (i, v) in s.iter_mut().enumerate() {
                v.maxconn = if i % 2 == 0 { 2 } else { 0 };
            }
            let mut rr = RoundRobin::new(&s);
            let mut reference = Loop {
                current: vec![0; n],
            };
            for step in 0..40_000 {
                let i = r.below(n as u64) as usize;
                match r.below(12) {
                    0..=2 => s[i].served = s[i].served.saturating_sub(1),
                    3 => s[i].queued = (s[i].queued + 1) % 2,
                    4 => s[i].usable = !s[i].usable,
                    5 if step % 97 == 0 => {
                        rr.servers_changed(&s);
                        reference.current.fill(0);
                        continue;
                    }
                    _ => {
                        let want = reference.pick(&s);
                        let got = rr.pick(&s, 0, &mut r);
                        match want {
                            Some(w) => {
                                assert_eq!(got, Pick::Server(w), "n {n} step {step}: {s:?}");
                                s[w].served += 1;
                                rr.server_updated(&s, w);
                            }
                            None if s.iter().any(ServerView::is_usable) => {
                                assert_eq!(got, Pick::BackendQueue)
                            }
                            None => assert_eq!(got, Pick::NoServer),
                        }
                        continue;
                    }
                }
                rr.server_updated(&s, i);
            }
        }
    }
}
