//! `balance leastconn`: the server with the fewest requests per unit of weight.
//!
//! HAProxy keys each server by `(inflight + 1) · SCALE / eweight` with inflight = served + its
//! own queue, and an idle server (inflight 0) by 0, so idle servers always come first; servers
//! with equal keys are rotated round-robin (domain.md §1.1; HAP-CFG L6380; HAP-SRC src/lb_fwlc.c
//! L209–234 key, L286–297 and L747–830 selection).
//!
//! Like HAProxy (an ebtree of servers by key, `fwlc_srv_reposition` on every connection taken
//! or released), the candidates are indexed by key and re-keyed through
//! [`Policy::server_updated`] whenever a counter changes, so a pick and an update cost
//! O(log n) where the linear scan this replaced cost O(n) per request (3.4 µs per request at
//! 1,000 servers, issue 13). The index is a [`MinTree`], one flat `Vec` of per-subtree minimum
//! keys over the servers in index order, with each key an exact integer image of its fraction
//! ([`key_of`]): an update is a walk up from one leaf that stops where the minimum no longer
//! changes, and the tie rule's "first lightest server at or after the rotation point" is one
//! walk up and down. Why not the alternatives (issue 13, callgrind instructions per request of
//! `mm1.toml` at 1,000 servers and 90,000 requests/s, against random(2)'s 2,761):
//! - a `BTreeSet` of (fraction, index), which this replaced: 4,702 (1.70x random(2)), the
//!   remove + insert of every start and end walking nodes of keys compared by two products,
//!   and the successor query a `range()`; the flat tree: 2,616 (0.95x), with the same picks;
//! - a heap (the `priority-queue` crate used by [`super::RoundRobin`]) cannot answer the tie
//!   rule's successor query without popping every tie, so it would change which of the tied
//!   servers is chosen and with it every output; and even keyed by (key, index), dropping the
//!   rotation, it cost 3,683 (1.33x): each re-key hashes the server into the crate's
//!   `IndexMap` and sifts its heap of positions, where the tree writes one slot per level it
//!   climbs.
//!
//! Pools of at most [`SCAN_POOL`] servers keep no tree: a pick scans the live counters, with
//! the same keys and the same tie rule, and a request's start or end costs nothing
//! ([`LeastConn::keeps_tree`] is false, so the backend does not even call
//! [`Policy::server_updated`]). Keeping the tree there cost more than scanning a handful of
//! servers: at 2 servers the tree's pick, re-keying and update cost about 280 instructions per
//! request under callgrind (`mm1.toml`, 2 servers, 160 requests/s), the scan about 60 (issue
//! 13). An earlier small-pool scan (`SMALL_POOL`, replaced by the tree) still stored every
//! server's key on every update; this one stores nothing. The scan is O(pool) per request,
//! which is O(1) for a pool bounded by [`SCAN_POOL`].
//!
//! Tie rule (unchanged from the scan, so outputs are byte-identical): among equal keys the
//! first server at or after the rotation point (one past the last chosen server) in index order,
//! wrapping round. HAProxy ≤ 3.1 serves equal keys in the order they were (re)inserted into the
//! tree and 3.2+ rotates through a few lists from a random start; both are round-robin among
//! ties, which is what domain.md asks for, and the cyclic index order is the deterministic one.
//! Keys are compared exactly (as fractions, see [`key_of`]) where HAProxy truncates
//! `(inflight + 1) · 4096 / eweight` to an integer, so with unequal weights HAProxy sees a few
//! more ties than we do.
//!
//! Simplification: HAProxy keeps a server a candidate while served + queued < maxconn +
//! maxqueue, so with `maxqueue` set a request may be queued on a busy server; here a candidate
//! must be not full ([`ServerView::is_full`]) and otherwise the request waits in the backend
//! queue, which any server draining first will serve.

use super::min_tree::{MinTree, NONE};
use super::{Pick, Policy, ServerView, UsableCount, no_free_server};
use crate::engine::Rng;

/// Server `s`'s key if it is a candidate (usable and not full), else [`NONE`]: the fraction
/// (inflight + 1) / weight, or 0 for an idle server, as the integer ⌊(inflight + 1) · 2^16 /
/// weight⌋. That image is exact: two distinct fractions with denominators of at most 256 (the
/// weight's config bound) differ by at least 1/(256 · 256) = 2^-16, so their images differ
/// and keep their order, and equal fractions (2/1 and 4/2) have equal images, so the ties, and
/// with them the tie rule, are those of the exact fractions. inflight + 1 ≤ 2^33 (two u32
/// counters), so the image stays below 2^49 < [`NONE`], and a busy server's image is at least
/// 2 · 2^16 / 256 = 512 > 0, an idle one's.
#[inline]
fn key_of(s: &ServerView) -> u64 {
    if !s.is_usable() || s.is_full() {
        return NONE;
    }
    let inflight = u64::from(s.served) + u64::from(s.queued);
    if inflight == 0 {
        0
    } else {
        ((inflight + 1) << 16) / u64::from(s.weight)
    }
}

