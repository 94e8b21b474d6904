//! The whole web stack as one engine model: clients -> HAProxy (one, or a pair) -> N x
//! (Nginx -> app workers) -> MySQL primary / replicas, with replication, faults, health
//! checks and failover.
//!
//! Requests live in a slab (a `Vec` with a free list), so memory is bounded by the number of
//! requests in the system, never by the number simulated. Events carry a request index, are
//! `Copy` and 16 bytes; nothing is allocated per event on the steady-state path.
//!
//! Flow of one request (each arrow is an event unless the stage takes no time):
//! client connect (SYNs retransmitted while its LB address does not answer) -> LB threads
//! (processing) -> server selection (or HAProxy queue, 503 on `timeout queue`) -> connection
//! to the server (retries, redispatch, `timeout connect`) -> Nginx workers -> app worker (held
//! until the response) -> app CPU -> for each read, then each write: network -> DB node
//! -> network -> response. Writes commit on the primary and are shipped to every replica;
//! with semi-sync the commit waits for an acknowledgement.
//!
//! What a request holds is explicit ([`holds`]): its LB frontend slot, its server slot at the
//! LB (`served`, which a retrying request keeps, as HAProxy does), its Nginx connections, its
//! application worker and its MySQL connections. Every release checks and clears its bit, so a
//! request can lose its client (a timeout answered 504, the client counted as failed) while
//! its application worker goes on until the work ends, as in a real stack.
//!
//! Timeouts that would cost an event per request (`timeout server`, `proxy_read_timeout`, the
//! app server's worker timeout, the MySQL read timeout) are kept in FIFOs of deadlines with
//! one timer each (`timeouts.rs`); a timeout known when it starts (a connect to a host that
//! does not answer) is an ordinary event.
//!
//! Files: `flow.rs` (clients, LB, Nginx, app), `db.rs` (queries, replication, failover,
//! semi-sync), `faults.rs` (fault injection, health checks), `lbha.rs` (keepalived and DNS),
//! `timeouts.rs` (deadline FIFOs, SYN retransmission), `observe.rs` (timeline, event log,
//! results).
//!
//! A request that ends while an event of its own is pending (it was in service on a node
//! that crashed) becomes a *zombie*: it is counted at once, and its slot is freed when that
//! event fires, so no event ever reaches a reused slot. A request whose client connection
//! died with an LB is *doomed*: it keeps using servers (they do not know) and is counted as
//! failed when it finishes.

mod aftermath;
mod classes;
mod db;
mod faults;
mod flow;
mod lbha;
mod observe;
mod security;
mod sticky;
mod timeouts;
mod users;
mod waits;

use super::clients::{NO_USER, Users};
use super::config::{Config, LbHa, Target, VrrpScript};
use super::health::Health;
use super::lb::stickiness::{PersistKind, Stickiness};
use super::lb::{LbPolicy, Policy, ServerView};
use super::replication::ReplicaLink;
use super::results::*;
use super::retry::{Pending, Retries};
use super::station::{ReqId, Station};
use super::workload::{Work, Workload};
use crate::dist::{Dist, Sample};
use crate::engine::{self, Calendar, Model, Rng, SimTime, StreamId};
use crate::stats::{LatencyHistogram, TimeAverage};
use std::collections::VecDeque;

pub use lbha::{VRRP_PHASE_STREAM, advert_phase, master_down_after, master_down_interval};
pub use observe::{LogEntry, TimelineRow};
use timeouts::Deadlines;
pub use timeouts::last_syn;

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
    /// Nginx out of `worker_connections`: it accepts and closes, HAProxy answers 502.
    NginxRefused,
    /// Application backlog full on a unix socket: the connect fails at once, Nginx answers 502.
    AppQueueFull,
    /// MySQL `max_connections` reached: the app answers 500.
    DbTooManyConnections,
    /// The client's LB address refuses the connection (HAProxy dead on a live host, or no
    /// address to connect to).
    LbDown,
    /// The client's LB address never answered: it gave up after its connect timeout.
    LbConnectTimeout,
    /// In flight through a load balancer that died or lost the floating IP.
    LbConnectionLost,
    /// Every connection attempt (1 + `retries`) failed (refused, or `timeout connect`): 503.
    ConnectFailed,
    /// The server did not answer within `timeout server`: 504.
    ServerTimeout,
    /// In flight on a server whose processes died (its host resets the connection): 502.
    ServerCrash,
    /// The application process is down behind a live Nginx: 502.
    AppDown,
    /// Nginx's `proxy_read_timeout` expired: 504.
    UpstreamTimeout,
    /// Nginx could not connect to the application (TCP backlog full) within
    /// `proxy_connect_timeout`: 504.
    UpstreamConnectTimeout,
    /// The app server killed a worker busy past its timeout (Gunicorn `timeout`): 502.
    AppWorkerTimeout,
    /// The DB node crashed while serving the query, or refused it.
    DbNodeDown,
    /// The MySQL client's connect or read timeout expired, or its connection did (a query
    /// retransmitted for `tcp_retries2`'s 924.6 s without an answer): 500.
    DbTimeout,
    /// A write while there is no primary (crash, detection, promotion): 500.
    NoPrimary,
    /// The app tier cannot reach the database (a partition that resets connections): 500.
    DbUnreachable,
    /// The client gave up waiting for its answer (`workload.client_timeout`). Optional: see
    /// [`Cause::OPTIONAL`].
    ClientTimeout,
    // ---- security (`[lb.rate_limit]`, `[firewall]`): reported only when configured ----
    /// Over the source's request rate: `http-request deny`, 403.
    RateLimited,
    /// Over the source's request rate: `http-request tarpit`, 500 after `timeout tarpit`.
    Tarpitted,
    /// Over the source's open connections: `tcp-request connection reject` (a reset).
    ConnRejected,
    /// A firewall REJECT rule answered the SYN: refused at once.
    FirewallRejected,
    /// A firewall DROP rule swallowed the SYNs: the client gave up at its connect timeout.
    FirewallDropped,
}

impl Cause {
    pub const ALL: [Cause; 21] = [
        Cause::LbMaxconn,
        Cause::NoServer,
        Cause::QueueTimeout,
        Cause::ServerQueueFull,
        Cause::NginxRefused,
        Cause::AppQueueFull,
        Cause::DbTooManyConnections,
        Cause::LbDown,
        Cause::LbConnectTimeout,
        Cause::LbConnectionLost,
        Cause::ConnectFailed,
        Cause::ServerTimeout,
        Cause::ServerCrash,
        Cause::AppDown,
        Cause::UpstreamTimeout,
        Cause::UpstreamConnectTimeout,
        Cause::AppWorkerTimeout,
        Cause::DbNodeDown,
        Cause::DbTimeout,
        Cause::NoPrimary,
        Cause::DbUnreachable,
    ];

