//! The availability fast path: component states only, no requests.
//!
//! A year of `distributed.toml` is ~10^10 requests at the request level; availability studies
//! need thousands of such years. This model advances only what changes availability: each
//! component alternates up and down (time-to-failure and time-to-repair draws from the *same
//! named streams* as the request-level model, `faults.<component>`, so a replication sees the
//! same failures in both models), and the failover mechanics react event by event: HAProxy
//! detection (phase + (fall - 1) x fastinter), keepalived takeover (3 x advert_int + skew from
//! the master's last advertisement),
//! DNS TTL expiry, DB monitor detection (poll_interval x poll_count) and promotion.
//!
//! At every instant a *failing fraction* f(t) of requests fails; the request-level cost is
//! derived from it: failed requests = integral of rate x f(t) dt, availability =
//! 1 - failed / arrived, downtime = integral of f(t) dt. How it relates to the request-level
//! model (documented in docs/experiments.md):
//! - same failure times, same detection and failover rules;
//! - no queueing: requests in flight when a part dies (rate x latency, milliseconds' worth)
//!   and retry delays are not counted, and capacity loss only matters if it is total;
//! - routing shares are taken as equal (weights ignored) and a request's reads are assumed to
//!   hit a failing replica in proportion to its share of the read pool;
//! - a silent failure (`down`) is detected as late as the request-level model detects it
//!   (health checks wait their timeout, replicas `replica_net_timeout`), and clients whose LB
//!   address does not answer wait (SYN retransmissions) rather than fail when it answers again
//!   by their last SYN (63 s into Linux's 127 s connect timeout: `stack::last_syn`, as the
//!   request-level model retransmits); but what silence does to capacity (workers held by queries
//!   that hang until a timeout, so the pool drains) is not modelled here.
//!
//! Semi-synchronous replication's stall (the replicas it waits for lost while it is on: every
//! commit waits `semi_sync_timeout` before the fallback to asynchronous) is tracked here
//! (`State::semi_sync`) and charged what a request-level run of the situation measured
//! ([`Options::stalls`]).
//!
//! A named host or rack (`[[hosts]]`) is one component whose failure takes down several single
//! parts (servers and DB nodes) at once; a part is down while any component covering it is
//! (its own failure, its host's, its rack's), as the request-level model counts faults.
//!
//! The test `tests/montecarlo.rs` checks both models agree on a scenario with frequent
//! failures.

use super::config::{Config, FaultKind, LbHa, ReadPolicy, Target, TargetKind};
use super::degraded::{Groups, Penalty, Serving, StallCost, StallCosts, StatePenalty};
use super::repair::{Plan, Repairs};
use super::stack::last_syn;
use crate::dist::Dist;
use crate::engine::{Calendar, Rng, SimTime, StreamName};
use scratch::{Buffers, Memo};
use std::cell::RefCell;
use std::rc::Rc;

mod scratch;
pub use scratch::PassScratch;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Lb(usize),
    Host(usize),
    App(usize),
    Db(usize),
    Link,
    /// A named host or a rack (`[[hosts]]`): its members fail with it.
    Machines(Target),
}

/// One component that fails at random.
#[derive(Clone, Debug)]
pub struct Component {
    pub name: String,
    pub part: Part,
    /// `crash` or a silent kind (`down`, `blackhole`).
    pub kind: FaultKind,
    ttf: Dist,
    ttr: Dist,
    /// Its `[[random_faults]]` entry (whose crews repair it).
    entry: usize,
    /// The single parts it takes down: itself, or each server host and DB node on a host or
    /// rack.
    members: Vec<Part>,
    /// Its streams' names, `faults.<name>` and `monitoring.<name>`, hashed once: every pass
    /// of every run makes both streams again for its replication.
    faults_stream: StreamName,
    people_stream: StreamName,
}

/// The components that fail at random in `cfg`, named as in the request-level model.
pub fn components(cfg: &Config) -> Vec<Component> {
    let mut out = vec![];
    let lbs = cfg.failures.lb_ha.instances();
    for (entry, spec) in cfg.failures.random.iter().enumerate() {
        let parts: Vec<(Part, String)> = match spec.kind {
            TargetKind::Lb => (0..lbs)
                .map(|k| (Part::Lb(k), format!("lb-{}", k + 1)))
                .collect(),
            TargetKind::Server => cfg
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| (Part::Host(i), s.name.clone()))
                .collect(),
            TargetKind::App => cfg
                .servers
                .iter()
                .enumerate()
                .map(|(i, s)| (Part::App(i), format!("{}.app", s.name)))
                .collect(),
            TargetKind::DbNode => std::iter::once(&cfg.database.primary)
                .chain(&cfg.database.replicas)
                .enumerate()
                .map(|(n, d)| (Part::Db(n), d.name.clone()))
                .collect(),
            TargetKind::DbLink => vec![(Part::Link, "db.link".to_string())],
            TargetKind::Host | TargetKind::Rack => {
                let layout = &cfg.failures.layout;
                let targets: Vec<Target> = if spec.kind == TargetKind::Host {
                    (0..layout.hosts.len()).map(Target::Host).collect()
                } else {
                    (0..layout.racks.len()).map(Target::Rack).collect()
                };
                targets
                    .into_iter()
                    .map(|t| (Part::Machines(t), layout.name(t).unwrap_or_default()))
                    .collect()
            }
        };
        for (part, name) in parts {
            out.push(Component {
                faults_stream: StreamName::new(&format!("faults.{name}")),
                people_stream: StreamName::new(&format!("monitoring.{name}")),
                name,
                part,
                kind: spec.fault,
                ttf: spec.ttf.clone(),
                ttr: spec.ttr.clone(),
                entry,
                members: members(cfg, part),
            });
        }
    }
    out
}

/// The single parts `part` stands for: the servers and DB nodes of a host or rack, else itself.
fn members(cfg: &Config, part: Part) -> Vec<Part> {
    let Part::Machines(t) = part else {
        return vec![part];
    };
    cfg.failures
        .layout
        .members(t)
        .into_iter()
        .filter_map(|m| match m {
            Target::Server(i) => Some(Part::Host(i)),
            Target::DbNode(n) => Some(Part::Db(n)),
            _ => None,
        })
        .collect()
}

/// How the fast path treats what degraded states do to the requests they still serve.
pub struct Options<'a> {
    /// k of k-of-n: with fewer servers serving, every request sent to the pool fails.
    pub min_servers: u32,
    /// What a degraded state does to requests (a request-level run of it, measured and cached
    /// by the experiment layer); None: every state copes and meets the SLO.
    pub overload: Option<&'a dyn StatePenalty>,
    /// What a semi-synchronous replication stall costs (a request-level run of each situation,
    /// measured and cached by the experiment layer); None: stalls are tracked but cost nothing.
    pub stalls: Option<&'a dyn StallCosts>,
    pub groups: Groups,
}

impl Options<'_> {
    /// Surviving parts always cope (the fast path's first approximation): no overload, k = 1.
    pub fn coping(cfg: &Config) -> Options<'static> {
        Options {
            min_servers: 1,
            overload: None,
            stalls: None,
            groups: Groups::of(cfg),
        }
    }
}

