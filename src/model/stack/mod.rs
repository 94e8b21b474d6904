//! The whole web stack as one engine model: clients -> HAProxy (one, or a pair) -> N x
//! (Nginx -> app workers) -> MySQL primary / replicas, with replication, faults, health
//! checks and failover.
//!
//! Requests live in a slab (a `Vec` with a free list), so memory is bounded by the number of
//! requests in the system, never by the number simulated. Events carry a request index, are
//! `Copy` and 16 bytes; nothing is allocated per event on the steady-state path.
//!
//! Flow of one request (each arrow is an event unless the stage takes no time):
//! arrival -> LB threads (processing) -> server selection (or HAProxy queue, 503 on
//! `timeout queue`) -> Nginx workers -> app worker (held until the response) -> app CPU ->
//! for each read, then each write: network -> DB node (FIFO, `max_connections`) -> network
//! -> response. Writes commit on the primary and are shipped to every replica.
//!
//! Files: `flow.rs` (LB, Nginx, app), `db.rs` (queries, replication, failover), `faults.rs`
//! (fault injection, health checks, VRRP), `observe.rs` (timeline, event log, results).
//!
//! A request that fails while an event of its own is pending (it was in service on a node
//! that crashed) becomes a *zombie*: it is counted as failed at once, and its slot is freed
//! when that event fires, so no event ever reaches a reused slot. A request whose client
//! connection died with an LB is *doomed*: it keeps using servers (they do not know) and is
//! counted as failed when it finishes.

mod db;
mod faults;
mod flow;
mod observe;

use super::config::{Config, LbHa, Target};
use super::health::Health;
use super::lb::{LbPolicy, ServerView};
use super::replication::ReplicaLink;
use super::results::*;
use super::station::{ReqId, Station};
use super::workload::{Work, Workload};
use crate::dist::{Dist, Sample};
use crate::engine::{self, Calendar, Model, Rng, SimTime, StreamId};
use crate::stats::{LatencyHistogram, TimeAverage};
use std::collections::VecDeque;

pub use faults::master_down_interval;
pub use observe::{LogEntry, TimelineRow};

/// Why a request failed. The string is the key in `summary.json`'s `errors`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Cause {
    /// Frontend `maxconn` reached: connection refused at the LB.
    LbMaxconn,
    /// No usable server: HAProxy answers 503 at once.
    NoServer,
    /// Waited in HAProxy's queue longer than `timeout queue`: 503.
    QueueTimeout,
    /// `maxqueue` of the bound server reached: 503.
    ServerQueueFull,
    /// Nginx connection limit reached: refused.
    NginxRefused,
    /// Application queue (backlog) full: 503.
    AppQueueFull,
    /// MySQL `max_connections` reached: the app answers 500.
    DbTooManyConnections,
    /// No load balancer answers for this client (down, or VIP not yet taken over, or DNS
    /// still pointing at a dead one).
    LbDown,
    /// In flight through a load balancer that died or lost the floating IP.
    LbConnectionLost,
    /// Every connection attempt (1 + `retries`) to a dead server was refused: 503.
    ConnectFailed,
    /// In flight on a server whose host crashed.
    ServerCrash,
    /// The application process is down behind a live Nginx: 502.
    AppDown,
    /// The DB node crashed while serving the query, or refused it.
    DbNodeDown,
    /// A write while there is no primary (crash, detection, promotion): 500.
    NoPrimary,
    /// The app tier cannot reach the database (partition): 500.
    DbUnreachable,
}

impl Cause {
    pub const ALL: [Cause; 15] = [
        Cause::LbMaxconn,
        Cause::NoServer,
        Cause::QueueTimeout,
        Cause::ServerQueueFull,
        Cause::NginxRefused,
        Cause::AppQueueFull,
        Cause::DbTooManyConnections,
        Cause::LbDown,
        Cause::LbConnectionLost,
        Cause::ConnectFailed,
        Cause::ServerCrash,
        Cause::AppDown,
        Cause::DbNodeDown,
        Cause::NoPrimary,
        Cause::DbUnreachable,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Cause::LbMaxconn => "lb_maxconn",
            Cause::NoServer => "no_server_503",
            Cause::QueueTimeout => "queue_timeout_503",
            Cause::ServerQueueFull => "server_queue_full_503",
            Cause::NginxRefused => "nginx_refused",
            Cause::AppQueueFull => "app_queue_full_503",
            Cause::DbTooManyConnections => "db_too_many_connections_500",
            Cause::LbDown => "lb_down",
            Cause::LbConnectionLost => "lb_connection_lost",
            Cause::ConnectFailed => "connect_failed_503",
            Cause::ServerCrash => "server_crash",
            Cause::AppDown => "app_down_502",
            Cause::DbNodeDown => "db_node_down_500",
            Cause::NoPrimary => "no_primary_500",
            Cause::DbUnreachable => "db_unreachable_500",
        }
    }
}