    /// Causes that only a setting makes possible, listed (in `summary.json`'s `errors`, the
    /// timeline's columns) only with it, after [`Cause::ALL`]: a scenario without the setting
    /// keeps the outputs it had before the cause existed.
    pub const OPTIONAL: [Cause; 6] = [
        Cause::ClientTimeout,
        Cause::RateLimited,
        Cause::Tarpitted,
        Cause::ConnRejected,
        Cause::FirewallRejected,
        Cause::FirewallDropped,
    ];

    /// Every cause, listed or not.
    pub const COUNT: usize = Cause::ALL.len() + Cause::OPTIONAL.len();

    /// Whether `cfg` can produce this cause at all.
    pub fn possible(self, cfg: &Config) -> bool {
        match self {
            Cause::ClientTimeout => cfg.workload.client_timeout.is_some(),
            // The security causes come together, with any of `[lb.rate_limit]`,
            // `[firewall]` or `[workload.flood]`.
            Cause::RateLimited
            | Cause::Tarpitted
            | Cause::ConnRejected
            | Cause::FirewallRejected
            | Cause::FirewallDropped => {
                cfg.lb.rate_limit.is_some()
                    || cfg.lb.firewall.is_some()
                    || cfg.workload.flood.is_some()
            }
            _ => true,
        }
    }

    /// The causes a run of `cfg` reports, in their order: [`Cause::ALL`], then the optional
    /// ones it makes possible.
    pub fn reported(cfg: &Config) -> Vec<Cause> {
        Cause::ALL
            .iter()
            .chain(Cause::OPTIONAL.iter().filter(|c| c.possible(cfg)))
            .copied()
            .collect()
    }

    /// Whether a client with a retry policy sends the request again after this answer. Every
    /// connection error, timeout and 5xx, but not HAProxy's `http-request deny` (403
    /// Forbidden): RFC 9110 §15.5.4 says the server "understood the request but refuses to
    /// fulfill it" and the client "SHOULD NOT automatically repeat the request with the same
    /// credentials"; retry policies retry connection errors, timeouts and 5xx (Envoy
    /// `retry_on: 5xx`, gRPC's UNAVAILABLE, urllib3's `status_forcelist`), never a 403.
    pub fn retried_by_clients(self) -> bool {
        self != Cause::RateLimited
    }

    pub fn key(self) -> &'static str {
        match self {
            Cause::LbMaxconn => "lb_maxconn",
            Cause::NoServer => "no_server_503",
            Cause::QueueTimeout => "queue_timeout_503",
            Cause::ServerQueueFull => "server_queue_full_503",
            Cause::NginxRefused => "nginx_refused_502",
            Cause::AppQueueFull => "app_queue_full_502",
            Cause::DbTooManyConnections => "db_too_many_connections_500",
            Cause::LbDown => "lb_down",
            Cause::LbConnectTimeout => "lb_connect_timeout",
            Cause::LbConnectionLost => "lb_connection_lost",
            Cause::ConnectFailed => "connect_failed_503",
            Cause::ServerTimeout => "server_timeout_504",
            Cause::ServerCrash => "server_crash_502",
            Cause::AppDown => "app_down_502",
            Cause::UpstreamTimeout => "upstream_timeout_504",
            Cause::UpstreamConnectTimeout => "upstream_connect_timeout_504",
            Cause::AppWorkerTimeout => "app_worker_timeout_502",
            Cause::DbNodeDown => "db_node_down_500",
            Cause::DbTimeout => "db_timeout_500",
            Cause::NoPrimary => "no_primary_500",
            Cause::DbUnreachable => "db_unreachable_500",
            Cause::ClientTimeout => "client_timeout",
            Cause::RateLimited => "rate_limited_403",
            Cause::Tarpitted => "tarpit_500",
            Cause::ConnRejected => "conn_limit_rejected",
            Cause::FirewallRejected => "firewall_rejected",
            Cause::FirewallDropped => "firewall_dropped",
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
    /// A SYN retransmission, or the connect timeout, of the request's current connection
    /// attempt (its stage says to what).
    Syn(ReqId),
    /// Connection retry after the turnaround (to the same server, or a new selection).
    Retry(ReqId),
    /// (request, queue epoch): fires `timeout queue` after it was queued.
    QueueTimeout(ReqId, u32),
    /// The timer of one deadline FIFO: (kind, server index for the per-server ones).
    Deadline(u8, u16),
    /// (DB node, link epoch): the oldest shipped transaction reaches the relay log.
    ReplArrive(u16, u32),
    ApplyDone(u16, u64),
    /// (replica, gtid): a semi-sync acknowledgement reaches the primary.
    SemiAck(u16, u64),
    /// (gtid): the semi-sync wait of this commit expires.
    SemiTimeout(u64),
    /// Index into the fault records.
    FaultStart(u32),
    FaultEnd(u32),
    /// Random-failure generator `g` fails its component.
    RandomFail(u32),
    /// Index into the fault records: a random failure's repair may start (people know of it
    /// and act); it asks for a technician (`model/repair.rs`).
    RepairReady(u32),
    /// (LB instance, server, LB check epoch): an active health check starts.
    Check(u8, u16, u32),
    /// (LB instance, server, LB check epoch, passed): a check that took time ends.
    CheckDone(u8, u16, u32, bool),
    /// (LB instance, server, probe sequence): the timeout of an HTTP check waiting for an
    /// application worker ([`Probe`]).
    CheckTimeout(u8, u16, u32),
    DbPoll,
    /// Promotion of the chosen replica finishes its reconfiguration.
    Promote,
    /// (LB instance, takeover epoch): keepalived's master-down timer expired.
    VrrpTakeover(u8, u32),
    /// (LB instance, script epoch): keepalived's `vrrp_script` watching HAProxy runs.
    VrrpScript(u8, u32),
    /// (LB instance, epoch): the DNS service updates that LB's record.
    DnsUpdate(u8, u32),
    /// (request, epoch): the app server's worker timeout of a request whose client already
    /// has its answer.
    WorkerKill(ReqId, u32),
    /// A closed-loop user (`[workload.users]`) loads its next page.
    UserWake(u32),
    /// A client sends a failed request again (the slot of `model/retry.rs` it waits in).
    ClientRetry(u32),
    /// The next request of the flood (`[workload.flood]`).
    FloodArrival,
    /// A tarpitted request's `timeout tarpit` is over: HAProxy answers 500.
    TarpitDone(ReqId),
    /// (request, query): an RTO of the query's lost segment expires (`db.rs`,
    /// `on_db_rto`).
    DbRto(ReqId, u32),
}

const NO_SERVER: u16 = u16::MAX;

/// The place of LB `k`'s HTTP check in an application's backlog: the id `PROBE_ID + k`.
///
/// The backlog is a [`Station`] FIFO of request ids from the slab; a check is not a request
/// (no client, no counts, no slot in the slab that every scan of requests would have to skip),
/// so it takes an id the slab never hands out: the slab stops at [`MAX_IN_FLIGHT`] = 2^23,
/// these ids are the last 256 of `u32` (one per LB instance; an LB checks a server once at a
/// time, so each backlog holds at most one of them per LB). A worker that frees tells a check
/// from a request by comparing the id it took with `PROBE_ID`, a register compare on the
/// path of every request, which reads nothing more from memory; the request path itself
/// carries no check state.
const PROBE_ID: ReqId = u32::MAX - 255;
const _: () = assert!(MAX_IN_FLIGHT < PROBE_ID as usize);

/// LB `k`'s current HTTP check of one server, while it waits in that server's application
/// backlog (`faults.rs`, `on_check`).
#[derive(Clone, Copy, Debug, Default)]
struct Probe {
    /// Bumped for each check that waits: its timeout event carries it.
    seq: u32,
    /// HAProxy waits for this check's answer.
    open: bool,
    /// The check holds its place `PROBE_ID + k` in the backlog (a host that went silent
    /// wiped the backlog but leaves HAProxy waiting for its timeout).
    queued: bool,
}

/// Bits of [`Request::holds`]: what a request holds and must give back.
mod holds {
    /// A frontend slot of its LB (`held`, bounded by `maxconn`).
    pub const LB: u8 = 1;
    /// A server slot at its LB (`served` of `server`, bounded by the server's `maxconn`).
    pub const SRV: u8 = 2;
    /// Connections inside Nginx (`ngx_conns` of them).
    pub const NGX: u8 = 4;
    /// An application worker.
    pub const APP: u8 = 8;
}

/// Where a request is: decides what a fault does to it and whether an event is pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Being handled right now: its own event just fired, none is pending.
    Active,
    /// The client retransmits its SYN to an LB address that does not answer.
    ClientSyn,
    LbWait,
    LbProc,
    Queued,
    Retry,
    /// HAProxy's connection to a server that does not answer.
    LbSyn,
    NginxWait,
    Nginx,
    AppWait,
    /// Nginx's connection to an application whose TCP backlog is full.
    NginxSyn,
    AppCpu,
    ToDb,
    DbWait,
    Db,
    FromDb,
    /// A commit waiting for its semi-sync acknowledgement.
    Ack,
    /// A new MySQL connection to a node that does not answer.
    DbSyn,
    /// Stuck with no event of its own: its server vanished, its application hangs, or its
    /// query was lost; it waits for a timeout (or a repair).
    Hung,
    /// Held by HAProxy's `http-request tarpit` (`model/ratelimit.rs`).
    Tarpit,
    /// The client's SYNs are dropped by a firewall: it waits for its connect timeout.
    FirewallSyn,
}

