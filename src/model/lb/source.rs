//! `balance source`: the client's IPv4 address picks the server, so a client sticks to one.
//!
//! The key is the address itself as a 32-bit integer in host order (`ntohl` of the four bytes),
//! no string hash (domain.md §1.1; HAP-CFG L6424; HAP-SRC src/backend.c L181–209
//! `get_server_sh`). Two lookups, as `hash-type` selects (HAP-CFG L8157–8250):
//! - map-based: `map[key mod Σw]` over the static-rr map of the usable servers (src/lb_map.c
//!   L262). Cheap and exactly proportional, but when a server goes up or down most keys move.
//! - consistent: the key goes through `full_hash` and is looked up on HAProxy's consistent-hash
//!   ring ([`super::chash`]: `weight × 16` points per server at `full_hash(puid × 4096 + i)`,
//!   nearest point wins). The avalanche is applied because `hash-type consistent` without a
//!   function name sets the avalanche modifier (src/cfgparse-listen.c L2726–2732) and
//!   `get_server_sh` applies `full_hash` when it is set (src/backend.c L202–203; `balance source`
//!   ignores the hash function itself). Only the keys of a server that leaves move; the shares
//!   are lumpy because the points are pseudo-random (about 43/57 for two equal servers over
//!   uniformly spread clients). Individual clients land on the same server as in HAProxy
//!   2.6–2.9 and ≥ 3.3.0 with the default `hash-key id` (3.0–3.2 builds without the October 2025
//!   fix place the points differently, see [`super::chash`]).
//!
//! With a single usable server HAProxy does not hash (`tot_used == 1`, src/backend.c L190–192);
//! every key then reaches that server, here without a lookup.
//!
//! The selected server is used even when full: the request then waits in that server's own
//! queue ([`Pick::ServerQueue`]), as HAProxy does without `hash-preserve-affinity` (its default,
//! `always`). Whether that queue has room (`maxqueue`) is the backend's business.
//! `hash-balance-factor` is not modelled.

use super::chash::{Ring, full_hash};
use super::static_rr::build_map;
use super::{Pick, Policy, ServerView};
use crate::engine::Rng;

/// Source-address hashing. Build with [`Source::new`].
#[derive(Clone, Debug, Default)]
pub struct Source {
    /// `hash-type consistent` instead of map-based.
    consistent: bool,
    /// Map-based: server per slot, length Σ weights of the usable servers.
    map: Vec<u32>,
    /// Consistent: HAProxy's ring over the usable servers.
    ring: Ring,
    /// The only usable server when there is exactly one: used without hashing, as HAProxy does.
    single: Option<usize>,
}

impl Source {
    pub fn new(consistent: bool, servers: &[ServerView]) -> Self {
        let mut s = Source {
            consistent,
            ..Source::default()
        };
        s.servers_changed(servers);
        s
    }

    pub fn consistent(&self) -> bool {
        self.consistent
    }

    /// The server for `key` from the map or ring, or None when the structure is empty.
    /// Skips forward past servers that became unusable without a rebuild: a deterministic
    /// choice for the key that never returns an unusable server (unreached under the contract).
    fn lookup(&self, servers: &[ServerView], key: u32) -> Option<usize> {
        let ok = |i: u32| servers.get(i as usize).is_some_and(ServerView::is_usable);
        if self.consistent {
            self.ring.lookup(servers, full_hash(key))
        } else {
            if self.map.is_empty() {
                return None;
            }
            let n = self.map.len();
            let start = key as usize % n;
            (0..n)
                .map(|k| self.map[(start + k) % n])
                .find(|&i| ok(i))
                .map(|i| i as usize)
        }
    }
}

/// The request is bound to `i`: sent now, or queued on it when it is full.
#[inline]
fn bind(servers: &[ServerView], i: usize) -> Pick {
    if servers[i].is_full() {
        Pick::ServerQueue(i)
    } else {
        Pick::Server(i)
    }
}

