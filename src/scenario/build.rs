//! Validation and construction of a [`Config`] from the deserialized file.
//!
//! Every check records a [`Problem`] and carries on with a harmless stand-in value, so one pass
//! reports everything that is wrong. Defaults live here, each with its source; they are listed
//! for users in `docs/scenario.md` (keep the two in step).

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Value;

use crate::dist::{Dist, Sample};
use crate::engine::SimTime;
use crate::model::{
    Algorithm, ArrivalKind, Config, DbClient, DbConfig, DbFailover, DbNodeConfig, DbPool, Failures,
    FaultKind, HealthCheck, LbConfig, LbHa, MAX_PER_REQUEST_NODES, RandomFaults, RatePhase,
    ReadPolicy, ReplicationConfig, RequestClass, ScheduledFault, ServerConfig, Target, TargetKind,
    Upstream, VrrpScript, WorkloadConfig,
};

use super::dist_spec::{SpecError, parse_dist, parse_dist_str};
use super::duration::{format_duration, parse_duration};
use super::error::Problem;
use super::keypath::KeyPath;
use super::limits;
use super::schema::{self, ScenarioFile, ServerFields};

mod failures;

use failures::Targets;

/// Most servers, and most database replicas, a scenario may have.
pub const MAX_NODES: usize = 1024;
/// Most parallel workers of any one kind on one node (Nginx, app, DB, LB threads are lower).
pub const MAX_WORKERS: u32 = 100_000;
/// Most requests one run may be asked to simulate (duration × rate).
pub const MAX_REQUESTS: f64 = 1e10;
/// Most request classes and rate phases.
pub const MAX_CLASSES: usize = 1024;
pub const MAX_PHASES: usize = 10_000;
/// Most client addresses (`workload.clients`): the model keeps one slot per client (the last
/// write each made, for read-your-writes), 80 MB at this limit.
pub const MAX_CLIENTS: u32 = 10_000_000;
/// Longest name of a scenario, server, database node or request class: names become folder
/// names and CSV column names (a file name may have 255 bytes).
pub const MAX_NAME_CHARS: usize = 100;
/// Most queries one request may issue.
pub const MAX_QUERIES: u32 = 10_000;
/// Most LB threads and replication appliers (MySQL caps `replica_parallel_workers` at 1024).
pub const MAX_THREADS: u32 = 1024;
/// Most scheduled faults.
pub const MAX_FAULTS: usize = 10_000;
/// Most rows of the timeline CSV (duration / timeline interval).
pub const MAX_TIMELINE_ROWS: u64 = 1_000_000;
/// Most HAProxy `retries`.
pub const MAX_RETRIES: u32 = 100;
/// Largest `rise`, `fall` and `poll_count`.
pub const MAX_CHECK_COUNT: u32 = 1000;

// Defaults (docs/scenario.md has the table; domain.md §0 the sources).
const DEFAULT_SEED: u64 = 1;
/// Warm-up when unset: this fraction of the duration.
const DEFAULT_WARMUP_FRACTION: f64 = 0.1;
const DEFAULT_CLIENTS: u32 = 10_000;
/// HAProxy `timeout queue` defaults to `timeout connect`, which has no default (infinite, with a
/// warning); HAProxy's documentation examples use 5 s.
const DEFAULT_TIMEOUT_QUEUE: SimTime = SimTime::from_secs(5);
/// HAProxy `timeout server` has no default (infinite, with a warning); HAProxy's own example
/// configurations use 30 s to 1 min (examples/keylog-test.cfg, basic-config-edge.cfg).
const DEFAULT_TIMEOUT_SERVER: SimTime = SimTime::from_secs(30);
/// Nginx `proxy_connect_timeout` and `proxy_read_timeout` (both 60 s, domain.md §0).
const DEFAULT_PROXY_TIMEOUT: SimTime = SimTime::from_secs(60);
/// Gunicorn's worker `timeout` (domain.md §0): a worker silent for this long is killed.
const DEFAULT_APP_TIMEOUT: SimTime = SimTime::from_secs(30);
/// Linux gives up a connect after 6 SYN retransmissions (`tcp_syn_retries`), 127 s after the
/// first SYN (domain.md §0, [U]).
const DEFAULT_CLIENT_CONNECT_TIMEOUT: SimTime = SimTime::from_secs(127);
/// nginx `worker_processes` and `worker_connections` defaults (nginx core module docs).
const DEFAULT_NGINX_WORKERS: u32 = 1;
const NGINX_WORKER_CONNECTIONS: u32 = 512;
/// Gunicorn's defaults: 1 sync worker, backlog 2048 (domain.md §0).
const DEFAULT_APP_WORKERS: u32 = 1;
const DEFAULT_APP_QUEUE: u32 = 2048;
/// MySQL `max_connections` (domain.md §0); DB parallelism is a tunable (an 8-core box).
const DEFAULT_DB_WORKERS: u32 = 8;
const DEFAULT_DB_MAX_CONNECTIONS: u32 = 151;
/// MySQL `replica_parallel_workers` since 8.0.27 (domain.md §0).
const DEFAULT_APPLIERS: u32 = 4;
const DEFAULT_READ_TIME: &str = "exp(2ms)";
const DEFAULT_WRITE_TIME: &str = "exp(5ms)";
/// The application work of the implicit single request class when `workload.mix` is absent.
const DEFAULT_APP_TIME: &str = "exp(10ms)";
/// keepalived `advert_int` 1 s and `priority` 100 (domain.md §0, §3.1); `preempt` is on by
/// default in keepalived.
const DEFAULT_ADVERT_INT: SimTime = SimTime::from_secs(1);
const DEFAULT_BACKUP_PRIORITY: u32 = 100;
/// DNS TTL of the LB records: no default exists; 60 s is the low end of common values (60-300 s,
/// domain.md §3.2, a tunable).
const DEFAULT_DNS_TTL: SimTime = SimTime::from_secs(60);
/// Time for a health-checked DNS service to withdraw a dead LB's record (and to publish it
/// again after the repair): Route 53's defaults, a check every 30 s and 3 failures, give about
/// 90 s ([S], a tunable; a manual change takes minutes).
const DEFAULT_DNS_WITHDRAW: SimTime = SimTime::from_secs(90);
/// Timeline row widths tried in turn when `[timeline] interval` is unset: the first that keeps
/// the timeline within [`MAX_TIMELINE_ROWS`] rows (1 s for runs up to ~11.6 days).
const TIMELINE_STEPS_SECS: &[u64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400,
];
// Health checks, retries and DB failover defaults are those of `HealthCheck::default()` and
// `DbFailover::default()` in the model (HAProxy, orchestrator and MySQL defaults, domain.md §0).

