//! Load-balancing policies with HAProxy's selection semantics (domain.md §1.1).
//!
//! One algorithm per file, each implementing [`Policy`]. [`LbPolicy`] is the closed set,
//! dispatched by `match` so the per-request call is static. The backend (in the stack model)
//! owns the queues and counters; a policy only looks at a [`ServerView`] slice and decides.

pub mod chash;
mod first;
mod leastconn;
mod min_tree;
mod random;
mod roundrobin;
mod source;
mod static_rr;
pub mod stickiness;

pub use first::First;
pub use leastconn::LeastConn;
pub use random::Random;
pub use roundrobin::RoundRobin;
pub use source::Source;
pub use static_rr::StaticRr;

use crate::engine::Rng;
use crate::model::config::Algorithm;

/// Pools up to this size are searched by a scan of a few slots instead of heaps
/// (`roundrobin`): the same choice, by the same rule, from the same per-server state, but at
/// 2-8 servers the heaps' re-keying on every request start and end costs more than reading
/// eight slots (the `priority-queue` heaps were 18% of a 1-server M/M/1's instructions under
/// callgrind). Its brute-force test runs pools on both sides of the threshold against the
/// reference loop. (`leastconn` scans pools of up to its own `SCAN_POOL`, 16, and keeps no
/// per-server state for them at all: see `leastconn.rs`.)
pub(crate) const SMALL_POOL: usize = 8;

/// What a policy sees of one server: the LB's own counters, not the server's internals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerView {
    /// Configured weight (1..=256); only meaningful when `usable`.
    pub weight: u32,
    /// Per-server `maxconn`, 0 = unlimited.
    pub maxconn: u32,
    /// `maxqueue` for the per-server queue, 0 = unlimited.
    pub maxqueue: u32,
    /// Requests this LB has sent to the server and not yet seen answered.
    pub served: u32,
    /// Requests waiting in this server's own queue at the LB.
    pub queued: u32,
    /// UP as far as this LB knows, and weight > 0.
    pub usable: bool,
}

impl ServerView {
    /// HAProxy's "full": maxconn set and (served >= maxconn or its own queue non-empty).
    #[inline]
    pub fn is_full(&self) -> bool {
        self.maxconn > 0 && (self.served >= self.maxconn || self.queued > 0)
    }

    /// A candidate for selection at all: `usable` and a non-zero weight. The weight test is
    /// redundant when the backend keeps its promise (`usable` implies weight > 0) but it costs
    /// nothing and keeps a weight-0 server out of every weighted computation (HAProxy's
    /// `srv_is_usable` checks both, HAP-SRC include/haproxy/backend.h).
    #[inline]
    pub fn is_usable(&self) -> bool {
        self.usable && self.weight > 0
    }
}

/// The outcome of a selection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// Send to this server now.
    Server(usize),
    /// Bound to this server but it is full: wait in its own queue (hash algorithms).
    ServerQueue(usize),
    /// No non-full server: wait in the backend queue.
    BackendQueue,
    /// No usable server at all: 503 at once.
    NoServer,
}

/// One balancing algorithm.
pub trait Policy {
    /// Chooses a server for a request from `client_ip`. `servers` is indexed by server id
    /// (declaration order).
    fn pick(&mut self, servers: &[ServerView], client_ip: u32, rng: &mut Rng) -> Pick;

    /// Called when the set of usable servers or their weights changed (a server marked up or
    /// down), so static maps and rings can be rebuilt. Not called per request.
    fn servers_changed(&mut self, servers: &[ServerView]);

    /// Called after server `i`'s counters (`served`, `queued`) or its `usable` flag changed
    /// outside [`Policy::servers_changed`]: once per request start, end, enqueue and dequeue.
    /// The policies that keep their servers in a tree (`leastconn`, `roundrobin`) re-key `i`
    /// here in O(log n), which is what keeps their `pick` from scanning the pool; the others
    /// read the live counters at pick time and ignore it.
    #[inline]
    fn server_updated(&mut self, _servers: &[ServerView], _i: usize) {}