/// The failing fractions at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Fractions {
    /// Requests failing because a part they need is down (or the pool is below k).
    down: f64,
    /// Requests failing, overload included.
    fail: f64,
    /// Requests failing or slower than the SLO.
    bad: f64,
    /// The state's overload failures exceed the healthy stack's: users feel a failure.
    overloaded: bool,
}

impl Fractions {
    fn outage(&self) -> bool {
        self.down > 0.0 || self.overloaded
    }
}

/// What one simulated horizon gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PassResult {
    /// Request-weighted availability: 1 - integral of f / horizon.
    pub availability: f64,
    /// Fraction of requests served successfully and within the SLO's latency.
    pub slo_availability: f64,
    /// Fraction of time outside outages.
    pub time_availability: f64,
    /// Integral of f(t) dt, in seconds ("full-outage-equivalent" downtime).
    pub downtime_s: f64,
    /// The part of `downtime_s` due to overload: requests failing although no part they need
    /// was down.
    pub overload_s: f64,
    /// Maximal intervals with f > 0.
    pub outages: Vec<f64>,
    pub failed_requests: f64,
    pub arrived_requests: f64,
    /// Downtime (integral of f dt, s) attributed to each component, split among the
    /// components whose repair alone would have reduced f.
    pub blame_s: Vec<f64>,
    pub failures: u64,
    /// Repairs that ended within the horizon, and the sum of their times to repair (failure
    /// to repair, s): detection, waiting for a crew and the fix.
    pub repairs: u64,
    pub repair_s: f64,
}

#[derive(Clone, Copy, Debug)]
enum E {
    Fail(u16),
    /// The component's repair may start: a technician takes it (`model/repair.rs`).
    Ready(u16),
    Repair(u16),
    /// (server, epoch): the LBs took the dead server out of rotation.
    Detected(u16, u32),
    /// (server, epoch): the LBs put the repaired server back in rotation.
    Rejoin(u16, u32),
    /// (LB instance, epoch): keepalived's master-down timer expired.
    Takeover(u8, u32),
    /// (LB instance, epoch): keepalived's script saw HAProxy dead: FAULT.
    VrrpFault(u8, u32),
    /// Nothing changes but the failing fraction (waiting clients start to be served in time).
    Reeval,
    /// (epoch): the DB monitor declared the primary dead.
    DbDetected(u32),
    /// (epoch): promotion finished.
    Promoted(u32),
    /// (node, epoch): the monitor removed a dead replica from the read pool.
    ReplicaOut(u16, u32),
}

/// Which servers HAProxy serves from (see `State::rotation`), kept as two facts rather than a
/// `Vec`: it is asked at every change of every pass (issue 13).
#[derive(Clone, Copy)]
struct Rotation {
    /// Some active server is in rotation: the rotation is the active servers in it.
    actives: bool,
    /// Else the first backup in rotation, if any.
    first_backup: Option<usize>,
}

impl Rotation {
    fn has(self, st: &State, i: usize) -> bool {
        if self.actives {
            !st.cfg.servers[i].backup && !st.out_of_rotation[i]
        } else {
            Some(i) == self.first_backup
        }
    }
}

/// Static request mix shares the failing fraction needs.
#[derive(Clone, Copy, Debug)]
struct Mix {
    reads: f64,
    writes: f64,
    any_db: f64,
}

struct State<'a> {
    cfg: &'a Config,
    comps: &'a [Component],
    down: Vec<bool>,
    epoch: Vec<u32>,
    host_down: Vec<bool>,
    app_down: Vec<bool>,
    /// The LBs have taken the server out of rotation.
    out_of_rotation: Vec<bool>,
    /// Per server: changes whenever "its health check fails" changes, so a pending detection
    /// or rejoin is cancelled only by a change of what the check sees.
    check_epoch: Vec<u32>,
    lb_down: Vec<bool>,
    /// The LB's host is down (silent), not just its HAProxy process.
    lb_silent: Vec<bool>,
    /// When a silent LB will answer again (its repair), if it is down.
    lb_back_at: Vec<SimTime>,
    /// keepalived on the instance is in FAULT (its tracked HAProxy died).
    vrrp_fault: Vec<bool>,
    /// DNS round robin: the dead LB's clients have all moved away (withdrawal + half a TTL,
    /// the mean moment of a uniform re-resolution).
    dns_moved: Vec<bool>,
    vip: Option<usize>,
    /// When the instance holding the floating IP became master: it advertises every
    /// advert_int from then (`stack::master_down_after`). The initial master's phase comes
    /// from the stream `vrrp.phase` of the run, as at request level.
    master_since: SimTime,
    vip_epoch: u32,
    /// When the pending takeover fires, if one is pending.
    takeover_at: Option<SimTime>,
    db_down: Vec<bool>,
    /// Per DB node: changes whenever it goes down or comes back, so a pending removal from
    /// the read pool is cancelled by its repair.
    db_node_epoch: Vec<u32>,
    in_read_pool: Vec<bool>,
    primary: usize,
    writes_open: bool,
    db_epoch: u32,
    link_down: bool,
    /// Semi-synchronous replication is on (`semi_sync` and not fallen back to asynchronous):
    /// losing the replicas it waits for stalls every commit ([`State::semi_sync`]).
    semi_on: bool,
    /// A stall's cost is charged until then (while the replicas are still missing), at
    /// `stall`'s fractions of the requests.
    stall_until: SimTime,
    stall: Penalty,
    mix: Mix,
    rng: Rng,
    opts: &'a Options<'a>,
    /// What the healthy stack's requests suffer (the baseline overload is measured against).
    healthy: Penalty,
    /// The penalties of the states this pass has been in: a pass asks at every change and
    /// meets a handful of states, and the shared cache behind `opts.overload` is one lock for
    /// every thread (asking it each time held a 2-thread study near 1.4x, issue 13).
    /// Shared with the copies [`blame`] makes: a penalty depends on the state's key alone.
    seen: Rc<RefCell<Memo>>,
    /// Who repairs, and when (shared with the request-level model).
    repairs: Repairs,
    /// Per component: its fix, kept until a technician takes it, and when it failed.
    fix: Vec<SimTime>,
    failed_at: Vec<SimTime>,
    /// Per component: the stream of its detection delays, `monitoring.<component>`.
    people: Vec<Rng>,
    /// Where [`was_failing`] lists a component's parts (kept, not allocated at every failure
    /// and repair); its contents only matter while one event is handled.
    before: Vec<(Part, bool)>,
}