impl Policy for Source {
    fn pick(&mut self, servers: &[ServerView], client_ip: u32, _rng: &mut Rng) -> Pick {
        if let Some(i) = self.single
            && servers.get(i).is_some_and(ServerView::is_usable)
        {
            return bind(servers, i);
        }
        if let Some(i) = self.lookup(servers, client_ip) {
            return bind(servers, i);
        }
        // Stale or empty structure: bind to the lowest usable server, else 503.
        match servers.iter().position(ServerView::is_usable) {
            Some(i) => bind(servers, i),
            None => Pick::NoServer,
        }
    }

    /// Rebuilds the map or the ring over the usable servers. The ring is rebuilt whole rather
    /// than edited point by point as HAProxy does; the result is the same set of points.
    fn servers_changed(&mut self, servers: &[ServerView]) {
        let mut usable = servers.iter().enumerate().filter(|(_, s)| s.is_usable());
        self.single = match (usable.next(), usable.next()) {
            (Some((i, _)), None) => Some(i),
            _ => None,
        };
        if self.consistent {
            self.ring.rebuild(servers);
        } else {
            build_map(servers, &mut self.map);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::lb::testutil::{rng, servers};

    fn server_of(p: &mut Source, s: &[ServerView], ip: u32) -> usize {
        let mut r = rng("source");
        match p.pick(s, ip, &mut r) {
            Pick::Server(i) | Pick::ServerQueue(i) => i,
            other => panic!("unexpected {other:?}"),
        }
    }

    fn random_ips(n: usize) -> Vec<u32> {
        let mut r = rng("ips");
        (0..n).map(|_| r.next_u64() as u32).collect()
    }

    /// Individual clients land where HAProxy sends them. Reference: a C program outside the
    /// repository (gcc -O2) with HAProxy's `full_hash`, the ring built from it and sorted with
    /// qsort, and the neighbour rule of `chash_get_server_hash` by linear scan, for the keys
    /// `full_hash(ip)` of 10.0.0.1 to 10.0.0.12, 192.168.0.1 and 127.0.0.1.
    #[test]
    fn consistent_matches_haproxy_client_by_client() {
        let mut ips: Vec<u32> = (1..=12).map(|d| 0x0A00_0000 | d).collect();
        ips.extend([0xC0A8_0001, 0x7F00_0001]);
        let cases: [(&[u32], [usize; 14]); 3] = [
            (&[1, 1], [0, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 0, 1]),
            (&[1, 1, 1], [0, 0, 0, 0, 1, 0, 1, 0, 2, 0, 1, 0, 0, 1]),
            (&[1, 2, 3], [2, 0, 0, 0, 2, 0, 1, 2, 2, 0, 1, 0, 1, 2]),
        ];
        for (weights, expected) in cases {
            let s = servers(weights);
            let mut p = Source::new(true, &s);
            let got: Vec<usize> = ips.iter().map(|&ip| server_of(&mut p, &s, ip)).collect();
            assert_eq!(got, expected, "{weights:?}");
        }
    }

    #[test]
    fn same_ip_same_server() {
        let s = servers(&[1, 2, 3]);
        for consistent in [false, true] {
            let mut p = Source::new(consistent, &s);
            for ip in random_ips(500) {
                let a = server_of(&mut p, &s, ip);
                let b = server_of(&mut p, &s, ip);
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn map_based_is_key_mod_total_weight() {
        let s = servers(&[2, 1]);
        let mut p = Source::new(false, &s);
        let map = [0, 1, 0]; // the smooth interleaving of weights 2:1
        for ip in (0..300u32).chain([u32::MAX, 0xC0A8_0001]) {
            assert_eq!(server_of(&mut p, &s, ip), map[ip as usize % 3]);
        }
    }

    #[test]
    fn consistent_moves_only_the_leaving_servers_keys() {
        let mut s = servers(&[1, 2, 1]);
        let mut p = Source::new(true, &s);
        let ips = random_ips(10_000);
        let before: Vec<usize> = ips.iter().map(|&ip| server_of(&mut p, &s, ip)).collect();
        s[1].usable = false;
        p.servers_changed(&s);
        let after: Vec<usize> = ips.iter().map(|&ip| server_of(&mut p, &s, ip)).collect();
        let mut moved = 0;
        for (&b, &a) in before.iter().zip(&after) {
            assert_ne!(a, 1);
            if b == 1 {
                moved += 1;
            } else {
                assert_eq!(a, b, "a key of a staying server moved");
            }
        }
        assert!(moved > 0);
        // The server's return gives back exactly its old keys.
        s[1].usable = true;
        p.servers_changed(&s);
        let back: Vec<usize> = ips.iter().map(|&ip| server_of(&mut p, &s, ip)).collect();
        assert_eq!(back, before);
    }

    #[test]
    fn map_based_moves_most_keys() {
        // The documented contrast: map-based reshuffles when the set changes.
        let mut s = servers(&[1, 1, 1]);
        let mut p = Source::new(false, &s);
        let ips = random_ips(3000);
        let before: Vec<usize> = ips.iter().map(|&ip| server_of(&mut p, &s, ip)).collect();
        s[1].usable = false;
        p.servers_changed(&s);
        let stayed_moved = ips
            .iter()
            .zip(&before)
            .filter(|&(&ip, &b)| b != 1 && server_of(&mut p, &s, ip) != b)
            .count();
        assert!(stayed_moved > 500);
    }

    /// Over many clients each server gets its exact arc share of the ring (client hashes are
    /// `full_hash` of distinct addresses, so they spread uniformly): 10^5 random addresses, each
    /// share within 5 binomial standard errors of the exact share. And the ring follows the
    /// weights: a server owning k of M = 16·Σw pseudo-uniform points owns an arc share of about
    /// Beta(k, M−k), standard deviation sqrt(p(1−p)/(M+1)) with p = k/M; the exact shares of
    /// this ring (weights 40:20:20, M = 1280) are within 5 such deviations of the weight shares,
    /// a bound (±0.07, ±0.06) that an implementation ignoring weights (1/3 each) fails.
    #[test]
    fn consistent_spreads_by_arc_share_and_weight() {
        let weights = [40u32, 20, 20];
        let s = servers(&weights);
        let mut p = Source::new(true, &s);
        let exact = Ring::new(&s).shares(3);
        let n = 100_000;
        let mut count = [0usize; 3];
        for ip in random_ips(n) {
            count[server_of(&mut p, &s, ip)] += 1;
        }
        let total: u32 = weights.iter().sum();
        let m = f64::from(total * 16);
        for i in 0..3 {
            let e = exact[i];
            let share = count[i] as f64 / n as f64;
            let se = (e * (1.0 - e) / n as f64).sqrt();
            assert!(
                (share - e).abs() < 5.0 * se,
                "share {share} vs {e} (se {se})"
            );
            let w = f64::from(weights[i]) / f64::from(total);
            let sd = (w * (1.0 - w) / (m + 1.0)).sqrt();
            assert!((e - w).abs() < 5.0 * sd, "arc {e} vs weight {w} (sd {sd})");
        }
    }

    #[test]
    fn single_full_and_unusable() {
        let mut s = servers(&[1, 1, 1]);
        s[0].usable = false;
        s[2].usable = false;
        for consistent in [false, true] {
            let mut p = Source::new(consistent, &s);
            let mut r = rng("source");
            assert_eq!(p.pick(&s, 42, &mut r), Pick::Server(1));
            s[1].maxconn = 1;
            s[1].served = 1;
            assert_eq!(p.pick(&s, 42, &mut r), Pick::ServerQueue(1));
            s[1].maxconn = 0;
            s[1].usable = false;
            p.servers_changed(&s);
            assert_eq!(p.pick(&s, 42, &mut r), Pick::NoServer);
            s[1].usable = true;
        }
    }

    #[test]
    fn stale_structure_never_returns_unusable() {
        for consistent in [false, true] {
            let mut s = servers(&[1, 1, 1]);
            let mut p = Source::new(consistent, &s);
            s[1].usable = false; // no servers_changed
            for ip in random_ips(2000) {
                assert_ne!(server_of(&mut p, &s, ip), 1);
            }
        }
    }
}
