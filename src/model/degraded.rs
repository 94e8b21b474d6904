//! Degraded states: which parts are serving requests at a moment, as a key the availability
//! fast path can ask "what does this state do to requests?" about, and the configuration a
//! request-level run of that state is built from.
//!
//! Why: the fast path knows when parts are out, not what the survivors suffer. With one of two
//! servers out, the other carries all the traffic; at 54% load each before, it is at 107% and
//! requests queue until they time out. The experiment layer answers for each distinct state
//! with a short request-level run of it (`experiment::overload`), cached by this key.
//!
//! The key is canonical: servers (and DB nodes) that are configured identically (name aside)
//! form a group, and the key counts the serving members of each group. So "web-01 out" and
//! "web-02 out" of two identical servers are one state, and a pool of 1,000 identical servers
//! has at most 1,001 server states, not 2^1000.

use super::config::{Config, DbNodeConfig, ServerConfig};

/// The parts serving requests in one state of the stack.
#[derive(Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Serving {
    /// Serving servers per server group (see [`Groups`]).
    pub servers: Vec<u16>,
    /// The group of the node that is primary.
    pub primary: u16,
    /// Replicas serving (in the read pool and up) per DB node group, the primary excluded.
    pub replicas: Vec<u16>,
}

/// `clone_from` copies into the key's own buffers (the derived one allocates a new key): the
/// fast path's memo copies every key it meets into a spare entry (issue 13).
impl Clone for Serving {
    fn clone(&self) -> Self {
        Serving {
            servers: self.servers.clone(),
            primary: self.primary,
            replicas: self.replicas.clone(),
        }
    }

    fn clone_from(&mut self, src: &Self) {
        self.servers.clone_from(&src.servers);
        self.primary = src.primary;
        self.replicas.clone_from(&src.replicas);
    }
}

/// What requests reaching the serving parts of a state suffer, as fractions of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Penalty {
    /// Fail (timeouts, refusals, errors) although no part they need is down.
    pub fail: f64,
    /// Are served, but slower than the SLO's latency (0 without `[slo]`).
    pub late: f64,
}

/// Something that knows what a state does to requests (the experiment layer's cache of
/// request-level runs of each state).
pub trait StatePenalty: Sync {
    fn penalty(&self, s: &Serving) -> Penalty;
}

/// What a semi-synchronous replication stall costs (docs/experiments.md, "fast path"): the
/// requests it fails, and the ones it serves slower than the SLO, beyond what the same stack
/// without semi-sync suffers in the same window, each as seconds of full outage (requests /
/// the rate).
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StallCost {
    pub fail_s: f64,
    pub late_s: f64,
}

/// Something that knows what a stall costs: the experiment layer's cache of request-level
/// runs of each situation. `after` is the state the serving parts are in once the replicas
/// are missing, `missing` how many acknowledgements semi-sync waits for in vain.
pub trait StallCosts: Sync {
    fn stall(&self, after: &Serving, missing: u16) -> StallCost;
}

/// Identically configured servers and DB nodes, grouped: `server[i]` and `node[n]` give each
/// one's group, groups numbered in order of first appearance.
#[derive(Clone, Debug, PartialEq)]
pub struct Groups {
    pub server: Vec<u16>,
    pub server_groups: usize,
    /// Index 0 is the initial primary, then the replicas (as `Config::database`).
    pub node: Vec<u16>,
    pub node_groups: usize,
}

impl Groups {
    pub fn of(cfg: &Config) -> Groups {
        let (server, server_groups) = group(cfg.servers.iter().map(server_shape));
        let nodes = std::iter::once(&cfg.database.primary).chain(&cfg.database.replicas);
        let (node, node_groups) = group(nodes.map(node_shape));
        Groups {
            server,
            server_groups,
            node,
            node_groups,
        }
    }

