//! The typed, validated description of one simulated system: what the model is built from.
//!
//! Plain data with no serde and no defaults-from-files: `scenario` builds it from TOML and
//! guarantees the invariants documented on each field, so the model can rely on them without
//! re-checking in the hot loop.

use crate::dist::Dist;
use crate::engine::SimTime;

/// Everything one run needs.
#[derive(Clone, Debug)]
pub struct Config {
    /// Scenario name; used for the default output folder.
    pub name: String,
    pub seed: u64,
    /// End of the run.
    pub duration: SimTime,
    /// Requests that arrive before this are excluded from the statistics; time-averages start here.
    pub warmup: SimTime,
    /// The latency objective requests are judged against (`[slo]`); None: none is set.
    pub slo: Option<Slo>,
    pub workload: WorkloadConfig,
    pub lb: LbConfig,
    /// At least one.
    pub servers: Vec<ServerConfig>,
    pub database: DbConfig,
    pub failures: Failures,
}

impl Config {
    /// The `[slo]` latency, if the scenario sets one: what a study counting late requests as
    /// failed (the Monte Carlo's degraded states) judges against.
    pub fn slo_latency(&self) -> Option<SimTime> {
        self.slo.as_ref().map(|s| s.latency)
    }
}

/// A service level objective on latency (`[slo]`): a request is *good* if it succeeded and its
/// end-to-end response time (from the client's request to its response: connection retries,
/// queues and HAProxy retries included) is at most `latency`. "Slow is down for a user who gives
/// up": the SLO availability counts slow successes as failures.
#[derive(Clone, Debug, PartialEq)]
pub struct Slo {
    /// Longest response time of a good request, > 0.
    pub latency: SimTime,
    /// Fraction of finished requests that must be good over the run, in (0, 1]; its
    /// complement is the error budget.
    pub target: Option<f64>,
    /// Percentile targets (quantile in (0, 1), longest allowed), in increasing quantile order:
    /// the q-quantile of the successful requests' response time must be at most the time.
    pub percentiles: Vec<(f64, SimTime)>,
}

/// How inter-arrival times are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArrivalKind {
    /// Exponential gaps: a Poisson process.
    Poisson,
    /// Evenly spaced arrivals.
    Deterministic,
}

/// A change of arrival rate at a given time (steps and spikes).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatePhase {
    pub at: SimTime,
    /// Requests per second, >= 0 (0 pauses the arrivals).
    pub rate: f64,
}

#[derive(Clone, Debug)]
pub struct WorkloadConfig {
    pub arrival: ArrivalKind,
    /// Requests per second from time 0, > 0.
    pub rate: f64,
    /// Later rate changes, sorted by `at`.
    pub phases: Vec<RatePhase>,
    /// Size of the client IP population (>= 1); each request comes from one of them uniformly.
    pub clients: u32,
    /// Request classes; weights > 0. At least one.
    pub mix: Vec<RequestClass>,
    /// How long a client keeps retransmitting its SYN to a load-balancer address that does not
    /// answer (host down, floating IP not yet taken over) before it gives up. Linux sends the
    /// SYN again after 1, 3, 7, 15, 31 and 63 s (`tcp_syn_retries` = 6) and fails at 127 s.
    pub connect_timeout: SimTime,
    /// How long a client waits for its answer before it gives up (closes the connection and
    /// sees an error): an HTTP client's request timeout. None: it waits as long as it takes.
    pub client_timeout: Option<SimTime>,
    /// Closed-loop users (`[workload.users]`), in addition to the open arrivals (whose `rate`
    /// may then be 0). None: open loop only, as before.
    pub users: Option<UsersConfig>,
    /// Clients retry failed requests (`[workload.retry]`). None: they never do, as before.
    pub retry: Option<RetryConfig>,
    /// Attack traffic from a few addresses (`[workload.flood]`). None: none.
    pub flood: Option<super::flood::FloodConfig>,
    /// A time-varying rate (ramps, `[workload.profile]`, `[[workload.flash]]`), sampled by
    /// thinning (`model/shape.rs`); Poisson arrivals only. None: `rate` and step `phases`, as
    /// before.
    pub shape: Option<super::shape::Shape>,
    /// Heavy hitters among the open-loop clients (`client_popularity`, `nat_share`,
    /// `model/popularity.rs`). None: uniform over `clients`, as before.
    pub popularity: Option<super::popularity::PopularityConfig>,
}