/// [`blame`] copies the state for every component it weighs, at every change of every pass:
/// copying into one kept copy reuses its buffers where `clone` allocated some twenty `Vec`s
/// each time (a quarter of a Monte Carlo study's instructions were `malloc` and `free`, issue
/// 13), and that copy's buffers are kept from pass to pass ([`PassScratch`]). It lists every
/// field, so a new one cannot be forgotten.
impl State<'_> {
    fn copy_from(&mut self, src: &Self) {
        let State {
            cfg,
            comps,
            down,
            epoch,
            host_down,
            app_down,
            out_of_rotation,
            check_epoch,
            lb_down,
            lb_silent,
            lb_back_at,
            vrrp_fault,
            dns_moved,
            vip,
            master_since,
            vip_epoch,
            takeover_at,
            db_down,
            db_node_epoch,
            in_read_pool,
            primary,
            writes_open,
            db_epoch,
            link_down,
            semi_on,
            stall_until,
            stall,
            mix,
            rng,
            opts,
            healthy,
            seen,
            repairs,
            fix,
            failed_at,
            people,
            before: _,
        } = self;
        *cfg = src.cfg;
        *comps = src.comps;
        down.clone_from(&src.down);
        epoch.clone_from(&src.epoch);
        host_down.clone_from(&src.host_down);
        app_down.clone_from(&src.app_down);
        out_of_rotation.clone_from(&src.out_of_rotation);
        check_epoch.clone_from(&src.check_epoch);
        lb_down.clone_from(&src.lb_down);
        lb_silent.clone_from(&src.lb_silent);
        lb_back_at.clone_from(&src.lb_back_at);
        vrrp_fault.clone_from(&src.vrrp_fault);
        dns_moved.clone_from(&src.dns_moved);
        *vip = src.vip;
        *master_since = src.master_since;
        *vip_epoch = src.vip_epoch;
        *takeover_at = src.takeover_at;
        db_down.clone_from(&src.db_down);
        db_node_epoch.clone_from(&src.db_node_epoch);
        in_read_pool.clone_from(&src.in_read_pool);
        *primary = src.primary;
        *writes_open = src.writes_open;
        *db_epoch = src.db_epoch;
        *link_down = src.link_down;
        *semi_on = src.semi_on;
        *stall_until = src.stall_until;
        *stall = src.stall;
        *mix = src.mix;
        rng.clone_from(&src.rng);
        *opts = src.opts;
        *healthy = src.healthy;
        seen.clone_from(&src.seen);
        repairs.clone_from(&src.repairs);
        fix.clone_from(&src.fix);
        failed_at.clone_from(&src.failed_at);
        people.clone_from(&src.people);
    }
}