impl Stage {
    /// An event of this request is in the calendar.
    fn has_event(self) -> bool {
        matches!(
            self,
            Stage::ClientSyn
                | Stage::LbProc
                | Stage::Retry
                | Stage::LbSyn
                | Stage::Nginx
                | Stage::NginxSyn
                | Stage::AppCpu
                | Stage::ToDb
                | Stage::Db
                | Stage::FromDb
                | Stage::DbSyn
                | Stage::Tarpit
                | Stage::FirewallSyn
        )
    }

    /// Waiting for or running a query.
    fn at_db(self) -> bool {
        matches!(
            self,
            Stage::ToDb | Stage::DbWait | Stage::Db | Stage::FromDb | Stage::Ack | Stage::DbSyn
        )
    }
}

/// A segment of a request's exchange with MySQL that nobody acknowledged: dropped by a
/// blackholed link, or sent to a silent node. Its sender retransmits it on Linux's clock
/// ([`crate::model::tcp`]), counted from the request's `since` (when it was dropped), until it
/// gets through or the sender gives up. A query the node received before it went silent is not
/// lost: the client has nothing to retransmit and just waits (for a timeout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lost {
    No,
    /// The query never reached its node (a blackholed link): the application's kernel
    /// retransmits it.
    Query,
    /// The query was sent to a silent node: retransmitted too, but whatever answers it next
    /// is a restarted host, which resets the connection.
    QueryToSilentNode,
    /// The query ran but its reply was dropped: the node's kernel retransmits the reply.
    Reply,
}

#[derive(Clone, Copy, Debug)]
struct Request {
    arrived: SimTime,
    /// When the current wait began: the LB queue (oldest first), or the current connect.
    since: SimTime,
    work: Work,
    /// Bumped when the request enters an LB queue or reaches a server; stale queue entries,
    /// timers and deadlines compare it. Kept across slot reuse.
    epoch: u32,
    /// Bumped for each query; stale DB deadlines and semi-sync waiters compare it. Kept across
    /// slot reuse.
    query: u32,
    /// Epoch of the station whose service completion is pending.
    st_epoch: u32,
    /// Epoch of the LB instance when the request was admitted.
    lb_epoch: u32,
    /// The server's incarnation when the request reached it: a host that died since took the
    /// request's server side with it.
    life: u32,
    /// Index of the application worker it runs on (its MySQL connection in a per-worker pool).
    worker: u32,
    /// MySQL connections it opened (per-request pool), one bit per node below 64.
    db_conns: u64,
    server: u16,
    /// The server this request must avoid at its next selection (redispatch), or NO_SERVER.
    avoid: u16,
    db_node: u16,
    lb: u8,
    /// The LB address the client connects to (its DNS answer; the VIP is address 0).
    addr: u8,
    stage: Stage,
    /// Connection retries used (HAProxy `conn_retries`).
    retries: u8,
    /// SYNs sent in the current connect.
    syn: u8,
    /// [`holds`] bits.
    holds: u8,
    ngx_conns: u8,
    queued: bool,
    /// The next selection is a redispatch after the turnaround.
    reselect: bool,
    measured: bool,
    in_write: bool,
    /// A query is outstanding (sent, no reply yet).
    in_query: bool,
    zombie: bool,
    live: bool,
    /// The client already has its answer (an error): nothing more is counted.
    counted: bool,
    doomed: Option<Cause>,
    /// Raw (speed-1) service time of the current query, kept for the replica's apply time.
    db_raw: SimTime,
    /// When it took its application worker (the worker timeout counts from there).
    app_at: SimTime,
    /// A segment of its query exchange that nobody acknowledged, retransmitted from `since`.
    lost: Lost,
    /// The closed-loop user who sent it, or [`NO_USER`] (an open-loop arrival).
    user: u32,
    /// Which attempt of its client's request it is (1: the first; more with client retries).
    attempt: u8,
    /// Its client's first attempt was in the measurement window.
    client_measured: bool,
    /// Sent straight to its session's server (HAProxy's `SF_DIRECT`, `model/lb/stickiness.rs`).
    direct: bool,
}

impl Request {
    #[inline]
    fn has(&self, bit: u8) -> bool {
        self.holds & bit != 0
    }

    /// Clears `bit`: true when the request held it.
    #[inline]
    fn take(&mut self, bit: u8) -> bool {
        let had = self.has(bit);
        self.holds &= !bit;
        had
    }