/// The model's events. Small and `Copy`: they live in the calendar's heap.
#[derive(Clone, Copy, Debug)]
pub enum Ev {
    Arrival,
    WarmupEnd,
    Sample,
    LbDone(ReqId),
    NginxDone(ReqId),
    AppCpuDone(ReqId),
    DbArrive(ReqId),
    DbDone(ReqId),
    DbReply(ReqId),
    /// Semi-synchronous commit acknowledged (or timed out).
    SemiAck(ReqId),
    /// Connection retry to the same server after the turnaround.
    Retry(ReqId),
    /// (request, queue epoch): fires `timeout queue` after it was queued.
    QueueTimeout(ReqId, u32),
    /// (DB node, link epoch): the oldest shipped transaction reaches the relay log.
    ReplArrive(u16, u32),
    ApplyDone(u16, u64),
    /// Index into the fault records.
    FaultStart(u32),
    FaultEnd(u32),
    /// Random-failure generator `g` fails its component.
    RandomFail(u32),
    /// (LB instance, server, LB epoch): an active health check.
    Check(u8, u16, u32),
    DbPoll,
    /// Promotion of the chosen replica finishes its reconfiguration.
    Promote,
    /// (LB instance, takeover epoch): keepalived's master-down timer expired.
    VrrpTakeover(u8, u32),
}

const NO_SERVER: u16 = u16::MAX;

/// Where a request is: decides what a crash does to it and whether an event is pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Being handled right now: its own event just fired, none is pending.
    Active,
    LbWait,
    LbProc,
    Queued,
    Retry,
    NginxWait,
    Nginx,
    AppWait,
    AppCpu,
    ToDb,
    DbWait,
    Db,
    FromDb,
    Ack,
}

impl Stage {
    /// An event of this request is in the calendar.
    fn has_event(self) -> bool {
        matches!(
            self,
            Stage::LbProc
                | Stage::Retry
                | Stage::Nginx
                | Stage::AppCpu
                | Stage::ToDb
                | Stage::Db
                | Stage::FromDb
                | Stage::Ack
        )
    }

    /// Holds an application worker.
    fn in_app(self) -> bool {
        matches!(
            self,
            Stage::AppCpu | Stage::ToDb | Stage::DbWait | Stage::Db | Stage::FromDb | Stage::Ack
        )
    }

    /// Inside a server (admitted by Nginx).
    fn in_server(self) -> bool {
        self.in_app() || matches!(self, Stage::NginxWait | Stage::Nginx | Stage::AppWait)
    }
}

#[derive(Clone, Copy, Debug)]
struct Request {
    arrived: SimTime,
    queued_at: SimTime,
    work: Work,
    /// Bumped each time the request enters an LB queue; stale timeouts compare it.
    epoch: u32,
    /// Epoch of the station whose service completion is pending.
    st_epoch: u32,
    /// Epoch of the LB instance when the request was admitted.
    lb_epoch: u32,
    server: u16,
    db_node: u16,
    lb: u8,
    stage: Stage,
    retries_left: u8,
    queued: bool,
    measured: bool,
    in_write: bool,
    zombie: bool,
    live: bool,
    doomed: Option<Cause>,
    /// Raw (speed-1) service time of the current query, kept for the replica's apply time.
    db_raw: SimTime,
}

/// Requests in the system, indexed by `ReqId`, slots reused through a free list.
struct Slab {
    items: Vec<Request>,
    free: Vec<ReqId>,
}

impl Slab {
    #[inline]
    fn alloc(&mut self, r: Request) -> ReqId {
        match self.free.pop() {
            Some(id) => {
                // keep the epoch counter so stale queue entries never match a new owner
                let epoch = self.items[id as usize].epoch;
                self.items[id as usize] = Request { epoch, ..r };
                id
            }
            None => {
                self.items.push(r);
                (self.items.len() - 1) as ReqId
            }
        }
    }