/// What is wrong with `n` as a name (of a scenario, a component, a request class), if anything:
/// names become folder and column names, so they hold no path separator and are not `.` or
/// `..`. Also used on names read back from a result's files (`replay`, `merge`).
pub fn name_problem(n: &str) -> Option<String> {
    let bad = n.trim().is_empty()
        || n.chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'));
    if bad {
        Some(format!(
            "must be a non-empty name without `/`, `\\`, `:` or control characters, got {n:?}"
        ))
    } else if n == "." || n == ".." {
        Some(format!(
            "{n:?} names a folder that already exists (the current one or its parent): choose a \
             name"
        ))
    } else if n.chars().count() > MAX_NAME_CHARS {
        Some(format!(
            "is {} characters long; at most {MAX_NAME_CHARS} are allowed (names become folder \
             and column names)",
            n.chars().count()
        ))
    } else {
        None
    }
}

/// Default name of server `i` (0-based) of `n`: `web-01`, `web-02`, ... (wider past 99).
pub fn server_default_name(i: usize, n: usize) -> String {
    let width = n.to_string().len().max(2);
    format!("web-{:0width$}", i + 1)
}

/// Default name of replica `i` (0-based): `db-replica-1`, ...
pub fn replica_default_name(i: usize) -> String {
    format!("db-replica-{}", i + 1)
}