    /// True for algorithms that keep FIFO fairness: when the backend queue is non-empty a new
    /// request goes straight to its back without selection (`roundrobin`, `static-rr`,
    /// `first`; HAProxy backend.c L700-712).
    fn fifo_fair(&self) -> bool {
        false
    }
}

/// The closed set of algorithms, one variant per file. Dispatch is a `match`, so `pick` is a
/// static call with no `Box<dyn>` and no allocation. An explicit one-byte tag (`repr(u8)`)
/// makes that `match` one load and one jump: without it the compiler hides the variant in a
/// spare bit pattern of a field, which costs five more instructions at every dispatch, and a
/// request dispatches three or four times (issue 13).
#[derive(Clone, Debug)]
#[repr(u8)]
pub enum LbPolicy {
    RoundRobin(RoundRobin),
    StaticRr(StaticRr),
    LeastConn(LeastConn),
    First(First),
    Source(Source),
    Random(Random),
}

impl LbPolicy {
    /// Builds the policy for `algorithm` over `servers` (declaration order). The policies that
    /// keep per-server state or a map build it here (one `servers_changed`), so the first `pick`
    /// is ready to go.
    pub fn new(algorithm: Algorithm, servers: &[ServerView]) -> Self {
        match algorithm {
            Algorithm::RoundRobin => LbPolicy::RoundRobin(RoundRobin::new(servers)),
            Algorithm::StaticRr => LbPolicy::StaticRr(StaticRr::new(servers)),
            Algorithm::LeastConn => LbPolicy::LeastConn(LeastConn::new(servers)),
            Algorithm::First => LbPolicy::First(First::new()),
            Algorithm::Source { consistent } => LbPolicy::Source(Source::new(consistent, servers)),
            Algorithm::Random { draws } => LbPolicy::Random(Random::new(draws, servers)),
        }
    }
}

impl LbPolicy {
    /// Whether a change of `served` alone, on a server with view `v`, can change what this
    /// policy picks next, i.e. whether [`Policy::server_updated`] has anything to do after a
    /// request starts or ends there. `leastconn`'s tree keys on the count (a small pool, scanned,
    /// reads it live at each pick); `roundrobin` reads it only through "full", which needs a
    /// `maxconn`; the others read nothing of it at all (their `server_updated` is empty). Asked
    /// on every request start and end, so that the notification, a call, is made only when it
    /// can matter (issue 13).
    #[inline(always)]
    pub fn watches_served(&self, v: &ServerView) -> bool {
        match self {
            LbPolicy::LeastConn(p) => p.keeps_tree(),
            LbPolicy::RoundRobin(_) => v.maxconn > 0,
            LbPolicy::StaticRr(_)
            | LbPolicy::First(_)
            | LbPolicy::Source(_)
            | LbPolicy::Random(_) => false,
        }
    }
}

impl Policy for LbPolicy {
    #[inline]
    fn pick(&mut self, servers: &[ServerView], client_ip: u32, rng: &mut Rng) -> Pick {
        match self {
            LbPolicy::RoundRobin(p) => p.pick(servers, client_ip, rng),
            LbPolicy::StaticRr(p) => p.pick(servers, client_ip, rng),
            LbPolicy::LeastConn(p) => p.pick(servers, client_ip, rng),
            LbPolicy::First(p) => p.pick(servers, client_ip, rng),
            LbPolicy::Source(p) => p.pick(servers, client_ip, rng),
            LbPolicy::Random(p) => p.pick(servers, client_ip, rng),
        }
    }