/// How clients retry a request that failed (`[workload.retry]`): up to `retries` more
/// attempts, the k-th after `backoff` x `multiplier`^(k-1), at most `max_backoff`; with
/// `jitter`, a uniform draw between 0 and that ("full jitter").
#[derive(Clone, Debug, PartialEq)]
pub struct RetryConfig {
    /// Retries after the first attempt (0: none, for comparisons).
    pub retries: u32,
    /// Wait before the first retry (0: at once, the naive client).
    pub backoff: SimTime,
    /// Growth of the wait per retry, >= 1.
    pub multiplier: f64,
    /// Longest wait.
    pub max_backoff: SimTime,
    pub jitter: bool,
}

/// A closed population of users (`[workload.users]`): each one thinks, loads a page (its
/// requests sent at once, the page done when the last is answered), thinks again, and after
/// `pages` pages starts a new session.
#[derive(Clone, Debug)]
pub struct UsersConfig {
    /// Users, >= 1: each is always either thinking or waiting for a page.
    pub count: u32,
    /// Think time between a page's end and the next page; its mean is > 0.
    pub think: Dist,
    /// Pages per session, >= 1.
    pub pages: u32,
    /// Requests per page, >= 1.
    pub requests: u32,
    /// Probability, in [0, 1], that a user leaves its session after a failed page
    /// (`model/clients.rs`); 0: users never give up on the site.
    pub abandon: f64,
    /// How long a user who left stays away before starting a new session; None: one think
    /// time, as between sessions.
    pub away: Option<Dist>,
}

/// One kind of request and the work it brings.
#[derive(Clone, Debug)]
pub struct RequestClass {
    pub name: String,
    /// Relative frequency, > 0.
    pub weight: f64,
    /// Work at Nginx (on a speed-1 server).
    pub nginx: Dist,
    /// CPU work at the application (on a speed-1 server), done before the queries.
    pub app: Dist,
    /// Database reads issued one after another while the worker is held.
    pub reads: u32,
    /// Database writes (to the primary), after the reads.
    pub writes: u32,
    /// Nginx serves it alone (a static file): no application stage and no queries (`app`,
    /// `reads` and `writes` are then zero).
    pub static_file: bool,
}

/// HAProxy's `balance` algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    StaticRr,
    LeastConn,
    First,
    /// `balance source`; `consistent` selects `hash-type consistent` over map-based.
    Source {
        consistent: bool,
    },
    /// `balance random(draws)`; draws >= 1.
    Random {
        draws: u32,
    },
}

impl Algorithm {
    /// The name used in scenarios and outputs.
    pub fn name(&self) -> String {
        match self {
            Algorithm::RoundRobin => "roundrobin".into(),
            Algorithm::StaticRr => "static-rr".into(),
            Algorithm::LeastConn => "leastconn".into(),
            Algorithm::First => "first".into(),
            Algorithm::Source { consistent: false } => "source".into(),
            Algorithm::Source { consistent: true } => "source-consistent".into(),
            Algorithm::Random { draws: 1 } => "random(1)".into(),
            Algorithm::Random { draws } => format!("random({draws})"),
        }
    }
}

#[derive(Clone, Debug)]
pub struct LbConfig {
    pub algorithm: Algorithm,
    /// HAProxy CPU time per request (before server selection). Zero bypasses the stage.
    pub processing: Dist,
    /// Time HAProxy takes to open its connection to the chosen server and send the request
    /// (the log's `Tc`): the server's slot is held, none of its workers. Zero bypasses it.
    pub connect: Dist,
    /// `option abortonclose`: a request whose client gave up is dropped while it still waits
    /// for a server slot or a connection to its server; otherwise HAProxy serves it anyway.
    pub abortonclose: bool,
    /// Threads processing requests (`nbthread`), >= 1.
    pub threads: u32,
    /// Frontend `maxconn`: requests held by the LB at once; 0 = unlimited. Beyond it new
    /// connections are refused (counted as errors: the kernel backlog is not modelled).
    pub maxconn: u32,
    /// `timeout queue`: a request still queued after this gets a 503.
    pub timeout_queue: SimTime,
    /// `timeout server`: a request sent to a server that has not answered after this gets a
    /// 504 (the server's inactivity timer; our servers send nothing before the response).
    /// None = infinite, as HAProxy without the setting.
    pub timeout_server: Option<SimTime>,
    /// HTTPS terminated here (`[lb.tls]`): handshake CPU on the LB threads. None: plain HTTP.
    pub tls: Option<super::tls::TlsConfig>,
    /// Per-source rate and connection limits (`[lb.rate_limit]`). None: no limit.
    pub rate_limit: Option<super::ratelimit::RateLimitConfig>,
    /// A packet filter in front of HAProxy (`[firewall]`). None: none.
    pub firewall: Option<super::firewall::FirewallConfig>,
    /// Session persistence (`[lb] persistence`, `persist`: `model/lb/stickiness.rs`). None:
    /// none, as before.
    pub persistence: Option<super::lb::stickiness::PersistenceConfig>,
}

