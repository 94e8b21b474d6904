//! What one run measured: plain data, serialisable, with stable field names (they are the
//! `summary.json` schema documented in `docs/outputs.md`). Times are in seconds.

use crate::stats::LatencyHistogram;
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Clone, Debug, Serialize)]
pub struct RunResults {
    pub scenario: String,
    pub seed: u64,
    /// Replication (run) index: streams derive from (seed, name, run).
    pub run: u64,
    pub duration_s: f64,
    pub warmup_s: f64,
    /// Length of the measurement window (duration - warmup).
    pub measured_s: f64,
    /// Engine events handled (all of the run, warm-up included).
    pub events: u64,
    pub requests: RequestCounts,
    /// Successful responses per second over the measurement window.
    pub throughput_rps: f64,
    /// Fraction of finished requests served successfully: completed / (completed + failed).
    pub availability: f64,
    /// Fraction of finished requests served successfully within the `[slo]` latency: good /
    /// (completed + failed). Absent without `[slo]`; NaN (null) when no request finished.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo_availability: Option<f64>,
    pub latency: LatencySummary,
    /// The run judged against its `[slo]` (error budget, percentile targets); absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo: Option<super::slo::SloReport>,
    /// Failed requests by cause (every cause listed, zeros included).
    pub errors: BTreeMap<String, u64>,
    /// Requests per class, in the order of the mix.
    pub classes: Vec<ClassStats>,
    /// Waiting time before a worker at each stage (`model/stack/waits.rs`).
    pub waits: Vec<crate::stats::WaitSummary>,
    /// Closed-loop users' pages (`[workload.users]`); absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<super::clients::UsersReport>,
    /// Client retries (`[workload.retry]`): what the clients saw; absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<super::retry::RetryReport>,
    /// Attack traffic (`[workload.flood]`) against the legitimate requests; absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flood: Option<super::flood::FloodReport>,
    /// Session persistence (`[lb] persistence`); absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence: Option<super::lb::stickiness::PersistenceReport>,
    pub littles_law: LittlesLaw,
    pub lb: LbStats,
    pub servers: Vec<ServerStats>,
    pub database: Vec<DbNodeStats>,
    pub replication: Vec<ReplicaStats>,
    pub capacity: super::capacity::Capacity,
    /// Every fault that started, with when it was detected and when users stopped feeling it.
    pub faults: Vec<FaultReport>,
    pub failover: FailoverStats,
    /// What happened, in plain words.
    pub story: Vec<String>,
    /// The end-to-end latency distribution, for CDF charts (not in summary.json).
    #[serde(skip)]
    pub latency_hist: LatencyHistogram,
    /// Per-interval rows (timeline.csv), kept only by [`Stack::run`](super::Stack::run);
    /// empty when they were streamed ([`Stack::run_with`](super::Stack::run_with)).
    #[serde(skip)]
    pub timeline: Vec<super::stack::TimelineRow>,
    /// What the charts need of the timeline, bounded whatever the run's length.
    #[serde(skip)]
    pub timeline_chart: super::timeline::TimelineChart,
    /// Faults, detections, failovers (events.csv).
    #[serde(skip)]
    pub event_log: Vec<super::stack::LogEntry>,
    #[serde(skip)]
    pub timeline_columns: TimelineColumns,
    /// The run stopped before its end: the requests in flight reached the model's bound
    /// ([`MAX_IN_FLIGHT`](super::stack::MAX_IN_FLIGHT)). Its figures describe a run that
    /// never finished and must not be reported as one ([`RunResults::complete`]).
    #[serde(skip)]
    pub cut_short: Option<CutShort>,
}

/// Why and when a run stopped early: its requests in flight reached the bound, because
/// arrivals outran what the stack serves and nothing bounded the queues in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CutShort {
    /// Simulated time at which the bound was reached.
    pub at: crate::engine::SimTime,
    /// Requests in flight then (the bound).
    pub in_flight: u64,
}

impl std::fmt::Display for CutShort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the run was cut short at t = {:.3} s with {} requests in flight, the most a run \
             may hold",
            self.at.as_secs_f64(),
            self.in_flight
        )
    }
}

impl RunResults {
    /// The results of a run that reached its end, or why it did not.
    pub fn complete(self) -> Result<RunResults, CutShort> {
        match self.cut_short {
            Some(c) => Err(c),
            None => Ok(self),
        }
    }
}

/// One request class's outcome (measured requests).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClassStats {
    pub name: String,
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    /// completed / (completed + failed); NaN (null) when none finished.
    pub availability: f64,
    /// Completed within the `[slo]` latency (absent without `[slo]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub good: Option<u64>,
    /// good / (completed + failed) (absent without `[slo]`; NaN when none finished).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slo_availability: Option<f64>,
    /// End-to-end latency of the class's successful requests (the run's with one class).
    pub latency: LatencySummary,
    /// The class's failed requests by cause (the causes of the run's `errors`): in
    /// `classes.csv` only, so that a study's `runs.csv`, which has a column per figure of
    /// `summary.json`, does not grow by every cause for every class.
    #[serde(skip)]
    pub errors: BTreeMap<String, u64>,
}

/// Names behind the timeline's per-component columns.
#[derive(Clone, Debug, Default)]
pub struct TimelineColumns {
    pub servers: Vec<String>,
    pub db_nodes: Vec<String>,
    pub causes: Vec<String>,
}

