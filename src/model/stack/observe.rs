//! What the run shows: the per-interval timeline, the event log, and the final results
//! (including the plain-words story of each fault).

use super::*;
use crate::model::capacity;
use crate::model::slo::{self, SloReport};
pub use crate::model::timeline::TimelineRow;
use crate::model::timeline::{TimelineChart, TimelineSink};

/// One line of the event log.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LogEntry {
    pub t: f64,
    pub component: String,
    pub event: String,
    pub detail: String,
}

pub(super) struct Observer {
    interval: SimTime,
    pub(super) arrivals: u64,
    completed: u64,
    failed: u64,
    /// Failures in the current interval, one per reported cause ([`Cause::reported`]).
    errors: Vec<u64>,
    /// Each cause's place in `errors` (that of a cause the run cannot produce is unused).
    column: [u8; Cause::COUNT],
    /// Latencies of the requests completed in the current interval.
    interval_ns: IntervalLatency,
    /// The last row made, reused for the next (no allocation per row); `fresh` until the
    /// run loop hands it to the sink ([`Stack::run_with`]).
    row: TimelineRow,
    fresh: bool,
    /// What the charts need of every row, bounded.
    chart: TimelineChart,
    pub(super) log: Vec<LogEntry>,
}

/// Most latencies kept exactly for one interval's quantiles (2 MB): an interval completing
/// more (a wide interval on a busy stack) counts the rest in an HDR histogram, whose quantiles
/// have 3 significant digits, so memory never grows with the interval's width.
const EXACT_INTERVAL_LATENCIES: usize = 1 << 18;

/// Latencies (ns) of the requests completed in the current interval: exact nearest-rank
/// quantiles at a cost bounded by the interval's throughput (an HDR histogram would have to be
/// wiped, all of its ~600 KB, at every row), up to [`EXACT_INTERVAL_LATENCIES`].
#[derive(Default)]
struct IntervalLatency {
    exact: Vec<u64>,
    hist: Option<Box<LatencyHistogram>>,
}

impl IntervalLatency {
    #[inline]
    fn push(&mut self, ns: u64) {
        if let Some(h) = &mut self.hist {
            h.record(SimTime::from_nanos(ns));
            return;
        }
        self.exact.push(ns);
        if self.exact.len() > EXACT_INTERVAL_LATENCIES {
            let mut h = Box::new(LatencyHistogram::new());
            self.exact
                .iter()
                .for_each(|&x| h.record(SimTime::from_nanos(x)));
            self.exact = Vec::new();
            self.hist = Some(h);
        }
    }

    /// The `lo`- and `hi`-quantiles in seconds (0 when empty), `lo <= hi`. Reorders the
    /// exact values.
    fn quantiles_secs(&mut self, lo: f64, hi: f64) -> (f64, f64) {
        match &self.hist {
            Some(h) => (h.quantile_secs(lo), h.quantile_secs(hi)),
            None => quantile_pair_secs(&mut self.exact, lo, hi),
        }
    }

    fn clear(&mut self) {
        self.exact.clear();
        self.hist = None;
    }
}

impl Observer {
    pub(super) fn new(cfg: &Config) -> Self {
        Observer {
            interval: cfg.failures.timeline_interval,
            arrivals: 0,
            completed: 0,
            failed: 0,
            errors: vec![0; Cause::reported(cfg).len()],
            column: {
                let mut column = [0u8; Cause::COUNT];
                for (k, c) in Cause::reported(cfg).into_iter().enumerate() {
                    column[c as usize] = k as u8;
                }
                column
            },
            interval_ns: IntervalLatency::default(),
            row: TimelineRow::default(),
            fresh: false,
            chart: TimelineChart::new(Self::rows_announced(cfg), 1 + cfg.database.replicas.len()),
            log: vec![],
        }
    }

    /// Rows a run makes: one at every multiple of the interval up to the duration.
    fn rows_announced(cfg: &Config) -> u64 {
        cfg.duration
            .as_nanos()
            .checked_div(cfg.failures.timeline_interval.as_nanos())
            .unwrap_or(0)
    }

    pub(super) fn enabled(&self) -> bool {
        self.interval > SimTime::ZERO
    }

    #[inline]
    pub(super) fn completed(&mut self, t: SimTime) {
        self.completed += 1;
        if self.interval > SimTime::ZERO {
            self.interval_ns.push(t.as_nanos());
        }
    }

    #[inline]
    pub(super) fn failed(&mut self, cause: Cause) {
        self.failed += 1;
        self.errors[self.column[cause as usize] as usize] += 1;
    }

    pub(super) fn log(&mut self, t: SimTime, component: &str, event: &str, detail: &str) {
        self.log.push(LogEntry {
            t: t.as_secs_f64(),
            component: component.to_string(),
            event: event.to_string(),
            detail: detail.to_string(),
        });
    }
}