#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub name: String,
    /// HAProxy `weight`, 1..=256.
    pub weight: u32,
    /// HAProxy per-server `maxconn` (concurrent requests); 0 = unlimited.
    pub maxconn: u32,
    /// HAProxy `maxqueue` for the per-server queue; 0 = unlimited.
    pub maxqueue: u32,
    /// Nginx worker processes: parallel Nginx stage servers, >= 1.
    pub nginx_workers: u32,
    /// Connections Nginx accepts at once (`worker_processes * worker_connections`); beyond it a
    /// request is refused with an error. >= 1.
    pub nginx_max_conns: u32,
    /// Application workers, >= 1: a worker is held for the whole request, DB waits included.
    pub app_workers: u32,
    /// Application FIFO queue capacity (the listen backlog); overflow is an error response.
    pub app_queue: u32,
    /// Relative CPU speed: work is divided by it. > 0.
    pub speed: f64,
    /// HAProxy `backup`: used only when no non-backup server is usable.
    pub backup: bool,
    /// How Nginx reaches the application: a unix socket or TCP (decides what a full
    /// backlog looks like: 502 at once, or SYNs dropped until `proxy_connect_timeout`).
    pub upstream: Upstream,
    /// Nginx `proxy_connect_timeout` (TCP upstream only).
    pub proxy_connect_timeout: SimTime,
    /// Nginx `proxy_read_timeout`: the application has not answered after this: 504.
    pub proxy_read_timeout: SimTime,
    /// The application server's worker timeout (Gunicorn `timeout`): a worker busy on one
    /// request for longer is killed and restarted, and Nginx answers 502. None = never.
    pub app_timeout: Option<SimTime>,
}

/// The socket between Nginx and the application server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upstream {
    /// `proxy_pass http://unix:/run/app.sock`: a connect to a full backlog fails at once
    /// (EAGAIN), Nginx answers 502.
    Unix,
    /// `proxy_pass http://127.0.0.1:8000`: the kernel drops the SYN when the accept queue is
    /// full; Nginx's SYNs are retransmitted until `proxy_connect_timeout`, then 504.
    Tcp,
}

/// Where reads go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadPolicy {
    /// Round-robin over the replicas (the primary when there are none).
    Replicas,
    /// Everything on the primary.
    Primary,
}

#[derive(Clone, Debug)]
pub struct DbConfig {
    pub primary: DbNodeConfig,
    pub replicas: Vec<DbNodeConfig>,
    pub read_from: ReadPolicy,
    /// Service time of one read on a speed-1 node.
    pub read_time: Dist,
    /// Service time of one write (transaction commit) on a speed-1 node.
    pub write_time: Dist,
    /// One-way network delay between an app server and a DB node; zero bypasses it.
    pub network: Dist,
    pub replication: ReplicationConfig,
    /// How the application connects to MySQL.
    pub client: DbClient,
}

/// The application's MySQL client: connections and timeouts.
#[derive(Clone, Debug, PartialEq)]
pub struct DbClient {
    pub pool: DbPool,
    /// Connect timeout of a new connection (PyMySQL's default is 10 s).
    pub connect_timeout: SimTime,
    /// Read timeout of a query; None = none (PyMySQL's default), so a query to a host that
    /// does not answer holds its worker until the app server's worker timeout.
    pub read_timeout: Option<SimTime>,
}

impl Default for DbClient {
    fn default() -> Self {
        DbClient {
            pool: DbPool::PerWorker,
            connect_timeout: SimTime::from_secs(10),
            read_timeout: None,
        }
    }
}