    #[inline]
    fn release(&mut self, id: ReqId) {
        self.items[id as usize].live = false;
        self.free.push(id);
    }
}

struct Server {
    name: String,
    speed: f64,
    nginx: Station,
    app: Station,
    nginx_max: u32,
    backup: bool,
    /// Requests inside (Nginx admitted, response not yet sent).
    inside: u32,
    dispatched: u64,
    completed: u64,
    /// Active host faults (down while > 0).
    host_faults: u32,
    /// Active application-process faults.
    app_faults: u32,
}

impl Server {
    fn host_up(&self) -> bool {
        self.host_faults == 0
    }

    fn app_up(&self) -> bool {
        self.host_faults == 0 && self.app_faults == 0
    }
}

/// One HAProxy instance: its policy, its view of the servers, its queues, its checks.
struct Balancer {
    name: String,
    faults: u32,
    down_since: SimTime,
    /// Bumped when the instance dies or loses its connections.
    epoch: u32,
    /// Bumped when the process restarts: checks of the previous life are dropped.
    check_epoch: u32,
    policy: LbPolicy,
    views: Vec<ServerView>,
    /// Health-check state per server (UP as far as this LB knows).
    health: Vec<Health>,
    backend_q: VecDeque<(ReqId, u32)>,
    server_q: Vec<VecDeque<(ReqId, u32)>>,
    /// LB threads; None when processing takes no time.
    station: Option<Station>,
    held: u32,
    queue_len: TimeAverage,
    rng: Rng,
}

impl Balancer {
    fn up(&self) -> bool {
        self.faults == 0
    }
}

struct DbNode {
    name: String,
    station: Station,
    speed: f64,
    rng: Rng,
    reads: u64,
    writes: u64,
    faults: u32,
    /// Product of active "slow" factors.
    slow: f64,
    /// The monitor's view: in the read pool.
    read_ok: bool,
    failed_polls: u32,
    /// Was ever a replica (reported in the replication table).
    was_replica: bool,
    /// A primary that was replaced by a promotion: rebuilt before it rejoins.
    replaced: bool,
}

impl DbNode {
    fn up(&self) -> bool {
        self.faults == 0
    }
}

#[derive(Default)]
struct Counters {
    arrived: u64,
    completed: u64,
    failed: u64,
    errors: [u64; Cause::ALL.len()],
    /// Sum of time in system of measured requests that left (completed or failed), ns.
    sojourn_ns: u128,
}

/// Primary, failover and consistency state of the MySQL cluster.
struct DbState {
    primary: usize,
    /// Writes are accepted (a live primary is in place).
    writes_open: bool,
    primary_detected: bool,
    promoting: Option<usize>,
    /// For each node: acknowledged transactions it never received when the primary died.
    lost_if_promoted: Vec<u64>,
    lost: u64,
    promotions: u32,
    semi_fallback: bool,
    semi_fallbacks: u32,
    write_outage_start: Option<SimTime>,
    write_outage: SimTime,
    link_faults: u32,
    /// Last write gtid per client (read-your-writes check).
    last_write: Vec<u64>,
    stale_reads: u64,
    replica_reads: u64,
}

/// A fault as it happened in this run.
#[derive(Clone, Debug)]
struct FaultRec {
    target: Target,
    kind: super::config::FaultKind,
    start: SimTime,
    duration: Option<SimTime>,
    started: bool,
    end: Option<SimTime>,
    detected: Option<SimTime>,
    mitigated: Option<SimTime>,
    /// Random-failure generator that produced it.
    generator: Option<u32>,
}

/// A random-failure generator: one component alternating up and down.
struct Generator {
    target: Target,
    ttf: Dist,
    ttr: Dist,
    rng: Rng,
}