    /// The key of the state where `serving_server(i)` servers and `serving_replica(n)` replicas
    /// serve, with node `primary` primary.
    pub fn key(
        &self,
        serving_server: impl Fn(usize) -> bool,
        primary: usize,
        serving_replica: impl Fn(usize) -> bool,
    ) -> Serving {
        let mut key = Serving::default();
        self.key_into(serving_server, primary, serving_replica, &mut key);
        key
    }

    /// [`Groups::key`] written into `key`, reusing its buffers: the fast path asks at every
    /// change of every pass, and allocating two `Vec`s each time was a good part of a Monte
    /// Carlo study's `malloc` calls (issue 13).
    pub fn key_into(
        &self,
        serving_server: impl Fn(usize) -> bool,
        primary: usize,
        serving_replica: impl Fn(usize) -> bool,
        key: &mut Serving,
    ) {
        let Serving {
            servers,
            primary: primary_group,
            replicas,
        } = key;
        servers.clear();
        servers.resize(self.server_groups, 0);
        for (i, &g) in self.server.iter().enumerate() {
            if serving_server(i) {
                servers[g as usize] += 1;
            }
        }
        replicas.clear();
        replicas.resize(self.node_groups, 0);
        for (n, &g) in self.node.iter().enumerate() {
            if n != primary && serving_replica(n) {
                replicas[g as usize] += 1;
            }
        }
        *primary_group = self.node[primary];
    }

    /// The key of the healthy stack: every active server, the initial primary and every
    /// replica serving.
    pub fn healthy(&self, cfg: &Config) -> Serving {
        let mut key = Serving::default();
        self.healthy_into(cfg, &mut key);
        key
    }

    /// [`Groups::healthy`] written into `key`, reusing its buffers ([`Groups::key_into`]).
    pub fn healthy_into(&self, cfg: &Config, key: &mut Serving) {
        let any_active = cfg.servers.iter().any(|s| !s.backup);
        self.key_into(|i| !any_active || !cfg.servers[i].backup, 0, |_| true, key);
    }

    /// Servers serving in state `s`.
    pub fn serving_servers(s: &Serving) -> u32 {
        s.servers.iter().map(|&c| c as u32).sum()
    }
}

/// The configuration of state `s`: only the serving servers and DB nodes, no faults, the
/// base arrival rate (phases dropped), run for `warmup + measured`. Servers and nodes are
/// taken from each group in configuration order (members of a group are interchangeable).
/// With no replica left, semi-synchronous replication is off: MySQL falls back to
/// asynchronous after its first timeout, and a state that lasts is past it (the stall on the
/// way there is measured apart, [`stall_config`]).
pub fn state_config(
    cfg: &Config,
    groups: &Groups,
    s: &Serving,
    warmup: crate::engine::SimTime,
    measured: crate::engine::SimTime,
) -> Config {
    let mut c = cfg.clone();
    let mut want = s.servers.clone();
    c.servers = cfg
        .servers
        .iter()
        .zip(&groups.server)
        .filter(|(_, g)| {
            let w = &mut want[**g as usize];
            let take = *w > 0;
            *w = w.saturating_sub(1);
            take
        })
        .map(|(sv, _)| sv.clone())
        .collect();
    let nodes: Vec<&DbNodeConfig> = std::iter::once(&cfg.database.primary)
        .chain(&cfg.database.replicas)
        .collect();
    let primary = (0..nodes.len())
        .find(|&n| groups.node[n] == s.primary)
        .unwrap_or(0);
    c.database.primary = nodes[primary].clone();
    let mut want = s.replicas.clone();
    c.database.replicas = (0..nodes.len())
        .filter(|&n| n != primary)
        .filter(|&n| {
            let w = &mut want[groups.node[n] as usize];
            let take = *w > 0;
            *w = w.saturating_sub(1);
            take
        })
        .map(|n| nodes[n].clone())
        .collect();
    if c.database.replicas.is_empty() {
        // Reads go to the primary when no replica is left (as `read_from` documents).
        c.failures.db_failover.semi_sync = false;
    } else {
        let n = c.database.replicas.len() as u32;
        let need = &mut c.failures.db_failover.semi_sync_replicas;
        *need = (*need).min(n);
    }
    c.failures.scheduled.clear();
    c.failures.random.clear();
    // A flood is an attack at a given time of the scenario's run, as a scheduled fault is an
    // incident: not part of the stack's steady state. Carried into the state runs, a two-minute
    // flood inside their window made every state of a year-long study fail its denied requests
    // (flood.toml with random server faults: 54.8% available, the healthy stack "failing" 45%).
    c.workload.flood = None;
    c.workload.phases.clear();
    // A state's steady run is at the workload's mean rate: a profile's mean, not its shape.
    c.workload.shape = None;
    c.warmup = warmup;
    c.duration = warmup + measured;
    c
}