/// Largest pool searched by a scan instead of a tree (see the module's doc).
const SCAN_POOL: usize = 16;

/// Least connections with round-robin among ties. Build with [`LeastConn::new`].
#[derive(Clone, Debug, Default)]
pub struct LeastConn {
    /// Where the tie-breaking search starts: one past the last chosen server.
    rotation: usize,
    /// Every server's key as filed (see [`key_of`]), [`NONE`] for a non-candidate.
    tree: MinTree,
    /// The pool size the tree was built for.
    n: usize,
    usable: UsableCount,
    /// Pools up to this size are scanned: `tree` and `usable` are then empty and unused.
    scan_up_to: usize,
}

impl LeastConn {
    pub fn new(servers: &[ServerView]) -> Self {
        Self::scanning_up_to(servers, SCAN_POOL)
    }

    /// A policy that scans pools of at most `scan_up_to` servers and keeps a tree for larger
    /// ones (the tests force either path on every size).
    fn scanning_up_to(servers: &[ServerView], scan_up_to: usize) -> Self {
        let mut lc = LeastConn {
            scan_up_to,
            ..LeastConn::default()
        };
        lc.servers_changed(servers);
        lc
    }

    /// Whether this policy keys its servers in a tree, which must hear of every change of a
    /// server's counters; a scanned pool reads them live at each pick.
    #[inline]
    pub fn keeps_tree(&self) -> bool {
        self.n > self.scan_up_to
    }

    /// The tie rule over the live counters: the first strictly lightest candidate from the
    /// rotation point round the pool. Keys are compared as the fractions they are, by
    /// cross-multiplication (exact: (inflight + 1) < 2^34 and weight <= 256), which orders and
    /// ties them as [`key_of`]'s images do, without a division per server.
    #[inline]
    fn scan_pick(&mut self, servers: &[ServerView]) -> Pick {
        let n = servers.len();
        let start = if self.rotation < n { self.rotation } else { 0 };
        // The lightest candidate so far: index (usize::MAX: none yet), numerator, weight.
        // (A plain index that wraps: `(start..n).chain(0..start)` cost twice the instructions.)
        let (mut best, mut best_num, mut best_den) = (usize::MAX, 0u64, 0u64);
        let mut i = start;
        for _ in 0..n {
            let s = &servers[i];
            if s.is_usable() && !s.is_full() {
                let inflight = u64::from(s.served) + u64::from(s.queued);
                let num = if inflight == 0 { 0 } else { inflight + 1 };
                let den = u64::from(s.weight);
                if best == usize::MAX || num * best_den < best_num * den {
                    (best, best_num, best_den) = (i, num, den);
                }
            }
            i += 1;
            if i == n {
                i = 0;
            }
        }
        if best == usize::MAX {
            return no_free_server(servers);
        }
        self.rotation = best + 1;
        Pick::Server(best)
    }

    /// [`Policy::pick`] for a pool just changed, or kept in the tree.
    #[inline(never)]
    fn pick_from_tree(&mut self, servers: &[ServerView]) -> Pick {
        if self.n != servers.len() {
            self.servers_changed(servers);
        }
        if !self.keeps_tree() {
            return self.scan_pick(servers);
        }
        while let Some(i) = self.lightest() {
            if key_of(&servers[i]) != self.tree.key(i) {
                self.refile(servers, i);
                self.usable.update(servers, i);
                continue;
            }
            self.rotation = i + 1;
            return Pick::Server(i);
        }
        self.usable.no_free_server()
    }

    /// Files server `i` under its current key.
    #[inline]
    fn refile(&mut self, servers: &[ServerView], i: usize) {
        let key = key_of(&servers[i]);
        if self.tree.key(i) != key {
            self.tree.set(i, key);
        }
    }

    /// The tie rule: among the lightest, the first at or after the rotation point, wrapping.
    #[inline]
    fn lightest(&self) -> Option<usize> {
        let m = self.tree.min();
        if m == NONE {
            return None;
        }
        self.tree
            .first_at_most(self.rotation, m)
            .or_else(|| self.tree.first_at_most(0, m))
    }
}