/// The web stack model. Build with [`Stack::new`], run with [`Stack::run`].
pub struct Stack {
    cfg: Config,
    replication: u64,
    workload: Workload,
    reqs: Slab,
    lbs: Vec<Balancer>,
    /// Active-passive: the instance holding the floating IP.
    vip: Option<usize>,
    vip_epoch: u32,
    servers: Vec<Server>,
    /// Index 0 is the initial primary, then the replicas.
    db: Vec<DbNode>,
    /// Replication link into each node (idle for the current primary).
    links: Vec<ReplicaLink>,
    dbs: DbState,
    read_rr: usize,
    gtid: u64,
    ship_buf: Vec<(usize, SimTime, SimTime)>,
    net_rng: Rng,
    repl_rng: Rng,
    health_rng: Rng,
    monitor_rng: Rng,
    promote_rng: Rng,
    faults: Vec<FaultRec>,
    generators: Vec<Generator>,
    latency: LatencyHistogram,
    in_system: TimeAverage,
    counts: Counters,
    events: u64,
    obs: observe::Observer,
}

impl Stack {
    /// Builds the model for replication `replication` of `cfg` (streams derive from
    /// `cfg.seed` and `replication`).
    pub fn new(cfg: &Config, replication: u64) -> Self {
        let seed = cfg.seed;
        let f = &cfg.failures;
        let lbs = (0..f.lb_ha.instances())
            .map(|k| {
                let views: Vec<ServerView> = cfg
                    .servers
                    .iter()
                    .map(|s| ServerView {
                        weight: s.weight,
                        maxconn: s.maxconn,
                        maxqueue: s.maxqueue,
                        served: 0,
                        queued: 0,
                        usable: s.weight > 0,
                    })
                    .collect();
                Balancer {
                    name: format!("lb-{}", k + 1),
                    faults: 0,
                    down_since: SimTime::ZERO,
                    epoch: 0,
                    check_epoch: 0,
                    policy: LbPolicy::new(cfg.lb.algorithm, &views),
                    health: vec![Health::new(f.health.rise, f.health.fall); views.len()],
                    server_q: vec![VecDeque::new(); views.len()],
                    views,
                    backend_q: VecDeque::new(),
                    station: (!cfg.lb.processing.is_zero())
                        .then(|| Station::new(cfg.lb.threads, usize::MAX)),
                    held: 0,
                    queue_len: TimeAverage::new(),
                    rng: Rng::new(StreamId::indexed(seed, "lb", k, replication)),
                }
            })
            .collect();
        let servers = cfg
            .servers
            .iter()
            .map(|s| Server {
                name: s.name.clone(),
                speed: s.speed,
                nginx: Station::new(s.nginx_workers, usize::MAX),
                app: Station::new(s.app_workers, s.app_queue as usize),
                nginx_max: s.nginx_max_conns,
                backup: s.backup,
                inside: 0,
                dispatched: 0,
                completed: 0,
                host_faults: 0,
                app_faults: 0,
            })
            .collect();
        let db: Vec<DbNode> = std::iter::once(&cfg.database.primary)
            .chain(cfg.database.replicas.iter())
            .enumerate()
            .map(|(i, n)| DbNode {
                name: n.name.clone(),
                station: Station::new(
                    n.workers,
                    n.max_connections.saturating_sub(n.workers) as usize,
                ),
                speed: n.speed,
                rng: Rng::new(StreamId::indexed(seed, "db.query", i, replication)),
                reads: 0,
                writes: 0,
                faults: 0,
                slow: 1.0,
                read_ok: true,
                failed_polls: 0,
                was_replica: i > 0,
                replaced: false,
            })
            .collect();
        let nodes = db.len();
        let mut stack = Stack {
            workload: Workload::new(&cfg.workload, seed, replication),
            reqs: Slab {
                items: Vec::with_capacity(1024),
                free: Vec::with_capacity(1024),
            },
            lbs,
            vip: Some(0),
            vip_epoch: 0,
            servers,
            links: (0..nodes)
                .map(|_| ReplicaLink::new(cfg.database.replication.appliers))
                .collect(),
            db,
            dbs: DbState {
                primary: 0,
                writes_open: true,
                primary_detected: false,
                promoting: None,
                lost_if_promoted: vec![0; nodes],
                lost: 0,
                promotions: 0,
                semi_fallback: false,
                semi_fallbacks: 0,
                write_outage_start: None,
                write_outage: SimTime::ZERO,
                link_faults: 0,
                last_write: vec![0; cfg.workload.clients.max(1) as usize],
                stale_reads: 0,
                replica_reads: 0,
            },
            read_rr: 0,
            gtid: 0,
            ship_buf: Vec::new(),
            net_rng: Rng::new(StreamId::new(seed, "db.network", replication)),
            repl_rng: Rng::new(StreamId::new(seed, "replication.delay", replication)),
            health_rng: Rng::new(StreamId::new(seed, "health", replication)),
            monitor_rng: Rng::new(StreamId::new(seed, "db.monitor", replication)),
            promote_rng: Rng::new(StreamId::new(seed, "db.promotion", replication)),
            faults: vec![],
            generators: vec![],
            latency: LatencyHistogram::new(),
            in_system: TimeAverage::new(),
            counts: Counters::default(),
            events: 0,
            obs: observe::Observer::new(cfg),
            cfg: cfg.clone(),
            replication,
        };
        stack.build_faults();
        stack
    }