/// Turns a serde error into a problem at `path`, in the scenario's words.
pub fn serde_problem(path: KeyPath, message: &str) -> Problem {
    let mut path = path;
    let mut msg = message.trim().replace('\n', "; ");
    if let Some(rest) = msg.strip_prefix("unknown field `") {
        let (field, tail) = rest.split_once('`').unwrap_or((rest, ""));
        let field = field.to_string();
        if path.0.last() != Some(&super::keypath::Seg::Key(field.clone())) {
            path = path.key(&field);
        }
        let allowed: Vec<String> = tail
            .split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect();
        let no_fields = tail.contains("there are no fields");
        msg = format!("unknown key `{field}`");
        let names: Vec<&str> = allowed.iter().map(String::as_str).collect();
        if let Some(best) = closest(&field, &names) {
            msg.push_str(&format!(" (did you mean `{best}`?)"));
        }
        if !allowed.is_empty() {
            msg.push_str(&format!("; allowed here: {}", allowed.join(", ")));
        } else if no_fields {
            msg.push_str("; this table takes no keys");
        }
    } else {
        for (from, to) in [
            ("expected f64", "expected a number"),
            ("expected i64", "expected a whole number"),
            ("expected a string", "expected a string (in quotes)"),
            ("invalid type: ", "wrong type: "),
        ] {
            msg = msg.replace(from, to);
        }
        // `expected struct Fault`: the schema's type names mean nothing to users.
        if let Some(at) = msg.find("expected struct ") {
            let rest = &msg[at + "expected struct ".len()..];
            let name_len = rest
                .find(|c: char| !c.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            msg = format!("{}expected a table{}", &msg[..at], &rest[name_len..]);
        }
        msg = msg.replace("expected a sequence", "expected a list");
    }
    Problem::new(path, msg)
}

/// The candidate within edit distance 2 of `word`, if any.
fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur.push(sub.min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Collects problems while building.
struct Builder<'a> {
    base_dir: &'a Path,
    problems: Vec<Problem>,
}

/// Builds the configuration, or returns every problem found.
pub fn build(
    file: ScenarioFile,
    default_name: &str,
    base_dir: &Path,
) -> Result<Config, Vec<Problem>> {
    let mut b = Builder {
        base_dir,
        problems: Vec::new(),
    };
    let config = b.config(file, default_name);
    if b.problems.is_empty() {
        Ok(config)
    } else {
        Err(b.problems)
    }
}

fn root(k: &str) -> KeyPath {
    KeyPath::root().key(k)
}

impl Builder<'_> {
    fn problem(&mut self, key: &KeyPath, message: impl Into<String>) {
        self.problems.push(Problem::new(key, message));
    }

    fn config(&mut self, f: ScenarioFile, default_name: &str) -> Config {
        let name = self.name(&root("name"), f.name, default_name);
        let seed = match f.seed {
            None => DEFAULT_SEED,
            Some(s) if s >= 0 => s as u64,
            Some(s) => {
                self.problem(
                    &root("seed"),
                    format!("must be a whole number >= 0, got {s}"),
                );
                DEFAULT_SEED
            }
        };
        let duration = match &f.duration {
            None => {
                self.problem(
                    &root("duration"),
                    "is required: how much simulated time to run, e.g. duration = \"5min\"",
                );
                None
            }
            Some(v) => {
                let d = self.duration(&root("duration"), Some(v), SimTime::ZERO);
                if d == SimTime::ZERO {
                    if self.problems.iter().all(|p| p.key != "duration") {
                        self.problem(&root("duration"), "must be > 0, got 0s");
                    }
                    None
                } else {
                    Some(d)
                }
            }
        };
        let default_warmup = duration
            .map(|d| SimTime::from_secs_f64(d.as_secs_f64() * DEFAULT_WARMUP_FRACTION))
            .unwrap_or(SimTime::ZERO);
        let warmup = self.duration(&root("warmup"), f.warmup.as_ref(), default_warmup);
        if let Some(d) = duration
            && warmup >= d
        {
            self.problem(
                &root("warmup"),
                format!(
                    "must be shorter than the duration ({}), got {}",
                    format_duration(d),
                    format_duration(warmup)
                ),
            );
        }
        let workload = self.workload(f.workload, duration);
        let (lb, lb_ha) = self.lb(f.lb.unwrap_or_default());
        let defaults = f.defaults.and_then(|d| d.server);
        let defaults_backup = defaults.as_ref().and_then(|d| d.backup);
        let servers = self.servers(f.servers, defaults);
        self.some_active_server(&servers, defaults_backup);
        let (database, db_failover) = self.database(f.database.unwrap_or_default());
        self.unique_names(&servers, &database);
        let health = self.health(f.health.unwrap_or_default());
        let targets = Targets::new(&servers, &database, &lb_ha);
        let scheduled = self.faults(f.faults.unwrap_or_default(), duration, &targets);
        // Which key sets each random fault's time to failure, for messages about its rate.
        let fault_keys: Vec<&'static str> = f
            .random_faults
            .iter()
            .flatten()
            .map(|r| if r.ttf.is_some() { "ttf" } else { "mttf" })
            .collect();
        let random = self.random_faults(f.random_faults.unwrap_or_default());
        let timeline_set = f.timeline.as_ref().is_some_and(|t| t.interval.is_some());
        let timeline_interval = self.timeline(f.timeline.unwrap_or_default(), duration);
        let mut config = Config {
            name,
            seed,
            duration: duration.unwrap_or(SimTime::from_secs(1)),
            warmup,
            workload,
            lb,
            servers,
            database,
            failures: Failures {
                scheduled,
                random,
                health,
                lb_ha,
                db_failover,
                timeline_interval,
            },
        };
        // What the whole configuration costs: checked once everything else is right.
        if self.problems.is_empty() {
            match limits::timeline_interval(&config, timeline_interval, timeline_set) {
                Ok(i) => config.failures.timeline_interval = i,
                Err(p) => self.problems.push(p),
            }
        }
        if self.problems.is_empty() {
            let key = |i: usize| {
                let which = fault_keys.get(i).copied().unwrap_or("mttf");
                format!("random_faults[{i}].{which}")
            };
            self.problems.extend(limits::check_run(&config, &key));
        }
        config
    }

    fn name(&mut self, key: &KeyPath, v: Option<String>, default: &str) -> String {
        let Some(n) = v else {
            return default.to_string();
        };
        if let Some(why) = name_problem(&n) {
            self.problem(key, why);
        }
        n
    }

    // ---- scalar checks -------------------------------------------------------------------

    /// A whole number in `min..=max`, or `default` when unset.
    fn count(&mut self, key: &KeyPath, v: Option<i64>, default: u32, min: u32, max: u32) -> u32 {
        let Some(x) = v else {
            return default;
        };
        match u32::try_from(x) {
            Ok(x) if (min..=max).contains(&x) => x,
            _ => {
                let range = if max == u32::MAX {
                    format!(">= {min}")
                } else {
                    format!("from {min} to {max}")
                };
                self.problem(key, format!("must be a whole number {range}, got {x}"));
                default
            }
        }
    }

    /// A finite number > 0, or `default` when unset.
    fn positive(&mut self, key: &KeyPath, v: Option<f64>, default: f64) -> f64 {
        match v {
            None => default,
            Some(x) if x.is_finite() && x > 0.0 => x,
            Some(x) => {
                self.problem(key, format!("must be a number > 0, got {x}"));
                default
            }
        }
    }

    fn duration(&mut self, key: &KeyPath, v: Option<&Value>, default: SimTime) -> SimTime {
        match v {
            None => default,
            Some(Value::String(s)) => match parse_duration(s) {
                Ok(t) => t,
                Err(e) => {
                    self.problem(key, e);
                    default
                }
            },
            Some(n @ (Value::Integer(_) | Value::Float(_))) => {
                self.problem(
                    key,
                    format!(
                        "{n} has no unit: write a duration in quotes, e.g. \"{n}s\" or \"{n}ms\""
                    ),
                );
                default
            }
            Some(other) => {
                self.problem(
                    key,
                    format!(
                        "must be a duration such as \"5s\", got {}",
                        other.type_str()
                    ),
                );
                default
            }
        }
    }

    /// A duration that must be > 0, or `default` when unset.
    fn positive_duration(&mut self, key: &KeyPath, v: Option<&Value>, default: SimTime) -> SimTime {
        let n = self.problems.len();
        let t = self.duration(key, v, default);
        if v.is_some() && t == SimTime::ZERO && self.problems.len() == n {
            self.problem(key, "must be > 0, got 0s");
            return default;
        }
        t
    }

    /// A timeout that may be switched off: a duration > 0, or "none" (None = infinite), or
    /// `default` when unset.
    fn optional_duration(
        &mut self,
        key: &KeyPath,
        v: Option<&Value>,
        default: Option<SimTime>,
    ) -> Option<SimTime> {
        match v {
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("none") => None,
            None => default,
            Some(_) => {
                let n = self.problems.len();
                let t = self.positive_duration(key, v, SimTime::ZERO);
                (self.problems.len() == n).then_some(t).or(default)
            }
        }
    }

    /// One of a few words (case-insensitive), or `default` when unset.
    fn choice<T: Copy>(
        &mut self,
        key: &KeyPath,
        v: Option<&str>,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(s) = v.map(str::trim) else {
            return default;
        };
        if let Some(&(_, t)) = options.iter().find(|(w, _)| w.eq_ignore_ascii_case(s)) {
            return t;
        }
        let words: Vec<String> = options.iter().map(|(w, _)| format!("\"{w}\"")).collect();
        let allowed = match words.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => words.join(""),
        };
        self.problem(key, format!("must be {allowed}, got {s:?}"));
        default
    }

    /// A distribution, or `default` when unset.
    fn dist_or(&mut self, key: &KeyPath, v: Option<&Value>, default: &Dist) -> Dist {
        match v {
            None => default.clone(),
            Some(v) => self.dist(key, Some(v), "0s"),
        }
    }

    fn dist(&mut self, key: &KeyPath, v: Option<&Value>, default: &str) -> Dist {
        let parsed = match v {
            Some(v) => parse_dist(v, self.base_dir),
            None => parse_dist_str(default, self.base_dir).map_err(|m| SpecError {
                sub: None,
                message: m,
            }),
        };
        match parsed {
            Ok(d) => d,
            Err(e) => {
                let at = match &e.sub {
                    Some(sub) => key.key(sub),
                    None => key.clone(),
                };
                self.problem(&at, e.message);
                Dist::zero()
            }
        }
    }

    fn deserialize_at<T: DeserializeOwned>(&mut self, key: &KeyPath, v: Value) -> Option<T> {
        match serde_path_to_error::deserialize::<_, T>(v) {
            Ok(t) => Some(t),
            Err(e) => {
                let path = key.join(&KeyPath::from_serde(e.path()));
                self.problems.push(serde_problem(path, e.inner().message()));
                None
            }
        }
    }

    // ---- sections ------------------------------------------------------------------------

    fn workload(
        &mut self,
        w: Option<schema::Workload>,
        duration: Option<SimTime>,
    ) -> WorkloadConfig {
        let key = root("workload");
        let w = w.unwrap_or_default();
        let arrival = match w.arrival.as_deref().map(str::trim) {
            None => ArrivalKind::Poisson,
            Some(s) if s.eq_ignore_ascii_case("poisson") => ArrivalKind::Poisson,
            Some(s) if s.eq_ignore_ascii_case("deterministic") => ArrivalKind::Deterministic,
            Some(s) => {
                self.problem(
                    &key.key("arrival"),
                    format!("must be \"poisson\" or \"deterministic\", got {s:?}"),
                );
                ArrivalKind::Poisson
            }
        };
        let rate = match w.rate {
            None => {
                self.problem(
                    &key.key("rate"),
                    "is required: mean arrivals per second, e.g. rate = 300",
                );
                1.0
            }
            Some(r) => self.positive(&key.key("rate"), Some(r), 1.0),
        };
        let clients = self.count(
            &key.key("clients"),
            w.clients,
            DEFAULT_CLIENTS,
            1,
            MAX_CLIENTS,
        );
        let phases = self.phases(&key.key("phases"), w.phases.unwrap_or_default());
        let mix = self.mix(&key.key("mix"), w.mix);
        if let Some(d) = duration {
            let expected = limits::expected_requests(rate, &phases, d);
            if expected > MAX_REQUESTS {
                self.problem(
                    &root("duration"),
                    format!(
                        "duration × rate gives about {expected:.3e} requests, more than the limit \
                         of {MAX_REQUESTS:.0e}: shorten the duration or lower the rate"
                    ),
                );
            }
        }
        let connect_timeout = self.positive_duration(
            &key.key("connect_timeout"),
            w.connect_timeout.as_ref(),
            DEFAULT_CLIENT_CONNECT_TIMEOUT,
        );
        WorkloadConfig {
            arrival,
            rate,
            phases,
            clients,
            mix,
            connect_timeout,
        }
    }

    fn phases(&mut self, key: &KeyPath, phases: Vec<schema::Phase>) -> Vec<RatePhase> {
        if phases.len() > MAX_PHASES {
            self.problem(
                key,
                format!(
                    "has {} phases; at most {MAX_PHASES} are allowed",
                    phases.len()
                ),
            );
            return Vec::new();
        }
        let mut out: Vec<RatePhase> = Vec::with_capacity(phases.len());
        for (i, p) in phases.into_iter().enumerate() {
            let k = key.index(i);
            let at = match &p.at {
                None => {
                    self.problem(
                        &k.key("at"),
                        "is required: when the rate changes, e.g. at = \"5min\"",
                    );
                    SimTime::ZERO
                }
                Some(v) => self.duration(&k.key("at"), Some(v), SimTime::ZERO),
            };
            let rate = match p.rate {
                None => {
                    self.problem(
                        &k.key("rate"),
                        "is required: the new arrival rate, requests/s (>= 0)",
                    );
                    0.0
                }
                Some(r) if r.is_finite() && r >= 0.0 => r,
                Some(r) => {
                    self.problem(&k.key("rate"), format!("must be a number >= 0, got {r}"));
                    0.0
                }
            };
            if let Some(prev) = out.last()
                && at <= prev.at
            {
                self.problem(
                    &k.key("at"),
                    format!(
                        "phases must be in increasing order of `at`: {} is not after the previous \
                         phase's {}",
                        format_duration(at),
                        format_duration(prev.at)
                    ),
                );
            }
            out.push(RatePhase { at, rate });
        }
        out
    }

    fn mix(&mut self, key: &KeyPath, mix: Option<Vec<schema::Class>>) -> Vec<RequestClass> {
        let Some(mix) = mix else {
            return vec![RequestClass {
                name: "default".into(),
                weight: 1.0,
                nginx: Dist::zero(),
                app: self.dist(key, None, DEFAULT_APP_TIME),
                reads: 0,
                writes: 0,
                static_file: false,
            }];
        };
        if mix.is_empty() {
            self.problem(key, "needs at least one request class ([[workload.mix]])");
        }
        if mix.len() > MAX_CLASSES {
            self.problem(
                key,
                format!(
                    "has {} classes; at most {MAX_CLASSES} are allowed",
                    mix.len()
                ),
            );
            return Vec::new();
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::with_capacity(mix.len());
        for (i, c) in mix.into_iter().enumerate() {
            let k = key.index(i);
            let name = match c.name {
                Some(n) => self.name(&k.key("name"), Some(n), ""),
                None => format!("class-{}", i + 1),
            };
            if let Some(first) = names.insert(name.clone(), i) {
                self.problem(
                    &k.key("name"),
                    format!("\"{name}\" is already the name of workload.mix[{first}]"),
                );
            }
            let weight = self.positive(&k.key("weight"), c.weight, 1.0);
            let nginx = self.dist(&k.key("nginx"), c.nginx.as_ref(), "0s");
            let static_file = c.static_file.unwrap_or(false);
            let reads = self.count(&k.key("reads"), c.reads, 0, 0, MAX_QUERIES);
            let writes = self.count(&k.key("writes"), c.writes, 0, 0, MAX_QUERIES);
            let app = match (&c.app, static_file) {
                (Some(v), false) => self.dist(&k.key("app"), Some(v), "0s"),
                (None, false) => {
                    self.problem(
                        &k.key("app"),
                        "is required: the application work per request, e.g. app = \"exp(10ms)\" \
                         (or static = true for a file Nginx serves alone)",
                    );
                    Dist::zero()
                }
                (Some(_), true) => {
                    self.problem(
                        &k.key("app"),
                        "a static request (static = true) never reaches the application: \
                         remove `app`, or set static = false",
                    );
                    Dist::zero()
                }
                (None, true) => Dist::zero(),
            };
            if static_file && reads + writes > 0 {
                self.problem(
                    &k.key(if reads > 0 { "reads" } else { "writes" }),
                    "a static request (static = true) makes no database queries: only the \
                     application does",
                );
            }
            out.push(RequestClass {
                name,
                weight,
                nginx,
                app,
                reads,
                writes,
                static_file,
            });
        }
        out
    }

    fn lb(&mut self, lb: schema::Lb) -> (LbConfig, LbHa) {
        let key = root("lb");
        let ha = self.lb_ha(&key, lb.ha.as_deref(), lb.vrrp, lb.dns);
        let algorithm = match lb.algorithm.as_deref() {
            None => Algorithm::RoundRobin,
            Some(s) => match parse_algorithm(s) {
                Ok(a) => a,
                Err(e) => {
                    self.problem(&key.key("algorithm"), e);
                    Algorithm::RoundRobin
                }
            },
        };
        let config = LbConfig {
            algorithm,
            processing: self.dist(&key.key("processing"), lb.processing.as_ref(), "0s"),
            threads: self.count(&key.key("threads"), lb.threads, 1, 1, MAX_THREADS),
            maxconn: self.count(&key.key("maxconn"), lb.maxconn, 0, 0, u32::MAX),
            timeout_queue: {
                let k = key.key("timeout_queue");
                let t = self.duration(&k, lb.timeout_queue.as_ref(), DEFAULT_TIMEOUT_QUEUE);
                if t == SimTime::ZERO {
                    self.problem(
                        &k,
                        "must be > 0 (a request may wait in the queue this long)",
                    );
                }
                t
            },
            timeout_server: self.optional_duration(
                &key.key("timeout_server"),
                lb.timeout_server.as_ref(),
                Some(DEFAULT_TIMEOUT_SERVER),
            ),
        };
        (config, ha)
    }

    fn servers(
        &mut self,
        servers: Option<Value>,
        defaults: Option<ServerFields>,
    ) -> Vec<ServerConfig> {
        let key = root("servers");
        let base = self.server_fields(
            &KeyPath::root().key("defaults").key("server"),
            defaults.unwrap_or_default(),
            None,
        );
        let entries: Vec<(String, ServerFields, KeyPath)> = match servers {
            None => vec![(
                server_default_name(0, 1),
                ServerFields::default(),
                key.index(0),
            )],
            Some(Value::Integer(n)) => match usize::try_from(n) {
                Ok(n) if (1..=MAX_NODES).contains(&n) => (0..n)
                    .map(|i| {
                        (
                            server_default_name(i, n),
                            ServerFields::default(),
                            key.index(i),
                        )
                    })
                    .collect(),
                _ => {
                    self.problem(
                        &key,
                        format!("must be from 1 to {MAX_NODES} servers, got {n}"),
                    );
                    return Vec::new();
                }
            },
            Some(Value::Array(items)) => {
                let n = items.len();
                if n == 0 {
                    self.problem(&key, "needs at least one server");
                } else if n > MAX_NODES {
                    self.problem(
                        &key,
                        format!("has {n} servers; at most {MAX_NODES} are allowed"),
                    );
                    return Vec::new();
                }
                let mut out = Vec::with_capacity(n);
                for (i, item) in items.into_iter().enumerate() {
                    let k = key.index(i);
                    let Some(s) = self.deserialize_at::<schema::Server>(&k, item) else {
                        continue;
                    };
                    let name = match &s.name {
                        Some(nm) => self.name(&k.key("name"), Some(nm.clone()), ""),
                        None => server_default_name(i, n),
                    };
                    let own = ServerFields {
                        weight: s.weight,
                        maxconn: s.maxconn,
                        maxqueue: s.maxqueue,
                        nginx_workers: s.nginx_workers,
                        nginx_max_conns: s.nginx_max_conns,
                        app_workers: s.app_workers,
                        app_queue: s.app_queue,
                        speed: s.speed,
                        backup: s.backup,
                        upstream: s.upstream,
                        proxy_connect_timeout: s.proxy_connect_timeout,
                        proxy_read_timeout: s.proxy_read_timeout,
                        app_timeout: s.app_timeout,
                    };
                    out.push((name, own, k));
                }
                out
            }
            Some(other) => {
                self.problem(
                    &key,
                    format!(
                        "must be a number of servers (servers = 2) or [[servers]] tables, got {}",
                        other.type_str()
                    ),
                );
                return Vec::new();
            }
        };
        entries
            .into_iter()
            .map(|(name, own, k)| {
                let mut s = self.server_fields(&k, own, Some(&base));
                s.name = name;
                s
            })
            .collect()
    }

    /// Checks the fields set in `f` (problems keyed under `key`); unset fields come from
    /// `inherit`, or the built-in defaults when there is none.
    fn server_fields(
        &mut self,
        key: &KeyPath,
        f: ServerFields,
        inherit: Option<&ServerConfig>,
    ) -> ServerConfig {
        let d = inherit.cloned().unwrap_or(ServerConfig {
            name: String::new(),
            weight: 1,
            maxconn: 0,
            maxqueue: 0,
            nginx_workers: DEFAULT_NGINX_WORKERS,
            nginx_max_conns: DEFAULT_NGINX_WORKERS * NGINX_WORKER_CONNECTIONS,
            app_workers: DEFAULT_APP_WORKERS,
            app_queue: DEFAULT_APP_QUEUE,
            speed: 1.0,
            backup: false,
            upstream: Upstream::Unix,
            proxy_connect_timeout: DEFAULT_PROXY_TIMEOUT,
            proxy_read_timeout: DEFAULT_PROXY_TIMEOUT,
            app_timeout: Some(DEFAULT_APP_TIMEOUT),
        });
        let nginx_workers = self.count(
            &key.key("nginx_workers"),
            f.nginx_workers,
            d.nginx_workers,
            1,
            MAX_WORKERS,
        );
        // Unset, nginx accepts worker_processes × worker_connections (512 each by default),
        // unless a default table fixed the total.
        let conns_default = match (f.nginx_workers, inherit) {
            (Some(_), _) | (None, None) => nginx_workers.saturating_mul(NGINX_WORKER_CONNECTIONS),
            (None, Some(d)) => d.nginx_max_conns,
        };
        ServerConfig {
            name: String::new(),
            weight: self.count(&key.key("weight"), f.weight, d.weight, 1, 256),
            maxconn: self.count(&key.key("maxconn"), f.maxconn, d.maxconn, 0, u32::MAX),
            maxqueue: self.count(&key.key("maxqueue"), f.maxqueue, d.maxqueue, 0, u32::MAX),
            nginx_workers,
            nginx_max_conns: self.count(
                &key.key("nginx_max_conns"),
                f.nginx_max_conns,
                conns_default,
                1,
                u32::MAX,
            ),
            app_workers: self.count(
                &key.key("app_workers"),
                f.app_workers,
                d.app_workers,
                1,
                MAX_WORKERS,
            ),
            app_queue: self.count(&key.key("app_queue"), f.app_queue, d.app_queue, 0, u32::MAX),
            speed: self.positive(&key.key("speed"), f.speed, d.speed),
            backup: f.backup.unwrap_or(d.backup),
            upstream: self.choice(
                &key.key("upstream"),
                f.upstream.as_deref(),
                &[("unix", Upstream::Unix), ("tcp", Upstream::Tcp)],
                d.upstream,
            ),
            proxy_connect_timeout: self.positive_duration(
                &key.key("proxy_connect_timeout"),
                f.proxy_connect_timeout.as_ref(),
                d.proxy_connect_timeout,
            ),
            proxy_read_timeout: self.positive_duration(
                &key.key("proxy_read_timeout"),
                f.proxy_read_timeout.as_ref(),
                d.proxy_read_timeout,
            ),
            app_timeout: self.optional_duration(
                &key.key("app_timeout"),
                f.app_timeout.as_ref(),
                d.app_timeout,
            ),
        }
    }

    /// HAProxy sends traffic to backup servers only when no active one is usable: a farm of
    /// backups alone is a mistake.
    fn some_active_server(&mut self, servers: &[ServerConfig], defaults_backup: Option<bool>) {
        if servers.is_empty() || servers.iter().any(|s| !s.backup) {
            return;
        }
        let key = if defaults_backup == Some(true) {
            root("defaults").key("server").key("backup")
        } else {
            root("servers").index(0).key("backup")
        };
        self.problem(
            &key,
            "every server is a backup: at least one must be active (backup = false), since \
             HAProxy uses backup servers only when no active server is usable",
        );
    }

    fn database(&mut self, db: schema::Database) -> (DbConfig, DbFailover) {
        let key = root("database");
        let read_from = match db.read_from.as_deref().map(str::trim) {
            None => ReadPolicy::Replicas,
            Some(s) if s.eq_ignore_ascii_case("replicas") => ReadPolicy::Replicas,
            Some(s) if s.eq_ignore_ascii_case("primary") => ReadPolicy::Primary,
            Some(s) => {
                self.problem(
                    &key.key("read_from"),
                    format!("must be \"replicas\" or \"primary\", got {s:?}"),
                );
                ReadPolicy::Replicas
            }
        };
        let builtin = DbNodeConfig {
            name: "db-primary".into(),
            workers: DEFAULT_DB_WORKERS,
            max_connections: DEFAULT_DB_MAX_CONNECTIONS,
            speed: 1.0,
        };
        let primary = self.db_node(
            &key.key("primary"),
            db.primary.unwrap_or_default(),
            &builtin,
        );
        let replicas = self.replicas(&key.key("replicas"), db.replicas, &primary);
        let rep = db.replication.unwrap_or_default();
        let rk = key.key("replication");
        let failover =
            self.db_failover(&key, db.failover.unwrap_or_default(), &rep, replicas.len());
        let config = DbConfig {
            primary,
            replicas,
            read_from,
            read_time: self.dist(
                &key.key("read_time"),
                db.read_time.as_ref(),
                DEFAULT_READ_TIME,
            ),
            write_time: self.dist(
                &key.key("write_time"),
                db.write_time.as_ref(),
                DEFAULT_WRITE_TIME,
            ),
            network: self.dist(&key.key("network"), db.network.as_ref(), "0s"),
            replication: ReplicationConfig {
                delay: self.dist(&rk.key("delay"), rep.delay.as_ref(), "0s"),
                appliers: self.count(
                    &rk.key("appliers"),
                    rep.appliers,
                    DEFAULT_APPLIERS,
                    1,
                    MAX_THREADS,
                ),
                apply_factor: self.positive(&rk.key("apply_factor"), rep.apply_factor, 1.0),
            },
            client: self.db_client(&key.key("client"), db.client.unwrap_or_default()),
        };
        let nodes = 1 + config.replicas.len();
        if config.client.pool == DbPool::PerRequest && nodes > MAX_PER_REQUEST_NODES {
            self.problem(
                &key.key("client").key("pool"),
                format!(
                    "\"per-request\" tracks at most {MAX_PER_REQUEST_NODES} database nodes, the \
                     stack has {nodes}: use \"per-worker\" or fewer replicas"
                ),
            );
        }
        (config, failover)
    }

    /// `[database.client]`: the application's MySQL connections and timeouts.
    fn db_client(&mut self, key: &KeyPath, c: schema::DbClient) -> DbClient {
        let d = DbClient::default();
        DbClient {
            pool: self.choice(
                &key.key("pool"),
                c.pool.as_deref(),
                &[
                    ("per-worker", DbPool::PerWorker),
                    ("per-request", DbPool::PerRequest),
                ],
                d.pool,
            ),
            connect_timeout: self.positive_duration(
                &key.key("connect_timeout"),
                c.connect_timeout.as_ref(),
                d.connect_timeout,
            ),
            read_timeout: self.optional_duration(
                &key.key("read_timeout"),
                c.read_timeout.as_ref(),
                d.read_timeout,
            ),
        }
    }

    /// One DB node: fields set in `n` are checked under `key`, unset ones come from `inherit`.
    fn db_node(
        &mut self,
        key: &KeyPath,
        n: schema::DbNode,
        inherit: &DbNodeConfig,
    ) -> DbNodeConfig {
        let name = match n.name {
            Some(nm) => self.name(&key.key("name"), Some(nm), ""),
            None => inherit.name.clone(),
        };
        let workers = self.count(
            &key.key("workers"),
            n.workers,
            inherit.workers,
            1,
            MAX_WORKERS,
        );
        let max_connections = self.count(
            &key.key("max_connections"),
            n.max_connections,
            inherit.max_connections,
            1,
            100_000,
        );
        DbNodeConfig {
            name,
            workers,
            max_connections,
            speed: self.positive(&key.key("speed"), n.speed, inherit.speed),
        }
    }

    fn replicas(
        &mut self,
        key: &KeyPath,
        v: Option<Value>,
        primary: &DbNodeConfig,
    ) -> Vec<DbNodeConfig> {
        let named = |i: usize| DbNodeConfig {
            name: replica_default_name(i),
            ..primary.clone()
        };
        match v {
            None => Vec::new(),
            Some(Value::Integer(n)) => match usize::try_from(n) {
                Ok(n) if n <= MAX_NODES => (0..n).map(named).collect(),
                _ => {
                    self.problem(
                        key,
                        format!("must be from 0 to {MAX_NODES} replicas, got {n}"),
                    );
                    Vec::new()
                }
            },
            Some(Value::Array(items)) => {
                if items.len() > MAX_NODES {
                    self.problem(
                        key,
                        format!(
                            "has {} replicas; at most {MAX_NODES} are allowed",
                            items.len()
                        ),
                    );
                    return Vec::new();
                }
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let k = key.index(i);
                    if let Some(node) = self.deserialize_at::<schema::DbNode>(&k, item) {
                        out.push(self.db_node(&k, node, &named(i)));
                    }
                }
                out
            }
            Some(other) => {
                self.problem(
                    key,
                    format!(
                        "must be a number of replicas (replicas = 1) or [[database.replicas]] \
                         tables, got {}",
                        other.type_str()
                    ),
                );
                Vec::new()
            }
        }
    }

    /// Every server and database node needs its own name: outputs are keyed by it.
    fn unique_names(&mut self, servers: &[ServerConfig], db: &DbConfig) {
        let mut seen: HashMap<&str, String> = HashMap::new();
        let nodes = servers
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), root("servers").index(i).key("name")))
            .chain(std::iter::once((
                db.primary.name.as_str(),
                root("database").key("primary").key("name"),
            )))
            .chain(db.replicas.iter().enumerate().map(|(i, r)| {
                (
                    r.name.as_str(),
                    root("database").key("replicas").index(i).key("name"),
                )
            }));
        for (name, key) in nodes {
            if let Some(first) = seen.get(name) {
                let msg = format!(
                    "\"{name}\" is already the name of {}",
                    first.trim_end_matches(".name")
                );
                self.problem(&key, msg);
            } else {
                seen.insert(name, key.to_string());
            }
        }
    }
}