/// DB nodes a per-request pool can track (one bit each per request); the scenario layer
/// refuses more with `pool = "per-request"`.
pub const MAX_PER_REQUEST_NODES: usize = 64;

/// What MySQL's `max_connections` counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DbPool {
    /// Each application worker keeps one connection to each node it uses, open for the life
    /// of the worker: a worker beyond `max_connections` has none and its queries fail.
    PerWorker,
    /// A request opens a connection to a node at its first query there and closes it when it
    /// ends (PHP without persistent connections).
    PerRequest,
}

#[derive(Clone, Debug)]
pub struct DbNodeConfig {
    pub name: String,
    /// Queries executing at once (CPU/IO parallelism), >= 1. Replication applies run on the
    /// same executors.
    pub workers: u32,
    /// `max_connections`: client connections open at once (see [`DbPool`]); beyond it a
    /// connection is refused ("Too many connections"). >= 1.
    pub max_connections: u32,
    /// Relative speed: service times are divided by it. > 0.
    pub speed: f64,
}

#[derive(Clone, Debug)]
pub struct ReplicationConfig {
    /// Time for a committed transaction's binlog events to reach a replica's relay log.
    pub delay: Dist,
    /// Applier threads per replica (`replica_parallel_workers`, 1 = single-threaded).
    pub appliers: u32,
    /// Apply time = the write's service time on the primary times this factor.
    pub apply_factor: f64,
}

// ---- failures, detection and failover (issue 3) ---------------------------------------------

/// Failure-related settings of a run. `Failures::default()` is a world where nothing fails.
#[derive(Clone, Debug, PartialEq)]
pub struct Failures {
    /// Faults at fixed times.
    pub scheduled: Vec<ScheduledFault>,
    /// Faults drawn from time-to-failure / time-to-repair distributions, per component kind.
    pub random: Vec<RandomFaults>,
    pub health: HealthCheck,
    pub lb_ha: LbHa,
    pub db_failover: DbFailover,
    /// Width of one row of the timeline CSV; zero turns the timeline off.
    pub timeline_interval: SimTime,
    /// Which servers and DB nodes share a machine, and which machines a rack (`[[hosts]]`).
    pub layout: Layout,
}

impl Default for Failures {
    fn default() -> Self {
        Failures {
            scheduled: vec![],
            random: vec![],
            health: HealthCheck::default(),
            lb_ha: LbHa::default(),
            db_failover: DbFailover::default(),
            timeline_interval: SimTime::from_secs(1),
            layout: Layout::default(),
        }
    }
}

/// Co-location (issue 12): the named machines (`[[hosts]]`) and the racks or power domains
/// they share. A server or DB node on no named host is its own machine, as before hosts
/// existed, so an empty layout changes nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Layout {
    pub hosts: Vec<Host>,
    /// Rack (or power domain) names, in order of first mention.
    pub racks: Vec<String>,
}

/// One named machine: what runs on it fails with it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Host {
    pub name: String,
    /// Index in [`Layout::racks`].
    pub rack: Option<usize>,
    /// CPU cores shared by what runs on it (None: not modelled, each station keeps its speed).
    pub cores: Option<u32>,
    /// Indices of the servers (Nginx + app) on it.
    pub servers: Vec<usize>,
    /// Indices of the DB nodes on it (0 = the initial primary, then the replicas).
    pub db_nodes: Vec<usize>,
}

impl Layout {
    /// The machines a fault on `target` takes down at once: a host, or every host of a rack.
    pub fn machines(&self, target: Target) -> Vec<usize> {
        match target {
            Target::Host(h) => vec![h],
            Target::Rack(r) => (0..self.hosts.len())
                .filter(|&h| self.hosts[h].rack == Some(r))
                .collect(),
            _ => vec![],
        }
    }

    /// The components a host or rack fault fails: each server's host and each DB node on
    /// the machines, in that order.
    pub fn members(&self, target: Target) -> Vec<Target> {
        let hosts = self.machines(target);
        let servers = hosts
            .iter()
            .flat_map(|&h| self.hosts[h].servers.iter().map(|&i| Target::Server(i)));
        let nodes = hosts
            .iter()
            .flat_map(|&h| self.hosts[h].db_nodes.iter().map(|&n| Target::DbNode(n)));
        servers.chain(nodes).collect()
    }