/// The configuration a semi-sync stall is measured with: state `after`'s serving parts (as
/// [`state_config`]) plus `missing` more replicas (the first DB nodes, in configuration order,
/// the state does not use), with semi-sync on, the missing replicas crashing for good at
/// `warmup` (a scheduled fault, as a user would write it), measured for `measured` from then.
/// `semi_sync` false gives the same run without semi-sync, which the stall's cost is measured
/// against (`experiment::overload`).
pub fn stall_config(
    cfg: &Config,
    groups: &Groups,
    after: &Serving,
    missing: u16,
    warmup: crate::engine::SimTime,
    measured: crate::engine::SimTime,
    semi_sync: bool,
) -> Config {
    use super::config::{FaultKind, ScheduledFault, Target};
    let mut c = state_config(cfg, groups, after, warmup, measured);
    let nodes: Vec<&DbNodeConfig> = std::iter::once(&cfg.database.primary)
        .chain(&cfg.database.replicas)
        .collect();
    let used = |n: &DbNodeConfig, c: &Config| {
        c.database.primary.name == n.name || c.database.replicas.iter().any(|r| r.name == n.name)
    };
    let extra: Vec<DbNodeConfig> = nodes
        .iter()
        .filter(|n| !used(n, &c))
        .take(missing as usize)
        .map(|n| (*n).clone())
        .collect();
    let first = 1 + c.database.replicas.len();
    let added = extra.len();
    c.database.replicas.extend(extra);
    let fo = &mut c.failures.db_failover;
    fo.semi_sync = semi_sync;
    fo.semi_sync_replicas = cfg
        .failures
        .db_failover
        .semi_sync_replicas
        .min(c.database.replicas.len() as u32)
        .max(1);
    c.failures.scheduled = (first..first + added)
        .map(|n| ScheduledFault {
            target: Target::DbNode(n),
            kind: FaultKind::Crash,
            at: warmup,
            duration: None,
        })
        .collect();
    c
}

/// A server's configuration with its name blanked: what makes two servers interchangeable.
fn server_shape(s: &ServerConfig) -> String {
    let mut s = s.clone();
    s.name.clear();
    format!("{s:?}")
}

fn node_shape(n: &DbNodeConfig) -> String {
    let mut n = n.clone();
    n.name.clear();
    format!("{n:?}")
}

fn group(shapes: impl Iterator<Item = String>) -> (Vec<u16>, usize) {
    let mut seen: Vec<String> = vec![];
    let ids = shapes
        .map(|shape| match seen.iter().position(|x| *x == shape) {
            Some(g) => g as u16,
            None => {
                seen.push(shape);
                (seen.len() - 1) as u16
            }
        })
        .collect();
    (ids, seen.len())
}

/// How a Monte Carlo study treats what degraded states do to requests (`[montecarlo]
/// overload`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverloadMode {
    /// A short request-level run of each distinct state measures the fraction of requests
    /// that fail or miss the SLO there.
    Runs,
    /// k-of-n: the pool fails every request when fewer than `min_servers` serve (k derived
    /// from capacity unless set), and copes otherwise.
    Capacity,
    /// Surviving parts always cope (k = 1 unless set).
    None,
}