impl State<'_> {
    /// The fraction of requests failing now.
    fn failing(&self, now: SimTime) -> f64 {
        self.fractions(now).fail
    }

    /// The fractions of requests failing, and failing or late, now: those that need a part
    /// that is down, then, of the rest, those the serving parts fail or serve late.
    fn fractions(&self, now: SimTime) -> Fractions {
        let f_lb = self.f_lb(now);
        let (f_pool, serves) = self.f_pool();
        let f_db = self.f_db();
        let down = 1.0 - (1.0 - f_lb) * (1.0 - f_pool) * (1.0 - f_db);
        let (p, overloaded) = match self.opts.overload {
            Some(of) if serves && down < 1.0 => {
                let p = self.penalty(of);
                (p, p.fail > self.healthy.fail)
            }
            _ => (Penalty::default(), false),
        };
        let rest = 1.0 - down;
        let f = Fractions {
            down,
            fail: down + rest * p.fail,
            bad: (down + rest * (p.fail + p.late)).min(1.0),
            overloaded,
        };
        if now < self.stall_until && self.semi_short() {
            // A semi-sync stall: what its request-level run failed (and served late) beyond
            // the same stack without semi-sync, so added to what the state costs anyway. A
            // part that is down (not overload): the replicas semi-sync waits for.
            let s = self.stall;
            return Fractions {
                down: (f.down + s.fail).min(1.0),
                fail: (f.fail + s.fail).min(1.0),
                bad: (f.bad + s.fail + s.late).min(1.0),
                overloaded,
            };
        }
        f
    }

    /// Semi-sync is configured and fewer live replicas than it waits for remain (MySQL counts
    /// the replicas connected and acknowledging: `rpl_semi_sync_source_clients`).
    fn semi_short(&self) -> bool {
        let fo = &self.cfg.failures.db_failover;
        fo.semi_sync && self.live_replicas() < fo.semi_sync_replicas.max(1) as usize
    }

    fn live_replicas(&self) -> usize {
        (0..self.db_down.len())
            .filter(|&n| n != self.primary && !self.db_down[n])
            .count()
    }

    /// Semi-synchronous replication after the events of instant `now` settled, as
    /// `model/stack/db.rs` runs it:
    /// - on, with commits reaching a live primary (it takes writes, and `db.link` is not
    ///   partitioned) and fewer live replicas than it waits for (the only replica died, or was
    ///   promoted): every commit waits
    ///   `rpl_semi_sync_source_timeout` for an acknowledgement that never comes
    ///   (`rpl_semi_sync_source_wait_no_replica` ON, the default, waits even with no replica
    ///   connected: MySQL 8.4 manual, "Semisynchronous Replication Administrative Interface"),
    ///   then the primary falls back to asynchronous replication (`semisync_source.cc`,
    ///   `switch_off`). The stall starts now; its cost, measured at request level for the
    ///   situation ([`Options::stalls`]), is charged over at least the timeout;
    /// - off (fallen back), with enough live replicas again on a live primary: back on. MySQL
    ///   switches it on when a replica's acknowledgement reaches the primary's current
    ///   position (`try_switch_on`); a repaired replica's relay log is taken as refilled on
    ///   restart (as the request-level model does), so catching up is one replication delay,
    ///   taken as instant here.
    ///
    /// A promotion turns it on afresh on the new primary (`E::Promoted`). Only with writes:
    /// without commits nothing waits.
    fn semi_sync(&mut self, cal: &mut Calendar<E>, now: SimTime) {
        let fo = &self.cfg.failures.db_failover;
        if !fo.semi_sync || self.mix.writes == 0.0 {
            return;
        }
        let primary_up = !self.db_down[self.primary];
        // Commits reach the primary only over the application servers' link to it: during a
        // partition none waits, so none times out and semi-sync stays on (the first commit
        // after the heal stalls, if the replicas are still missing).
        let (on, stall) = semi_step(
            self.semi_on,
            self.semi_short(),
            primary_up,
            self.writes_open && !self.link_down,
        );
        self.semi_on = on;
        if stall {
            let need = fo.semi_sync_replicas.max(1) as usize;
            let missing = (need - self.live_replicas()) as u16;
            let cost = match self.opts.stalls {
                Some(of) => {
                    let mut memo = self.seen.borrow_mut();
                    self.serving_key(&mut memo.key);
                    of.stall(&memo.key, missing)
                }
                None => StallCost::default(),
            };
            let timeout = fo.semi_sync_timeout.as_secs_f64();
            // Charged over the timeout (the stall itself), or longer at full outage when the
            // stall costs more than that many seconds of requests (the backlog it leaves).
            let total = cost.fail_s + cost.late_s;
            let d = timeout.max(total);
            if total > 0.0 {
                self.stall = Penalty {
                    fail: cost.fail_s / d,
                    late: cost.late_s / d,
                };
                self.stall_until = now + SimTime::from_secs_f64(d);
                cal.schedule_at(self.stall_until, E::Reeval);
            } else {
                self.stall_until = now;
            }
        }
    }

    /// What the state the serving parts are in now (when [`State::f_pool`] says the pool
    /// serves) does to requests: from this pass's own memo, else the shared cache.
    fn penalty(&self, of: &dyn StatePenalty) -> Penalty {
        let mut memo = self.seen.borrow_mut();
        let Memo { seen, len, key } = &mut *memo;
        self.serving_key(key);
        if let Some((_, p)) = seen[..*len].iter().find(|(k, _)| k == key) {
            return *p;
        }
        let p = of.penalty(key);
        scratch::remember(seen, len, key, p);
        p
    }

    /// Do clients arriving now at LB `k`'s address fail? Yes if its HAProxy refuses; if its
    /// host is silent, only when it will not answer by their last SYN retransmission (a host
    /// back between it and the connect timeout hears no SYN: the connect fails at the timeout).
    /// Not the timeout itself: that counted a 100 s outage as none, where the request-level
    /// model fails its first 37 s of clients (`tests/montecarlo.rs`).
    /// `wait`: the clients' last SYN, `last_syn(connect_timeout)`, which the caller has.
    fn lb_fails(&self, now: SimTime, k: usize, wait: SimTime) -> bool {
        if !self.lb_down[k] {
            return false;
        }
        !self.lb_silent[k] || self.lb_back_at[k] > now + wait
    }

    fn f_lb(&self, now: SimTime) -> f64 {
        let wait = last_syn(self.cfg.workload.connect_timeout);
        match &self.cfg.failures.lb_ha {
            LbHa::Single => {
                if self.lb_fails(now, 0, wait) {
                    1.0
                } else {
                    0.0
                }
            }
            LbHa::ActivePassive { .. } => match self.vip {
                Some(k) if self.lb_down[k] => 1.0,
                Some(_) => 0.0,
                // Nobody holds the address: clients retransmit their SYN and are served if a
                // takeover comes by their last SYN.
                None => match self.takeover_at {
                    Some(t) if t <= now + wait => 0.0,
                    _ => 1.0,
                },
            },
            LbHa::ActiveActive { .. } => {
                let mut f = 0.0;
                for k in 0..2 {
                    let other_up = !self.lb_down[1 - k];
                    if self.lb_fails(now, k, wait) && (!other_up || !self.dns_moved[k]) {
                        f += 0.5;
                    }
                }
                f
            }
        }
    }

    /// The rotation HAProxy serves from now: the active servers in rotation, or when none is,
    /// the first backup in rotation.
    fn rotation(&self) -> Rotation {
        let n = self.host_down.len();
        let servers = &self.cfg.servers;
        let actives = (0..n).any(|i| !servers[i].backup && !self.out_of_rotation[i]);
        Rotation {
            actives,
            first_backup: if actives {
                None
            } else {
                (0..n).find(|&i| servers[i].backup && !self.out_of_rotation[i])
            },
        }
    }

    /// The fraction of requests the server pool fails, and whether the pool serves at all
    /// (then [`State::serving_key`] names the state its serving parts are in).
    fn f_pool(&self) -> (f64, bool) {
        let n = self.host_down.len();
        let h = &self.cfg.failures.health;
        let alive = |i: usize| !self.host_down[i] && !self.app_down[i];
        let set = self.rotation();
        let (mut rotation, mut serving) = (0usize, 0usize);
        for i in (0..n).filter(|&i| set.has(self, i)) {
            rotation += 1;
            serving += usize::from(alive(i));
        }
        if serving == 0 || (serving as u32) < self.opts.min_servers {
            return (1.0, false);
        }
        let share = 1.0 / rotation as f64;
        let mut f = 0.0;
        for i in (0..n).filter(|&i| set.has(self, i)) {
            if alive(i) {
                continue;
            }
            // A dead host refuses connections: redispatch saves the request if another
            // server in rotation is alive. A dead app behind a live Nginx answers 502: no
            // retry saves it.
            // (`serving` > 0: another server in rotation is alive.)
            let saved = self.host_down[i] && h.redispatch && h.retries > 0;
            if !saved {
                f += share;
            }
        }
        (f.min(1.0), true)
    }

    /// Writes into `key` the key of the state the serving parts are in (when
    /// [`State::f_pool`] says the pool serves).
    fn serving_key(&self, key: &mut Serving) {
        let rotation = self.rotation();
        self.opts.groups.key_into(
            |i| rotation.has(self, i) && !self.host_down[i] && !self.app_down[i],
            self.primary,
            |m| self.serves_reads(m),
            key,
        );
    }

    /// Node `m` is a replica that is up and (when reads go to replicas) in the read pool.
    fn serves_reads(&self, m: usize) -> bool {
        m != self.primary
            && !self.db_down[m]
            && (self.cfg.database.read_from == ReadPolicy::Primary || self.in_read_pool[m])
    }

    fn f_db(&self) -> f64 {
        let m = self.mix;
        if m.any_db == 0.0 {
            return 0.0;
        }
        if self.link_down {
            return m.any_db;
        }
        let writes_fail = if self.writes_open { 0.0 } else { 1.0 };
        let in_pool = |n: usize| n != self.primary && self.in_read_pool[n];
        let pool = (0..self.db_down.len()).filter(|&n| in_pool(n)).count();
        let reads_fail = if self.cfg.database.read_from == ReadPolicy::Primary || pool == 0 {
            writes_fail
        } else {
            (0..self.db_down.len())
                .filter(|&n| in_pool(n) && self.db_down[n])
                .count() as f64
                / pool as f64
        };
        // P(fail) for a request with reads and/or writes, assuming the two kinds of
        // request overlap as little as the mix allows (a bound, exact for disjoint classes).
        (m.writes * writes_fail + m.reads * reads_fail).min(m.any_db)
    }
}

/// Semi-sync's next state, and whether a stall starts, given whether it is `on`, whether fewer
/// live replicas remain than it waits for (`short`), whether the primary is up, and whether
/// commits reach it (`commits`: it takes writes and the DB link carries them) ([`State::semi_sync`]
/// says why).
fn semi_step(on: bool, short: bool, primary_up: bool, commits: bool) -> (bool, bool) {
    if on && short && primary_up && commits {
        (false, true)
    } else if !on && !short && primary_up {
        (true, false)
    } else {
        (on, false)
    }
}

fn mix_of(cfg: &Config) -> Mix {
    let total: f64 = cfg.workload.mix.iter().map(|c| c.weight).sum();
    let share = |f: &dyn Fn(&super::config::RequestClass) -> bool| -> f64 {
        cfg.workload
            .mix
            .iter()
            .filter(|c| f(c))
            .map(|c| c.weight / total)
            .sum()
    };
    Mix {
        reads: share(&|c| c.reads > 0 && c.writes == 0),
        writes: share(&|c| c.writes > 0),
        any_db: share(&|c| c.reads > 0 || c.writes > 0),
    }
}