    fn servers_changed(&mut self, servers: &[ServerView]) {
        match self {
            LbPolicy::RoundRobin(p) => p.servers_changed(servers),
            LbPolicy::StaticRr(p) => p.servers_changed(servers),
            LbPolicy::LeastConn(p) => p.servers_changed(servers),
            LbPolicy::First(p) => p.servers_changed(servers),
            LbPolicy::Source(p) => p.servers_changed(servers),
            LbPolicy::Random(p) => p.servers_changed(servers),
        }
    }

    #[inline]
    fn server_updated(&mut self, servers: &[ServerView], i: usize) {
        match self {
            LbPolicy::RoundRobin(p) => p.server_updated(servers, i),
            LbPolicy::LeastConn(p) => p.server_updated(servers, i),
            LbPolicy::StaticRr(_)
            | LbPolicy::First(_)
            | LbPolicy::Source(_)
            | LbPolicy::Random(_) => {}
        }
    }

    fn fifo_fair(&self) -> bool {
        match self {
            LbPolicy::RoundRobin(p) => p.fifo_fair(),
            LbPolicy::StaticRr(p) => p.fifo_fair(),
            LbPolicy::LeastConn(p) => p.fifo_fair(),
            LbPolicy::First(p) => p.fifo_fair(),
            LbPolicy::Source(p) => p.fifo_fair(),
            LbPolicy::Random(p) => p.fifo_fair(),
        }
    }
}

/// What to answer when an algorithm found no non-full server: wait in the backend queue if
/// anything is usable, else 503 at once (domain.md §1.1 general rules).
#[inline]
pub(crate) fn no_free_server(servers: &[ServerView]) -> Pick {
    if servers.iter().any(ServerView::is_usable) {
        Pick::BackendQueue
    } else {
        Pick::NoServer
    }
}

/// How many servers are usable, kept up to date from the same notifications as a policy's
/// tree, so that "nothing free: queue or 503?" ([`no_free_server`]'s question) costs O(1)
/// instead of a scan of the pool on every request that finds all servers full.
#[derive(Clone, Debug, Default)]
pub(crate) struct UsableCount {
    flags: Vec<bool>,
    count: usize,
}

impl UsableCount {
    /// Recounts from scratch (O(n), on `servers_changed` only).
    pub fn rebuild(&mut self, servers: &[ServerView]) {
        self.flags.clear();
        self.flags.extend(servers.iter().map(ServerView::is_usable));
        self.count = self.flags.iter().filter(|&&u| u).count();
    }

    /// Server `i`'s flag may have changed.
    #[inline]
    pub fn update(&mut self, servers: &[ServerView], i: usize) {
        let now = servers[i].is_usable();
        if self.flags[i] != now {
            self.flags[i] = now;
            if now {
                self.count += 1;
            } else {
                self.count -= 1;
            }
        }
    }

    /// Server `i`'s flag is as counted: [`UsableCount::update`] would do nothing.
    #[inline]
    pub fn is_current(&self, servers: &[ServerView], i: usize) -> bool {
        self.flags[i] == servers[i].is_usable()
    }

    /// [`no_free_server`] from the count.
    #[inline]
    pub fn no_free_server(&self) -> Pick {
        if self.count > 0 {
            Pick::BackendQueue
        } else {
            Pick::NoServer
        }
    }
}

/// The safety net for a precomputed structure (map, ring, cumulative weights) that is stale
/// because a flag changed without `servers_changed`: the lowest-index usable non-full server,
/// else [`no_free_server`]. Never reached when the backend keeps the contract; it only ensures
/// that a stale structure can neither return an unusable server nor strand a request while an
/// idle usable server exists.
#[cold]
pub(crate) fn stale_fallback(servers: &[ServerView]) -> Pick {
    match servers.iter().position(|s| s.is_usable() && !s.is_full()) {
        Some(i) => Pick::Server(i),
        None => no_free_server(servers),
    }
}

/// Shared helpers for the per-algorithm unit tests.
#[cfg(test)]
pub(crate) mod testutil {
    use super::ServerView;
    use crate::engine::{Rng, StreamId};

