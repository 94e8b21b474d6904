//! `balance leastconn`: the server with the fewest requests per unit of weight.
//!
//! HAProxy keys each server by `(inflight + 1) · SCALE / eweight` with inflight = served + its
//! own queue, and an idle server (inflight 0) by 0, so idle servers always come first; servers
//! with equal keys are rotated round-robin (domain.md §1.1; HAP-CFG L6380; HAP-SRC src/lb_fwlc.c
//! L209–234 key, L286–297 and L747–830 selection).
//!
//! HAProxy keeps the servers in an ordered tree because a backend may hold thousands of them.
//! Here N is 2 to about 64 and the counters already sit in a contiguous slice, so one linear
//! scan (N multiply-compares, no pointer chasing, nothing to re-position when a counter
//! changes) is cheaper than maintaining a heap or tree on every request start and end.
//!
//! Simplification: HAProxy keeps a server a candidate while served + queued < maxconn +
//! maxqueue, so with `maxqueue` set a request may be queued on a busy server; here a candidate
//! must be not full ([`ServerView::is_full`]) and otherwise the request waits in the backend
//! queue, which any server draining first will serve.

use super::{Pick, Policy, ServerView, no_free_server};
use crate::engine::Rng;

/// Least connections with round-robin among ties.
#[derive(Clone, Debug, Default)]
pub struct LeastConn {
    /// Where the tie-breaking scan starts: one past the last chosen server.
    rotation: usize,
}

impl LeastConn {
    pub fn new() -> Self {
        LeastConn::default()
    }
}

/// `a`'s load is strictly below `b`'s: (inflight+1)/weight compared by cross-multiplication, an
/// idle server counting as 0. Exact in u64: inflight+1 ≤ 2^33 and weight ≤ 256 (config
/// invariant), so each product stays below 2^41.
#[inline]
fn lighter(a: &ServerView, b: &ServerView) -> bool {
    let ia = u64::from(a.served) + u64::from(a.queued);
    let ib = u64::from(b.served) + u64::from(b.queued);
    match (ia, ib) {
        (0, _) => ib != 0,
        (_, 0) => false,
        _ => (ia + 1) * u64::from(b.weight) < (ib + 1) * u64::from(a.weight),
    }
}

impl Policy for LeastConn {
    /// Scans from the rotation point round the slice and keeps the first strictly lighter
    /// candidate, so among equal keys the first at or after the rotation point wins; the
    /// rotation then moves past the winner, like HAProxy putting it at the back of its key.
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, _rng: &mut Rng) -> Pick {
        let n = servers.len();
        if n == 0 {
            return Pick::NoServer;
        }
        let start = if self.rotation < n { self.rotation } else { 0 };
        let mut best: Option<usize> = None;
        for i in (start..n).chain(0..start) {
            let s = &servers[i];
            if !s.is_usable() || s.is_full() {
                continue;
            }
            if best.is_none_or(|b| lighter(s, &servers[b])) {
                best = Some(i);
            }
        }
        match best {
            Some(i) => {
                self.rotation = i + 1;
                Pick::Server(i)
            }
            None => no_free_server(servers),
        }
    }

    /// Nothing precomputed: every pick reads the live counters and flags.
    fn servers_changed(&mut self, _servers: &[ServerView]) {}
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
        let mut p = LeastConn::new();
        let mut r = rng("lc");
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(1));
        s[1].served = 5; // key 6/3 = 2/1: tie with server 0
        s[1].queued = 1; // the queue counts: key 7/3 > 2
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(0));
        // An idle server beats any busy one, whatever the weights.
        let mut s = servers(&[1, 256]);
        s[1].served = 1;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(0));
    }

    #[test]
    fn ties_rotate() {
        let s = servers(&[1, 1]);
        let mut p = LeastConn::new();
        let mut r = rng("lc");
        let seq: Vec<Pick> = (0..6).map(|_| p.pick(&s, 0, &mut r)).collect();
        for (k, pick) in seq.iter().enumerate() {
            assert_eq!(*pick, Pick::Server(k % 2));
        }
        // Only the tied servers rotate; the heavier one is never chosen.
        let mut s = servers(&[1, 1, 1]);
        s[0].served = 1;
        let seq: Vec<Pick> = (0..6).map(|_| p.pick(&s, 0, &mut r)).collect();
        assert!(seq.iter().all(|&x| x != Pick::Server(0)));
        assert!(seq.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn simulated_arrivals_balance_by_weight() {
        // Requests that never finish: leastconn must fill servers in proportion to weight.
        let mut s = servers(&[1, 2, 1]);
        let mut p = LeastConn::new();
        let mut r = rng("lc");
        for _ in 0..400 {
            if let Pick::Server(i) = p.pick(&s, 0, &mut r) {
                s[i].served += 1;
            }
        }
        assert_eq!([s[0].served, s[1].served, s[2].served], [100, 200, 100]);
    }

    #[test]
    fn full_unusable_and_none() {
        let mut s = servers(&[1, 1]);
        let mut p = LeastConn::new();
        let mut r = rng("lc");
        s[0].usable = false; // no servers_changed: still never returned
        s[1].served = 9;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(1));
        s[1].maxconn = 9;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::BackendQueue);
        s[1].usable = false;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::NoServer);
    }
}