/// Simulates `horizon` of component states for replication `rep`, the surviving parts
/// always coping ([`Options::coping`]). `perfect` names a component that never fails (for its
/// improvement potential); the other components keep their streams, so the comparison is
/// paired.
pub fn simulate(
    cfg: &Config,
    comps: &[Component],
    horizon: SimTime,
    rep: u64,
    perfect: Option<usize>,
) -> PassResult {
    simulate_with(cfg, comps, horizon, rep, perfect, &Options::coping(cfg))
}

/// [`simulate`], with what degraded states do to requests taken from `opts`.
pub fn simulate_with(
    cfg: &Config,
    comps: &[Component],
    horizon: SimTime,
    rep: u64,
    perfect: Option<usize>,
    opts: &Options,
) -> PassResult {
    let mut scratch = PassScratch::default();
    simulate_in(&mut scratch, cfg, comps, horizon, rep, perfect, opts);
    scratch.into_result()
}

/// [`simulate_with`] in `scratch`'s buffers, which a study keeps from pass to pass
/// ([`PassScratch`] says why): the result lives in the scratch until its next pass. Every
/// buffer starts each pass as a fresh one would, so the figures are the same to the bit
/// whatever the scratch held before.
pub fn simulate_in<'s>(
    scratch: &'s mut PassScratch,
    cfg: &Config,
    comps: &[Component],
    horizon: SimTime,
    rep: u64,
    perfect: Option<usize>,
    opts: &Options,
) -> &'s PassResult {
    let PassScratch {
        state,
        copy,
        rngs,
        seeds,
        cal,
        blame_now,
        memo,
        result: out,
    } = scratch;
    let healthy = opts.overload.map_or(Penalty::default(), |of| {
        let key = &mut memo.borrow_mut().key;
        opts.groups.healthy_into(cfg, key);
        of.penalty(key)
    });
    seeds.derive(cfg.seed, comps, rep);
    let mut st = State::fresh(
        cfg,
        comps,
        opts,
        healthy,
        seeds,
        std::mem::take(state),
        memo,
    );
    rngs.clone_from(&seeds.faults);
    cal.clear();
    for (c, comp) in comps.iter().enumerate() {
        // Draw even for a perfect component, so the stream positions match the
        // request-level model's draw order exactly.
        let t = comp.ttf.sample_time(&mut rngs[c]);
        if Some(c) != perfect {
            cal.schedule_at(t, E::Fail(c as u16));
        }
    }
    out.reset(comps.len());
    let mut last = SimTime::ZERO;
    // What held over [last, now): at the start, the healthy stack (its own overload and late
    // requests are part of what users feel).
    let mut f_now = st.fractions(SimTime::ZERO);
    let mut outage_start: Option<SimTime> = None;
    let (mut failed, mut bad, mut overload, mut clean_time) = (0.0, 0.0, 0.0, 0.0);
    blame_now.clear();
    // [`blame`]'s copy of the state, made from the scratch's spare buffers when first needed.
    let mut without: Option<State> = None;
    loop {
        let next = cal.pop_until(horizon);
        let now = if next.is_some() { cal.now() } else { horizon };
        // Integrate the interval [last, now) at the fractions that held over it.
        let dt = (now - last).as_secs_f64();
        failed += f_now.fail * dt;
        bad += f_now.bad * dt;
        overload += (f_now.fail - f_now.down) * dt;
        if !f_now.outage() {
            clean_time += dt;
        }
        for &(c, share) in blame_now.iter() {
            out.blame_s[c] += share * dt;
        }
        last = now;
        let Some(ev) = next else { break };
        handle(&mut st, cal, rngs, out, ev);
        // Same-instant events settle before the fraction is read: a failure and the mechanism
        // that routes around it at the same instant make no outage.
        while let Some(ev) = cal.pop_until(now) {
            handle(&mut st, cal, rngs, out, ev);
        }
        st.semi_sync(cal, now);
        let f = st.fractions(now);
        if f.outage() && outage_start.is_none() {
            outage_start = Some(now);
        } else if !f.outage()
            && let Some(s) = outage_start.take()
        {
            out.outages.push((now - s).as_secs_f64());
        }
        f_now = f;
        blame(&st, now, f.fail, &mut without, copy, blame_now);
    }
    *state = st.into_buffers();
    if let Some(w) = without {
        *copy = w.into_buffers();
    }
    if let Some(s) = outage_start {
        out.outages.push((horizon - s).as_secs_f64());
    }
    let h = horizon.as_secs_f64();
    out.downtime_s = failed;
    out.overload_s = overload;
    out.availability = 1.0 - failed / h;
    out.slo_availability = 1.0 - bad / h;
    out.time_availability = clean_time / h;
    // Closed-loop users send too: at most N x requests per page / think (`capacity::
    // users_ceiling`, the figure the capacity line uses), which is what they send while the
    // stack answers at once, as it does to a failing request that is refused. Without them a
    // study of users alone reported 0 failed requests a year beside 90% availability.
    let rate = cfg.workload.rate + super::capacity::users_ceiling(cfg);
    out.arrived_requests = rate * h;
    out.failed_requests = rate * failed;
    out
}

/// The components without whose failure f would be lower now, each blamed for an equal share
/// of f. "Without its failure" restores the component and what its failure set in motion (a
/// server taken out of rotation, writes closed by a dead primary, a floating IP or DNS record
/// moved away), so a component is blamed for as long as users feel it, detection window and
/// repair alike: the same cost its improvement potential (a paired run where it never fails)
/// measures.
///
/// What is blamed is what failing parts add to the healthy stack's own failures (`f` minus
/// the healthy baseline): overload included, since a server out of rotation is why the others
/// are overloaded.
fn blame<'a>(
    st: &State<'a>,
    now: SimTime,
    f: f64,
    scratch: &mut Option<State<'a>>,
    spare: &mut Buffers,
    out: &mut Vec<(usize, f64)>,
) {
    out.clear();
    let excess = f - st.healthy.fail;
    if excess <= 0.0 {
        return;
    }
    for c in 0..st.comps.len() {
        if !st.down[c] && !st.comps[c].members.iter().any(|&p| still_felt(st, p)) {
            continue;
        }
        let without = match scratch {
            Some(w) => {
                w.copy_from(st);
                w
            }
            None => scratch.insert(st.copy_into(std::mem::take(spare))),
        };
        restore(without, c);
        if without.failing(now) < f {
            out.push((c, 0.0));
        }
    }
    let k = out.len().max(1) as f64;
    for (_, share) in out.iter_mut() {
        *share = excess / k;
    }
}

/// A repaired part whose failure still hurts: a server not yet back in rotation, a primary
/// whose writes have not resumed.
fn still_felt(st: &State, part: Part) -> bool {
    match part {
        Part::Host(i) | Part::App(i) => st.out_of_rotation[i],
        Part::Db(n) => n == st.primary && !st.writes_open,
        Part::Lb(k) => st.vip.is_none() || st.vrrp_fault[k],
        Part::Link | Part::Machines(_) => false,
    }
}

