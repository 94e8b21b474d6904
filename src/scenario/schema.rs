//! The scenario file as serde sees it: every key optional, unknown keys refused.
//!
//! Values whose meaning needs more than a type check (durations, distributions, algorithm names,
//! counts that must be in a range) are kept raw here and checked in `build`, so that one pass
//! reports every problem with its key path. The meaning of each key is in `docs/scenario.md`.

use serde::Deserialize;
use toml::Value;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub seed: Option<i64>,
    /// Duration string.
    pub duration: Option<Value>,
    /// Duration string.
    pub warmup: Option<Value>,
    pub workload: Option<Workload>,
    pub lb: Option<Lb>,
    pub defaults: Option<Defaults>,
    /// Either a count (`servers = 3`) or an array of [`Server`] tables.
    pub servers: Option<Value>,
    pub database: Option<Database>,
    /// Named machines that servers and DB nodes share (`[[hosts]]`).
    pub hosts: Option<Vec<HostEntry>>,
    /// Health checks and retries of HAProxy.
    pub health: Option<Health>,
    /// Scheduled faults (`[[faults]]`).
    pub faults: Option<Vec<Fault>>,
    /// Random faults from time-to-failure / time-to-repair (`[[random_faults]]`).
    pub random_faults: Option<Vec<RandomFault>>,
    /// How people learn of random failures (`[monitoring]`).
    pub monitoring: Option<Monitoring>,
    pub timeline: Option<Timeline>,
    /// The latency objective requests are judged against (`[slo]`).
    pub slo: Option<Slo>,
    /// A packet filter in front of HAProxy (`[firewall]`).
    pub firewall: Option<Firewall>,
    /// Parameter sweep with replications (`[sweep]`).
    pub sweep: Option<Sweep>,
    /// Monte Carlo availability study (`[montecarlo]`).
    pub montecarlo: Option<MonteCarlo>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    pub replications: Option<i64>,
    /// Override key path -> list of values, in the order written.
    pub parameters: Option<toml::Table>,
    /// Override key path -> a reader's name for each of its values, in the same order
    /// (`scenario::study`): chart titles and the report say "web-04 at 30% speed" rather
    /// than `servers[3].speed=0.3`.
    pub labels: Option<toml::Table>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonteCarlo {
    pub runs: Option<i64>,
    /// Duration string.
    pub horizon: Option<Value>,
    /// "runs", "capacity" or "none".
    pub overload: Option<String>,
    pub min_servers: Option<i64>,
    /// Duration string.
    pub state_run: Option<Value>,
}

/// `[slo]`: a latency objective, an optional target and percentile targets.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// Duration strings.
    pub latency: Option<Value>,
    pub target: Option<Value>,
    pub p50: Option<Value>,
    pub p90: Option<Value>,
    pub p95: Option<Value>,
    pub p99: Option<Value>,
    pub p999: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub arrival: Option<String>,
    pub rate: Option<f64>,
    pub clients: Option<i64>,
    pub phases: Option<Vec<Phase>>,
    pub mix: Option<Vec<Class>>,
    /// Duration string: how long a client retransmits its SYN to a silent LB address.
    pub connect_timeout: Option<Value>,
    /// Duration string or "none".
    pub client_timeout: Option<Value>,
    /// Closed-loop users (`[workload.users]`).
    pub users: Option<Users>,
    /// Client retries (`[workload.retry]`).
    pub retry: Option<Retry>,
    /// Attack traffic (`[workload.flood]`).
    pub flood: Option<Flood>,
    /// A daily profile (`[workload.profile]`).
    pub profile: Option<Profile>,
    /// Flash crowds (`[[workload.flash]]`).
    pub flash: Option<Vec<Flash>>,
    /// `"uniform"` or `"zipf(s)"`.
    pub client_popularity: Option<String>,
    pub nat_share: Option<f64>,
}

/// `[workload.flood]` (`model/flood.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flood {
    pub rate: Option<f64>,
    pub sources: Option<i64>,
    /// Durations.
    pub start: Option<Value>,
    pub stop: Option<Value>,
    /// The name of a `[[workload.mix]]` class.
    pub like: Option<String>,
}

