//! `balance random(N)`: the best of N random draws on HAProxy's consistent-hash ring ("power of
//! N choices").
//!
//! HAProxy draws N servers and keeps the one with the lowest `served / eweight`, compared as
//! `served_a · w_b` against `served_b · w_a` with **served only** (queues are not counted); if
//! the winner is full, the request goes to the backend queue rather than to another server
//! (domain.md §1.1; HAP-CFG L6517–6551; HAP-SRC src/backend.c L572–618 `get_server_rnd`).
//! N = 1 is plain random; N = 2 is HAProxy's default since 3.3.
//!
//! A draw is a uniform 32-bit number (HAProxy: `statistical_prng()`, a per-thread xorshift32,
//! include/haproxy/tools.h L1319–1327) looked up directly, without further hashing, on the
//! consistent-hash ring (`chash_get_server_hash`, src/backend.c L586–587; the ring is
//! [`super::chash`]: `weight × 16` points per server at `full_hash(puid × 4096 + i)`). So a draw
//! is **not** exactly weight-proportional: a server's chance is the share of the 2^32 hash values
//! that land nearest to one of its points. With equal weights that is about 43/57 for 2 servers
//! and 29/18/24/28 for 4 (declaration order), as in HAProxy 2.6–2.9 and ≥ 3.3.0; HAProxy
//! 3.0–3.2 builds without the October 2025 fix place the points differently (see
//! [`super::chash`]).
//!
//! Tie rule: on equal `served / eweight` we keep the earlier draw. HAProxy 2.6–3.3.0 keep the
//! later one (`if (wcurr > wprev) curr = prev;`, v2.6.0 src/backend.c L583–585); since 3.4-dev4
//! (commit b6bdb2553, the pinned source L600–606) HAProxy compares the servers' request rates
//! over the last second (per weight), which we do not track. The draws are independent and
//! identically distributed, so "earlier" and "later" give the same distribution of picks (by
//! exchangeability); the rate comparison is a real difference that we leave out: it spreads
//! ties among idle servers more evenly than chance.
//!
//! A draw landing on a server already drawn is simply compared with itself (as in HAProxy,
//! which does not redraw). HAProxy's redispatch passes the previous server as one to avoid;
//! [`Policy::pick`] has no such argument, so that walk is not modelled here.

use super::chash::Ring;
use super::{Pick, Policy, ServerView, stale_fallback};
use crate::engine::Rng;

/// Random with `draws` choices on the ring. Build with [`Random::new`].
#[derive(Clone, Debug)]
pub struct Random {
    /// N, at least 1.
    draws: u32,
    /// HAProxy's consistent-hash ring over the usable servers.
    ring: Ring,
}

impl Random {
    /// `draws` below 1 is taken as 1 (the scenario validation already forbids it).
    pub fn new(draws: u32, servers: &[ServerView]) -> Self {
        Random {
            draws: draws.max(1),
            ring: Ring::new(servers),
        }
    }

    pub fn draws(&self) -> u32 {
        self.draws
    }
}

/// One draw's random number: the high 32 bits of one `next_u64` (the better bits of
/// xoshiro256++), standing for HAProxy's 32-bit `statistical_prng()`.
#[inline]
fn draw_hash(rng: &mut Rng) -> u32 {
    (rng.next_u64() >> 32) as u32
}

/// `a` is strictly less loaded than `b`: served/weight by cross-multiplication, exact in u64
/// (served < 2^32, weight ≤ 256).
#[inline]
fn less_loaded(a: &ServerView, b: &ServerView) -> bool {
    u64::from(a.served) * u64::from(b.weight) < u64::from(b.served) * u64::from(a.weight)
}

