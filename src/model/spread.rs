//! How the load divides among the servers, for the capacity figures (`model/capacity.rs`).
//!
//! Every weighted algorithm gives an active server weight / Σ weights of the requests in the
//! long run. `balance source` does not: each client address goes to the one server its hash
//! picks ("the same client IP address will always reach the same server", HAProxy
//! configuration manual 2.6, `balance`), so a server's share is the sum of the probabilities of
//! the addresses hashed to it. With thousands of equally active clients that is close to the
//! weight share; with heavy hitters (`client_popularity`, `nat_share`: `model/popularity.rs`) it
//! is not, and the server that holds the NAT takes the NAT's share whatever its weight.
//!
//! The shares are computed with the policy itself (`lb::Source` over views of the servers), so
//! they are the run's own mapping, not an approximation of it: open-loop requests by each
//! address's probability, closed-loop users by how many of them share each address (user `u`
//! sends from address `u mod clients`, `model/clients.rs`), each weighted by its part of the
//! peak rate.

use super::config::{Algorithm, Config};
use super::lb::{Pick, Policy, ServerView, Source};
use super::popularity::Popularity;
use super::workload::FIRST_CLIENT_IP;
use crate::engine::{Rng, StreamId};

/// Addresses hashed at most for one set of shares: the capacity figures are computed once per
/// run, and a pool of 10,000 servers with 10^7 clients must not cost 10^11 hashes. Above it,
/// the single-failure states use weight shares.
pub const MAX_HASHED: u64 = 50_000_000;

/// What each address sends, as a share of the peak rate.
pub struct Senders {
    weight: Vec<f64>,
}

impl Senders {
    /// For `balance source` and `source-consistent`; None for every other algorithm (their
    /// shares are the weights'). `open` and `users` are the open-loop and closed-loop parts of
    /// the peak rate.
    pub fn of(cfg: &Config, open: f64, users: f64) -> Option<Senders> {
        if !matches!(cfg.lb.algorithm, Algorithm::Source { .. }) || open + users <= 0.0 {
            return None;
        }
        let clients = cfg.workload.clients.max(1);
        let mut weight = match &cfg.workload.popularity {
            Some(p) => Popularity::new(p, clients).probabilities(),
            None => vec![1.0 / f64::from(clients); clients as usize],
        };
        let total = open + users;
        weight.iter_mut().for_each(|w| *w *= open / total);
        if let Some(u) = cfg.workload.users.as_ref().filter(|u| u.count > 0) {
            let per_user = users / total / f64::from(u.count);
            for k in 0..u.count {
                weight[(k % clients) as usize] += per_user;
            }
        }
        Some(Senders { weight })
    }

    /// Each server's share of the peak rate (index as `cfg.servers`) with the active servers
    /// up, except `lost`.
    pub fn shares(&self, cfg: &Config, lost: Option<usize>) -> Vec<f64> {
        let views: Vec<ServerView> = cfg
            .servers
            .iter()
            .enumerate()
            .map(|(i, s)| ServerView {
                weight: s.weight,
                usable: !s.backup && Some(i) != lost,
                ..ServerView::default()
            })
            .collect();
        let consistent = matches!(cfg.lb.algorithm, Algorithm::Source { consistent: true });
        let mut policy = Source::new(consistent, &views);
        // `balance source` draws nothing; the stream is never read.
        let mut rng = Rng::new(StreamId::new(cfg.seed, "capacity.spread", 0));
        let mut out = vec![0.0; cfg.servers.len()];
        for (a, &w) in self.weight.iter().enumerate() {
            let ip = FIRST_CLIENT_IP.wrapping_add(a as u32);
            if let Pick::Server(i) | Pick::ServerQueue(i) = policy.pick(&views, ip, &mut rng) {
                out[i] += w;
            }
        }
        out
    }

    /// Addresses hashed per set of shares.
    pub fn addresses(&self) -> u64 {
        self.weight.len() as u64
    }
}
