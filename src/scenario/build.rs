//! Validation and construction of a [`Config`] from the deserialized file.
//!
//! Every check records a [`Problem`] and carries on with a harmless stand-in value, so one pass
//! reports everything that is wrong. Defaults live here, each with its source; they are listed
//! for users in `docs/scenario.md` (keep the two in step).
//!
//! This file holds the limits, the defaults and the order in which a configuration is put
//! together ([`build`]); each section is built in its own file under `build/`: `values` (the
//! checks every section uses), `workload`, `servers` (`[lb]` and the servers), `database`,
//! `failures`, `slo`, and `messages` (serde's errors in the scenario's words).

use std::collections::HashMap;
use std::path::Path;

use serde::de::DeserializeOwned;
use toml::Value;

use crate::dist::{Dist, Sample};
use crate::engine::SimTime;
use crate::model::{
    Algorithm, ArrivalKind, Config, DbClient, DbConfig, DbFailover, DbNodeConfig, DbPool, Failures,
    FaultKind, HealthCheck, LbConfig, LbHa, MAX_PER_REQUEST_NODES, RandomFaults, RatePhase,
    ReadPolicy, ReplicationConfig, RequestClass, RetryConfig, ScheduledFault, ServerConfig, Target,
    TargetKind, Upstream, UsersConfig, VrrpScript, WorkloadConfig,
};

use super::dist_spec::{SpecError, parse_dist, parse_dist_str};
use super::duration::{format_duration, parse_duration};
use super::error::Problem;
use super::keypath::KeyPath;
use super::limits;
use super::schema::{self, ScenarioFile, ServerFields};

mod database;
mod failures;
mod hosts;
mod messages;
mod persistence;
mod repair;
mod security;
mod servers;
mod shape;
mod slo;
mod values;
mod workload;

use failures::Targets;
use messages::closest;
pub use messages::serde_problem;
pub use servers::parse_algorithm;