/// The nearest rank of the q-quantile among `n` values, as an index into them sorted.
fn rank(q: f64, n: usize) -> usize {
    ((q * n as f64).ceil() as usize).clamp(1, n) - 1
}

/// The `lo`- and `hi`-quantiles (nearest rank, `lo <= hi`) of `xs` in seconds, 0 when empty.
/// Reorders `xs`. After the selection of the lower rank every value above it is no smaller,
/// so the higher rank is selected among those alone: the same two values as two selections
/// over the whole interval, for about half the second one's work (this runs once per
/// timeline row over the row's every latency: issue 13).
fn quantile_pair_secs(xs: &mut [u64], lo: f64, hi: f64) -> (f64, f64) {
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let (a, b) = (rank(lo, xs.len()), rank(hi, xs.len()));
    let (_, &mut low, above) = xs.select_nth_unstable(a);
    let high = match b.checked_sub(a + 1) {
        None => low,
        Some(k) => *above.select_nth_unstable(k).1,
    };
    (low as f64 * 1e-9, high as f64 * 1e-9)
}

impl Stack {
    pub(super) fn on_sample(&mut self, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        if now + self.obs.interval <= self.cfg.duration {
            cal.schedule_in(self.obs.interval, Ev::Sample);
        }
        let active_lb = self.active_lb();
        let o = &mut self.obs;
        let row = &mut o.row;
        row.servers.clear();
        row.servers
            .extend(self.servers.iter().enumerate().map(|(i, s)| {
                if s.app_up() {
                    "up"
                } else if active_lb.is_some_and(|k| self.lbs[k].views[i].usable) {
                    "down-undetected"
                } else {
                    "down-detected"
                }
            }));
        row.lag.clear();
        row.lag.extend((0..self.db.len()).map(|n| {
            if !self.db[n].up() {
                f64::NAN
            } else if n == self.dbs.primary || !self.db[n].was_replica {
                0.0
            } else {
                self.links[n].current_lag(now).as_secs_f64()
            }
        }));
        row.t = now.as_secs_f64();
        row.arrivals = o.arrivals;
        row.completed = o.completed;
        row.failed = o.failed;
        row.errors.clone_from(&o.errors);
        (row.p50, row.p99) = o.interval_ns.quantiles_secs(0.5, 0.99);
        let writing = self.dbs.writes_open && self.db[self.dbs.primary].up();
        row.primary.clear();
        row.primary.push_str(if writing {
            &self.db[self.dbs.primary].name
        } else {
            "none"
        });
        row.lb.clear();
        row.lb
            .push_str(active_lb.map_or("none", |k| self.lbs[k].name.as_str()));
        // The primary's lag is 0 by definition: the charts leave it out, as a node down.
        // (A node's name is unique, so this is the node the row names as primary.)
        o.chart.push(row, writing.then_some(self.dbs.primary));
        o.fresh = true;
        o.arrivals = 0;
        o.completed = 0;
        o.failed = 0;
        o.errors.iter_mut().for_each(|e| *e = 0);
        o.interval_ns.clear();
    }

    /// Runs the whole scenario, handing each timeline row to `sink` as it is made, and
    /// returns its results (without rows: `timeline` is empty; the charts' bounded summary is
    /// in `timeline_chart`). Memory does not grow with the number of rows.
    ///
    /// The engine runs from one row's time to the next, and the row made at the end of each
    /// stretch goes to the sink between them: the events handled, and so the results, are
    /// those of one uninterrupted run.
    ///
    /// A run whose requests in flight reach [`MAX_IN_FLIGHT`] stops there: its results say so
    /// (`cut_short`, see [`RunResults::complete`]) and no row is made after the cut.
    pub fn run_with(cfg: &Config, replication: u64, sink: &mut dyn TimelineSink) -> RunResults {
        Self::run_bounded(cfg, replication, sink, MAX_IN_FLIGHT)
    }

    /// [`Stack::run_with`] with at most `limit` requests in flight (tests use a small one).
    pub(crate) fn run_bounded(
        cfg: &Config,
        replication: u64,
        sink: &mut dyn TimelineSink,
        limit: usize,
    ) -> RunResults {
        let mut model = Stack::new(cfg, replication);
        model.reqs.limit = limit;
        let mut cal = Calendar::with_capacity(4096);
        model.start(&mut cal);
        sink.columns(&model.timeline_columns());
        let interval = model.obs.interval;
        let mut events = 0;
        if interval > SimTime::ZERO {
            let mut next = interval;
            while next <= cfg.duration {
                events += engine::run(&mut model, &mut cal, next);
                if model.cut_short.is_some() {
                    break;
                }
                if model.obs.fresh {
                    sink.row(&model.obs.row);
                    model.obs.fresh = false;
                }
                let Some(after) = next.as_nanos().checked_add(interval.as_nanos()) else {
                    break;
                };
                next = SimTime::from_nanos(after);
            }
        }
        if model.cut_short.is_none() {
            events += engine::run(&mut model, &mut cal, cfg.duration);
        }
        model.events = events;
        let end = model.cut_short.map_or(cal.now(), |c| c.at);
        model.results(end)
    }

