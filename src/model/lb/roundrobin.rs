//! `balance roundrobin`: dynamic weighted round-robin, interleaved ("smooth").
//!
//! HAProxy implements it with its "fast weighted round-robin" trees, where a server's next
//! position advances by `total_weight / eweight` after each pick (domain.md §1.1; HAP-CFG L6357,
//! HAP-SRC src/lb_fwrr.c L534–680). domain.md allows any smooth weighted round-robin with the same
//! proportions, so this file uses nginx's smooth WRR (NGX-SRC
//! src/http/ngx_http_upstream_round_robin.c, `ngx_http_upstream_get_peer`), which is a few lines
//! with no tree: every eligible server gains its weight, the richest is chosen and pays the
//! total back. Over any window of Σw picks each server is chosen exactly `w` times and a heavy
//! server is spread out rather than bunched. The exact interleaving order differs from fwrr's;
//! the proportions and the strict alternation for equal weights are the same.

use super::{Pick, Policy, ServerView, no_free_server};
use crate::engine::Rng;

/// Smooth weighted round-robin. Build with [`RoundRobin::new`].
#[derive(Clone, Debug, Default)]
pub struct RoundRobin {
    /// nginx's `current_weight` per server, indexed like the server slice.
    current: Vec<i64>,
}

impl RoundRobin {
    pub fn new(servers: &[ServerView]) -> Self {
        let mut rr = RoundRobin::default();
        rr.servers_changed(servers);
        rr
    }

    /// Only reached when the server count changed without `servers_changed`, which the backend
    /// never does (the set of servers is fixed for a run); kept out of line so that `pick`'s
    /// normal path has no allocation.
    #[cold]
    fn resize(&mut self, n: usize) {
        self.current.clear();
        self.current.resize(n, 0);
    }
}

impl Policy for RoundRobin {
    /// Eligible = usable and not full: HAProxy skips a full server and tries the next one
    /// (lb_fwrr.c `fwrr_get_next_server`); a full server does not gain credit meanwhile, so it
    /// does not come back with a burst. All usable servers full → backend queue.
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, _rng: &mut Rng) -> Pick {
        if self.current.len() != servers.len() {
            self.resize(servers.len());
        }
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
            // Strict `>`: the first server in declaration order wins a tie, as in nginx.
            if *cur > best_current {
                best_current = *cur;
                best = Some(i);
            }
        }
        match best {
            Some(i) => {
                self.current[i] -= total;
                Pick::Server(i)
            }
            None => no_free_server(servers),
        }
    }

    /// Restarts the interleaving from zero credit, as HAProxy's static-rr does when it rebuilds
    /// its map. Credits are bounded by the total weight, so without the reset a returning
    /// server would start from a stale credit; with it, the new round is clean. Called only on
    /// up/down and weight changes, so the reset never disturbs steady-state proportions.
    fn servers_changed(&mut self, servers: &[ServerView]) {
        self.resize(servers.len());
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
}
