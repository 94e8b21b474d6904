//! What the run shows: the per-interval timeline, the event log, and the final results
//! (including the plain-words story of each fault).

use super::*;
use crate::model::capacity;
use crate::model::slo::{self, SloReport};

/// One row of the timeline: what happened during (t - interval, t].
#[derive(Clone, Debug)]
pub struct TimelineRow {
    pub t: f64,
    pub arrivals: u64,
    pub completed: u64,
    pub failed: u64,
    /// Failures in the interval, indexed like [`Cause::ALL`].
    pub errors: Vec<u64>,
    /// Latency quantiles of requests completed in the interval (seconds; 0 when none).
    pub p50: f64,
    pub p99: f64,
    /// Per server: "up", "down-undetected" or "down-detected".
    pub servers: Vec<&'static str>,
    /// Per DB node: true replication lag in seconds (0 for the primary, NaN when down).
    pub lag: Vec<f64>,
    pub primary: String,
    /// The LB instance taking new traffic ("none" when none).
    pub lb: String,
}

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
    errors: Vec<u64>,
    /// Latencies (ns) of the requests completed in the current interval: exact quantiles at
    /// a cost bounded by the interval's throughput (an HDR histogram would have to be wiped,
    /// all of its ~600 KB, at every row).
    interval_ns: Vec<u64>,
    pub(super) rows: Vec<TimelineRow>,
    pub(super) log: Vec<LogEntry>,
}

impl Observer {
    pub(super) fn new(cfg: &Config) -> Self {
        Observer {
            interval: cfg.failures.timeline_interval,
            arrivals: 0,
            completed: 0,
            failed: 0,
            errors: vec![0; Cause::ALL.len()],
            interval_ns: Vec::new(),
            rows: vec![],
            log: vec![],
        }
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
        self.errors[cause as usize] += 1;
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

/// The q-quantile (nearest rank) of `xs` in seconds, 0 when empty. Reorders `xs`.
fn quantile_secs(xs: &mut [u64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let rank = ((q * xs.len() as f64).ceil() as usize).clamp(1, xs.len()) - 1;
    *xs.select_nth_unstable(rank).1 as f64 * 1e-9
}

impl Stack {
    pub(super) fn on_sample(&mut self, cal: &mut Calendar<Ev>) {
        let now = cal.now();
        if now + self.obs.interval <= self.cfg.duration {
            cal.schedule_in(self.obs.interval, Ev::Sample);
        }
        let active_lb = self.active_lb();
        let servers = (0..self.servers.len())
            .map(|i| {
                let s = &self.servers[i];
                if s.app_up() {
                    "up"
                } else if active_lb.is_some_and(|k| self.lbs[k].views[i].usable) {
                    "down-undetected"
                } else {
                    "down-detected"
                }
            })
            .collect();
        let lag = (0..self.db.len())
            .map(|n| {
                if !self.db[n].up() {
                    f64::NAN
                } else if n == self.dbs.primary || !self.db[n].was_replica {
                    0.0
                } else {
                    self.links[n].current_lag(now).as_secs_f64()
                }
            })
            .collect();
        let o = &mut self.obs;
        let row = TimelineRow {
            t: now.as_secs_f64(),
            arrivals: o.arrivals,
            completed: o.completed,
            failed: o.failed,
            errors: o.errors.clone(),
            p50: quantile_secs(&mut o.interval_ns, 0.5),
            p99: quantile_secs(&mut o.interval_ns, 0.99),
            servers,
            lag,
            primary: if self.dbs.writes_open && self.db[self.dbs.primary].up() {
                self.db[self.dbs.primary].name.clone()
            } else {
                "none".into()
            },
            lb: active_lb.map_or("none".into(), |k| self.lbs[k].name.clone()),
        };
        o.rows.push(row);
        o.arrivals = 0;
        o.completed = 0;
        o.failed = 0;
        o.errors.iter_mut().for_each(|e| *e = 0);
        o.interval_ns.clear();
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
            write_outage += now - s;
        }
        let faults: Vec<FaultReport> = self
            .faults
            .iter()
            .filter(|f| f.started)
            .map(|f| {
                let secs = |t: Option<SimTime>| t.map(|t| t.as_secs_f64());
                let since = |t: Option<SimTime>| t.map(|t| (t - f.start).as_secs_f64());
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
            errors: Cause::ALL
                .iter()
                .map(|&k| (k.key().to_string(), c.errors[k as usize]))
                .collect(),
            classes: cfg
                .workload
                .mix
                .iter()
                .zip(&c.classes)
                .map(|(m, &[arrived, completed, failed, good])| ClassStats {
                    name: m.name.clone(),
                    arrived,
                    completed,
                    failed,
                    // None finished: nothing measured (null in JSON), as for the whole run.
                    availability: if completed + failed > 0 {
                        completed as f64 / (completed + failed) as f64
                    } else {
                        f64::NAN
                    },
                    good: cfg.slo.as_ref().map(|_| good),
                    slo_availability: cfg
                        .slo
                        .as_ref()
                        .map(|_| slo::fraction(good, completed + failed)),
                })
                .collect(),
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
            story: vec![],
            latency_hist: self.latency.clone(),
            timeline: self.obs.rows.clone(),
            event_log: self.obs.log.clone(),
            timeline_columns: TimelineColumns {
                servers: self.servers.iter().map(|s| s.name.clone()).collect(),
                db_nodes: self.db.iter().map(|n| n.name.clone()).collect(),
                causes: Cause::ALL.iter().map(|c| c.key().to_string()).collect(),
            },
        };
        r.story = super::super::story::tell(&r);
        r
    }
}