    /// Usable, unlimited, idle servers with the given weights.
    pub fn servers(weights: &[u32]) -> Vec<ServerView> {
        weights
            .iter()
            .map(|&weight| ServerView {
                weight,
                usable: true,
                ..ServerView::default()
            })
            .collect()
    }

    pub fn rng(name: &str) -> Rng {
        Rng::new(StreamId::new(7, name, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{rng, servers};
    use super::*;

    const ALL: [Algorithm; 7] = [
        Algorithm::RoundRobin,
        Algorithm::StaticRr,
        Algorithm::LeastConn,
        Algorithm::First,
        Algorithm::Source { consistent: false },
        Algorithm::Source { consistent: true },
        Algorithm::Random { draws: 2 },
    ];

    #[test]
    fn fifo_fairness_per_algorithm() {
        let s = servers(&[1, 1]);
        for a in ALL {
            let fair = matches!(
                a,
                Algorithm::RoundRobin | Algorithm::StaticRr | Algorithm::First
            );
            assert_eq!(LbPolicy::new(a, &s).fifo_fair(), fair, "{}", a.name());
        }
    }

    #[test]
    fn served_changes_a_policy_does_not_watch_change_nothing() {
        // Two copies of each policy over the same servers: one told of every change of
        // `served`, one only when `watches_served` says so (what the stack does). Their
        // picks must never differ, with and without per-server `maxconn`.
        let mut steps = rng("watches");
        for a in ALL {
            for (weights, maxconn) in [(&[1][..], &[0][..]), (&[2, 1, 3][..], &[0, 2, 0][..])] {
                let mut s = servers(weights);
                for (v, &m) in s.iter_mut().zip(maxconn) {
                    v.maxconn = m;
                }
                let (mut told, mut lazy) = (LbPolicy::new(a, &s), LbPolicy::new(a, &s));
                let (mut r1, mut r2) = (rng("w"), rng("w"));
                for ip in 0..3000u32 {
                    let i = if steps.below(2) == 0 {
                        let pick = told.pick(&s, ip, &mut r1);
                        assert_eq!(pick, lazy.pick(&s, ip, &mut r2), "{} at {ip}", a.name());
                        let Pick::Server(i) = pick else { continue };
                        s[i].served += 1;
                        i
                    } else {
                        let i = steps.below(s.len() as u64) as usize;
                        if s[i].served == 0 {
                            continue;
                        }
                        s[i].served -= 1;
                        i
                    };
                    told.server_updated(&s, i);
                    if lazy.watches_served(&s[i]) {
                        lazy.server_updated(&s, i);
                    }
                }
            }
        }
    }

    #[test]
    fn every_algorithm_handles_up_down_and_weights() {
        let mut r = rng("lbpolicy");
        for a in ALL {
            let mut s = servers(&[3, 1, 2]);
            let mut p = LbPolicy::new(a, &s);
            for ip in 0..50 {
                assert!(matches!(p.pick(&s, ip, &mut r), Pick::Server(_)));
            }
            // Down without notice, then with it: never picked either way.
            s[0].usable = false;
            for ip in 0..50 {
                assert_ne!(p.pick(&s, ip, &mut r), Pick::Server(0), "{}", a.name());
            }
            p.servers_changed(&s);
            for ip in 0..50 {
                assert_ne!(p.pick(&s, ip, &mut r), Pick::Server(0), "{}", a.name());
            }
            for v in &mut s {
                v.usable = false;
            }
            assert_eq!(p.pick(&s, 7, &mut r), Pick::NoServer, "{}", a.name());
            p.servers_changed(&s);
            assert_eq!(p.pick(&s, 7, &mut r), Pick::NoServer, "{}", a.name());
            // Everything back.
            for v in &mut s {
                v.usable = true;
            }
            p.servers_changed(&s);
            assert!(matches!(p.pick(&s, 7, &mut r), Pick::Server(_)));
        }
    }
}