/// The state as if component `c` had not failed: up, and its failure's consequences undone
/// (for a host or rack, on each member no other failure keeps down).
fn restore(st: &mut State, c: usize) {
    st.down[c] = false;
    refresh(st, c);
    let comps = st.comps;
    for &part in &comps[c].members {
        restore_part(st, part);
    }
}

fn restore_part(st: &mut State, part: Part) {
    match part {
        Part::Lb(k) => {
            st.lb_silent[k] = false;
            st.vrrp_fault[k] = false;
            st.dns_moved[k] = false;
            if st.vip.is_none_or(|v| st.lb_down[v]) {
                st.vip = Some(k);
            }
        }
        Part::Host(i) | Part::App(i) => {
            if !st.host_down[i] && !st.app_down[i] {
                st.out_of_rotation[i] = false;
            }
        }
        Part::Db(n) => {
            if st.db_down[n] {
                // Another failure (its host's) keeps it down.
            } else if n == st.primary {
                st.writes_open = true;
            } else {
                st.in_read_pool[n] = true;
            }
        }
        Part::Link | Part::Machines(_) => {}
    }
}

/// Sets the raw up/down flags of component `c`'s parts from the components down now (no
/// mechanics): a part is down while any failure covering it (its own, its host's, its
/// rack's) lasts. A DB node's epoch moves when its flag does.
fn refresh(st: &mut State, c: usize) {
    let comps = st.comps;
    for &part in &comps[c].members {
        let down = comps
            .iter()
            .zip(&st.down)
            .any(|(k, &d)| d && k.members.contains(&part));
        match part {
            Part::Lb(k) => st.lb_down[k] = down,
            Part::Host(i) => st.host_down[i] = down,
            Part::App(i) => st.app_down[i] = down,
            Part::Db(n) => {
                if st.db_down[n] != down {
                    st.db_node_epoch[n] += 1;
                }
                st.db_down[n] = down;
            }
            Part::Link => st.link_down = down,
            Part::Machines(_) => {}
        }
    }
}

