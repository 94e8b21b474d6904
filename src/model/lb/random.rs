//! `balance random(N)`: the best of N weighted random draws ("power of N choices").
//!
//! HAProxy draws N servers and keeps the one with the lowest `served / eweight`, compared as
//! `served_a · w_b` against `served_b · w_a` with **served only** (queues are not counted); if
//! the winner is full, the request goes to the backend queue rather than to another server
//! (domain.md §1.1; HAP-CFG L6517–6551; HAP-SRC src/backend.c L572–615 `get_server_rnd`).
//! N = 1 is plain weighted random; N = 2 is HAProxy's default since 3.3.
//!
//! Simplifications:
//! - HAProxy draws by hashing a random 32-bit number on the consistent-hash ring, so its draws
//!   are weight-proportional only up to the ring's unevenness. Here a draw is exactly
//!   weight-proportional: `rng.below(Σw)` located in a cumulative-weight array.
//! - On equal load HAProxy prefers the server with the lower request rate over the last second
//!   (per weight), which we do not track; we keep the earlier draw. Older HAProxy kept the later
//!   one. Since the draws are independent and identically distributed, which of two equally
//!   loaded draws wins does not change any distribution.
//! - A draw landing on a server already drawn is simply compared with itself (as in HAProxy,
//!   which does not redraw).

use super::{Pick, Policy, ServerView, stale_fallback};
use crate::engine::Rng;

/// Weighted random with `draws` choices. Build with [`Random::new`].
#[derive(Clone, Debug)]
pub struct Random {
    /// N, at least 1.
    draws: u32,
    /// (running total of weights up to and including this server, server index) over the
    /// usable servers in declaration order; the last total is Σw.
    cumulative: Vec<(u64, u32)>,
}

impl Random {
    /// `draws` below 1 is taken as 1 (the scenario validation already forbids it).
    pub fn new(draws: u32, servers: &[ServerView]) -> Self {
        let mut r = Random {
            draws: draws.max(1),
            cumulative: Vec::new(),
        };
        r.servers_changed(servers);
        r
    }

    pub fn draws(&self) -> u32 {
        self.draws
    }

    /// One weight-proportional draw: the first server whose running total exceeds a uniform
    /// integer in [0, Σw). `total` must be the last running total, > 0.
    #[inline]
    fn draw(&self, total: u64, rng: &mut Rng) -> usize {
        let r = rng.below(total);
        let k = self.cumulative.partition_point(|&(c, _)| c <= r);
        self.cumulative[k].1 as usize
    }
}

/// `a` is strictly less loaded than `b`: served/weight by cross-multiplication, exact in u64
/// (served < 2^32, weight ≤ 256).
#[inline]
fn less_loaded(a: &ServerView, b: &ServerView) -> bool {
    u64::from(a.served) * u64::from(b.weight) < u64::from(b.served) * u64::from(a.weight)
}

impl Policy for Random {
    /// Consumes exactly `draws` numbers from `rng` whatever the outcome (none only when nothing
    /// was usable at the last rebuild), so the stream's use is predictable from the sequence of
    /// picks alone.
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, rng: &mut Rng) -> Pick {
        let total = self.cumulative.last().map_or(0, |&(c, _)| c);
        if total == 0 {
            return stale_fallback(servers);
        }
        let mut best: Option<usize> = None;
        for _ in 0..self.draws {
            let i = self.draw(total, rng);
            // A server that became unusable without a rebuild: the draw is wasted.
            let Some(s) = servers.get(i).filter(|s| s.is_usable()) else {
                continue;
            };
            if best.is_none_or(|b| less_loaded(s, &servers[b])) {
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

    /// Rebuilds the cumulative weights over the usable servers.
    fn servers_changed(&mut self, servers: &[ServerView]) {
        self.cumulative.clear();
        let mut total = 0u64;
        for (i, s) in servers.iter().enumerate() {
            if s.is_usable() {
                total += u64::from(s.weight);
                self.cumulative.push((total, i as u32));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::{rng, servers};

    fn share_of_server_0(p: &mut Random, s: &[ServerView], n: usize) -> f64 {
        let mut r = rng("random");
        let mut hits = 0usize;
        for _ in 0..n {
            if p.pick(s, 0, &mut r) == Pick::Server(0) {
                hits += 1;
            }
        }
        hits as f64 / n as f64
    }

    /// |share − p| within 5 binomial standard errors sqrt(p(1−p)/n).
    fn assert_binomial(share: f64, p: f64, n: usize) {
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!(
            (share - p).abs() < 5.0 * se,
            "share {share} vs {p} (se {se})"
        );
    }

    #[test]
    fn random_1_is_weight_proportional() {
        let s = servers(&[3, 1]);
        let mut p = Random::new(1, &s);
        let n = 40_000;
        assert_binomial(share_of_server_0(&mut p, &s, n), 0.75, n);
        let s = servers(&[1, 2, 5]);
        let mut p = Random::new(1, &s);
        assert_binomial(share_of_server_0(&mut p, &s, n), 1.0 / 8.0, n);
    }

    #[test]
    fn random_2_prefers_the_less_loaded() {
        // Equal weights, server 0 busier: it wins only when both draws hit it, p = 1/4.
        let mut s = servers(&[1, 1]);
        s[0].served = 5;
        let mut p = Random::new(2, &s);
        let n = 40_000;
        assert_binomial(share_of_server_0(&mut p, &s, n), 0.25, n);

        // Pick by pick against a replay of the same draws, including the tie rule.
        let mut r = rng("random2");
        for served in [[5, 0], [0, 5], [3, 3]] {
            s[0].served = served[0];
            s[1].served = served[1];
            for _ in 0..200 {
                let mut replay = r.clone();
                let (a, b) = (replay.below(2) as usize, replay.below(2) as usize);
                let expected = if less_loaded(&s[b], &s[a]) { b } else { a };
                assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(expected));
            }
        }
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
        s[2].usable = false; // stale cumulative array
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