    /// Gives back its frontend slot (unless its LB's state was wiped since).
    #[inline]
    fn release_lb(&mut self, lbs: &mut [Balancer]) {
        if !self.take(holds::LB) {
            return;
        }
        let lb = &mut lbs[self.lb as usize];
        if lb.epoch == self.lb_epoch {
            lb.held -= 1;
            if let Some(l) = &mut lb.limiter {
                l.disconnect(self.work.client_ip);
            }
        }
    }

    /// Gives back its server slot at the LB. Returns (LB, server) when a slot was freed, so
    /// that the caller lets the oldest queued request in.
    #[inline]
    fn release_srv(&mut self, lbs: &mut [Balancer]) -> Option<(usize, usize)> {
        if !self.take(holds::SRV) {
            return None;
        }
        let (k, i) = (self.lb as usize, self.server as usize);
        let lb = &mut lbs[k];
        if lb.epoch != self.lb_epoch {
            return None; // that LB's state was wiped (crash, lost VIP): nothing to release
        }
        lb.add_served(i, false);
        Some((k, i))
    }

    /// Gives back its connections inside Nginx.
    #[inline]
    fn release_nginx(&mut self, servers: &mut [Server]) {
        if !self.take(holds::NGX) {
            return;
        }
        servers[self.server as usize].inside -= u32::from(self.ngx_conns);
        self.ngx_conns = 0;
    }
}

/// Most requests a run may hold in flight (arrived, not yet over, zombies included): past it
/// the run stops ([`RunResults::cut_short`]). A count, not a measured memory figure, so that
/// whether a run completes never depends on the machine.
///
/// 2^23 = 8,388,608. The largest legitimate stacks hold far fewer: 10,000 servers of 500
/// application workers each, all busy, are 5 million. Each request in flight costs about
/// 190 bytes (its 128-byte `Request` in the slab, whose `Vec` doubles, so up to 256; a
/// calendar entry of 32 when it has an event pending; 8 in a queue of HAProxy or a station;
/// 16 in each deadline FIFO it is registered in; 4 in the free list once it ends): a run at
/// the bound peaks at about 1.1-1.4 GB (measured: docs/model.md, "Engine"), which a runaway
/// reaches in seconds, far from exhausting a 16 GB machine (a study runs one such run per
/// thread at most).
pub const MAX_IN_FLIGHT: usize = 1 << 23;

/// Requests in the system, indexed by `ReqId` (`self.reqs[id]`), slots reused through a free
/// list. `items` only ever grows, up to `limit`: the unchecked indexing below relies on it.
struct Slab {
    items: Vec<Request>,
    free: Vec<ReqId>,
    /// Most slots ([`MAX_IN_FLIGHT`]; smaller in tests).
    limit: usize,
}

impl Slab {
    /// A slot for `r`, or None when every one of the `limit` slots is in use. The check is
    /// made only where the slab grows, which happens only when the requests in flight exceed
    /// every earlier peak: the steady state, which reuses freed slots, never makes it.
    /// Always inlined, and the push written here rather than in a cold function taking the
    /// `Request`: either way the 128-byte request was built aside and copied, 37 and 16
    /// instructions per request on M/M/1 (callgrind).
    #[inline(always)]
    fn alloc(&mut self, r: Request) -> Option<ReqId> {
        match self.free.pop() {
            Some(id) => {
                // Keep the counters so that stale queue entries, deadlines and waiters never
                // match a new owner (each bumps them before it registers anything).
                let old = &self.items[id as usize];
                let (epoch, query) = (old.epoch, old.query);
                self.items[id as usize] = Request { epoch, query, ..r };
                Some(id)
            }
            None => {
                if self.items.len() >= self.limit {
                    return None;
                }
                self.items.push(r);
                Some((self.items.len() - 1) as ReqId)
            }
        }
    }

    #[inline]
    fn release(&mut self, id: ReqId) {
        self.items[id as usize].live = false;
        self.free.push(id);
    }

    /// The request is over: its slot is freed now, or when its pending event fires (it
    /// becomes a zombie meanwhile).
    #[inline]
    fn finish(&mut self, id: ReqId) {
        let r = &mut self.items[id as usize];
        r.queued = false;
        if !r.live || r.zombie {
            return;
        }
        if r.stage.has_event() {
            r.zombie = true;
        } else {
            r.live = false;
            self.free.push(id);
        }
    }
}

/// `self.reqs[id]`: a request by its id, without a bounds check. A request is reached a
/// dozen times per event (its stage, holds, counters, epochs), each through `&mut self`, so
/// the compiler re-reads the slab's length and compares it every time: 53 of M/M/1's 1,526
/// instructions per request (issue 13).
impl std::ops::Index<ReqId> for Slab {
    type Output = Request;
    #[inline(always)]
    fn index(&self, id: ReqId) -> &Request {
        debug_assert!(
            (id as usize) < self.items.len(),
            "request id {id} out of the slab"
        );
        // SAFETY: every `ReqId` in the model (in events, stations, queues, deadline FIFOs,
        // waiters) was returned by `Slab::alloc`, which returns either an index popped from
        // `free` (pushed only by `release` and `finish`, with an id that was valid then) or
        // `items.len() - 1` after a push; `items` only grows (nothing in the model truncates,
        // drains or replaces it), so an id once valid stays below `items.len()`.
        unsafe { self.items.get_unchecked(id as usize) }
    }
}

impl std::ops::IndexMut<ReqId> for Slab {
    #[inline(always)]
    fn index_mut(&mut self, id: ReqId) -> &mut Request {
        debug_assert!(
            (id as usize) < self.items.len(),
            "request id {id} out of the slab"
        );
        // SAFETY: as for `Index` above.
        unsafe { self.items.get_unchecked_mut(id as usize) }
    }
}

/// What answers at an address: the process, its host's kernel (a reset), or nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Answer {
    #[default]
    Up,
    Refuses,
    Silent,
}

/// Active faults on one component, by kind: the component answers like the worst of them.
#[derive(Clone, Copy, Debug, Default)]
struct FaultCount {
    crash: u32,
    silent: u32,
    /// What answers, kept in step with the counts: every hop of every request asks.
    answer: Answer,
}

impl FaultCount {
    #[inline]
    fn answer(&self) -> Answer {
        self.answer
    }

    #[inline]
    fn up(&self) -> bool {
        self.answer == Answer::Up
    }

    fn add(&mut self, silent: bool, delta: i32) {
        let c = if silent {
            &mut self.silent
        } else {
            &mut self.crash
        };
        *c = c.saturating_add_signed(delta);
        self.answer = if self.silent > 0 {
            Answer::Silent
        } else if self.crash > 0 {
            Answer::Refuses
        } else {
            Answer::Up
        };
    }
}

