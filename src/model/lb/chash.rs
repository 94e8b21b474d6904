//! HAProxy's consistent-hash ring (HAP-SRC src/lb_chash.c), shared by `balance random(N)` and
//! by `balance source` with `hash-type consistent`.
//!
//! What is reproduced, bit for bit, for the default `hash-key id`:
//! - each usable server owns `eweight = weight × BE_WEIGHT_SCALE` points (BE_WEIGHT_SCALE = 16,
//!   include/haproxy/backend-t.h L145; `chash_init_server_tree`, src/lb_chash.c L612–645, sets
//!   `wdiv = BE_WEIGHT_SCALE` and `wmult` is 1 outside the map-based algorithms, src/proxy.c
//!   L2543), so a weight-1 server has 16 points;
//! - point `i` (0 ≤ i < eweight) of the server with id `puid` sits at
//!   `full_hash(puid × SRV_EWGHT_RANGE + i)`, SRV_EWGHT_RANGE = 256 × 16 = 4096
//!   (include/haproxy/server-t.h L201–203; `chash_compute_server_key` L140–143 and
//!   `chash_compute_node_key` L69–72). A weight change adds or removes the points with the
//!   highest `i` (`chash_queue_dequeue_srv` L156–208), so the point set of a server depends only
//!   on its puid and current weight and a whole rebuild gives the same ring as HAProxy's edits;
//! - a 32-bit hash is looked up as `chash_get_server_hash` does (L416–492): the first point
//!   ≥ hash (`eb32_lookup_ge`, wrapping to the first point) and the one before it (wrapping to
//!   the last), and the nearer of the two, the lower one when both are at the same distance
//!   (`dp <= dn`, L460–466).
//!
//! `puid`: HAProxy's default server id is the server's 1-based position in its backend, in
//! declaration order, backups included. [`ServerView`] slices are indexed in declaration order,
//! so the puid of `servers[i]` is `i + 1` ([`puid`]).
//!
//! Versions: the same ring in HAProxy 2.6–2.9 (where the key was written inline as
//! `full_hash(srv->puid * SRV_EWGHT_RANGE + node)`, v2.6.0 src/lb_chash.c L98 and L510) and
//! from 3.3.0 on, including the pinned commit. HAProxy 3.0.0 to 3.2.x as first released hash the
//! server key twice (`full_hash(full_hash(puid) + i)`, a regression from commit faa8c3e02 fixed
//! by 03e9a5a1e "BUG/MAJOR: lb-chash: fix key calculation when using default hash-key id",
//! October 2025, flagged for backport to 3.0+): their rings differ point by point, with the same
//! statistical properties. `full_hash` is identical in all of them (include/haproxy/intops.h:
//! v2.6.0 L270, v3.3.0 L397, pinned L447).
//!
//! Not modelled: `hash-key addr`/`addr-port`/`id32`/`guid` (other server keys),
//! `hash-balance-factor` (`chash_server_is_eligible`, bounded loads), the walk past the server to
//! avoid on a redispatch, and `hash-preserve-affinity` other than its default `always`.

use super::ServerView;

/// Ring points per unit of weight (`BE_WEIGHT_SCALE`, include/haproxy/backend-t.h L145).
pub const BE_WEIGHT_SCALE: u32 = 16;

/// Highest user weight (`SRV_UWGHT_MAX` = `SRV_UWGHT_RANGE` = 256, include/haproxy/server-t.h
/// L201–202).
pub const SRV_UWGHT_MAX: u32 = 256;

/// Spacing of the servers' key ranges (`SRV_EWGHT_RANGE` = 256 × 16 = 4096,
/// include/haproxy/server-t.h L203): server `puid` hashes `puid × 4096 + i`.
pub const SRV_EWGHT_RANGE: u32 = SRV_UWGHT_MAX * BE_WEIGHT_SCALE;

/// HAProxy's `full_hash` (`__full_hash`, include/haproxy/intops.h L447–467): one of Bob
/// Jenkins' 32-bit full-avalanche integer hashes followed by a multiplication by the prime
/// 3221225473. Every step is a bijection of u32 (an odd multiplier, an xor-shift, or an
/// addition/xor whose bit k depends only on bits ≤ k), so distinct inputs give distinct points.
/// Written out here, with wrapping arithmetic as C's `unsigned int`, so that ring positions can
/// never change with a dependency.
#[inline]
pub fn full_hash(mut a: u32) -> u32 {
    a = a.wrapping_add(0x7ed5_5d16).wrapping_add(a << 12);
    a = (a ^ 0xc761_c23c) ^ (a >> 19);
    a = a.wrapping_add(0x1656_67b1).wrapping_add(a << 5);
    a = a.wrapping_add(0xd3a2_646c) ^ (a << 9);
    a = a.wrapping_add(0xfd70_46c5).wrapping_add(a << 3);
    a = (a ^ 0xb55a_4f09) ^ (a >> 16);
    a.wrapping_mul(3_221_225_473)
}