/// The fast path's degraded-state settings, from `[montecarlo]`.
#[derive(Clone, Debug, PartialEq)]
pub struct DegradedSpec {
    pub mode: OverloadMode,
    /// k of k-of-n, if set.
    pub min_servers: Option<u32>,
    /// Measured length of each state's request-level run (after a warm-up); None: long
    /// enough for [`STATE_RUN_REQUESTS`] requests, from 2 min to 1 h.
    pub state_run: Option<crate::engine::SimTime>,
}

/// Shortest warm-up of a state run. An overloaded state's queues fill up to their timeouts
/// (HAProxy's `timeout queue`, the app's backlog) in about timeout / (rho - 1): 70 s for 5 s
/// at rho = 1.07, so the warm-up is also at least a quarter of the measured window.
pub const MIN_STATE_WARMUP: crate::engine::SimTime = crate::engine::SimTime::from_secs(30);

/// The warm-up of a state run measuring `measured` (`experiment::overload`).
pub fn state_warmup(cfg: &Config, measured: crate::engine::SimTime) -> crate::engine::SimTime {
    cfg.warmup
        .max(MIN_STATE_WARMUP)
        .max(crate::engine::SimTime(measured.as_nanos() / 4))
}

/// The states a study measures before its runs: the healthy stack and each single loss (one
/// server of a group, one replica, a promoted replica as primary). A loss that leaves the
/// pool below `min_servers` is down whatever a run of it would say, so it is not run.
pub fn single_loss_states(cfg: &Config, groups: &Groups, min_servers: u32) -> Vec<Serving> {
    let healthy = groups.healthy(cfg);
    let mut states = vec![healthy.clone()];
    let serving: u32 = healthy.servers.iter().map(|&c| c as u32).sum();
    let pool_survives = serving > min_servers.max(1);
    for g in 0..healthy.servers.len() {
        if healthy.servers[g] > 0 && pool_survives {
            let mut s = healthy.clone();
            s.servers[g] -= 1;
            states.push(s);
        }
    }
    for g in 0..healthy.replicas.len() {
        if healthy.replicas[g] > 0 {
            let mut s = healthy.clone();
            s.replicas[g] -= 1;
            states.push(s);
            if cfg.failures.db_failover.automatic {
                // The primary lost and a replica of this group promoted in its place.
                let mut p = healthy.clone();
                p.replicas[g] -= 1;
                p.primary = g as u16;
                states.push(p);
            }
        }
    }
    states.dedup();
    states
}

/// Requests an automatic state run measures: the failed fraction of an overloaded state
/// (~5-20%) to about 1% of itself.
pub const STATE_RUN_REQUESTS: f64 = 200_000.0;

impl Default for DegradedSpec {
    fn default() -> Self {
        DegradedSpec {
            mode: OverloadMode::Runs,
            min_servers: None,
            state_run: None,
        }
    }
}

impl DegradedSpec {
    /// The measured length of each state run.
    pub fn state_run(&self, cfg: &Config) -> crate::engine::SimTime {
        self.state_run.unwrap_or_else(|| {
            let secs = STATE_RUN_REQUESTS / cfg.workload.rate.max(1e-9);
            crate::engine::SimTime::from_secs_f64(secs.clamp(120.0, 3600.0))
        })
    }

    /// k: as set, else derived from capacity in `Capacity` mode, else 1 (runs measure what
    /// fewer servers do).
    pub fn min_servers(&self, cfg: &Config) -> u32 {
        match (self.min_servers, self.mode) {
            (Some(k), _) => k,
            (None, OverloadMode::Capacity) => super::capacity::min_servers(cfg),
            (None, _) => 1,
        }
    }
}