    /// The component name of a host or rack, as in outputs and random streams: `host:<name>`,
    /// `rack:<name>` (prefixed, so a host may share a server's name).
    pub fn name(&self, target: Target) -> Option<String> {
        match target {
            Target::Host(h) => Some(format!("host:{}", self.hosts[h].name)),
            Target::Rack(r) => Some(format!("rack:{}", self.racks[r])),
            _ => None,
        }
    }
}

/// What a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// LB instance i (0 = the master / first LB).
    Lb(usize),
    /// Server i's host: Nginx and the app are gone, connections are refused.
    Server(usize),
    /// Server i's application process: Nginx is up and answers 502.
    App(usize),
    /// Whichever DB node is primary when the fault starts.
    DbPrimary,
    /// DB node i (0 = the initial primary, then the replicas).
    DbNode(usize),
    /// The network between the app tier and the database (a partition).
    DbLink,
    /// Named host i (`[[hosts]]`): every server and DB node on it fails at once.
    Host(usize),
    /// Rack (or power domain) i: every host in it fails at once.
    Rack(usize),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FaultKind {
    /// The process died and its host answers at once (RST, or an ICMP reject for a link):
    /// connections are refused and what was in flight on it fails. For a load balancer it is
    /// the HAProxy process (keepalived on the same host lives on); for a server, Nginx and the
    /// application.
    Crash,
    /// No answer at all: host powered off, kernel panic. Connections and requests wait for
    /// their timeouts. For an application it is a hung process (the kernel still queues
    /// connections in its backlog).
    Down,
    /// Packets dropped (a partition, a firewall that DROPs): the same effect as `Down`, named
    /// for a network cause.
    Blackhole,
    /// DB node only: service times multiplied by the factor (> 0).
    Slow(f64),
}

impl FaultKind {
    /// No answer at all: the peer waits for a timeout.
    pub fn is_silent(self) -> bool {
        matches!(self, FaultKind::Down | FaultKind::Blackhole)
    }