/// Parses an HAProxy `balance` name.
pub fn parse_algorithm(s: &str) -> Result<Algorithm, String> {
    const ALLOWED: &str =
        "roundrobin, static-rr, leastconn, first, source, source-consistent, random, random(N)";
    let t = s.trim().to_ascii_lowercase();
    Ok(match t.as_str() {
        "roundrobin" => Algorithm::RoundRobin,
        "static-rr" => Algorithm::StaticRr,
        "leastconn" => Algorithm::LeastConn,
        "first" => Algorithm::First,
        "source" => Algorithm::Source { consistent: false },
        "source-consistent" => Algorithm::Source { consistent: true },
        "random" => Algorithm::Random { draws: 2 },
        _ => {
            let draws = t
                .strip_prefix("random(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("unknown algorithm {s:?}; allowed: {ALLOWED}"))?;
            match draws.trim().parse::<u32>() {
                Ok(n) if (1..=MAX_THREADS).contains(&n) => Algorithm::Random { draws: n },
                _ => {
                    return Err(format!(
                        "random(N) needs a whole number of draws from 1 to {MAX_THREADS}, got {s:?}"
                    ));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms() {
        assert_eq!(
            parse_algorithm("roundrobin").unwrap(),
            Algorithm::RoundRobin
        );
        assert_eq!(
            parse_algorithm(" LeastConn ").unwrap(),
            Algorithm::LeastConn
        );
        assert_eq!(
            parse_algorithm("random").unwrap(),
            Algorithm::Random { draws: 2 }
        );
        assert_eq!(
            parse_algorithm("random(1)").unwrap(),
            Algorithm::Random { draws: 1 }
        );
        assert_eq!(
            parse_algorithm("source-consistent").unwrap(),
            Algorithm::Source { consistent: true }
        );
        for a in [
            Algorithm::RoundRobin,
            Algorithm::StaticRr,
            Algorithm::LeastConn,
            Algorithm::First,
            Algorithm::Source { consistent: false },
            Algorithm::Source { consistent: true },
            Algorithm::Random { draws: 3 },
        ] {
            assert_eq!(parse_algorithm(&a.name()).unwrap(), a);
        }
        assert!(
            parse_algorithm("round-robin")
                .unwrap_err()
                .contains("allowed")
        );
        assert!(parse_algorithm("random(0)").is_err());
        assert!(parse_algorithm("random(x)").is_err());
    }

    #[test]
    fn default_names() {
        assert_eq!(server_default_name(0, 2), "web-01");
        assert_eq!(server_default_name(99, 100), "web-100");
        assert_eq!(server_default_name(4, 100), "web-005");
        assert_eq!(replica_default_name(0), "db-replica-1");
    }

    #[test]
    fn serde_messages() {
        let p = serde_problem(
            KeyPath::parse("lb").unwrap(),
            "unknown field `algoritm`, expected one of `algorithm`, `processing`",
        );
        assert_eq!(p.key, "lb.algoritm");
        assert!(
            p.message.contains("did you mean `algorithm`"),
            "{}",
            p.message
        );
        assert!(
            p.message.contains("allowed here: algorithm, processing"),
            "{}",
            p.message
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        let p = serde_problem(
            KeyPath::parse("faults[0]").unwrap(),
            "invalid type: integer `1`, expected struct Fault",
        );
        assert_eq!(p.message, "wrong type: integer `1`, expected a table");
        let p = serde_problem(
            KeyPath::parse("faults").unwrap(),
            "invalid type: integer `3`, expected a sequence",
        );
        assert_eq!(p.message, "wrong type: integer `3`, expected a list");
    }
}