    /// Names behind the timeline's per-component columns.
    fn timeline_columns(&self) -> TimelineColumns {
        TimelineColumns {
            servers: self.servers.iter().map(|s| s.name.clone()).collect(),
            db_nodes: self.db.iter().map(|n| n.name.clone()).collect(),
            causes: Cause::reported(&self.cfg)
                .iter()
                .map(|c| c.key().to_string())
                .collect(),
        }
    }

    /// The LB instance that takes new traffic (for active-active: the first one up).
    fn active_lb(&self) -> Option<usize> {
        match self.cfg.failures.lb_ha {
            LbHa::ActivePassive { .. } => self.vip.filter(|&k| self.lbs[k].up()),
            _ => (0..self.lbs.len()).find(|&k| self.lbs[k].up()),
        }
    }

    /// Collects the results at the end of the run (`now` = the run's end).
    pub fn results(&self, now: SimTime) -> RunResults {
        let cfg = &self.cfg;
        let window = (now - cfg.warmup).as_secs_f64().max(1e-12);
        let c = &self.counts;
        let finished = c.completed + c.failed;
        let good: u64 = c.classes.iter().map(|k| k[3]).sum();
        let mean_in_system = self.in_system.mean(now);
        let arrival_rate = c.arrived as f64 / window;
        let w = if finished > 0 {
            c.sojourn_ns as f64 * 1e-9 / finished as f64
        } else {
            0.0
        };
        let lw = arrival_rate * w;
        let dispatched: u64 = self.servers.iter().map(|s| s.dispatched).sum();
        let lb0 = &self.lbs[0];
        let mut write_outage = self.dbs.write_outage;
        if let Some(s) = self.dbs.write_outage_start {
            write_outage += now.saturating_sub(s.max(cfg.warmup));
        }
        let faults: Vec<FaultReport> = (self.faults.iter().enumerate())
            .filter(|(_, f)| f.started)
            .map(|(i, f)| {
                let secs = |t: Option<SimTime>| t.map(|t| t.as_secs_f64());
                let since = |t: Option<SimTime>| t.map(|t| (t - f.start).as_secs_f64());
                // A recovery planned after the run's end did not happen in it.
                let recovered = f.mitigated.filter(|&m| m <= now);
                let after_recovery = recovered.map(|_| match self.aftermath.of(i) {
                    None => AfterRecovery::default(),
                    Some(t) => AfterRecovery {
                        failed: t.failed,
                        arrived_before: t.arrived_before,
                        first_failure_s: Some(t.first.as_secs_f64()),
                        last_failure_s: Some(t.last.as_secs_f64()),
                        errors: (Cause::reported(cfg).iter())
                            .filter(|&&c| t.errors[c as usize] > 0)
                            .map(|&c| (c.key().to_string(), t.errors[c as usize]))
                            .collect(),
                    },
                });
                FaultReport {
                    component: self.target_name(f.target),
                    kind: f.kind.name(),
                    random: f.generator.is_some(),
                    start_s: f.start.as_secs_f64(),
                    end_s: secs(f.end),
                    detected_s: secs(f.detected),
                    time_to_detect_s: since(f.detected),
                    recovered_s: secs(f.mitigated),
                    time_to_recover_s: since(f.mitigated),
                    after_recovery,
                }
            })
            .collect();
        let failover = FailoverStats {
            lost_transactions: self.dbs.lost,
            promotions: self.dbs.promotions,
            final_primary: self.db[self.dbs.primary].name.clone(),
            write_unavailable_s: write_outage.as_secs_f64(),
            semi_sync_fallbacks: self.dbs.semi_fallbacks,
            semi_sync_stalled_commits: self.dbs.semi_stalled_commits,
            replica_reads: self.dbs.replica_reads,
            stale_reads: self.dbs.stale_reads,
            stale_read_fraction: if self.dbs.reads_checked > 0 {
                self.dbs.stale_reads as f64 / self.dbs.reads_checked as f64
            } else {
                0.0
            },
        };
        let mut r = RunResults {
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
            // No request finished: nothing was measured (not 100%); NaN is null in JSON.
            availability: if finished > 0 {
                c.completed as f64 / finished as f64
            } else {
                f64::NAN
            },
            slo_availability: cfg.slo.as_ref().map(|_| slo::fraction(good, finished)),
            latency: LatencySummary::from_hist(&self.latency),
            slo: cfg
                .slo
                .as_ref()
                .map(|s| SloReport::new(s, good, c.completed, c.failed, &self.latency)),
            errors: Cause::reported(cfg)
                .iter()
                .map(|&k| (k.key().to_string(), c.errors[k as usize]))
                .collect(),
            classes: self.class_report(),
            waits: self.wait_report(),
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
                utilisation: lb0.station.as_ref().map_or(0.0, |s| s.utilisation(now)),
                mean_queue: self.lbs.iter().map(|l| l.queue_len.mean(now)).sum(),
                max_queue: self
                    .lbs
                    .iter()
                    .map(|l| l.queue_len.max())
                    .max()
                    .unwrap_or(0),
                tls: self.tls.as_ref().map(|t| t.report()),
                rate_limit: cfg.lb.rate_limit.as_ref().map(|_| {
                    let mut r = crate::model::ratelimit::RateLimitReport::default();
                    self.lbs
                        .iter()
                        .filter_map(|l| l.limiter.as_ref())
                        .for_each(|l| l.add_to(&mut r));
                    r
                }),
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
                    retries: s.retries,
                    redispatches: s.redispatches,
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
                    role: if i == self.dbs.primary {
                        "primary"
                    } else {
                        "replica"
                    }
                    .into(),
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
                .filter(|(n, _)| self.db[*n].was_replica)
                .map(|(n, l)| ReplicaStats {
                    name: self.db[n].name.clone(),
                    lag_mean: l.lag().mean_secs(),
                    lag_p99: l.lag().quantile_secs(0.99),
                    lag_max: l.lag().max_secs().max(if n == self.dbs.primary {
                        0.0
                    } else {
                        l.current_lag(now).as_secs_f64()
                    }),
                    transactions_applied: l.lag().count(),
                    backlog_end: (l.not_received() + l.backlog()) as u64,
                })
                .collect(),
            capacity: capacity::analyse(cfg),
            faults,
            failover,
            users: self.users.as_ref().map(|u| u.report(window)),
            retries: self.retries.as_ref().map(|r| r.report()),
            flood: self.flood.as_ref().map(|f| f.report(&c.classes)),
            persistence: self.sticky.as_ref().map(|s| s.report()),
            story: vec![],
            latency_hist: self.latency.clone(),
            timeline: vec![],
            timeline_chart: self.obs.chart.clone(),
            event_log: self.obs.log.clone(),
            timeline_columns: self.timeline_columns(),
            cut_short: self.cut_short,
        };
        r.story = super::super::story::tell(&r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_latencies_stay_bounded() {
        // Exact nearest-rank quantiles up to the cap; beyond, an HDR histogram (3 significant
        // digits) and no stored values, whatever the interval's throughput.
        let mut l = IntervalLatency::default();
        for i in 1..=1000u64 {
            l.push(i * 1_000_000);
        }
        let (p50, p99) = l.quantiles_secs(0.5, 0.99);
        assert!((p50 - 0.5).abs() < 1e-12 && (p99 - 0.99).abs() < 1e-12);
        l.clear();
        let n = 3 * EXACT_INTERVAL_LATENCIES as u64;
        for i in 1..=n {
            l.push(i * 1_000);
        }
        assert!(l.exact.capacity() == 0 && l.hist.is_some());
        let exact = |q: f64| (q * n as f64).ceil() * 1e-6;
        let (p50, p99) = l.quantiles_secs(0.5, 0.99);
        for (q, got) in [(0.5, p50), (0.99, p99)] {
            assert!((got - exact(q)).abs() <= exact(q) * 1e-3, "q {q}: {got}");
        }
        l.clear();
        assert!(l.hist.is_none() && l.exact.is_empty());
        assert_eq!(l.quantiles_secs(0.5, 0.99), (0.0, 0.0));
    }

    #[test]
    fn quantile_pairs_match_a_sort() {
        // The pair from one selection and one over the part above it, against the sorted
        // values, on shuffled input of every small length (ties included) and a few large.
        let mut rng = crate::engine::Rng::new(crate::engine::StreamId::new(3, "quantiles", 0));
        for n in (1..=64).chain([999, 1000, 4097]) {
            let mut xs: Vec<u64> = (0..n).map(|_| rng.below(50)).collect();
            let mut sorted = xs.clone();
            sorted.sort_unstable();
            for (lo, hi) in [(0.5, 0.99), (0.5, 0.5), (0.0, 1.0), (0.9, 0.99)] {
                let want = (
                    sorted[rank(lo, n as usize)] as f64 * 1e-9,
                    sorted[rank(hi, n as usize)] as f64 * 1e-9,
                );
                assert_eq!(
                    quantile_pair_secs(&mut xs, lo, hi),
                    want,
                    "n {n} ({lo}, {hi})"
                );
            }
        }
    }
}
