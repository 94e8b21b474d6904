//! The whole web stack as one engine model: clients -> HAProxy -> N x (Nginx -> app workers)
//! -> MySQL primary / replicas, with asynchronous replication.
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

use super::capacity;
use super::config::{Config, ReadPolicy};
use super::lb::{LbPolicy, Pick, Policy, ServerView};
use super::replication::{ApplyStart, ReplicaLink, Txn};
use super::results::*;
use super::station::{Admit, ReqId, Station};
use super::workload::{Work, Workload};
use crate::dist::{Dist, Sample};
use crate::engine::{self, Calendar, Model, Rng, SimTime, StreamId};
use crate::stats::{LatencyHistogram, TimeAverage};
use std::collections::{BTreeMap, VecDeque};

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
}

impl Cause {
    pub const ALL: [Cause; 7] = [
        Cause::LbMaxconn,
        Cause::NoServer,
        Cause::QueueTimeout,
        Cause::ServerQueueFull,
        Cause::NginxRefused,
        Cause::AppQueueFull,
        Cause::DbTooManyConnections,
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
        }
    }
}

/// The model's events. Small and `Copy`: they live in the calendar's heap.
#[derive(Clone, Copy, Debug)]
pub enum Ev {
    Arrival,
    WarmupEnd,
    LbDone(ReqId),
    NginxDone(ReqId),
    AppCpuDone(ReqId),
    DbArrive(ReqId),
    DbDone(ReqId),
    DbReply(ReqId),
    /// (request, queue generation): fires `timeout queue` after it was queued.
    QueueTimeout(ReqId, u32),
    ReplArrive(u16),
    ApplyDone(u16, u64),
}

const NO_SERVER: u16 = u16::MAX;

#[derive(Clone, Copy, Debug)]
struct Request {
    arrived: SimTime,
    queued_at: SimTime,
    work: Work,
    /// Bumped each time the request enters an LB queue; stale timeouts compare it.
    epoch: u32,
    server: u16,
    db_node: u16,
    queued: bool,
    measured: bool,
    in_write: bool,
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
                // keep the generation counter so stale queue entries never match a new owner
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
        self.free.push(id);
    }
}

struct Server {
    name: String,
    speed: f64,
    nginx: Station,
    app: Station,
    nginx_max: u32,
    /// Requests inside (Nginx admitted, response not yet sent).
    inside: u32,
    dispatched: u64,
    completed: u64,
}

/// One HAProxy instance: its policy, its view of the servers, its queues.
struct Balancer {
    policy: LbPolicy,
    views: Vec<ServerView>,
    backend_q: VecDeque<(ReqId, u32)>,
    server_q: Vec<VecDeque<(ReqId, u32)>>,
    /// LB threads; None when processing takes no time.
    station: Option<Station>,
    processing: Dist,
    held: u32,
    maxconn: u32,
    timeout_queue: SimTime,
    queue_len: TimeAverage,
    rng: Rng,
}