impl Policy for Random {
    /// Consumes exactly `draws` numbers from `rng` (one `next_u64` per draw) whatever the
    /// outcome, none only when the ring was empty at the last rebuild (nothing usable), so the
    /// stream's use is predictable from the sequence of picks alone.
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, rng: &mut Rng) -> Pick {
        if self.ring.is_empty() {
            return stale_fallback(servers);
        }
        let mut best: Option<usize> = None;
        for _ in 0..self.draws {
            // `lookup` never returns an unusable server (it walks past one left on a stale
            // ring), and None only when the stale ring holds no usable server at all.
            let Some(i) = self.ring.lookup(servers, draw_hash(rng)) else {
                continue;
            };
            if best.is_none_or(|b| less_loaded(&servers[i], &servers[b])) {
                best = Some(i);
            }
        }
        match best {
            // HAProxy: "if the selected server is full, pretend we have none so that we reach
            // the backend's queue instead".
            Some(i) if servers[i].is_full() => Pick::BackendQueue,
            Some(i) => Pick::Server(i),
            None => stale_fallback(servers),
        }
    }

    /// Rebuilds the ring over the usable servers (`chash_set_server_status_up/down`,
    /// `chash_update_server_weight`, src/lb_chash.c L218–376, edit HAProxy's tree in place to
    /// the same set of points).
    fn servers_changed(&mut self, servers: &[ServerView]) {
        self.ring.rebuild(servers);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::{rng, servers};

    /// Pick counts per server over `n` picks on one stream.
    fn counts(p: &mut Random, s: &[ServerView], n: usize, stream: &str) -> Vec<usize> {
        let mut r = rng(stream);
        let mut c = vec![0usize; s.len()];
        for _ in 0..n {
            match p.pick(s, 0, &mut r) {
                Pick::Server(i) => c[i] += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
        c
    }

    /// |share − p| within 5 binomial standard errors sqrt(p(1−p)/n).
    fn assert_binomial(share: f64, p: f64, n: usize) {
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (share - p).abs() < 5.0 * se,
            "share {share} vs {p} (se {se})"
        );
    }

    /// random(1) picks each server with its exact arc share of HAProxy's ring, not its weight
    /// share: 10^6 picks per configuration, each server within 5 binomial standard errors
    /// (±0.0025 at p ≈ 0.43) of the exact share. The equal-weight cases are far from 1/n
    /// (0.431 vs 0.5 is 28 standard errors), so an exactly weight-proportional draw fails here.
    #[test]
    fn random_1_shares_are_the_ring_arcs() {
        let n = 1_000_000;
        for (weights, about) in [
            (&[1u32, 1][..], &[0.431, 0.569][..]),
            (&[1, 1, 1, 1], &[0.289, 0.185, 0.243, 0.283]),
        ] {
            let s = servers(weights);
            let mut p = Random::new(1, &s);
            let exact = Ring::new(&s).shares(s.len());
            let c = counts(&mut p, &s, n, "random1");
            for (i, &k) in c.iter().enumerate() {
                assert_binomial(k as f64 / n as f64, exact[i], n);
            }
            // The figures quoted in issue 10 and docs/model.md.
            for (e, a) in exact.iter().zip(about) {
                assert!((e - a).abs() < 5e-4, "{weights:?}: {exact:?}");
            }
        }
    }

    #[test]
    fn random_2_prefers_the_less_loaded() {
        // Server 0 busier: it wins only when both draws hit it, p = a0² with a0 its arc share.
        let mut s = servers(&[1, 1]);
        s[0].served = 5;
        let mut p = Random::new(2, &s);
        let a0 = Ring::new(&s).shares(2)[0];
        let n = 200_000;
        let c = counts(&mut p, &s, n, "random");
        assert_binomial(c[0] as f64 / n as f64, a0 * a0, n);

        // Pick by pick against a replay of the same draws on the ring, including the tie rule
        // (the earlier draw wins an equal load).
        let ring = Ring::new(&s);
        let mut r = rng("random2");
        for served in [[5, 0], [0, 5], [3, 3]] {
            s[0].served = served[0];
            s[1].served = served[1];
            for _ in 0..200 {
                let mut replay = r.clone();
                let mut draw = || ring.lookup(&s, (replay.next_u64() >> 32) as u32).unwrap();
                let (a, b) = (draw(), draw());
                let expected = if less_loaded(&s[b], &s[a]) { b } else { a };
                assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(expected));
            }
        }
    }

    #[test]
    fn each_pick_uses_exactly_one_number_per_draw() {
        let mut s = servers(&[1, 2, 1]);
        s[1].maxconn = 1;
        s[1].served = 1; // full: some picks end in the backend queue
        for draws in [1, 2, 3] {
            let mut p = Random::new(draws, &s);
            let mut r = rng("consumption");
            for _ in 0..100 {
                let mut replay = r.clone();
                for _ in 0..draws {
                    replay.next_u64();
                }
                p.pick(&s, 0, &mut r);
                assert_eq!(r.next_u64(), replay.next_u64());
            }
        }
    }

    #[test]
    fn weights_scale_the_ring() {
        // Weight 3 against 1: 48 points against 16, a share near 3/4 (the ring's own lumpiness
        // aside) and exactly the arc share by sampling.
        let s = servers(&[3, 1]);
        let exact = Ring::new(&s).shares(2);
        assert!((exact[0] - 0.75).abs() < 0.1, "{exact:?}");
        let mut p = Random::new(1, &s);
        let n = 200_000;
        let c = counts(&mut p, &s, n, "weights");
        assert_binomial(c[0] as f64 / n as f64, exact[0], n);
    }

    #[test]
    fn load_is_served_per_weight_and_ignores_queues() {
        let mut s = servers(&[2, 1]);
        s[0].served = 4; // 4/2 = 2
        s[1].served = 3; // 3/1 = 3
        s[0].queued = 100; // not counted (no maxconn, so not full either)
        assert!(less_loaded(&s[0], &s[1]));
        assert!(!less_loaded(&s[1], &s[0]));
        s[0].served = 6; // 6/2 = 3: equal, neither is strictly less loaded
        assert!(!less_loaded(&s[0], &s[1]) && !less_loaded(&s[1], &s[0]));
    }

    #[test]
    fn full_winner_goes_to_backend_queue() {
        let mut s = servers(&[1, 1]);
        s[0].maxconn = 1;
        s[0].served = 1;
        let mut p = Random::new(1, &s);
        let mut r = rng("random");
        let picks: Vec<Pick> = (0..100).map(|_| p.pick(&s, 0, &mut r)).collect();
        // Random does not skip a full server: a draw on it means the backend queue.
        assert!(picks.contains(&Pick::BackendQueue));
        assert!(picks.contains(&Pick::Server(1)));
        assert!(!picks.contains(&Pick::Server(0)));
    }

    #[test]
    fn unusable_servers() {
        let mut s = servers(&[1, 1, 1]);
        let mut p = Random::new(2, &s);
        let mut r = rng("random");
        s[2].usable = false; // stale ring
        for _ in 0..500 {
            assert_ne!(p.pick(&s, 0, &mut r), Pick::Server(2));
        }
        for v in &mut s {
            v.usable = false;
        }
        assert_eq!(p.pick(&s, 0, &mut r), Pick::NoServer);
        p.servers_changed(&s);
        assert_eq!(p.pick(&s, 0, &mut r), Pick::NoServer);
    }
}