    /// Runs the whole scenario and returns its results.
    pub fn run(cfg: &Config, replication: u64) -> RunResults {
        let mut model = Stack::new(cfg, replication);
        let mut cal = Calendar::with_capacity(4096);
        model.start(&mut cal);
        model.events = engine::run(&mut model, &mut cal, cfg.duration);
        model.results(cal.now())
    }

    /// Schedules the first arrival, the end of the warm-up, checks, polls and faults.
    pub fn start(&mut self, cal: &mut Calendar<Ev>) {
        if self.cfg.warmup > SimTime::ZERO {
            cal.schedule_at(self.cfg.warmup, Ev::WarmupEnd);
        }
        if let Some(t) = self.workload.next_arrival(SimTime::ZERO) {
            cal.schedule_at(t, Ev::Arrival);
        }
        if self.obs.enabled() {
            cal.schedule_at(self.cfg.failures.timeline_interval, Ev::Sample);
        }
        self.start_faults(cal);
    }

    fn on_warmup_end(&mut self, now: SimTime) {
        self.in_system.reset(now);
        for lb in &mut self.lbs {
            lb.queue_len.reset(now);
            if let Some(st) = &mut lb.station {
                st.reset_stats(now);
            }
        }
        for s in &mut self.servers {
            s.nginx.reset_stats(now);
            s.app.reset_stats(now);
        }
        for n in &mut self.db {
            n.station.reset_stats(now);
        }
        for l in &mut self.links {
            l.reset_stats(now);
        }
    }
}

/// Work on a node of relative speed `speed`.
#[inline]
fn scale(work: SimTime, speed: f64) -> SimTime {
    if speed == 1.0 {
        work
    } else {
        SimTime::from_secs_f64(work.as_secs_f64() / speed)
    }
}

impl Model for Stack {
    type Event = Ev;

    #[inline]
    fn handle(&mut self, ev: Ev, cal: &mut Calendar<Ev>) {
        match ev {
            Ev::Arrival => self.on_arrival(cal),
            Ev::LbDone(id) => self.on_lb_done(cal, id),
            Ev::NginxDone(id) => self.on_nginx_done(cal, id),
            Ev::AppCpuDone(id) => self.on_app_cpu_done(cal, id),
            Ev::DbArrive(id) => self.on_db_arrive(cal, id),
            Ev::DbDone(id) => self.on_db_done(cal, id),
            Ev::DbReply(id) => self.on_db_reply(cal, id),
            Ev::SemiAck(id) => self.on_semi_ack(cal, id),
            Ev::Retry(id) => self.on_retry(cal, id),
            Ev::QueueTimeout(id, epoch) => self.on_queue_timeout(cal.now(), id, epoch),
            Ev::ReplArrive(n, epoch) => self.on_repl_arrive(cal, n as usize, epoch),
            Ev::ApplyDone(n, gtid) => self.on_apply_done(cal, n as usize, gtid),
            Ev::WarmupEnd => self.on_warmup_end(cal.now()),
            Ev::Sample => self.on_sample(cal),
            Ev::FaultStart(f) => self.on_fault_start(cal, f as usize),
            Ev::FaultEnd(f) => self.on_fault_end(cal, f as usize),
            Ev::RandomFail(g) => self.on_random_fail(cal, g as usize),
            Ev::Check(k, i, epoch) => self.on_check(cal, k as usize, i as usize, epoch),
            Ev::DbPoll => self.on_db_poll(cal),
            Ev::Promote => self.on_promote(cal),
            Ev::VrrpTakeover(k, epoch) => self.on_vrrp_takeover(cal, k as usize, epoch),
        }
    }
}