struct DbNode {
    name: String,
    station: Station,
    speed: f64,
    rng: Rng,
    reads: u64,
    writes: u64,
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

/// The web stack model. Build with [`Stack::new`], run with [`Stack::run`].
pub struct Stack {
    cfg: Config,
    replication: u64,
    workload: Workload,
    reqs: Slab,
    lb: Balancer,
    servers: Vec<Server>,
    /// Index 0 is the primary, then the replicas.
    db: Vec<DbNode>,
    links: Vec<ReplicaLink>,
    read_rr: usize,
    gtid: u64,
    network: Dist,
    net_rng: Rng,
    repl_rngs: Vec<Rng>,
    latency: LatencyHistogram,
    in_system: TimeAverage,
    counts: Counters,
    events: u64,
}

impl Stack {
    /// Builds the model for replication `replication` of `cfg` (streams derive from
    /// `cfg.seed` and `replication`).
    pub fn new(cfg: &Config, replication: u64) -> Self {
        let seed = cfg.seed;
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
        let lb = Balancer {
            policy: LbPolicy::new(cfg.lb.algorithm, &views),
            server_q: vec![VecDeque::new(); views.len()],
            views,
            backend_q: VecDeque::new(),
            station: (!cfg.lb.processing.is_zero())
                .then(|| Station::new(cfg.lb.threads, usize::MAX)),
            processing: cfg.lb.processing.clone(),
            held: 0,
            maxconn: cfg.lb.maxconn,
            timeout_queue: cfg.lb.timeout_queue,
            queue_len: TimeAverage::new(),
            rng: Rng::new(StreamId::new(seed, "lb", replication)),
        };
        let servers = cfg
            .servers
            .iter()
            .map(|s| Server {
                name: s.name.clone(),
                speed: s.speed,
                nginx: Station::new(s.nginx_workers, usize::MAX),
                app: Station::new(s.app_workers, s.app_queue as usize),
                nginx_max: s.nginx_max_conns,
                inside: 0,
                dispatched: 0,
                completed: 0,
            })
            .collect();
        let db = std::iter::once(&cfg.database.primary)
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
            })
            .collect();
        let replicas = cfg.database.replicas.len();
        Stack {
            workload: Workload::new(&cfg.workload, seed, replication),
            reqs: Slab {
                items: Vec::with_capacity(1024),
                free: Vec::with_capacity(1024),
            },
            lb,
            servers,
            db,
            links: (0..replicas)
                .map(|_| ReplicaLink::new(cfg.database.replication.appliers))
                .collect(),
            read_rr: 0,
            gtid: 0,
            network: cfg.database.network.clone(),
            net_rng: Rng::new(StreamId::new(seed, "db.network", replication)),
            repl_rngs: (0..replicas)
                .map(|i| Rng::new(StreamId::indexed(seed, "replication.delay", i, replication)))
                .collect(),
            latency: LatencyHistogram::new(),
            in_system: TimeAverage::new(),
            counts: Counters::default(),
            events: 0,
            cfg: cfg.clone(),
            replication,
        }
    }

    /// Runs the whole scenario and returns its results.
    pub fn run(cfg: &Config, replication: u64) -> RunResults {
        let mut model = Stack::new(cfg, replication);
        let mut cal = Calendar::with_capacity(4096);
        model.start(&mut cal);
        model.events = engine::run(&mut model, &mut cal, cfg.duration);
        model.results(cal.now())
    }

    /// Schedules the first arrival and the end of the warm-up.
    pub fn start(&mut self, cal: &mut Calendar<Ev>) {
        if self.cfg.warmup > SimTime::ZERO {
            cal.schedule_at(self.cfg.warmup, Ev::WarmupEnd);
        }
        if let Some(t) = self.workload.next_arrival(SimTime::ZERO) {
            cal.schedule_at(t, Ev::Arrival);
        }
    }

    // ---- arrivals and the load balancer ------------------------------------------------

    fn on_arrival(&mut self, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        if let Some(t) = self.workload.next_arrival(now) {
            cal.schedule_at(t, Ev::Arrival);
        }
        let work = self.workload.draw();
        let measured = now >= self.cfg.warmup;
        let id = self.reqs.alloc(Request {
            arrived: now,
            queued_at: now,
            work,
            epoch: 0,
            server: NO_SERVER,
            db_node: 0,
            queued: false,
            measured,
            in_write: false,
            db_raw: SimTime::ZERO,
        });
        if measured {
            self.counts.arrived += 1;
        }
        self.in_system.add(now, 1);
        if self.lb.maxconn > 0 && self.lb.held >= self.lb.maxconn {
            self.fail(now, id, Cause::LbMaxconn);
            return;
        }
        self.lb.held += 1;
        match &mut self.lb.station {
            None => self.select(cal, id),
            Some(st) => {
                if st.arrive(now, id) == Admit::Start {
                    let d = self.lb.processing.sample_time(&mut self.lb.rng);
                    cal.schedule_in(d, Ev::LbDone(id));
                }
            }
        }
    }

    fn on_lb_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        if let Some(st) = &mut self.lb.station
            && let Some(next) = st.finish(now)
        {
            let d = self.lb.processing.sample_time(&mut self.lb.rng);
            cal.schedule_in(d, Ev::LbDone(next));
        }
        self.select(cal, id);
    }

    /// HAProxy's server selection for a request that finished LB processing.
    fn select(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let lb = &mut self.lb;
        if lb.policy.fifo_fair() && !lb.backend_q.is_empty() && self.live_backend_head() {
            self.enqueue(cal, id, None);
            return;
        }
        let ip = self.reqs.items[id as usize].work.client_ip;
        let lb = &mut self.lb;
        match lb.policy.pick(&lb.views, ip, &mut lb.rng) {
            Pick::Server(i) => self.dispatch(cal, id, i),
            Pick::ServerQueue(i) => {
                let v = self.lb.views[i];
                if v.maxqueue > 0 && v.queued >= v.maxqueue {
                    self.release_lb_only(cal.now(), id, Cause::ServerQueueFull);
                } else {
                    self.enqueue(cal, id, Some(i));
                }
            }
            Pick::BackendQueue => self.enqueue(cal, id, None),
            Pick::NoServer => self.release_lb_only(cal.now(), id, Cause::NoServer),
        }
    }

    /// True if the backend queue holds at least one live entry (drops stale heads).
    fn live_backend_head(&mut self) -> bool {
        while let Some(&(id, epoch)) = self.lb.backend_q.front() {
            let r = &self.reqs.items[id as usize];
            if r.queued && r.epoch == epoch {
                return true;
            }
            self.lb.backend_q.pop_front();
        }
        false
    }

    fn enqueue(&mut self, cal: &mut Calendar<Ev>, id: ReqId, server: Option<usize>) {
        let now = cal.now();
        let r = &mut self.reqs.items[id as usize];
        r.epoch = r.epoch.wrapping_add(1);
        r.queued = true;
        r.queued_at = now;
        let epoch = r.epoch;
        match server {
            Some(i) => {
                r.server = i as u16;
                self.lb.server_q[i].push_back((id, epoch));
                self.lb.views[i].queued += 1;
            }
            None => {
                r.server = NO_SERVER;
                self.lb.backend_q.push_back((id, epoch));
            }
        }
        self.lb.queue_len.add(now, 1);
        cal.schedule_in(self.lb.timeout_queue, Ev::QueueTimeout(id, epoch));
    }

    fn on_queue_timeout(&mut self, now: SimTime, id: ReqId, epoch: u32) {
        let r = &mut self.reqs.items[id as usize];
        if !r.queued || r.epoch != epoch {
            return; // already dequeued: stale timer
        }
        r.queued = false;
        if r.server != NO_SERVER {
            self.lb.views[r.server as usize].queued -= 1;
        }
        self.lb.queue_len.add(now, -1);
        self.release_lb_only(now, id, Cause::QueueTimeout);
    }

    /// Fails a request that holds an LB slot but no server.
    fn release_lb_only(&mut self, now: SimTime, id: ReqId, cause: Cause) {
        self.lb.held -= 1;
        self.fail(now, id, cause);
    }

    fn dispatch(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        self.lb.views[i].served += 1;
        let r = &mut self.reqs.items[id as usize];
        r.server = i as u16;
        let measured = r.measured;
        let nginx_work = r.work.nginx;
        let now = cal.now();
        let s = &mut self.servers[i];
        if measured {
            s.dispatched += 1;
        }
        if s.inside >= s.nginx_max {
            self.lb_response(cal, i);
            self.fail(now, id, Cause::NginxRefused);
            return;
        }
        s.inside += 1;
        if nginx_work == SimTime::ZERO {
            self.app_enter(cal, id, i);
        } else if s.nginx.arrive(now, id) == Admit::Start {
            cal.schedule_in(scale(nginx_work, s.speed), Ev::NginxDone(id));
        }
    }

    /// A response (or error) from server `i` passed back through the LB: free the slot and
    /// let the oldest queued request in.
    fn lb_response(&mut self, cal: &mut Calendar<Ev>, i: usize) {
        let now = cal.now();
        self.lb.held -= 1;
        self.lb.views[i].served -= 1;
        let v = self.lb.views[i];
        if v.maxconn > 0 && v.served >= v.maxconn {
            return;
        }
        if let Some(id) = self.pop_oldest_for(i) {
            self.lb.queue_len.add(now, -1);
            self.dispatch(cal, id, i);
        }
    }

    /// The oldest live request among the heads of server `i`'s queue and the backend queue.
    fn pop_oldest_for(&mut self, i: usize) -> Option<ReqId> {
        let reqs = &self.reqs.items;
        let live = |e: &(ReqId, u32)| {
            let r = &reqs[e.0 as usize];
            r.queued && r.epoch == e.1
        };
        while self.lb.server_q[i].front().is_some_and(|e| !live(e)) {
            self.lb.server_q[i].pop_front();
        }
        while self.lb.backend_q.front().is_some_and(|e| !live(e)) {
            self.lb.backend_q.pop_front();
        }
        let sq = self.lb.server_q[i]
            .front()
            .map(|e| reqs[e.0 as usize].queued_at);
        let bq = self
            .lb
            .backend_q
            .front()
            .map(|e| reqs[e.0 as usize].queued_at);
        let from_server = match (sq, bq) {
            (None, None) => return None,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(a), Some(b)) => a <= b,
        };
        let (id, _) = if from_server {
            self.lb.views[i].queued -= 1;
            self.lb.server_q[i].pop_front()?
        } else {
            self.lb.backend_q.pop_front()?
        };
        self.reqs.items[id as usize].queued = false;
        Some(id)
    }

    // ---- web server: Nginx then the application --------------------------------------------

    fn on_nginx_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let i = self.reqs.items[id as usize].server as usize;
        let s = &mut self.servers[i];
        if let Some(next) = s.nginx.finish(now) {
            let w = self.reqs.items[next as usize].work.nginx;
            cal.schedule_in(scale(w, s.speed), Ev::NginxDone(next));
        }
        self.app_enter(cal, id, i);
    }

    fn app_enter(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let now = cal.now();
        match self.servers[i].app.arrive(now, id) {
            Admit::Start => self.app_start(cal, id, i),
            Admit::Queued => {}
            Admit::Rejected => {
                self.servers[i].inside -= 1;
                self.lb_response(cal, i);
                self.fail(now, id, Cause::AppQueueFull);
            }
        }
    }

    #[inline]
    fn app_start(&mut self, cal: &mut Calendar<Ev>, id: ReqId, i: usize) {
        let w = self.reqs.items[id as usize].work.app;
        cal.schedule_in(scale(w, self.servers[i].speed), Ev::AppCpuDone(id));
    }

    /// Issues the request's next query, or finishes it when none is left.
    fn next_query(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let r = &mut self.reqs.items[id as usize];
        let node = if r.work.reads > 0 {
            r.work.reads -= 1;
            r.in_write = false;
            self.read_node()
        } else if r.work.writes > 0 {
            r.work.writes -= 1;
            r.in_write = true;
            0
        } else {
            self.app_finish(cal, id);
            return;
        };
        let r = &mut self.reqs.items[id as usize];
        r.db_node = node as u16;
        if self.network.is_zero() {
            self.db_arrive(cal, id);
        } else {
            let d = self.network.sample_time(&mut self.net_rng);
            cal.schedule_in(d, Ev::DbArrive(id));
        }
    }

    fn read_node(&mut self) -> usize {
        let replicas = self.db.len() - 1;
        if self.cfg.database.read_from == ReadPolicy::Primary || replicas == 0 {
            return 0;
        }
        self.read_rr = (self.read_rr + 1) % replicas;
        1 + self.read_rr
    }

    fn app_finish(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let i = self.reqs.items[id as usize].server as usize;
        self.app_release(cal, i);
        let s = &mut self.servers[i];
        s.inside -= 1;
        if self.reqs.items[id as usize].measured {
            s.completed += 1;
        }
        self.lb_response(cal, i);
        self.complete(now, id);
    }

    fn app_release(&mut self, cal: &mut Calendar<Ev>, i: usize) {
        if let Some(next) = self.servers[i].app.finish(cal.now()) {
            self.app_start(cal, next, i);
        }
    }

    // ---- database ----------------------------------------------------------------------

    fn db_arrive(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let node = self.reqs.items[id as usize].db_node as usize;
        match self.db[node].station.arrive(now, id) {
            Admit::Start => self.db_start(cal, id, node),
            Admit::Queued => {}
            Admit::Rejected => {
                // "Too many connections": the app gives up and answers 500.
                let i = self.reqs.items[id as usize].server as usize;
                self.app_release(cal, i);
                self.servers[i].inside -= 1;
                self.lb_response(cal, i);
                self.fail(now, id, Cause::DbTooManyConnections);
            }
        }
    }

    fn db_start(&mut self, cal: &mut Calendar<Ev>, id: ReqId, node: usize) {
        let r = &mut self.reqs.items[id as usize];
        let n = &mut self.db[node];
        let dist = if r.in_write {
            &self.cfg.database.write_time
        } else {
            &self.cfg.database.read_time
        };
        let raw = dist.sample(&mut n.rng);
        r.db_raw = SimTime::from_secs_f64(raw);
        cal.schedule_in(SimTime::from_secs_f64(raw / n.speed), Ev::DbDone(id));
    }

    fn on_db_done(&mut self, cal: &mut Calendar<Ev>, id: ReqId) {
        let now = cal.now();
        let r = self.reqs.items[id as usize];
        let node = r.db_node as usize;
        if let Some(next) = self.db[node].station.finish(now) {
            self.db_start(cal, next, node);
        }
        let measured = now >= self.cfg.warmup;
        if r.in_write {
            if measured {
                self.db[node].writes += 1;
            }
            self.commit(cal, r.db_raw);
        } else if measured {
            self.db[node].reads += 1;
        }
        if self.network.is_zero() {
            self.next_query(cal, id);
        } else {
            let d = self.network.sample_time(&mut self.net_rng);
            cal.schedule_in(d, Ev::DbReply(id));
        }
    }

    /// A write committed on the primary: ship it to every replica.
    fn commit(&mut self, cal: &mut Calendar<Ev>, raw: SimTime) {
        self.gtid += 1;
        let now = cal.now();
        let factor = self.cfg.database.replication.apply_factor;
        for (k, link) in self.links.iter_mut().enumerate() {
            let speed = self.db[k + 1].speed;
            let txn = Txn {
                gtid: self.gtid,
                commit: now,
                apply: SimTime::from_secs_f64(raw.as_secs_f64() * factor / speed),
            };
            let delay = self
                .cfg
                .database
                .replication
                .delay
                .sample_time(&mut self.repl_rngs[k]);
            let at = link.ship(txn, delay);
            cal.schedule_at(at, Ev::ReplArrive(k as u16));
        }
    }

    fn schedule_apply(cal: &mut Calendar<Ev>, k: u16, start: ApplyStart) {
        if let ApplyStart::Start { gtid, after } = start {
            cal.schedule_in(after, Ev::ApplyDone(k, gtid));
        }
    }

    // ---- bookkeeping -----------------------------------------------------------------------

    fn complete(&mut self, now: SimTime, id: ReqId) {
        let r = &self.reqs.items[id as usize];
        if r.measured {
            let t = now - r.arrived;
            self.counts.completed += 1;
            self.counts.sojourn_ns += t.as_nanos() as u128;
            self.latency.record(t);
        }
        self.in_system.add(now, -1);
        self.reqs.release(id);
    }

    fn fail(&mut self, now: SimTime, id: ReqId, cause: Cause) {
        let r = &self.reqs.items[id as usize];
        if r.measured {
            self.counts.failed += 1;
            self.counts.errors[cause as usize] += 1;
            self.counts.sojourn_ns += (now - r.arrived).as_nanos() as u128;
        }
        self.in_system.add(now, -1);
        self.reqs.release(id);
    }

    fn on_warmup_end(&mut self, now: SimTime) {
        self.in_system.reset(now);
        self.lb.queue_len.reset(now);
        if let Some(st) = &mut self.lb.station {
            st.reset_stats(now);
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

    /// Collects the results at the end of the run (`now` = the run's end).
    pub fn results(&self, now: SimTime) -> RunResults {
        let cfg = &self.cfg;
        let window = (now - cfg.warmup).as_secs_f64().max(1e-12);
        let c = &self.counts;
        let finished = c.completed + c.failed;
        let mean_in_system = self.in_system.mean(now);
        let arrival_rate = c.arrived as f64 / window;
        let w = if finished > 0 {
            c.sojourn_ns as f64 * 1e-9 / finished as f64
        } else {
            0.0
        };
        let lw = arrival_rate * w;
        let dispatched: u64 = self.servers.iter().map(|s| s.dispatched).sum();
        RunResults {
            scenario: cfg.name.clone(),
            seed: cfg.seed,
            run: self.replication,
            duration_s: cfg.duration.as_secs_f64(),
            warmup_s: cfg.warmup.as_secs_f64(),
            measured_s: window,
            events: self.events,
            requests: RequestCounts {
                arrived: c.arrived,
                completed: c.completed,
                failed: c.failed,
                in_flight_end: c.arrived - finished,
            },
            throughput_rps: c.completed as f64 / window,
            availability: if finished > 0 {
                c.completed as f64 / finished as f64
            } else {
                1.0
            },
            latency: LatencySummary::from_hist(&self.latency),
            errors: Cause::ALL
                .iter()
                .map(|&k| (k.key().to_string(), c.errors[k as usize]))
                .collect::<BTreeMap<_, _>>(),
            littles_law: LittlesLaw {
                mean_in_system,
                arrival_rate,
                mean_time_in_system: w,
                lambda_times_w: lw,
                relative_error: if mean_in_system > 0.0 {
                    (mean_in_system - lw).abs() / mean_in_system
                } else {
                    0.0
                },
            },
            lb: LbStats {
                algorithm: cfg.lb.algorithm.name(),
                utilisation: self.lb.station.as_ref().map_or(0.0, |s| s.utilisation(now)),
                mean_queue: self.lb.queue_len.mean(now),
                max_queue: self.lb.queue_len.max(),
            },
            servers: self
                .servers
                .iter()
                .map(|s| ServerStats {
                    name: s.name.clone(),
                    dispatched: s.dispatched,
                    share: if dispatched > 0 {
                        s.dispatched as f64 / dispatched as f64
                    } else {
                        0.0
                    },
                    completed: s.completed,
                    nginx_utilisation: s.nginx.utilisation(now),
                    app_utilisation: s.app.utilisation(now),
                    app_wait_probability: s.app.wait_probability(),
                    app_mean_queue: s.app.mean_queue(now),
                    app_max_queue: s.app.max_queue(),
                })
                .collect(),
            database: self
                .db
                .iter()
                .enumerate()
                .map(|(i, n)| DbNodeStats {
                    name: n.name.clone(),
                    role: if i == 0 { "primary" } else { "replica" }.into(),
                    reads: n.reads,
                    writes: n.writes,
                    utilisation: n.station.utilisation(now),
                    mean_queue: n.station.mean_queue(now),
                })
                .collect(),
            replication: self
                .links
                .iter()
                .enumerate()
                .map(|(k, l)| ReplicaStats {
                    name: self.db[k + 1].name.clone(),
                    lag_mean: l.lag().mean_secs(),
                    lag_p99: l.lag().quantile_secs(0.99),
                    lag_max: l.lag().max_secs().max(l.current_lag(now).as_secs_f64()),
                    transactions_applied: l.lag().count(),
                    backlog_end: self.gtid - l.applied_gtid,
                })
                .collect(),
            capacity: capacity::analyse(cfg),
            latency_hist: self.latency.clone(),
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
            Ev::AppCpuDone(id) => self.next_query(cal, id),
            Ev::DbArrive(id) => self.db_arrive(cal, id),
            Ev::DbDone(id) => self.on_db_done(cal, id),
            Ev::DbReply(id) => self.next_query(cal, id),
            Ev::QueueTimeout(id, epoch) => self.on_queue_timeout(cal.now(), id, epoch),
            Ev::ReplArrive(k) => {
                let start = self.links[k as usize].arrive();
                Self::schedule_apply(cal, k, start);
            }
            Ev::ApplyDone(k, gtid) => {
                let start = self.links[k as usize].applied(cal.now(), gtid);
                Self::schedule_apply(cal, k, start);
            }
            Ev::WarmupEnd => self.on_warmup_end(cal.now()),
        }
    }
}