struct Server {
    name: String,
    speed: f64,
    nginx: Station,
    app: Station,
    nginx_max: u32,
    backup: bool,
    /// Connections inside Nginx (2 per proxied request: the client's and the upstream one).
    inside: u32,
    dispatched: u64,
    completed: u64,
    /// Connection retries on this server (HAProxy `wretr`) and redispatches away from it
    /// (`wredis`).
    retries: u64,
    redispatches: u64,
    host: FaultCount,
    /// Application process faults (a `down` app hangs: `silent`).
    app_faults: FaultCount,
    /// Bumped whenever the host's processes die: requests that were inside lost their server.
    life: u32,
    /// App workers before this server's in declaration order (per-worker MySQL pools fill
    /// `max_connections` server by server).
    workers_before: u32,
    /// Application workers not serving a request (their index: a per-worker MySQL
    /// connection belongs to one). Empty, and not tracked, when every worker has its
    /// connections (`track_workers` false).
    free_workers: Vec<u32>,
    /// Nginx's `proxy_read_timeout` and the app server's worker timeout, per request.
    ngx_deadlines: Deadlines,
    app_deadlines: Deadlines,
    /// HAProxy's `timeout server` is no longer than the worker timeout, so worker kills are
    /// scheduled when it fires rather than registered for every request.
    kill_at_server_timeout: bool,
}

impl Server {
    fn host_up(&self) -> bool {
        self.host.up()
    }

    fn app_up(&self) -> bool {
        self.host.up() && self.app_faults.up()
    }

    /// The application process hangs (`down`): it accepts nothing and finishes nothing.
    fn app_frozen(&self) -> bool {
        self.host.up() && self.app_faults.silent > 0
    }
}

/// One HAProxy instance: its policy, its view of the servers, its queues, its checks.
struct Balancer {
    name: String,
    /// The host (`down`) and the HAProxy process (`crash`).
    faults: FaultCount,
    down_since: SimTime,
    /// Bumped when the instance dies or loses its connections.
    epoch: u32,
    /// Bumped when the process restarts: checks of the previous life are dropped.
    check_epoch: u32,
    policy: LbPolicy,
    /// `policy.fifo_fair()`, asked for every request (the policy never changes).
    fifo_fair: bool,
    views: Vec<ServerView>,
    /// Servers with `usable` set, and those of them that are not backups: kept by
    /// [`Balancer::recount`] so that the per-request paths (redispatch, retries) need no scan.
    usable: usize,
    active: usize,
    /// Requests holding a server slot at this LB (the sum of the views' `served`): HAProxy
    /// sends a new request straight to a non-empty backend queue only while some are, since
    /// otherwise the queue would never drain ([`Stack::select`]).
    serving: u32,
    /// Health-check state per server (UP as far as this LB knows).
    health: Vec<Health>,
    /// Per server, its HTTP check waiting in the application's backlog, if one is.
    probes: Vec<Probe>,
    backend_q: VecDeque<(ReqId, u32)>,
    server_q: Vec<VecDeque<(ReqId, u32)>>,
    /// LB threads; None when processing takes no time.
    station: Option<Station>,
    /// Its stick table (`[lb.rate_limit]`), if the scenario limits sources.
    limiter: Option<Box<super::ratelimit::RateLimiter>>,
    held: u32,
    queue_len: TimeAverage,
    rng: Rng,
    /// Draws of `lb.connect` (stream `lb.connect[k]`): its own, so that setting it moves no
    /// other draw.
    connect_rng: Rng,
    /// keepalived: the instance is in FAULT (its tracked HAProxy failed).
    vrrp_fault: bool,
    /// keepalived's script: consecutive failures / successes, and its epoch.
    script_fails: u32,
    script_passes: u32,
    script_epoch: u32,
}

impl Balancer {
    fn up(&self) -> bool {
        self.faults.up()
    }

    /// Changes server `i`'s counters or flag through `f` and tells the policy, whose tree keys
    /// on them: every write to `served`, `queued` or `usable` goes through here (or
    /// [`Balancer::add_served`], a request's start and end), except `Stack::refresh_usable`'s,
    /// which re-files every server at once (`servers_changed`); otherwise a tree-keeping policy
    /// (`leastconn`, `roundrobin`) would choose from stale keys.
    #[inline(always)]
    fn update_view(&mut self, i: usize, f: impl FnOnce(&mut ServerView)) {
        f(&mut self.views[i]);
        self.policy.server_updated(&self.views, i);
    }

    /// A request started (`up`) or ended at server `i`: its `served` count moves by one, and
    /// the policy is told only if it reads that count ([`LbPolicy::watches_served`]): for
    /// the others [`Policy::server_updated`] would change nothing.
    #[inline(always)]
    fn add_served(&mut self, i: usize, up: bool) {
        let v = &mut self.views[i];
        if up {
            v.served += 1;
            self.serving += 1;
        } else {
            v.served -= 1;
            self.serving -= 1;
        }
        if self.policy.watches_served(v) {
            self.policy.server_updated(&self.views, i);
        }
    }

    /// Recounts the usable servers after `usable` flags changed (O(n); up/down events only).
    fn recount(&mut self, backup: impl Fn(usize) -> bool) {
        let usable = |&(_, v): &(usize, &ServerView)| v.usable;
        self.usable = self.views.iter().enumerate().filter(usable).count();
        self.active = (self.views.iter().enumerate())
            .filter(|e| usable(e) && !backup(e.0))
            .count();
    }
}

struct DbNode {
    name: String,
    station: Station,
    speed: f64,
    rng: Rng,
    reads: u64,
    writes: u64,
    faults: FaultCount,
    max_connections: u32,
    /// Connections open in a per-request pool.
    open_conns: u32,
    /// Product of active "slow" factors.
    slow: f64,
    /// The monitor's view: in the read pool.
    read_ok: bool,
    failed_polls: u32,
    /// Was ever a replica (reported in the replication table).
    was_replica: bool,
    /// A primary that was replaced by a promotion: rebuilt before it rejoins.
    replaced: bool,
    /// Highest gtid this replica acknowledged to the primary (semi-sync).
    acked: u64,
    /// Replays handed out by the link, waiting for an executor: (gtid, apply time).
    pending_applies: VecDeque<(u64, SimTime)>,
    /// Replays running on an executor: (gtid, station epoch when it started).
    applying: Vec<(u64, u32)>,
}

impl DbNode {
    fn up(&self) -> bool {
        self.faults.up()
    }
}

#[derive(Default)]
struct Counters {
    arrived: u64,
    completed: u64,
    failed: u64,
    /// Per request class: (arrived, completed, failed, completed within the SLO latency).
    classes: Vec<[u64; 4]>,
    errors: [u64; Cause::COUNT],
    /// Sum of time in system of measured requests that left (completed or failed), ns.
    sojourn_ns: u128,
}