/// `[firewall]` (`model/firewall.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Firewall {
    /// `"reject"` or `"drop"`.
    pub action: Option<String>,
    /// `"flood"` or `"all"`.
    pub block: Option<String>,
    /// With `block = "flood"`: how many of the flood's sources (default: all).
    pub sources: Option<i64>,
    /// Duration.
    pub at: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `"daily"` (a cosine), or absent with `csv`.
    pub shape: Option<String>,
    pub peak: Option<f64>,
    pub trough: Option<f64>,
    /// Durations.
    pub peak_at: Option<Value>,
    pub period: Option<Value>,
    /// A CSV of rates per interval, relative to the scenario's folder.
    pub csv: Option<String>,
    /// Duration: the length of one CSV row.
    pub interval: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flash {
    /// Durations.
    pub at: Option<Value>,
    pub multiple: Option<f64>,
    pub rise: Option<Value>,
    pub decay: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retry {
    pub retries: Option<i64>,
    /// Durations.
    pub backoff: Option<Value>,
    pub multiplier: Option<f64>,
    pub max_backoff: Option<Value>,
    pub jitter: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Users {
    pub count: Option<i64>,
    /// Distribution spec: the think time between pages.
    pub think: Option<Value>,
    pub pages: Option<i64>,
    pub requests: Option<i64>,
    /// Probability that a user leaves its session after a failed page.
    pub abandon: Option<f64>,
    /// Distribution spec: how long a user who left stays away before a new session.
    pub away: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub at: Option<Value>,
    pub rate: Option<f64>,
    /// `"step"` (the default) or `"linear"`.
    pub ramp: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub name: Option<String>,
    pub weight: Option<f64>,
    pub nginx: Option<Value>,
    pub app: Option<Value>,
    pub reads: Option<i64>,
    pub writes: Option<i64>,
    /// Served by Nginx alone (a static file).
    #[serde(rename = "static")]
    pub static_file: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lb {
    pub algorithm: Option<String>,
    pub processing: Option<Value>,
    pub connect: Option<Value>,
    pub abortonclose: Option<bool>,
    pub threads: Option<i64>,
    pub maxconn: Option<i64>,
    pub timeout_queue: Option<Value>,
    /// Duration string or "none".
    pub timeout_server: Option<Value>,
    /// `"single"`, `"active-passive"` or `"active-active"`.
    pub ha: Option<String>,
    /// keepalived settings (active-passive only).
    pub vrrp: Option<Vrrp>,
    /// DNS round robin settings (active-active only).
    pub dns: Option<Dns>,
    /// HTTPS terminated at HAProxy (`[lb.tls]`).
    pub tls: Option<LbTls>,
    /// Per-source limits (`[lb.rate_limit]`).
    pub rate_limit: Option<RateLimit>,
    /// `"cookie"` (`cookie SERVERID insert`) or `"source"` (`stick on src`).
    pub persistence: Option<String>,
    /// `option persist`.
    pub persist: Option<bool>,
}

/// `[lb.rate_limit]` (`model/ratelimit.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// false: no limit (for sweeps over `lb.rate_limit.enabled`).
    pub enabled: Option<bool>,
    /// Duration.
    pub period: Option<Value>,
    pub limit: Option<i64>,
    /// `"deny"` or `"tarpit"`.
    pub action: Option<String>,
    /// Duration: `timeout tarpit`.
    pub tarpit: Option<Value>,
    pub conn_limit: Option<i64>,
}

/// `[lb.tls]`: handshake CPU and keep-alive (`model/tls.rs`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LbTls {
    /// false: plain HTTP (the table kept, e.g. for a sweep over `lb.tls.enabled`).
    pub enabled: Option<bool>,
    /// `"rsa2048"` or `"ecdsa-p256"`.
    pub key: Option<String>,
    /// Distribution specs.
    pub handshake: Option<Value>,
    pub resumed: Option<Value>,
    pub resumption: Option<f64>,
    pub requests_per_connection: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vrrp {
    /// Duration string.
    pub advert_int: Option<Value>,
    pub backup_priority: Option<i64>,
    pub preempt: Option<bool>,
    /// lb-1 is configured `state MASTER`.
    pub master_state: Option<bool>,
    /// A `vrrp_script` (or `track_process`) watches HAProxy.
    pub track_haproxy: Option<bool>,
    /// Duration string.
    pub script_interval: Option<Value>,
    pub script_fall: Option<i64>,
    pub script_rise: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dns {
    /// Duration strings.
    pub ttl: Option<Value>,
    pub withdraw_after: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub server: Option<ServerFields>,
}

/// The per-server settings, shared by `[defaults.server]` and each `[[servers]]` entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFields {
    pub weight: Option<i64>,
    pub maxconn: Option<i64>,
    pub maxqueue: Option<i64>,
    pub nginx_workers: Option<i64>,
    pub nginx_max_conns: Option<i64>,
    pub app_workers: Option<i64>,
    pub app_queue: Option<i64>,
    pub speed: Option<f64>,
    pub backup: Option<bool>,
    /// `"unix"` or `"tcp"`.
    pub upstream: Option<String>,
    /// Duration strings (`app_timeout` may be "none").
    pub proxy_connect_timeout: Option<Value>,
    pub proxy_read_timeout: Option<Value>,
    pub app_timeout: Option<Value>,
}

/// One `[[servers]]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub name: Option<String>,
    pub weight: Option<i64>,
    pub maxconn: Option<i64>,
    pub maxqueue: Option<i64>,
    pub nginx_workers: Option<i64>,
    pub nginx_max_conns: Option<i64>,
    pub app_workers: Option<i64>,
    pub app_queue: Option<i64>,
    pub speed: Option<f64>,
    pub backup: Option<bool>,
    pub upstream: Option<String>,
    pub proxy_connect_timeout: Option<Value>,
    pub proxy_read_timeout: Option<Value>,
    pub app_timeout: Option<Value>,
    /// The `[[hosts]]` entry it runs on (unset: a machine of its own).
    pub host: Option<String>,
}

impl Server {
    /// This server's settings, each unset one taken from `defaults`.
    pub fn over(&self, defaults: &ServerFields) -> ServerFields {
        ServerFields {
            weight: self.weight.or(defaults.weight),
            maxconn: self.maxconn.or(defaults.maxconn),
            maxqueue: self.maxqueue.or(defaults.maxqueue),
            nginx_workers: self.nginx_workers.or(defaults.nginx_workers),
            nginx_max_conns: self.nginx_max_conns.or(defaults.nginx_max_conns),
            app_workers: self.app_workers.or(defaults.app_workers),
            app_queue: self.app_queue.or(defaults.app_queue),
            speed: self.speed.or(defaults.speed),
            backup: self.backup.or(defaults.backup),
            upstream: self.upstream.clone().or_else(|| defaults.upstream.clone()),
            proxy_connect_timeout: self
                .proxy_connect_timeout
                .clone()
                .or_else(|| defaults.proxy_connect_timeout.clone()),
            proxy_read_timeout: self
                .proxy_read_timeout
                .clone()
                .or_else(|| defaults.proxy_read_timeout.clone()),
            app_timeout: self
                .app_timeout
                .clone()
                .or_else(|| defaults.app_timeout.clone()),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub read_from: Option<String>,
    pub read_time: Option<Value>,
    pub write_time: Option<Value>,
    pub network: Option<Value>,
    pub primary: Option<DbNode>,
    /// Either a count (`replicas = 2`) or an array of [`DbNode`] tables.
    pub replicas: Option<Value>,
    pub replication: Option<Replication>,
    pub failover: Option<Failover>,
    pub client: Option<DbClient>,
}

/// `[database.client]`: the application's MySQL connections.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbClient {
    /// `"per-worker"` or `"per-request"`.
    pub pool: Option<String>,
    /// Duration strings (`read_timeout` may be "none").
    pub connect_timeout: Option<Value>,
    pub read_timeout: Option<Value>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbNode {
    pub name: Option<String>,
    pub workers: Option<i64>,
    pub max_connections: Option<i64>,
    pub speed: Option<f64>,
    /// The `[[hosts]]` entry it runs on (unset: a machine of its own).
    pub host: Option<String>,
}

/// One `[[hosts]]` entry: a machine, and the rack or power domain it fails with.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    pub name: Option<String>,
    pub rack: Option<String>,
    pub cores: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    pub delay: Option<Value>,
    pub appliers: Option<i64>,
    pub apply_factor: Option<f64>,
    pub semi_sync: Option<bool>,
    /// Duration string.
    pub semi_sync_timeout: Option<Value>,
    pub semi_sync_replicas: Option<i64>,
}

/// `[database.failover]`: detection of a dead primary and promotion of a replica.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Failover {
    pub automatic: Option<bool>,
    /// Duration string.
    pub poll_interval: Option<Value>,
    pub poll_count: Option<i64>,
    /// Distribution spec.
    pub promotion: Option<Value>,
    /// Duration string.
    pub replica_net_timeout: Option<Value>,
    pub wait_for_apply: Option<bool>,
}

/// `[health]`: HAProxy active health checks, retries and redispatch.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Health {
    pub enabled: Option<bool>,
    /// Duration strings.
    pub inter: Option<Value>,
    pub fastinter: Option<Value>,
    pub downinter: Option<Value>,
    pub rise: Option<i64>,
    pub fall: Option<i64>,
    /// `"tcp"` or `"http"`.
    pub check: Option<String>,
    pub retries: Option<i64>,
    pub redispatch: Option<bool>,
    /// Duration strings.
    pub timeout_connect: Option<Value>,
    pub timeout_check: Option<Value>,
}

