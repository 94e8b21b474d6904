//! `balance static-rr`: weighted round-robin over a precomputed map.
//!
//! HAProxy builds an array ("map") of length Σweights over the usable servers, each slot given
//! to the server with the largest accumulated weight credit, and walks it with a cursor
//! (domain.md §1.1; HAP-CFG L6371; HAP-SRC src/lb_map.c L28 `recalc_server_map`, L212
//! `map_get_server_rr`). Weights are read only when the map is rebuilt (server up/down), which
//! is what makes it "static": slow start and runtime weight changes are ignored. The same map
//! serves map-based hashing ([`super::Source`]), so its builder lives here.

use super::{Pick, Policy, ServerView, stale_fallback};
use crate::engine::Rng;

/// Map-walking round-robin. Build with [`StaticRr::new`].
#[derive(Clone, Debug, Default)]
pub struct StaticRr {
    /// Server index per slot; length Σ weights of the usable servers.
    map: Vec<u32>,
    /// Next slot to try.
    cursor: usize,
}

impl StaticRr {
    pub fn new(servers: &[ServerView]) -> Self {
        let mut rr = StaticRr::default();
        rr.servers_changed(servers);
        rr
    }
}

/// Fills `map` with the smooth interleaving of the usable servers: for each of the Σw slots
/// every usable server gains its weight as credit, the one with the largest credit takes the
/// slot (first in declaration order on a tie) and pays Σw back. Each server gets exactly `w`
/// slots and a heavy server's slots are spread out.
///
/// Simplification: HAProxy's `recalc_server_map` compares the credit quantised as
/// `(wscore + tot) / tot`, which ties more often and so bunches a little more (weights 3:1 give
/// `0 0 0 1` there and `0 0 1 0` here); it also divides all weights by their GCD at config time
/// (`init_server_map`), so its map is shorter when the GCD exceeds 1. Proportions are identical;
/// only the order within the map and, for `source`, which key lands where differ.
///
/// O(Σw · N) per rebuild, and rebuilds happen only on up/down events.
pub(super) fn build_map(servers: &[ServerView], map: &mut Vec<u32>) {
    map.clear();
    let total: i64 = servers
        .iter()
        .filter(|s| s.is_usable())
        .map(|s| i64::from(s.weight))
        .sum();
    let mut credit = vec![0i64; servers.len()];
    for _ in 0..total {
        let mut best = 0usize;
        let mut best_credit = i64::MIN;
        for (i, s) in servers.iter().enumerate() {
            if !s.is_usable() {
                continue;
            }
            credit[i] += i64::from(s.weight);
            if credit[i] > best_credit {
                best_credit = credit[i];
                best = i;
            }
        }
        credit[best] -= total;
        map.push(best as u32);
    }
}

impl Policy for StaticRr {
    /// Walks at most one full turn of the map from the cursor, skipping full servers (and any
    /// server that became unusable without a rebuild); the cursor ends just after the chosen
    /// slot, as `map_get_server_rr` leaves `rr_idx`. All full → backend queue.
    fn pick(&mut self, servers: &[ServerView], _client_ip: u32, _rng: &mut Rng) -> Pick {
        let len = self.map.len();
        for _ in 0..len {
            let slot = self.cursor;
            self.cursor = if slot + 1 == len { 0 } else { slot + 1 };
            let i = self.map[slot] as usize;
            if let Some(s) = servers.get(i)
                && s.is_usable()
                && !s.is_full()
            {
                return Pick::Server(i);
            }
        }
        // Either every mapped server is full (the normal case: backend queue) or the map is
        // stale; `stale_fallback` answers both without ever returning an unusable server.
        stale_fallback(servers)
    }

    /// Rebuilds the map; the cursor is kept (HAProxy keeps `rr_idx`) and wrapped to the start
    /// if the map shrank under it.
    fn servers_changed(&mut self, servers: &[ServerView]) {
        build_map(servers, &mut self.map);
        if self.cursor >= self.map.len() {
            self.cursor = 0;
        }
    }

    fn fifo_fair(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::{rng, servers};

    fn picks(p: &mut StaticRr, s: &[ServerView], n: usize) -> Vec<usize> {
        let mut r = rng("static-rr");
        (0..n)
            .map(|_| match p.pick(s, 0, &mut r) {
                Pick::Server(i) => i,
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn map_is_smooth_interleaving() {
        let mut map = Vec::new();
        build_map(&servers(&[3, 1]), &mut map);
        assert_eq!(map, vec![0, 0, 1, 0]);
        build_map(&servers(&[2, 1]), &mut map);
        assert_eq!(map, vec![0, 1, 0]);
        build_map(&servers(&[1, 1, 1]), &mut map);
        assert_eq!(map, vec![0, 1, 2]);
        let mut s = servers(&[1, 1]);
        s[0].usable = false;
        s[1].usable = false;
        build_map(&s, &mut map);
        assert!(map.is_empty());
    }

    #[test]
    fn weights_3_to_1_exact_and_smooth() {
        let s = servers(&[3, 1]);
        let mut p = StaticRr::new(&s);
        let seq = picks(&mut p, &s, 4000);
        assert_eq!(seq.iter().filter(|&&i| i == 0).count(), 3000);
        let mut run = 0;
        for &i in &seq {
            run = if i == 0 { run + 1 } else { 0 };
            assert!(run <= 3, "heavy server bunched");
        }
    }

    #[test]
    fn equal_weights_alternate_strictly() {
        let s = servers(&[1, 1]);
        let mut p = StaticRr::new(&s);
        let seq = picks(&mut p, &s, 20);
        for (k, &i) in seq.iter().enumerate() {
            assert_eq!(i, k % 2);
        }
    }

    #[test]
    fn skips_full_then_backend_queue_then_no_server() {
        let mut s = servers(&[3, 1]);
        let mut p = StaticRr::new(&s);
        let mut r = rng("static-rr");
        s[0].maxconn = 4;
        s[0].served = 4;
        for _ in 0..5 {
            assert_eq!(p.pick(&s, 0, &mut r), Pick::Server(1));
        }
        s[1].maxconn = 1;
        s[1].served = 1;
        assert_eq!(p.pick(&s, 0, &mut r), Pick::BackendQueue);
        for v in &mut s {
            v.usable = false;
        }
        p.servers_changed(&s);
        assert_eq!(p.pick(&s, 0, &mut r), Pick::NoServer);
    }

    #[test]
    fn rebuild_and_stale_map_never_return_unusable() {
        let mut s = servers(&[3, 1]);
        let mut p = StaticRr::new(&s);
        s[0].usable = false; // stale map: server 0 still owns 3 slots
        assert!(picks(&mut p, &s, 10).iter().all(|&i| i == 1));
        p.servers_changed(&s);
        assert_eq!(p.map, vec![1]);
        // Server 0 returns without a rebuild: the stale map only knows server 1, still fine.
        s[0].usable = true;
        s[1].usable = false;
        assert!(picks(&mut p, &s, 3).iter().all(|&i| i == 0));
    }
}