/// HAProxy's default server id for `servers[index]`: its 1-based position in declaration order.
#[inline]
pub fn puid(index: usize) -> u32 {
    index as u32 + 1
}

/// The ring over the usable servers of one backend. Build with [`Ring::new`] or
/// [`Ring::rebuild`]; look up with [`Ring::lookup`].
#[derive(Clone, Debug, Default)]
pub struct Ring {
    /// (point, server index) sorted by point. Points are distinct: `full_hash` is a bijection and
    /// its inputs `puid × 4096 + i` are distinct for i < 4096.
    points: Vec<(u32, u32)>,
}

impl Ring {
    pub fn new(servers: &[ServerView]) -> Self {
        let mut r = Ring::default();
        r.rebuild(servers);
        r
    }

    /// Rebuilds the ring over the usable servers of `servers`: `weight × 16` points each, in
    /// O(P log P) for P points. HAProxy edits its tree point by point instead; the resulting set
    /// of points is the same (module doc).
    pub fn rebuild(&mut self, servers: &[ServerView]) {
        self.points.clear();
        for (index, s) in servers.iter().enumerate() {
            if !s.is_usable() {
                continue;
            }
            // Weights above 256 are refused by the scenario validation (as by HAProxy); the cap
            // keeps `i < 4096`, hence distinct inputs, whatever the caller passes.
            let base = puid(index).wrapping_mul(SRV_EWGHT_RANGE);
            for i in 0..s.weight.min(SRV_UWGHT_MAX) * BE_WEIGHT_SCALE {
                self.points
                    .push((full_hash(base.wrapping_add(i)), index as u32));
            }
        }
        self.points.sort_unstable();
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// Number of points on the ring.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// The position in `points` of the point `chash_get_server_hash` selects for `hash`
    /// (src/lb_chash.c L440–466): `next` is the first point ≥ hash, or the first point when
    /// there is none; `prev` is the point before `next`, or the last point; the nearer of the
    /// two wins, `prev` when both are equally far (`dp <= dn`). Distances are u32 differences,
    /// so they wrap round the ring as in C. The ring must be non-empty. O(log P).
    #[inline]
    fn slot(&self, hash: u32) -> usize {
        let n = self.points.len();
        let ge = self.points.partition_point(|&(p, _)| p < hash);
        let next = if ge == n { 0 } else { ge };
        let prev = if next == 0 { n - 1 } else { next - 1 };
        let dp = hash.wrapping_sub(self.points[prev].0);
        let dn = self.points[next].0.wrapping_sub(hash);
        if dp <= dn { prev } else { next }
    }

    /// The server `hash` lands on, or None when the ring is empty or (stale ring) holds no
    /// usable server. If the selected point belongs to a server that became unusable without a
    /// rebuild, the walk continues to the following points, wrapping once, as HAProxy walks past
    /// a server it must not use (`eb32_next`, src/lb_chash.c L471–487): a deterministic answer
    /// per hash that never returns an unusable server. Unreached when the backend calls
    /// `servers_changed` on every change.
    #[inline]
    pub fn lookup(&self, servers: &[ServerView], hash: u32) -> Option<usize> {
        if self.points.is_empty() {
            return None;
        }
        let ok = |i: u32| servers.get(i as usize).is_some_and(ServerView::is_usable);
        let start = self.slot(hash);
        let first = self.points[start].1;
        if ok(first) {
            return Some(first as usize);
        }
        self.walk_from(servers, start)
    }

    #[cold]
    fn walk_from(&self, servers: &[ServerView], start: usize) -> Option<usize> {
        let n = self.points.len();
        (1..n)
            .map(|k| self.points[(start + k) % n].1)
            .find(|&i| servers.get(i as usize).is_some_and(ServerView::is_usable))
            .map(|i| i as usize)
    }

    /// How many of the 2^32 hash values select each server (index `0..n_servers`), exactly.
    /// Between consecutive points `a` and `b` (wrapping), `g = b − a` apart, the hash `a + d`
    /// (0 ≤ d < g) selects `a` when `d ≤ g − d`, that is for `⌊g/2⌋ + 1` values, and `b` for the
    /// other `g − ⌊g/2⌋ − 1` (`slot`'s rule; the exact-hit `d = 0` selects `a` as its own `next`).
    /// A single point takes all 2^32. The counts sum to 2^32. With uniform hashes (HAProxy's
    /// `random`, and `source` over many clients) these are the servers' long-run shares.
    pub fn arc_counts(&self, n_servers: usize) -> Vec<u64> {
        let mut counts = vec![0u64; n_servers];
        let n = self.points.len();
        if n == 1 {
            counts[self.points[0].1 as usize] = 1 << 32;
            return counts;
        }
        for k in 0..n {
            let (a, sa) = self.points[k];
            let (b, sb) = self.points[(k + 1) % n];
            let g = u64::from(b.wrapping_sub(a));
            counts[sa as usize] += g / 2 + 1;
            counts[sb as usize] += g - g / 2 - 1;
        }
        counts
    }

    /// [`Ring::arc_counts`] as fractions of the hash space: the share of requests each server
    /// gets from `random(1)` and from `source` over uniformly spread client hashes. All zeros
    /// when nothing is usable.
    pub fn shares(&self, n_servers: usize) -> Vec<f64> {
        self.arc_counts(n_servers)
            .into_iter()
            .map(|c| c as f64 / (1u64 << 32) as f64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::servers;

    /// Reference values from HAProxy's `__full_hash` (include/haproxy/intops.h) copied into a C
    /// file outside the repository and compiled with gcc 12 (`gcc -O2`), `printf("%08X")`.
    #[test]
    fn full_hash_matches_haproxy_compiled_with_gcc() {
        let reference = [
            (0x0000_0000, 0xAB4E_D927),
            (0x0000_0001, 0x3486_81B6),
            (0x0000_0002, 0xE267_B84C),
            (0x0000_1000, 0x49C2_008B), // puid 1, point 0
            (0x0000_1001, 0xA497_2C87), // puid 1, point 1
            (0x0000_2000, 0x405A_FE73), // puid 2, point 0
            (0xC0A8_0001, 0xCB63_C81E), // 192.168.0.1
            (0x7F00_0001, 0x8A1B_584B), // 127.0.0.1
            (0x0000_3039, 0xF652_3C53), // 12345
            (0xFFFF_FFFF, 0x7E64_C182),
        ];
        for (input, expected) in reference {
            assert_eq!(
                full_hash(input),
                expected,
                "full_hash({input:#010X}) = {:#010X}, HAProxy {expected:#010X}",
                full_hash(input)
            );
        }
    }

    #[test]
    fn full_hash_is_injective_on_a_sample() {
        // The bijection argument in the doc, checked on the inputs the rings use.
        let mut seen: Vec<u32> = (1..=64u32)
            .flat_map(|p| (0..SRV_EWGHT_RANGE).map(move |i| full_hash(p * SRV_EWGHT_RANGE + i)))
            .collect();
        let n = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), n);
    }

    #[test]
    fn points_per_server_and_positions() {
        let s = servers(&[1, 3, 2]);
        let ring = Ring::new(&s);
        assert_eq!(ring.len(), 16 * 6);
        for (i, v) in s.iter().enumerate() {
            let mine: Vec<u32> = ring
                .points
                .iter()
                .filter(|&&(_, srv)| srv as usize == i)
                .map(|&(p, _)| p)
                .collect();
            assert_eq!(mine.len() as u32, v.weight * BE_WEIGHT_SCALE);
            for k in 0..v.weight * BE_WEIGHT_SCALE {
                assert!(mine.contains(&full_hash((i as u32 + 1) * 4096 + k)));
            }
        }
        assert!(ring.points.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn lookup_takes_the_nearer_neighbour_lower_on_tie() {
        let s = servers(&[1, 1]);
        let h = 0x8000_0000u32;
        let ring_of = |pts: &[(u32, u32)]| {
            let mut points = pts.to_vec();
            points.sort_unstable();
            Ring { points }
        };
        let at = |pts: &[(u32, u32)], h: u32| ring_of(pts).lookup(&s, h);
        assert_eq!(at(&[(h - 10, 0), (h + 10, 1)], h), Some(0), "tie: lower");
        assert_eq!(at(&[(h - 11, 0), (h + 10, 1)], h), Some(1));
        assert_eq!(at(&[(h - 10, 0), (h + 11, 1)], h), Some(0));
        assert_eq!(at(&[(h, 1), (h + 1, 0)], h), Some(1), "exact hit");
        assert_eq!(at(&[(h - 1, 0), (h, 1)], h), Some(1), "exact hit");
        // Wrapping: both points above, the nearer is reached round the top of the ring...
        assert_eq!(at(&[(5, 0), (1000, 1)], u32::MAX - 10), Some(0));
        assert_eq!(at(&[(5, 0), (1000, 1)], 20), Some(0));
        assert_eq!(at(&[(5, 0), (1000, 1)], 503), Some(1));
        assert_eq!(at(&[(5, 0), (1000, 1)], 502), Some(0), "tie 497/498: lower");
        // ...and below zero: `prev` of the first point is the last one.
        assert_eq!(at(&[(10, 0), (u32::MAX - 10, 1)], 0), Some(0));
        assert_eq!(at(&[(11, 0), (u32::MAX - 10, 1)], 0), Some(1));
        assert_eq!(at(&[(10, 0), (u32::MAX - 9, 1)], 0), Some(1), "tie: lower");
        // A single point takes everything.
        assert_eq!(at(&[(7, 1)], 3_000_000_000), Some(1));
    }

    /// `arc_counts`' boundary rule agrees with `lookup` on both sides of every midpoint.
    #[test]
    fn arc_counts_agree_with_lookup_at_every_boundary() {
        let s = servers(&[1, 2, 1]);
        let ring = Ring::new(&s);
        let n = ring.len();
        for k in 0..n {
            let (a, sa) = ring.points[k];
            let (b, sb) = ring.points[(k + 1) % n];
            let g = b.wrapping_sub(a);
            let last_a = a.wrapping_add(g / 2);
            assert_eq!(ring.lookup(&s, a), Some(sa as usize));
            assert_eq!(ring.lookup(&s, last_a), Some(sa as usize));
            assert_eq!(ring.lookup(&s, last_a.wrapping_add(1)), Some(sb as usize));
            assert_eq!(ring.lookup(&s, b), Some(sb as usize));
        }
        assert_eq!(ring.arc_counts(3).iter().sum::<u64>(), 1 << 32);
    }

    /// The exact shares of HAProxy's ring, pinned to counts obtained independently: a C program
    /// (outside the repository, gcc -O2) built the same ring from HAProxy's `full_hash`, sorted
    /// it with qsort and ran the `chash_get_server_hash` neighbour rule on every one of the 2^32
    /// hash values. These are the 43/57 and 29/18/24/28 splits HAProxy 2.6–2.9 and ≥3.3 give
    /// equal-weight servers with `random(1)` (issue 10 §4).
    #[test]
    fn exact_shares_match_brute_force_over_all_hashes() {
        let cases: [(&[u32], &[u64]); 3] = [
            (&[1, 1], &[1_851_933_896, 2_443_033_400]),
            (&[1, 1, 1, 1], &FOUR),
            (&[3, 1, 2], &W312),
        ];
        for (weights, expected) in cases {
            let ring = Ring::new(&servers(weights));
            assert_eq!(ring.arc_counts(weights.len()), expected, "{weights:?}");
        }
        let two = Ring::new(&servers(&[1, 1])).shares(2);
        assert!((two[0] - 0.431).abs() < 5e-4 && (two[1] - 0.569).abs() < 5e-4);
    }

    const FOUR: [u64; 4] = [1_241_549_178, 796_015_071, 1_042_224_403, 1_215_178_644];
    const W312: [u64; 3] = [2_189_730_461, 709_879_774, 1_395_357_061];

    #[test]
    fn only_a_leaving_servers_hashes_move_and_weights_scale_points() {
        let mut s = servers(&[1, 1, 1, 1]);
        let full = Ring::new(&s);
        let before = full.arc_counts(4);
        s[2].usable = false;
        let without = Ring::new(&s);
        let after = without.arc_counts(4);
        assert_eq!(after[2], 0);
        // The other servers only gain, and exactly what server 2 lost.
        for i in [0, 1, 3] {
            assert!(after[i] >= before[i]);
        }
        assert_eq!(after.iter().sum::<u64>(), 1 << 32);
        // Hash by hash on a sample: a hash moves only if it was on server 2.
        let mut h = 0x1234_5678u32;
        for _ in 0..100_000 {
            h = h.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
            let b = full.lookup(&servers(&[1, 1, 1, 1]), h).unwrap();
            let a = without.lookup(&s, h).unwrap();
            assert!(b == 2 || a == b, "hash {h:#x} moved from {b} to {a}");
        }
        // Doubling a weight adds points 16..31 and keeps 0..15.
        let mut s = servers(&[1, 1]);
        let one = Ring::new(&s);
        s[0].weight = 2;
        let two = Ring::new(&s);
        assert_eq!(two.len(), 48);
        assert!(one.points.iter().all(|p| two.points.contains(p)));
        let (w1, w2) = (one.shares(2)[0], two.shares(2)[0]);
        assert!(w2 > w1 && (w2 - 2.0 / 3.0).abs() < 0.15, "{w1} -> {w2}");
    }

    #[test]
    fn stale_ring_never_returns_an_unusable_server() {
        let mut s = servers(&[1, 1, 1]);
        let ring = Ring::new(&s);
        s[1].usable = false; // no rebuild
        let mut h = 99u32;
        for _ in 0..20_000 {
            h = h.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
            assert_ne!(ring.lookup(&s, h), Some(1));
            assert!(ring.lookup(&s, h).is_some());
        }
        for v in &mut s {
            v.usable = false;
        }
        assert_eq!(ring.lookup(&s, 5), None);
        assert_eq!(ring.lookup(&[], 5), None);
        assert!(Ring::new(&s).is_empty());
        assert_eq!(Ring::new(&s).lookup(&s, 5), None);
    }
}