/// One fault and how the system dealt with it. Times in seconds from the start of the run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FaultReport {
    pub component: String,
    pub kind: String,
    /// Drawn from MTTF/MTTR rather than scheduled.
    pub random: bool,
    pub start_s: f64,
    /// None: still broken at the end of the run.
    pub end_s: Option<f64>,
    /// When a mechanism noticed (health check, VRRP, DB monitor); None if nothing did.
    pub detected_s: Option<f64>,
    pub time_to_detect_s: Option<f64>,
    /// When users stopped feeling it: traffic routed around it, a new primary took writes,
    /// or the part was repaired, whichever came first.
    pub recovered_s: Option<f64>,
    pub time_to_recover_s: Option<f64>,
    /// What failed after the recovery, which `time_to_recover_s` does not cover; None when it
    /// never recovered.
    pub after_recovery: Option<AfterRecovery>,
}

/// Measured requests that failed after a fault's recovery (`model/stack/aftermath.rs`): from
/// `recovered_s` on, while no other fault was in effect and until another one started.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AfterRecovery {
    pub failed: u64,
    /// Of them, requests that arrived before the recovery: they lived through the fault.
    pub arrived_before: u64,
    /// The first and the last of them, seconds from the start of the run (None when none
    /// failed).
    pub first_failure_s: Option<f64>,
    pub last_failure_s: Option<f64>,
    /// By cause: the causes with at least one failure.
    pub errors: BTreeMap<String, u64>,
}

/// Database failover and consistency figures.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FailoverStats {
    /// Transactions acknowledged to clients that the promoted replica never received (RPO).
    pub lost_transactions: u64,
    pub promotions: u32,
    pub final_primary: String,
    /// Total time without a primary taking writes, seconds.
    pub write_unavailable_s: f64,
    pub semi_sync_fallbacks: u32,
    /// Measured commits still waiting for an acknowledgement when semi-sync timed out, all
    /// released at once by the switch to asynchronous replication (the first waited the whole
    /// `rpl_semi_sync_source_timeout`, later ones less).
    pub semi_sync_stalled_commits: u64,
    /// Reads served by replicas, and reads (on replicas, or on a primary promoted before it
    /// applied its relay log) that missed the same client's earlier write, as a fraction of
    /// the reads checked.
    pub replica_reads: u64,
    pub stale_reads: u64,
    pub stale_read_fraction: f64,
}

/// Counts of requests that arrived after the warm-up.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct RequestCounts {
    pub arrived: u64,
    pub completed: u64,
    pub failed: u64,
    /// Still in the system at the end: arrived - completed - failed.
    pub in_flight_end: u64,
}

/// End-to-end latency of successful requests, seconds.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LatencySummary {
    pub mean: f64,
    pub std: f64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl LatencySummary {
    pub fn from_hist(h: &LatencyHistogram) -> Self {
        LatencySummary {
            mean: h.mean_secs(),
            std: h.std_secs(),
            p50: h.quantile_secs(0.50),
            p90: h.quantile_secs(0.90),
            p99: h.quantile_secs(0.99),
            p999: h.quantile_secs(0.999),
            max: h.max_secs(),
        }
    }
}

/// Little's law check: L (time-average requests in the system) against lambda * W (arrival
/// rate times mean time in the system of every request that left, failed ones included).
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct LittlesLaw {
    pub mean_in_system: f64,
    pub arrival_rate: f64,
    pub mean_time_in_system: f64,
    pub lambda_times_w: f64,
    /// |L - lambda W| / L.
    pub relative_error: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct LbStats {
    pub algorithm: String,
    /// Mean fraction of LB threads busy (0 when LB processing time is zero).
    pub utilisation: f64,
    /// Mean number of requests waiting in HAProxy's backend and server queues.
    pub mean_queue: f64,
    pub max_queue: u64,
    /// TLS handshakes (`[lb.tls]`); absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<super::tls::TlsReport>,
    /// Per-source limits (`[lb.rate_limit]`); absent without.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<super::ratelimit::RateLimitReport>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerStats {
    pub name: String,
    /// Requests the LB assigned to this server after the warm-up (a retry on the same server
    /// is not a new assignment; a redispatch is one on the new server).
    pub dispatched: u64,
    /// Share of all dispatched requests.
    pub share: f64,
    pub completed: u64,
    /// Connection retries on this server (HAProxy's `wretr`).
    pub retries: u64,
    /// Requests redispatched away from this server after a connection failure (`wredis`).
    pub redispatches: u64,
    pub nginx_utilisation: f64,
    pub app_utilisation: f64,
    /// Fraction of requests reaching the app that found every worker busy.
    pub app_wait_probability: f64,
    pub app_mean_queue: f64,
    pub app_max_queue: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct DbNodeStats {
    pub name: String,
    pub role: String,
    pub reads: u64,
    pub writes: u64,
    pub utilisation: f64,
    pub mean_queue: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ReplicaStats {
    pub name: String,
    /// True lag (visible on the replica minus committed on the primary), seconds.
    pub lag_mean: f64,
    pub lag_p99: f64,
    pub lag_max: f64,
    pub transactions_applied: u64,
    /// Transactions committed on the primary but not yet visible here at the end.
    pub backlog_end: u64,
}