    /// The name used in scenarios and outputs.
    pub fn name(self) -> String {
        match self {
            FaultKind::Crash => "crash".into(),
            FaultKind::Down => "down".into(),
            FaultKind::Blackhole => "blackhole".into(),
            FaultKind::Slow(x) => format!("slow x{x}"),
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ScheduledFault {
    pub target: Target,
    pub kind: FaultKind,
    pub at: SimTime,
    /// None = permanent.
    pub duration: Option<SimTime>,
}

/// Component kinds that can fail at random.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TargetKind {
    Lb,
    Server,
    App,
    DbNode,
    DbLink,
    Host,
    Rack,
}

/// Each component of `kind` alternates up for a `ttf` draw and down (crashed) for a `ttr`
/// draw, from its own stream `faults.<component name>` (e.g. `faults.web-01`).
#[derive(Clone, Debug, PartialEq)]
pub struct RandomFaults {
    pub kind: TargetKind,
    /// What a failure is: `Crash` or `Down` (never `Slow`).
    pub fault: FaultKind,
    pub ttf: Dist,
    pub ttr: Dist,
    /// Who repairs a failure and when (crews, `model/repair.rs`).
    pub repair: super::repair::RepairPolicy,
}

/// HAProxy active health checks and retries (domain.md §1.3, §1.4).
#[derive(Clone, Debug, PartialEq)]
pub struct HealthCheck {
    pub enabled: bool,
    pub inter: SimTime,
    pub fastinter: SimTime,
    pub downinter: SimTime,
    pub rise: u32,
    pub fall: u32,
    /// `option httpchk`: an L7 check, which sees an app that is down behind a live Nginx, and
    /// waits for a worker in the application's backlog like a request (`model/stack/faults.rs`).
    pub layer7: bool,
    /// `retries`: connection attempts after the first.
    pub retries: u32,
    /// `option redispatch`.
    pub redispatch: bool,
    /// `timeout connect`: each attempt to a server that does not answer waits this long; also
    /// bounds the retry turnaround min(timeout connect, 1 s) after a refusal.
    pub timeout_connect: SimTime,
    /// `timeout check`: None = a check is bounded by `inter` as a whole; Some(t): its connect
    /// part by min(timeout connect, inter) and its read part by t (HAP-CFG "timeout check").
    pub timeout_check: Option<SimTime>,
}

impl Default for HealthCheck {
    fn default() -> Self {
        HealthCheck {
            enabled: true,
            inter: SimTime::from_secs(2),
            fastinter: SimTime::from_secs(2),
            downinter: SimTime::from_secs(2),
            rise: 2,
            fall: 3,
            layer7: false,
            retries: 3,
            redispatch: false,
            timeout_connect: SimTime::from_secs(5),
            timeout_check: None,
        }
    }
}

/// How many load balancers and how they share the work (domain.md §3).
#[derive(Clone, Debug, Default, PartialEq)]
pub enum LbHa {
    /// One HAProxy: a single point of failure.
    #[default]
    Single,
    /// Two HAProxy with keepalived: the backup takes the floating IP after
    /// 3 x advert_int + skew, skew = (256 - priority) / 256 s, when the master's host dies;
    /// after its skew alone when the master goes to FAULT (its tracked HAProxy died).
    ActivePassive {
        advert_int: SimTime,
        backup_priority: u32,
        preempt: bool,
        /// lb-1 is configured `state MASTER`: when it returns it waits one advert_int (plus
        /// 1/256 s) before taking the IP back, instead of the full master-down timer.
        master_state: bool,
        /// `vrrp_script` / `track_process` watching HAProxy; None = keepalived does not
        /// know about HAProxy, and a dead HAProxy keeps the floating IP.
        track: Option<VrrpScript>,
    },
    /// Two HAProxy behind DNS round robin. A dead LB's record is withdrawn `withdraw_after`
    /// the failure (and published again `withdraw_after` the repair); each client re-resolves
    /// every `dns_ttl` at its own phase.
    ActiveActive {
        dns_ttl: SimTime,
        withdraw_after: SimTime,
    },
}

/// keepalived's check of the HAProxy process (`vrrp_script` with weight 0: a failure puts the
/// instance in FAULT).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VrrpScript {
    pub interval: SimTime,
    /// Consecutive failures before FAULT.
    pub fall: u32,
    /// Consecutive successes before leaving FAULT.
    pub rise: u32,
}

impl Default for VrrpScript {
    /// keepalived's defaults: interval 1 s, fall 1, rise 1 (domain.md §0).
    fn default() -> Self {
        VrrpScript {
            interval: SimTime::from_secs(1),
            fall: 1,
            rise: 1,
        }
    }
}

impl LbHa {
    pub fn instances(&self) -> usize {
        match self {
            LbHa::Single => 1,
            _ => 2,
        }
    }
}

/// MySQL failure detection, promotion and semi-synchronous replication (domain.md §4.3, §4.4).
#[derive(Clone, Debug, PartialEq)]
pub struct DbFailover {
    /// Automatic promotion; false = nobody promotes (manual is `automatic` with a long
    /// `promotion` time, which is how a human on call behaves).
    pub automatic: bool,
    /// Monitor poll interval (orchestrator `InstancePollSeconds`).
    pub poll_interval: SimTime,
    /// Consecutive failed polls before the primary is declared dead.
    pub poll_count: u32,
    /// Time from detection to the promoted replica taking writes (excluding relay-log drain).
    pub promotion: Dist,
    pub semi_sync: bool,
    /// `rpl_semi_sync_source_timeout`: then fall back to async.
    pub semi_sync_timeout: SimTime,
    /// `rpl_semi_sync_source_wait_for_replica_count`: acknowledgements a commit waits for.
    pub semi_sync_replicas: u32,
    /// MySQL `replica_net_timeout`: a replica notices a primary that went silent this long
    /// after the last event or heartbeat it received (heartbeats every half of it).
    /// orchestrator declares a primary dead only when its replicas agree.
    pub replica_net_timeout: SimTime,
    /// orchestrator `DelayMasterPromotionIfSQLThreadNotUpToDate`: the promoted replica applies
    /// its relay log before it takes writes. Off by default.
    pub wait_for_apply: bool,
}

impl Default for DbFailover {
    fn default() -> Self {
        DbFailover {
            automatic: true,
            poll_interval: SimTime::from_secs(5),
            poll_count: 2,
            promotion: Dist::det(10.0).expect("valid"),
            semi_sync: false,
            semi_sync_timeout: SimTime::from_secs(10),
            semi_sync_replicas: 1,
            replica_net_timeout: SimTime::from_secs(60),
            wait_for_apply: false,
        }
    }
}