fn handle(st: &mut State, cal: &mut Calendar<E>, rngs: &mut [Rng], out: &mut PassResult, ev: E) {
    let now = cal.now();
    let cfg = st.cfg;
    let fo = &cfg.failures.db_failover;
    match ev {
        E::Fail(c) => {
            let c = c as usize;
            out.failures += 1;
            st.failed_at[c] = now;
            st.down[c] = true;
            st.epoch[c] += 1;
            let ttr = st.comps[c].ttr.sample_time(&mut rngs[c]);
            let entry = st.comps[c].entry;
            let wait = st.repairs.wait(entry, &mut st.people[c]);
            // When it answers again: known now, or (a crew to wait for) at the earliest.
            let back = match st.repairs.failed(entry, now, wait, ttr) {
                Plan::EndsAt(end) => {
                    cal.schedule_at(end, E::Repair(c as u16));
                    end
                }
                Plan::ReadyAt(at) => {
                    st.fix[c] = ttr;
                    cal.schedule_at(at, E::Ready(c as u16));
                    at + ttr
                }
            };
            let part = st.comps[c].part;
            let before = was_failing(st, c);
            refresh(st, c);
            match part {
                Part::Lb(k) => {
                    let silent = st.comps[c].kind.is_silent();
                    st.lb_silent[k] = silent;
                    st.lb_back_at[k] = back;
                    let wait = last_syn(cfg.workload.connect_timeout);
                    if silent && back > now + wait {
                        // Clients whose last SYN leaves after the repair wait for it and are
                        // served.
                        cal.schedule_at(back - wait, E::Reeval);
                    }
                    match cfg.failures.lb_ha {
                        LbHa::ActivePassive {
                            advert_int,
                            backup_priority,
                            track,
                            ..
                        } if st.vip == Some(k) => {
                            if silent {
                                // The host's advertisements stop: the master-down timer runs
                                // from the last one (as `stack/lbha.rs`).
                                st.vip = None;
                                let p = priority_of(1 - k, backup_priority);
                                let d = super::stack::master_down_after(
                                    now,
                                    st.master_since,
                                    advert_int,
                                    p,
                                );
                                takeover(st, cal, 1 - k, d);
                            } else if let Some(script) = track {
                                // The script fails at its next run (+ fall - 1 runs), FAULT.
                                let phase =
                                    SimTime(st.rng.below(script.interval.as_nanos().max(1)));
                                let d = phase
                                    + SimTime(
                                        script.interval.as_nanos()
                                            * (script.fall.max(1) as u64 - 1),
                                    );
                                st.vip_epoch += 1;
                                cal.schedule_in(d, E::VrrpFault(k as u8, st.vip_epoch));
                            }
                            // Untracked, a dead HAProxy keeps the address: service stops
                            // until the repair.
                        }
                        LbHa::ActiveActive {
                            withdraw_after,
                            dns_ttl,
                        } => {
                            st.dns_moved[k] = false;
                            let d = withdraw_after + SimTime(dns_ttl.as_nanos() / 2);
                            cal.schedule_in(d, E::Takeover(k as u8, st.epoch[c]));
                        }
                        _ => {}
                    }
                }
                Part::Link => {}
                _ => {
                    let silent = st.comps[c].kind.is_silent();
                    for &(p, was) in &before {
                        match p {
                            Part::Host(i) | Part::App(i) => {
                                let app = matches!(p, Part::App(_));
                                server_fails(st, cal, i, was, app, silent);
                            }
                            Part::Db(n) if !was && st.db_down[n] => db_fails(st, cal, n, silent),
                            _ => {}
                        }
                    }
                }
            }
            st.before = before;
        }
        E::Ready(c) => {
            let c = c as usize;
            let end = st.repairs.ready(st.comps[c].entry, now, st.fix[c]);
            cal.schedule_at(end, E::Repair(c as u16));
            if let Part::Lb(k) = st.comps[c].part {
                // Its clients learn only now when it will answer again.
                st.lb_back_at[k] = end;
                let wait = last_syn(cfg.workload.connect_timeout);
                if st.lb_silent[k] && end > now + wait {
                    cal.schedule_at(end - wait, E::Reeval);
                }
            }
        }
        E::Repair(c) => {
            let c = c as usize;
            out.repairs += 1;
            out.repair_s += (now - st.failed_at[c]).as_secs_f64();
            st.down[c] = false;
            st.epoch[c] += 1;
            let ttf = st.comps[c].ttf.sample_time(&mut rngs[c]);
            cal.schedule_in(ttf, E::Fail(c as u16));
            let part = st.comps[c].part;
            let before = was_failing(st, c);
            refresh(st, c);
            match part {
                Part::Lb(k) => {
                    st.vrrp_fault[k] = false;
                    if let LbHa::ActivePassive {
                        advert_int,
                        backup_priority,
                        preempt,
                        master_state,
                        ..
                    } = cfg.failures.lb_ha
                    {
                        if st.vip.is_none() {
                            let p = priority_of(k, backup_priority);
                            let d = super::stack::master_down_interval(advert_int, p);
                            takeover(st, cal, k, d);
                        } else if k == 0 && preempt {
                            // Preemption moves the address back once its timer expires; the
                            // backup serves meanwhile, so nothing fails here. It advertises
                            // from then (as `stack/lbha.rs` `keepalived_starts`).
                            st.vip = Some(0);
                            st.master_since = now
                                + if master_state {
                                    advert_int + SimTime::from_secs_f64(1.0 / 256.0)
                                } else {
                                    super::stack::master_down_interval(
                                        advert_int,
                                        priority_of(0, backup_priority),
                                    )
                                };
                            st.vip_epoch += 1;
                            st.takeover_at = None;
                        }
                    }
                }
                Part::Link => {}
                _ => {
                    for &(p, was) in &before {
                        match p {
                            Part::Host(i) | Part::App(i) => server_repaired(st, cal, i, was),
                            Part::Db(n) if was && !st.db_down[n] => {
                                if n == st.primary {
                                    st.writes_open = true;
                                    st.db_epoch += 1;
                                } else {
                                    st.in_read_pool[n] = true;
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
            st.before = before;
        }
        E::Rejoin(i, epoch) => {
            if epoch == st.check_epoch[i as usize] {
                st.out_of_rotation[i as usize] = false;
            }
        }
        E::Detected(i, epoch) => {
            if epoch == st.check_epoch[i as usize] {
                st.out_of_rotation[i as usize] = true;
            }
        }
        E::Takeover(k, epoch) => {
            let k = k as usize;
            if let LbHa::ActiveActive { .. } = cfg.failures.lb_ha {
                // (DNS) the dead LB's clients have moved: `epoch` is the component's.
                if st.lb_down[k]
                    && st
                        .comps
                        .iter()
                        .zip(&st.epoch)
                        .any(|(c, &e)| c.part == Part::Lb(k) && e == epoch)
                {
                    st.dns_moved[k] = true;
                }
                return;
            }
            if epoch == st.vip_epoch && st.vip.is_none() && !st.lb_down[k] {
                st.vip = Some(k);
                st.master_since = now;
                st.takeover_at = None;
            }
        }
        E::VrrpFault(k, epoch) => {
            let k = k as usize;
            if epoch != st.vip_epoch || !st.lb_down[k] || st.vip != Some(k) {
                return;
            }
            st.vrrp_fault[k] = true;
            st.vip = None;
            if let LbHa::ActivePassive {
                backup_priority, ..
            } = cfg.failures.lb_ha
            {
                // A priority-0 advertisement: the backup waits its skew alone.
                let skew = super::stack::master_down_interval(
                    SimTime::ZERO,
                    priority_of(1 - k, backup_priority),
                );
                takeover(st, cal, 1 - k, skew);
            }
        }
        E::Reeval => {}
        E::DbDetected(epoch) => {
            if epoch == st.db_epoch && fo.automatic {
                let d = fo.promotion.sample_time(&mut st.rng);
                cal.schedule_in(d, E::Promoted(epoch));
            }
        }
        E::Promoted(epoch) => {
            if epoch != st.db_epoch {
                return;
            }
            let old = st.primary;
            let best = (0..st.db_down.len()).find(|&m| m != old && !st.db_down[m]);
            if let Some(m) = best {
                st.primary = m;
                st.writes_open = true;
                // Semi-sync starts afresh on the new primary (as `stack/db.rs`
                // `finish_promotion`): with no replica left, its commits stall.
                st.semi_on = cfg.failures.db_failover.semi_sync;
                st.in_read_pool[m] = false;
                st.in_read_pool[old] = false;
                st.db_epoch += 1;
            }
        }
        E::ReplicaOut(n, epoch) => {
            if epoch == st.epoch_db(n as usize) && st.db_down[n as usize] {
                st.in_read_pool[n as usize] = false;
            }
        }
    }
}

/// Component `c`'s single parts, each with whether it already failed (a server: its health
/// check failed; a DB node: it was down) before `c`'s flags change, listed in the state's
/// own buffer (the caller puts it back in `st.before`).
fn was_failing(st: &mut State, c: usize) -> Vec<(Part, bool)> {
    let mut before = std::mem::take(&mut st.before);
    before.clear();
    before.extend(st.comps[c].members.iter().map(|&p| match p {
        Part::Host(i) | Part::App(i) => (p, st.check_fails(i)),
        Part::Db(n) => (p, st.db_down[n]),
        _ => (p, false),
    }));
    before
}

/// Server `i`'s host (or, `app`, its application) failed: if its health check starts failing
/// now (`was`: it already failed), HAProxy takes it out of rotation after `fall` failed
/// checks.
fn server_fails(
    st: &mut State,
    cal: &mut Calendar<E>,
    i: usize,
    was: bool,
    app: bool,
    silent: bool,
) {
    let h = &st.cfg.failures.health;
    if !(h.enabled && !was && st.check_fails(i)) {
        return;
    }
    st.check_epoch[i] += 1;
    // phase U(0, inter) then `fall` failed checks, each taking the check's timeout when
    // nothing answers, `fastinter` apart.
    let phase = SimTime(st.rng.below(h.inter.as_nanos().max(1)));
    let each = if silent {
        match (app, h.timeout_check) {
            (_, None) => h.inter,
            (false, Some(_)) => h.timeout_connect.min(h.inter),
            (true, Some(t)) => t,
        }
    } else {
        SimTime::ZERO
    };
    let fall = h.fall.max(1) as u64;
    let d = phase + SimTime(each.as_nanos() * fall) + SimTime(h.fastinter.as_nanos() * (fall - 1));
    cal.schedule_in(d, E::Detected(i as u16, st.check_epoch[i]));
}

/// A failure of server `i` (host or app) ended: if its check passes again (`was`: it failed
/// before), it rejoins the rotation after `rise` passing checks.
fn server_repaired(st: &mut State, cal: &mut Calendar<E>, i: usize, was: bool) {
    let h = &st.cfg.failures.health;
    let now_f = st.check_fails(i);
    if was && !now_f {
        st.check_epoch[i] += 1;
    }
    if was && !now_f && st.out_of_rotation[i] {
        // Back in rotation after `rise` passing checks: U(0, downinter) + (rise - 1) x
        // fastinter.
        let phase = SimTime(st.rng.below(h.downinter.as_nanos().max(1)));
        let d = phase + SimTime(h.fastinter.as_nanos() * (h.rise.max(1) as u64 - 1));
        cal.schedule_in(d, E::Rejoin(i as u16, st.check_epoch[i]));
    }
}

/// DB node `n` went down: the monitor notices after `poll_count` polls (a silent primary once
/// the replicas agree), then closes writes and promotes, or takes a replica out of the pool.
fn db_fails(st: &mut State, cal: &mut Calendar<E>, n: usize, silent: bool) {
    let fo = &st.cfg.failures.db_failover;
    let phase = SimTime(st.rng.below(fo.poll_interval.as_nanos().max(1)));
    let every = fo.poll_interval.as_nanos().max(1);
    let mut polls = fo.poll_count.max(1) as u64 - 1;
    if n == st.primary && silent {
        // orchestrator waits for the replicas to agree: they notice a silent primary
        // `replica_net_timeout` after it went quiet.
        let agree = fo.replica_net_timeout.as_nanos();
        polls = polls.max(agree.saturating_sub(phase.as_nanos()).div_ceil(every));
    }
    let d = phase + SimTime(every * polls);
    if n == st.primary {
        st.writes_open = false;
        st.db_epoch += 1;
        cal.schedule_in(d, E::DbDetected(st.db_epoch));
    } else {
        cal.schedule_in(d, E::ReplicaOut(n as u16, st.epoch_db(n)));
    }
}

/// keepalived priority of instance `k` (the master one above the backup).
fn priority_of(k: usize, backup_priority: u32) -> u32 {
    if k == 0 {
        (backup_priority + 1).min(255)
    } else {
        backup_priority
    }
}

/// Instance `k` takes the floating IP after `after`, in place of any pending takeover. (At
/// request level each instance runs its own timer and the first to expire wins: a master that
/// returns before the backup's timer expires does not put the takeover off there; here it
/// does, by up to one master-down interval. A rare overlap, left as it was.)
fn takeover(st: &mut State, cal: &mut Calendar<E>, k: usize, after: SimTime) {
    if (st.lb_down[k] && st.lb_silent[k]) || st.vrrp_fault[k] {
        return; // keepalived there is dead or in FAULT: it cannot take the address
    }
    st.vip_epoch += 1;
    let at = cal.now() + after;
    st.takeover_at = Some(at);
    cal.schedule_at(at, E::Takeover(k as u8, st.vip_epoch));
    let wait = last_syn(st.cfg.workload.connect_timeout);
    if after > wait {
        cal.schedule_at(at - wait, E::Reeval);
    }
}

impl State<'_> {
    fn epoch_db(&self, n: usize) -> u32 {
        self.db_node_epoch[n]
    }

    /// Server `i`'s health check fails (its host is down, or an L7 check meets a dead app).
    fn check_fails(&self, i: usize) -> bool {
        self.host_down[i] || (self.cfg.failures.health.layer7 && self.app_down[i])
    }
}

/// A structural single point of failure: a component whose failure alone stops service
/// (or writes), read off the topology.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Spof {
    pub component: String,
    pub effect: String,
}

pub fn structural_spofs(cfg: &Config) -> Vec<Spof> {
    let mut out = vec![];
    let mix = mix_of(cfg);
    if matches!(cfg.failures.lb_ha, LbHa::Single) {
        out.push(Spof {
            component: "lb-1".into(),
            effect: "stops service".into(),
        });
    }
    let actives: Vec<&super::config::ServerConfig> =
        cfg.servers.iter().filter(|s| !s.backup).collect();
    if actives.len() + cfg.servers.iter().filter(|s| s.backup).count() == 1 {
        let s = &cfg.servers[0];
        out.push(Spof {
            component: s.name.clone(),
            effect: "stops service".into(),
        });
        out.push(Spof {
            component: format!("{}.app", s.name),
            effect: "stops service".into(),
        });
    }
    if mix.any_db > 0.0 {
        let effect = if mix.any_db >= 1.0 {
            "stops service"
        } else {
            "fails every request that queries the database"
        };
        out.push(Spof {
            component: "db.link".into(),
            effect: effect.into(),
        });
        let replicas = cfg.database.replicas.len();
        let reads_survive = cfg.database.read_from == ReadPolicy::Replicas && replicas > 0;
        if replicas == 0 || !cfg.failures.db_failover.automatic {
            let effect = if !reads_survive && mix.any_db >= 1.0 {
                "stops service"
            } else if mix.writes > 0.0 {
                "stops writes"
            } else {
                "none (no writes)"
            };
            out.push(Spof {
                component: cfg.database.primary.name.clone(),
                effect: effect.into(),
            });
        }
    }
    out.extend(machine_spofs(cfg, &out));
    out
}

/// Hosts and racks whose failure alone takes down a single point of failure found above, or
/// every server at once: a host carrying the only primary and a web server is a SPOF for both.
fn machine_spofs(cfg: &Config, single: &[Spof]) -> Vec<Spof> {
    let layout = &cfg.failures.layout;
    let machines = (0..layout.hosts.len())
        .map(Target::Host)
        .chain((0..layout.racks.len()).map(Target::Rack));
    let mut out = vec![];
    for t in machines {
        let members = layout.members(t);
        let mut effects: Vec<String> = vec![];
        let servers = members
            .iter()
            .filter(|m| matches!(m, Target::Server(_)))
            .count();
        if servers > 0 && servers == cfg.servers.len() {
            effects.push("stops service (every web server is on it)".into());
        }
        for m in &members {
            let name = match *m {
                Target::Server(i) => cfg.servers[i].name.clone(),
                Target::DbNode(0) => cfg.database.primary.name.clone(),
                _ => continue,
            };
            if let Some(s) = single.iter().find(|s| s.component == name) {
                effects.push(format!("{} ({})", s.effect, s.component));
            }
        }
        if !effects.is_empty() {
            let on: Vec<String> = members
                .iter()
                .filter_map(|m| match *m {
                    Target::Server(i) => Some(cfg.servers[i].name.clone()),
                    Target::DbNode(0) => Some(cfg.database.primary.name.clone()),
                    Target::DbNode(n) => cfg.database.replicas.get(n - 1).map(|r| r.name.clone()),
                    _ => None,
                })
                .collect();
            out.push(Spof {
                component: layout.name(t).unwrap_or_default(),
                effect: format!("{}; carries {}", effects.join(", "), on.join(", ")),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::semi_step;

    /// Semi-sync's on/off tracking (`State::semi_sync`), transition by transition.
    #[test]
    fn semi_sync_stalls_once_falls_back_and_comes_back_with_its_replicas() {
        // On, and the replicas it waits for are lost while the primary takes writes: a stall
        // starts and the primary falls back to asynchronous replication.
        assert_eq!(semi_step(true, true, true, true), (false, true));
        // Fallen back: a further loss (or the same one, asked again) stalls nothing.
        assert_eq!(semi_step(false, true, true, true), (false, false));
        // Enough live replicas again (a repair) on a live primary: back on, no stall.
        assert_eq!(semi_step(false, false, true, true), (true, false));
        // On with enough replicas: nothing happens.
        assert_eq!(semi_step(true, false, true, true), (true, false));
        // No commit can wait while the primary is down, writes are closed (before a
        // promotion) or the DB link is partitioned: on stays on, and the stall comes when
        // commits resume short of replicas.
        assert_eq!(semi_step(true, true, false, false), (true, false));
        assert_eq!(semi_step(true, true, true, false), (true, false));
        assert_eq!(semi_step(true, true, true, true), (false, true));
        // Off with a dead primary: nothing acknowledges to a dead primary; it stays off.
        assert_eq!(semi_step(false, false, false, false), (false, false));
    }
}