impl Policy for LeastConn {
    /// The tree's lightest candidate by the tie rule; the rotation then moves past it, like
    /// HAProxy putting it at the back of its key. A chosen server that the live counters
    /// contradict (changed without [`Policy::server_updated`], which the backend never does) is
    /// re-filed and the search repeated, so a stale tree never returns an unusable or full
    /// server.
    ///
    /// Inlined with its scan of a small pool (the call and its register saves cost 25
    /// instructions per request on 2-server `mm1.toml`); the tree is
    /// [`LeastConn::pick_from_tree`].
    #[inline(always)]
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, _rng: &mut Rng) -> Pick {
        if self.n == servers.len() && !self.keeps_tree() {
            return self.scan_pick(servers);
        }
        self.pick_from_tree(servers)
    }

    /// Refiles every server (O(n), on up/down only); the rotation point is kept.
    fn servers_changed(&mut self, servers: &[ServerView]) {
        self.n = servers.len();
        if !self.keeps_tree() {
            return;
        }
        self.tree.reset(self.n);
        self.tree.fill(self.n, |i| key_of(&servers[i]));
        self.usable.rebuild(servers);
    }

    /// Not inlined: inlined, the tree walk made `LbPolicy::server_updated` too large to inline
    /// into the backend, which cost the other algorithms instructions on every request start
    /// and end (0.3% of `mm1.toml`'s, a roundrobin, under callgrind).
    #[inline(never)]
    fn server_updated(&mut self, servers: &[ServerView], i: usize) {
        if i >= self.n {
            self.servers_changed(servers);
            return;
        }
        if !self.keeps_tree() {
            return;
        }
        self.refile(servers, i);
        self.usable.update(servers, i);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::{rng, servers};

    #[test]
    fn picks_least_loaded_per_weight() {
        let mut s = servers(&[1, 3]);
        s[0].served = 1; // key 2/1
        s[1].served = 2; // key 3/3
        let mut p = LeastConn::new(&s);
        let mut r = rng("lc");
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(1));
        s[1].served = 5; // key 6/3 = 2/1: tie with server 0
        s[1].queued = 1; // the queue counts: key 7/3 > 2
        p.server_updated(&s, 1);
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(0));
        // An idle server beats any busy one, whatever the weights.
        let mut s = servers(&[1, 256]);
        s[1].served = 1;
        p.servers_changed(&s);
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(0));
    }

    #[test]
    fn ties_rotate() {
        let s = servers(&[1, 1]);
        let mut p = LeastConn::new(&s);
        let mut r = rng("lc");
        let seq: Vec<Pick> = (0..6).map(|_| p.pick(&s, 0, &mut r)).collect();
        for (k, pick) in seq.iter().enumerate() {
            assert_eq!(*pick, Pick::Server(k % 2));
        }
        // Only the tied servers rotate; the heavier one is never chosen.
        let mut s = servers(&[1, 1, 1]);
        s[0].served = 1;
        p.servers_changed(&s);
        let seq: Vec<Pick> = (0..6).map(|_| p.pick(&s, 0, &mut r)).collect();
        assert!(seq.iter().all(|&x| x != Pick::Server(0)));
        assert!(seq.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn simulated_arrivals_balance_by_weight() {
        // Requests that never finish: leastconn must fill servers in proportion to weight.
        let mut s = servers(&[1, 2, 1]);
        let mut p = LeastConn::new(&s);
        let mut r = rng("lc");
        for _ in 0..400 {
            if let Pick::Server(i) = p.pick(&s, 0, &mut r) {
                s[i].served += 1;
                p.server_updated(&s, i);
            }
        }
        assert_eq!([s[0].served, s[1].served, s[2].served], [100, 200, 100]);
    }

    #[test]
    fn full_unusable_and_none() {
        let mut s = servers(&[1, 1]);
        let mut p = LeastConn::new(&s);
        let mut r = rng("lc");
        s[0].usable = false; // no servers_changed: still never returned
        s[1].served = 9;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(1));
        s[1].maxconn = 9; // full, without notice: found stale, refiled, not returned
        assert_eq!(p.pick(&s, 0, &mut r), Pick::BackendQueue);
        s[1].usable = false;
        p.server_updated(&s, 1);
        assert_eq!(p.pick(&s, 0, &mut r), Pick::NoServer);
    }

    /// [`key_of`]'s integer image orders and ties keys exactly as the fractions do
    /// (cross-multiplication), over every weight 1..=256 and inflight counts from idle to the
    /// largest two u32 counters can hold.
    #[test]
    fn keys_order_like_the_fractions() {
        let mut r = rng("lc-keys");
        let inflight = |r: &mut Rng| match r.below(3) {
            0 => r.below(4),
            1 => r.below(1 << 20),
            _ => 2 * u64::from(u32::MAX) - r.below(1 << 20),
        };
        for _ in 0..1_000_000 {
            let (wa, wb) = (1 + r.below(256), 1 + r.below(256));
            let num = |i: u64| if i == 0 { 0 } else { i + 1 };
            let ia = inflight(&mut r);
            // Half the time b's fraction within a step of a's: the ties and near-ties.
            let ib = if r.below(2) == 0 {
                inflight(&mut r)
            } else {
                (num(ia) * wb / wa + r.below(3))
                    .saturating_sub(2)
                    .min(2 * u64::from(u32::MAX))
            };
            let view = |i: u64, w: u64| ServerView {
                weight: w as u32,
                served: (i / 2) as u32,
                queued: (i - i / 2) as u32,
                usable: true,
                ..ServerView::default()
            };
            let exact = (num(ia) * wb).cmp(&(num(ib) * wa));
            let (ka, kb) = (key_of(&view(ia, wa)), key_of(&view(ib, wb)));
            assert_eq!(ka.cmp(&kb), exact, "{ia}/{wa} against {ib}/{wb}");
            assert!(ka < NONE && kb < NONE);
        }
    }

    /// The reference, written apart from [`LeastConn::scan_pick`]: the first strictly lighter
    /// candidate from the rotation point round the slice.
    fn scan(servers: &[ServerView], rotation: usize) -> Option<usize> {
        let n = servers.len();
        let start = if rotation < n { rotation } else { 0 };
        let mut best: Option<usize> = None;
        for i in (start..n).chain(0..start) {
            let s = &servers[i];
            if !s.is_usable() || s.is_full() {
                continue;
            }
            let lighter = |a: &ServerView, b: &ServerView| {
                let ia = u64::from(a.served) + u64::from(a.queued);
                let ib = u64::from(b.served) + u64::from(b.queued);
                match (ia, ib) {
                    (0, _) => ib != 0,
                    (_, 0) => false,
                    _ => (ia + 1) * u64::from(b.weight) < (ib + 1) * u64::from(a.weight),
                }
            };
            if best.is_none_or(|b| lighter(s, &servers[b])) {
                best = Some(i);
            }
        }
        best
    }

    /// The tree's pick and the small-pool scan's both equal the reference scan's after every
    /// one of 280,000 random updates (requests starting and ending, queues, maxconn, servers
    /// leaving and rejoining rotation, weights 1..=4 so that unequal fractions tie, like 2/1
    /// and 4/2), with the rotation point carried along: the tie rule and the tree's
    /// stale-entry path are both checked, each path on every pool size.
    #[test]
    fn tree_pick_is_the_scan_argmin() {
        let mut r = rng("lc-brute");
        for n in [1usize, 2, 3, 7, 64, 100, 1_000] {
            let weights: Vec<u32> = (0..n).map(|_| 1 + r.below(4) as u32).collect();
            let mut s = servers(&weights);
            for (i, v) in s.iter_mut().enumerate() {
                v.maxconn = if i % 3 == 0 { 3 } else { 0 };
            }
            // The tree on every size, and the scan on every size: both are checked.
            let mut p = LeastConn::scanning_up_to(&s, 0);
            let mut q = LeastConn::scanning_up_to(&s, usize::MAX);
            assert!(p.keeps_tree() && !q.keeps_tree());
            let mut rotation = 0;
            for step in 0..40_000 {
                let i = r.below(n as u64) as usize;
                match r.below(10) {
                    0..=3 => s[i].served += 1,
                    4..=6 => s[i].served = s[i].served.saturating_sub(1),
                    7 => s[i].queued = (s[i].queued + 1) % 3,
                    8 => s[i].usable = !s[i].usable,
                    _ => {
                        // A pick: the tree and the scan agree, and the scan's rotation follows.
                        let want = scan(&s, rotation);
                        let got = p.pick(&s, 0, &mut r);
                        assert_eq!(
                            q.pick(&s, 0, &mut r),
                            got,
                            "n {n} step {step}: scan vs tree"
                        );
                        match want {
                            Some(w) => {
                                assert_eq!(got, Pick::Server(w), "n {n} step {step}: {s:?}");
                                rotation = w + 1;
                                s[w].served += 1;
                                p.server_updated(&s, w);
                                q.server_updated(&s, w);
                            }
                            None if s.iter().any(ServerView::is_usable) => {
                                assert_eq!(got, Pick::BackendQueue)
                            }
                            None => assert_eq!(got, Pick::NoServer),
                        }
                        continue;
                    }
                }
                p.server_updated(&s, i);
                q.server_updated(&s, i);
            }
        }
    }
}