/// Primary, failover and consistency state of the MySQL cluster.
struct DbState {
    primary: usize,
    /// Writes are accepted (a live primary is in place).
    writes_open: bool,
    primary_detected: bool,
    /// When the replicas agree the primary is gone (orchestrator's DeadMaster needs them):
    /// at once when its host resets their connections, `replica_net_timeout` later when it
    /// went silent.
    replicas_agree_at: SimTime,
    promoting: Option<usize>,
    /// For each node: acknowledged transactions it never received when the primary died.
    lost_if_promoted: Vec<u64>,
    lost: u64,
    promotions: u32,
    /// Last gtid committed by the previous primary when a promotion took place: reads on the
    /// new primary of writes up to it are stale until its relay log is applied.
    promoted_after: u64,
    semi_fallback: bool,
    semi_fallbacks: u32,
    /// Commits waiting for their semi-sync acknowledgement, in commit order:
    /// (request, its query counter, gtid).
    semi_waiters: VecDeque<(ReqId, u32, u64)>,
    /// The position `semi_sync_replicas` replicas have acknowledged.
    semi_position: u64,
    semi_stalled_commits: u64,
    write_outage_start: Option<SimTime>,
    write_outage: SimTime,
    link: FaultCount,
    /// Last write gtid per client (read-your-writes check).
    last_write: Vec<u64>,
    stale_reads: u64,
    replica_reads: u64,
    /// Reads checked for read-your-writes (replica reads, and primary reads after a promotion
    /// that did not wait for the relay log).
    reads_checked: u64,
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
    /// When users stopped feeling it (possibly planned for later). Whoever sets it calls
    /// [`aftermath::Aftermath::changed`].
    mitigated: Option<SimTime>,
    /// Random-failure generator that produced it.
    generator: Option<u32>,
    /// A random failure's fix (its time-to-repair draw), kept until a technician takes it.
    fix: SimTime,
}