/// Most servers a scenario may have: real pools reach thousands, and every balancing algorithm
/// costs O(log n) or less per request (issue 13), so 10,000 runs at about the cost of 1,000.
pub const MAX_SERVERS: usize = 10_000;
/// Most database replicas a scenario may have.
pub const MAX_REPLICAS: usize = 1024;
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
/// Most closed-loop users (`workload.users.count`): the model keeps 24 bytes per user.
pub const MAX_USERS: u32 = 1_000_000;
/// Most pages per session and requests per page of a closed-loop user.
pub const MAX_PAGES: u32 = 1_000_000;
pub const MAX_PAGE_REQUESTS: u32 = 1000;
/// Most client retries of one request (`workload.retry.retries`), and the largest backoff
/// multiplier.
pub const MAX_CLIENT_RETRIES: u32 = 100;
pub const MAX_BACKOFF_MULTIPLIER: f64 = 1000.0;
/// gRPC's connection backoff caps its wait at 120 s (doc/connection-backoff.md, MAX_BACKOFF):
/// the default cap of a client's retry backoff.
const DEFAULT_MAX_BACKOFF: SimTime = SimTime::from_secs(120);
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
///
/// Names are also the first cell of CSV rows (`servers.csv`, `classes.csv`, `events.csv`):
/// one beginning with `=`, `+`, `-` or `@` is a formula to a spreadsheet that opens the file
/// (CSV injection, OWASP), so it is refused rather than rewritten in the data files. So are
/// invisible formatting characters (zero-width spaces and joiners, bidirectional overrides
/// such as U+202E, the byte-order mark): in a folder name or a report they make a name look
/// like another one.
pub fn name_problem(n: &str) -> Option<String> {
    let bad = n.trim().is_empty()
        || n.chars()
            .any(|c| c.is_control() || matches!(c, '/' | '\\' | ':'));
    if bad {
        Some(format!(
            "must be a non-empty name without `/`, `\\`, `:` or control characters, got {n:?}"
        ))
    } else if let Some(c) = n.chars().find(|&c| invisible(c)) {
        Some(format!(
            "holds the invisible character U+{:04X}, which makes a name look like another one \
             in folder names and reports, got {n:?}",
            c as u32
        ))
    } else if n.starts_with(['=', '+', '-', '@']) {
        Some(format!(
            "must not begin with `=`, `+`, `-` or `@`: a spreadsheet opening the CSV files \
             would run it as a formula, got {n:?}"
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

/// Unicode's invisible formatting characters (general category Cf, and the like): soft
/// hyphen, Arabic letter mark, Mongolian vowel separator, zero-width space to right-to-left
/// mark, the bidirectional embeddings and overrides, word joiner to the invisible operators,
/// the bidirectional isolates and deprecated format controls, the byte-order mark and the
/// interlinear annotation controls.
fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
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

/// Collects problems while building.
struct Builder<'a> {
    base_dir: &'a Path,
    problems: Vec<Problem>,
    /// Components that name their host, resolved once `[[hosts]]` is read.
    placed: Vec<hosts::Placement>,
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
        placed: Vec::new(),
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
        let layout = self.hosts(f.hosts.unwrap_or_default());
        let health = self.health(f.health.unwrap_or_default());
        let mut lb = lb;
        // HAProxy's `timeout queue` falls back to `timeout connect` when unset (HAP-CFG
        // `timeout queue`: "If unspecified, the same value as the backend's connection
        // timeout ("timeout connect") is used"), whatever that is: not a fixed 5 s.
        if lb.timeout_queue == SimTime::ZERO {
            lb.timeout_queue = health.timeout_connect;
        }
        // HAProxy's `timeout tarpit` defaults to `timeout connect` (HAP-CFG `timeout tarpit`).
        if let Some(rl) = &mut lb.rate_limit
            && rl.action == crate::model::ratelimit::LimitAction::Tarpit(SimTime::ZERO)
        {
            rl.action = crate::model::ratelimit::LimitAction::Tarpit(health.timeout_connect);
        }
        lb.firewall = f
            .firewall
            .map(|fw| self.firewall(fw, workload.flood.as_ref()));
        let targets = Targets::new(&servers, &database, &lb_ha, &layout);
        let scheduled = self.faults(f.faults.unwrap_or_default(), duration, &targets);
        // Which key sets each random fault's time to failure, for messages about its rate.
        let fault_keys: Vec<&'static str> = f
            .random_faults
            .iter()
            .flatten()
            .map(|r| if r.ttf.is_some() { "ttf" } else { "mttf" })
            .collect();
        let detection = self.monitoring(f.monitoring);
        let random = self.random_faults(
            f.random_faults.unwrap_or_default(),
            detection.as_ref(),
            &layout,
        );
        let timeline_set = f.timeline.as_ref().is_some_and(|t| t.interval.is_some());
        let timeline_interval = self.timeline(f.timeline.unwrap_or_default(), duration);
        let slo = self.slo(f.slo, duration, warmup);
        let mut config = Config {
            name,
            seed,
            duration: duration.unwrap_or(SimTime::from_secs(1)),
            warmup,
            slo,
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
                layout,
            },
        };
        // Stations sharing a host's cores: derated once everything else is right.
        if self.problems.is_empty() {
            crate::model::colocation::share_cpu(&mut config);
        }
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
            // The scenario's default name is its file's: a file named `a<newline>b.toml`, `..toml`
            // or `=x.toml` must not name a folder or a CSV cell any more than `name` may.
            if let Some(why) = name_problem(default) {
                self.problem(
                    key,
                    format!(
                        "is not set, so it would be the file's name, which {why}: set `name` in \
                         the file (or rename it)"
                    ),
                );
            }
            return default.to_string();
        };
        if let Some(why) = name_problem(&n) {
            self.problem(key, why);
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names() {
        assert_eq!(server_default_name(0, 2), "web-01");
        assert_eq!(server_default_name(99, 100), "web-100");
        assert_eq!(server_default_name(4, 100), "web-005");
        assert_eq!(replica_default_name(0), "db-replica-1");
    }
}