/// One `[[faults]]` entry: a fault at a fixed time.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// A component name: `web-01`, `web-01.app`, `lb`, `lb-2`, `db.primary`, `db-replica-1`,
    /// `db.link`.
    pub target: Option<String>,
    /// `"crash"` (default), `"down"`, `"blackhole"` or `"slow"`.
    pub kind: Option<String>,
    /// Service-time multiplier of a `"slow"` fault.
    pub factor: Option<f64>,
    /// Duration strings.
    pub at: Option<Value>,
    pub duration: Option<Value>,
}

/// One `[[random_faults]]` entry: every component of a kind fails and is repaired at random.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RandomFault {
    /// `"server"`, `"app"`, `"lb"`, `"db"`, `"db.link"`, `"host"` or `"rack"`.
    pub component: Option<String>,
    /// `"crash"` (default), `"down"` or `"blackhole"`.
    pub kind: Option<String>,
    /// Mean time to failure (a duration: exponential with that mean), or `ttf`, a distribution.
    pub mttf: Option<Value>,
    pub ttf: Option<Value>,
    /// Mean time to repair, or `ttr`, a distribution.
    pub mttr: Option<Value>,
    pub ttr: Option<Value>,
    /// Technicians shared by the entry's components (unlimited when unset).
    pub repair_crews: Option<i64>,
    /// A process supervisor restarts the component: nobody has to notice (`[monitoring]` does
    /// not delay its repair).
    pub supervisor: Option<bool>,
}

/// `[monitoring]`: how people learn of a random failure before they repair it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monitoring {
    /// true: Prometheus + Alertmanager page someone; false: users complain.
    pub alerts: Option<bool>,
    /// Duration strings.
    pub scrape_interval: Option<Value>,
    pub evaluation_interval: Option<Value>,
    #[serde(rename = "for")]
    pub pending: Option<Value>,
    pub notification: Option<Value>,
    /// A distribution: the on-call person's time to acknowledge.
    pub acknowledge: Option<Value>,
    /// true: automation starts the fix on the alert (no acknowledgement).
    pub automatic: Option<bool>,
    /// A distribution: without alerts, how long until users complain and someone acts.
    pub complaint: Option<Value>,
}

/// `[timeline]`: the per-interval output.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    /// Duration string.
    pub interval: Option<Value>,
}