/// A random-failure generator: one component alternating up and down.
struct Generator {
    /// Its `[[random_faults]]` entry (whose crews repair it).
    entry: usize,
    target: Target,
    kind: super::config::FaultKind,
    ttf: Dist,
    ttr: Dist,
    rng: Rng,
    /// Its detection delays (`monitoring.<component>`, `model/repair.rs`).
    people: Rng,
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
    /// Active-passive: when the instance holding the floating IP became master, the phase of
    /// its advertisements (every advert_int from then); for the initial master, the phase
    /// derived from the seed (`lbha::advert_phase`).
    master_since: SimTime,
    vip_epoch: u32,
    /// Per instance: the epoch and expiry of its pending takeover timer, if one runs.
    takeover: [Option<(u32, SimTime)>; 2],
    /// Active-active: the DNS record sets published so far, (since, one bit per LB).
    dns: Vec<(SimTime, u8)>,
    dns_epoch: [u32; 2],
    /// Per-client phase of DNS re-resolution, derived from the seed.
    dns_key: u64,
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
    /// The retransmission clock of the application's MySQL connections (round trip: twice the
    /// mean of `database.network`).
    db_rto: crate::model::tcp::Rto,
    repl_rng: Rng,
    health_rng: Rng,
    monitor_rng: Rng,
    promote_rng: Rng,
    faults: Vec<FaultRec>,
    /// Failures after each fault's recovery (`aftermath.rs`).
    aftermath: aftermath::Aftermath,
    generators: Vec<Generator>,
    /// Who repairs random failures, and when.
    repairs: super::repair::Repairs,
    /// HAProxy's `timeout server` per request (one value for every LB).
    lb_deadlines: Deadlines,
    /// The MySQL client's read timeout per query.
    db_deadlines: Deadlines,
    /// The clients' own timeout (`workload.client_timeout`).
    client_deadlines: Deadlines,
    /// A per-worker MySQL pool has fewer connections than workers somewhere: which worker a
    /// request runs on matters, so free workers are tracked. Otherwise every worker has its
    /// connections and a query does not check.
    track_workers: bool,
    /// One HAProxy (`lb.ha = "single"`): a client's address is always that LB's.
    single_lb: bool,
    /// `lb.connect` takes time (it is not the point mass at zero): asked at every connect.
    lb_connect_delay: bool,
    /// An LB queue is being drained (`lb_dequeue`): nested drains are noted, not run.
    dequeuing: bool,
    dequeue_pending: Vec<(usize, usize)>,
    latency: LatencyHistogram,
    /// Per-class latency and failures (`classes.rs`).
    classes: classes::ClassBreakdown,
    /// Waiting time per stage (`waits.rs`).
    waits: waits::Waits,
    /// `[slo]` latency: a completion this fast is good (`SimTime::MAX` without an SLO, so the
    /// count is kept without a branch and never reported).
    slo_latency: SimTime,
    in_system: TimeAverage,
    counts: Counters,
    events: u64,
    obs: observe::Observer,
    /// Closed-loop users, if the scenario has any.
    users: Option<Box<Users>>,
    /// Client retries, if the scenario has them.
    retries: Option<Box<Retries>>,
    /// TLS handshakes at HAProxy (`[lb.tls]`), if the scenario terminates HTTPS there.
    tls: Option<Box<super::tls::Tls>>,
    /// Attack traffic (`[workload.flood]`), if any.
    flood: Option<Box<super::flood::Flood>>,
    /// Session persistence (`[lb] persistence`), if the scenario has it.
    sticky: Option<Box<Stickiness>>,
    /// Users or retries: a client's answer matters beyond the counts.
    client_side: bool,
    /// Client events decided where no calendar is at hand (a user's next page, a retry, when
    /// a request is answered in `complete` or `fail_client`): scheduled once the current event
    /// is handled.
    deferred: Vec<(SimTime, Ev)>,
    /// The run stopped when its requests in flight reached the slab's bound.
    cut_short: Option<CutShort>,
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
                let mut lb = Balancer {
                    name: format!("lb-{}", k + 1),
                    faults: FaultCount::default(),
                    down_since: SimTime::ZERO,
                    epoch: 0,
                    check_epoch: 0,
                    policy: LbPolicy::new(cfg.lb.algorithm, &views),
                    fifo_fair: false,
                    health: vec![Health::new(f.health.rise, f.health.fall); views.len()],
                    probes: vec![Probe::default(); views.len()],
                    server_q: vec![VecDeque::new(); views.len()],
                    usable: 0,
                    active: 0,
                    serving: 0,
                    views,
                    backend_q: VecDeque::new(),
                    station: (!cfg.lb.processing.is_zero() || cfg.lb.tls.is_some())
                        .then(|| Station::new(cfg.lb.threads, usize::MAX)),
                    limiter: cfg
                        .lb
                        .rate_limit
                        .as_ref()
                        .map(|c| Box::new(super::ratelimit::RateLimiter::new(c))),
                    held: 0,
                    queue_len: TimeAverage::new(),
                    rng: Rng::new(StreamId::indexed(seed, "lb", k, replication)),
                    connect_rng: Rng::new(StreamId::indexed(seed, "lb.connect", k, replication)),
                    vrrp_fault: false,
                    script_fails: 0,
                    script_passes: 0,
                    script_epoch: 0,
                };
                lb.recount(|i| cfg.servers[i].backup);
                lb.fifo_fair = lb.policy.fifo_fair();
                lb
            })
            .collect();
        let mut workers_before = 0u32;
        let servers = cfg
            .servers
            .iter()
            .map(|s| {
                let before = workers_before;
                workers_before = workers_before.saturating_add(s.app_workers);
                Server {
                    name: s.name.clone(),
                    speed: s.speed,
                    nginx: Station::new(s.nginx_workers, usize::MAX),
                    app: Station::new(s.app_workers, s.app_queue as usize),
                    nginx_max: s.nginx_max_conns,
                    backup: s.backup,
                    inside: 0,
                    dispatched: 0,
                    completed: 0,
                    retries: 0,
                    redispatches: 0,
                    host: FaultCount::default(),
                    app_faults: FaultCount::default(),
                    life: 0,
                    workers_before: before,
                    free_workers: Vec::new(),
                    // Nginx's timer starts when it passes the request on, after HAProxy's
                    // started: when it is no shorter, HAProxy always answers first and closes
                    // the connection, so Nginx's never fires and is not kept.
                    ngx_deadlines: Deadlines::new(
                        cfg.lb
                            .timeout_server
                            .is_none_or(|t| s.proxy_read_timeout < t)
                            .then_some(s.proxy_read_timeout),
                    ),
                    app_deadlines: Deadlines::new(s.app_timeout),
                    kill_at_server_timeout: match (cfg.lb.timeout_server, s.app_timeout) {
                        (Some(ts), Some(tw)) => ts <= tw,
                        _ => false,
                    },
                }
            })
            .collect();
        let db: Vec<DbNode> = std::iter::once(&cfg.database.primary)
            .chain(cfg.database.replicas.iter())
            .enumerate()
            .map(|(i, n)| DbNode {
                name: n.name.clone(),
                // Connections, not queries, are bounded (`max_connections`): a connection has
                // one query outstanding at most, so the executors' queue needs no cap.
                station: Station::new(n.workers, usize::MAX),
                speed: n.speed,
                rng: Rng::new(StreamId::indexed(seed, "db.query", i, replication)),
                reads: 0,
                writes: 0,
                faults: FaultCount::default(),
                max_connections: n.max_connections,
                open_conns: 0,
                slow: 1.0,
                read_ok: true,
                failed_polls: 0,
                was_replica: i > 0,
                replaced: false,
                acked: 0,
                pending_applies: VecDeque::new(),
                applying: Vec::new(),
            })
            .collect();
        let nodes = db.len();
        let mut stack = Stack {
            workload: Workload::new(&cfg.workload, seed, replication),
            reqs: Slab {
                items: Vec::with_capacity(1024),
                free: Vec::with_capacity(1024),
                limit: MAX_IN_FLIGHT,
            },
            lbs,
            vip: Some(0),
            master_since: match f.lb_ha {
                LbHa::ActivePassive { advert_int, .. } => advert_phase(
                    StreamId::new(seed, VRRP_PHASE_STREAM, replication).key(),
                    advert_int,
                ),
                _ => SimTime::ZERO,
            },
            vip_epoch: 0,
            takeover: [None; 2],
            dns: vec![(SimTime::ZERO, 0b11)],
            dns_epoch: [0; 2],
            dns_key: StreamId::new(seed, "dns.resolve", replication).key(),
            servers,
            links: (0..nodes)
                .map(|_| ReplicaLink::new(cfg.database.replication.appliers))
                .collect(),
            db,
            dbs: DbState {
                primary: 0,
                writes_open: true,
                primary_detected: false,
                replicas_agree_at: SimTime::ZERO,
                promoting: None,
                lost_if_promoted: vec![0; nodes],
                lost: 0,
                promotions: 0,
                promoted_after: 0,
                semi_fallback: false,
                semi_fallbacks: 0,
                semi_waiters: VecDeque::new(),
                semi_position: 0,
                semi_stalled_commits: 0,
                write_outage_start: None,
                write_outage: SimTime::ZERO,
                link: FaultCount::default(),
                last_write: vec![0; cfg.workload.clients.max(1) as usize],
                stale_reads: 0,
                replica_reads: 0,
                reads_checked: 0,
            },
            read_rr: 0,
            gtid: 0,
            ship_buf: Vec::new(),
            net_rng: Rng::new(StreamId::new(seed, "db.network", replication)),
            db_rto: crate::model::tcp::Rto::for_rtt(SimTime::from_secs_f64(
                2.0 * cfg.database.network.mean(),
            )),
            repl_rng: Rng::new(StreamId::new(seed, "replication.delay", replication)),
            health_rng: Rng::new(StreamId::new(seed, "health", replication)),
            monitor_rng: Rng::new(StreamId::new(seed, "db.monitor", replication)),
            promote_rng: Rng::new(StreamId::new(seed, "db.promotion", replication)),
            faults: vec![],
            aftermath: aftermath::Aftermath::default(),
            generators: vec![],
            repairs: super::repair::Repairs::new(
                cfg.failures.random.iter().map(|r| r.repair.clone()),
            ),
            lb_deadlines: Deadlines::new(cfg.lb.timeout_server),
            db_deadlines: Deadlines::new(cfg.database.client.read_timeout),
            client_deadlines: Deadlines::new(cfg.workload.client_timeout),
            single_lb: matches!(cfg.failures.lb_ha, LbHa::Single),
            lb_connect_delay: !cfg.lb.connect.is_zero(),
            dequeuing: false,
            dequeue_pending: Vec::new(),
            track_workers: {
                // (A station has at least one worker.)
                let workers: u64 = cfg
                    .servers
                    .iter()
                    .map(|s| u64::from(s.app_workers.max(1)))
                    .sum();
                let fewest = std::iter::once(&cfg.database.primary)
                    .chain(&cfg.database.replicas)
                    .map(|n| u64::from(n.max_connections))
                    .min()
                    .unwrap_or(u64::MAX);
                cfg.database.client.pool == super::config::DbPool::PerWorker && workers > fewest
            },
            latency: LatencyHistogram::new(),
            classes: classes::ClassBreakdown::new(
                cfg.workload.mix.len() + usize::from(cfg.workload.flood.is_some()),
            ),
            waits: waits::Waits::default(),
            slo_latency: cfg.slo.as_ref().map_or(SimTime::MAX, |s| s.latency),
            in_system: TimeAverage::new(),
            counts: Counters {
                // The flood, if any, is one more class after the mix's.
                classes: vec![
                    [0; 4];
                    cfg.workload.mix.len() + usize::from(cfg.workload.flood.is_some())
                ],
                ..Counters::default()
            },
            events: 0,
            obs: observe::Observer::new(cfg),
            users: cfg.workload.users.as_ref().map(|u| {
                Box::new(Users::new(
                    u,
                    cfg.workload.clients,
                    (cfg.warmup, cfg.duration),
                    seed,
                    replication,
                ))
            }),
            retries: cfg
                .workload
                .retry
                .as_ref()
                .map(|r| Box::new(Retries::new(r, seed, replication))),
            flood: cfg.workload.flood.as_ref().map(|f| {
                Box::new(super::flood::Flood::new(
                    f,
                    &cfg.workload.mix,
                    seed,
                    replication,
                ))
            }),
            tls: cfg
                .lb
                .tls
                .as_ref()
                .map(|t| Box::new(super::tls::Tls::new(t, seed, replication))),
            sticky: cfg.lb.persistence.as_ref().map(|p| {
                let keys = match p.kind {
                    PersistKind::Cookie => cfg.workload.users.as_ref().map_or(0, |u| u.count),
                    PersistKind::Source => cfg.workload.clients,
                };
                Box::new(Stickiness::new(p, keys, cfg.warmup))
            }),
            client_side: cfg.workload.users.is_some() || cfg.workload.retry.is_some(),
            deferred: Vec::new(),
            cut_short: None,
            cfg: cfg.clone(),
            replication,
        };
        if stack.track_workers {
            for (s, c) in stack.servers.iter_mut().zip(&cfg.servers) {
                s.free_workers = (0..c.app_workers).rev().collect();
            }
        }
        // Backups take traffic only while no active server is usable (§1.5 of the domain
        // reference; HAProxy's `recount_servers`/`srv_currently_usable`), from the start: the
        // views above made every server with a weight usable.
        if cfg.servers.iter().any(|s| s.backup) {
            for k in 0..stack.lbs.len() {
                stack.refresh_usable(k);
            }
        }
        stack.build_faults();
        stack
    }

    /// Runs the whole scenario and returns its results, every timeline row kept in
    /// `timeline` (memory grows as rows x servers: long runs stream them, [`Stack::run_with`]).
    pub fn run(cfg: &Config, replication: u64) -> RunResults {
        let mut rows = vec![];
        let mut r = Self::run_with(cfg, replication, &mut rows);
        r.timeline = rows;
        r
    }

    /// Schedules the first arrival, the end of the warm-up, checks, polls and faults.
    pub fn start(&mut self, cal: &mut Calendar<Ev>) {
        if self.cfg.warmup > SimTime::ZERO {
            cal.schedule_at(self.cfg.warmup, Ev::WarmupEnd);
        }
        if let Some(t) = self.workload.next_arrival(SimTime::ZERO) {
            cal.schedule_at(t, Ev::Arrival);
        }
        self.start_users(cal);
        if let Some(t) = self.flood.as_mut().and_then(|f| f.first()) {
            cal.schedule_at(t, Ev::FloodArrival);
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
            Ev::Syn(id) => self.on_syn(cal, id),
            Ev::Retry(id) => self.on_retry(cal, id),
            Ev::QueueTimeout(id, epoch) => self.on_queue_timeout(cal, id, epoch),
            Ev::Deadline(kind, i) => self.on_deadline(cal, kind, i as usize),
            Ev::ReplArrive(n, epoch) => self.on_repl_arrive(cal, n as usize, epoch),
            Ev::ApplyDone(n, gtid) => self.on_apply_done(cal, n as usize, gtid),
            Ev::SemiAck(n, gtid) => self.on_semi_ack(cal, n as usize, gtid),
            Ev::SemiTimeout(gtid) => self.on_semi_timeout(cal, gtid),
            Ev::WarmupEnd => self.on_warmup_end(cal.now()),
            Ev::Sample => self.on_sample(cal),
            Ev::FaultStart(f) => self.on_fault_start(cal, f as usize),
            Ev::FaultEnd(f) => self.on_fault_end(cal, f as usize),
            Ev::RandomFail(g) => self.on_random_fail(cal, g as usize),
            Ev::RepairReady(f) => self.on_repair_ready(cal, f as usize),
            Ev::Check(k, i, epoch) => self.on_check(cal, k as usize, i as usize, epoch),
            Ev::CheckDone(k, i, epoch, passed) => {
                self.on_check_done(cal, k as usize, i as usize, epoch, passed)
            }
            Ev::CheckTimeout(k, i, seq) => self.on_check_timeout(cal, k as usize, i as usize, seq),
            Ev::DbPoll => self.on_db_poll(cal),
            Ev::Promote => self.on_promote(cal),
            Ev::VrrpTakeover(k, epoch) => self.on_vrrp_takeover(cal, k as usize, epoch),
            Ev::VrrpScript(k, epoch) => self.on_vrrp_script(cal, k as usize, epoch),
            Ev::DnsUpdate(k, epoch) => self.on_dns_update(cal, k as usize, epoch),
            Ev::WorkerKill(id, epoch) => self.on_worker_kill(cal, id, epoch),
            Ev::UserWake(u) => self.on_user_wake(cal, u),
            Ev::ClientRetry(slot) => self.on_client_retry(cal, slot),
            Ev::FloodArrival => self.on_flood_arrival(cal),
            Ev::TarpitDone(id) => self.on_tarpit_done(cal, id),
            Ev::DbRto(id, query) => self.on_db_rto(cal, id, query),
        }
        if !self.deferred.is_empty() {
            self.schedule_deferred(cal);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_stay_small() {
        // The calendar moves events on every push and pop: keep them two words.
        assert!(std::mem::size_of::<Ev>() <= 16);
        // MAX_IN_FLIGHT's memory figure counts 128 bytes a request in the slab.
        assert!(std::mem::size_of::<Request>() <= 128);
    }

    fn mm1(overrides: &[&str]) -> Config {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mm1.toml");
        let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        crate::scenario::load(&path, &overrides).unwrap().config
    }

    #[test]
    fn a_run_stops_at_its_bound_on_requests_in_flight() {
        // One request served at a time, 100 arriving per second for each one served: the
        // HAProxy queue grows by ~99,000 a second and nothing bounds it.
        let cfg = mm1(&[
            "servers[0].maxconn=1",
            "workload.rate=100000",
            "duration=1h",
            "warmup=0s",
        ]);
        let mut rows = vec![];
        let r = Stack::run_bounded(&cfg, 0, &mut rows, 5_000);
        let cut = r.cut_short.expect("the run is cut short");
        assert_eq!(cut.in_flight, 5_000);
        // ~5,000 arrivals at 100,000/s, far from the hour.
        assert!(cut.at.as_secs_f64() < 0.1, "{cut:?}");
        assert_eq!(r.requests.in_flight_end, 5_000);
        assert!(rows.len() <= 1, "no row after the cut: {}", rows.len());
        assert!(
            r.events < 20_000,
            "the run stopped at once: {} events",
            r.events
        );
        assert!(r.clone().complete().is_err());
        assert!(cut.to_string().contains("5000 requests in flight"));
        // Under the bound: the same run as an unbounded one, and complete.
        let calm = mm1(&["duration=120s"]);
        let a = Stack::run_bounded(&calm, 0, &mut crate::model::timeline::NoRows, 10_000);
        let b = Stack::run_with(&calm, 0, &mut crate::model::timeline::NoRows);
        assert!(a.cut_short.is_none() && b.cut_short.is_none());
        assert_eq!(a.events, b.events);
        assert_eq!(a.requests.completed, b.requests.completed);
    }
}
