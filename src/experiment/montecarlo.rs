//! Monte Carlo availability and SPOF studies on the fast path (`model::availability`).
//!
//! Each run simulates the horizon once as configured and once more per component with that
//! component made perfect; the difference is the component's improvement potential, paired
//! run by run (the other components' failure streams are identical).

use super::shard::Shard;
use crate::engine::SimTime;
use crate::model::Config;
use crate::model::availability::{self, Component, PassResult, Spof};
use crate::stats::MeanCi;
use rayon::prelude::*;

/// One Monte Carlo run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct McRun {
    pub rep: u64,
    pub availability: f64,
    pub time_availability: f64,
    pub downtime_s: f64,
    pub failed_requests: f64,
    pub failures: u64,
    pub outages: Vec<f64>,
    /// Downtime attributed to each component (s).
    pub blame_s: Vec<f64>,
    /// Availability with each component made perfect.
    pub perfect: Vec<f64>,
}

/// The replications a (possibly sharded) study of `runs` runs owns.
pub fn reps(runs: u32, shard: Option<Shard>) -> Vec<u64> {
    (0..runs as u64)
        .filter(|&r| shard.is_none_or(|s| s.owns(r as usize)))
        .collect()
}

/// Runs replications `reps` in parallel; results in `reps` order. As `sweep::run`, a run not
/// started when `stop()` turns true is skipped, and `done` sees each finished run.
pub fn run(
    cfg: &Config,
    horizon: SimTime,
    reps: &[u64],
    stop: &(dyn Fn() -> bool + Sync),
    done: &(dyn Fn(&McRun) + Sync),
) -> (Vec<Component>, Vec<McRun>) {
    let comps = availability::components(cfg);
    let out = reps
        .par_iter()
        .filter_map(|&rep| {
            if stop() {
                return None;
            }
            let base: PassResult = availability::simulate(cfg, &comps, horizon, rep, None);
            let perfect = (0..comps.len())
                .map(|c| availability::simulate(cfg, &comps, horizon, rep, Some(c)).availability)
                .collect();
            let run = McRun {
                rep,
                availability: base.availability,
                time_availability: base.time_availability,
                downtime_s: base.downtime_s,
                failed_requests: base.failed_requests,
                failures: base.failures,
                outages: base.outages,
                blame_s: base.blame_s,
                perfect,
            };
            done(&run);
            Some(run)
        })
        .collect();
    (comps, out)
}

/// A component's part in the study's downtime.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ComponentSummary {
    pub component: String,
    /// Share of all downtime attributed to it.
    pub downtime_share: f64,
    /// Availability gained if it never failed (mean over runs, paired).
    pub improvement: MeanCi,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct McSummary {
    pub runs: usize,
    pub horizon_s: f64,
    pub availability: MeanCi,
    pub time_availability: MeanCi,
    /// Expected downtime per year (integral of the failing fraction), minutes.
    pub downtime_minutes_per_year: MeanCi,
    pub outages_per_year: MeanCi,
    pub failed_requests_per_year: MeanCi,
    /// Outage durations pooled over runs, seconds.
    pub outage_p50_s: f64,
    pub outage_p90_s: f64,
    pub outage_p99_s: f64,
    pub outage_max_s: f64,
    /// Components ranked by improvement potential.
    pub components: Vec<ComponentSummary>,
    pub structural_spofs: Vec<Spof>,
}

/// Aggregates runs; `components` are the names in column order (`McRun::blame_s`).
pub fn summarise(
    components: &[String],
    spofs: Vec<Spof>,
    horizon: SimTime,
    runs: &[McRun],
) -> McSummary {
    let year = 365.0 * 86_400.0;
    let per_year = year / horizon.as_secs_f64();
    let col = |f: &dyn Fn(&McRun) -> f64| -> MeanCi {
        MeanCi::from_samples(&runs.iter().map(f).collect::<Vec<_>>())
    };
    let mut durations: Vec<f64> = runs
        .iter()
        .flat_map(|r| r.outages.iter().copied())
        .collect();
    durations.sort_by(f64::total_cmp);
    let q = |p: f64| -> f64 {
        if durations.is_empty() {
            0.0
        } else {
            let i = ((p * durations.len() as f64).ceil() as usize).clamp(1, durations.len()) - 1;
            durations[i]
        }
    };
    let total_blame: f64 = runs.iter().flat_map(|r| r.blame_s.iter()).sum();
    let mut ranked: Vec<ComponentSummary> = components
        .iter()
        .enumerate()
        .map(|(c, name)| ComponentSummary {
            component: name.clone(),
            downtime_share: if total_blame > 0.0 {
                runs.iter().map(|r| r.blame_s[c]).sum::<f64>() / total_blame
            } else {
                0.0
            },
            improvement: col(&|r| r.perfect[c] - r.availability),
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.improvement
            .mean
            .total_cmp(&a.improvement.mean)
            .then(a.component.cmp(&b.component))
    });
    McSummary {
        runs: runs.len(),
        horizon_s: horizon.as_secs_f64(),
        availability: col(&|r| r.availability),
        time_availability: col(&|r| r.time_availability),
        downtime_minutes_per_year: col(&|r| r.downtime_s / 60.0 * per_year),
        outages_per_year: col(&|r| r.outages.len() as f64 * per_year),
        failed_requests_per_year: col(&|r| r.failed_requests * per_year),
        outage_p50_s: q(0.5),
        outage_p90_s: q(0.9),
        outage_p99_s: q(0.99),
        outage_max_s: durations.last().copied().unwrap_or(0.0),
        components: ranked,
        structural_spofs: spofs,
    }
}

/// The figures of a Monte Carlo study assertions can name (each also under its long name,
/// e.g. `downtime_minutes_per_year`).
pub const METRICS: [&str; 8] = [
    "availability",
    "time_availability",
    "downtime_minutes",
    "outages",
    "failed_requests",
    "outage_p99",
    "outage_max",
    "spofs",
];

impl McSummary {
    /// Whether `name` is a figure [`McSummary::metric`] knows.
    pub fn knows(name: &str) -> bool {
        canonical(name).is_some()
    }

    /// The figures assertions can name ([`METRICS`]).
    pub fn metric(&self, name: &str) -> Option<MeanCi> {
        let point = |x: f64| MeanCi {
            mean: x,
            half_width: 0.0,
            n: 1,
        };
        Some(match canonical(name)? {
            "availability" => self.availability,
            "time_availability" => self.time_availability,
            "downtime_minutes" => self.downtime_minutes_per_year,
            "outages" => self.outages_per_year,
            "failed_requests" => self.failed_requests_per_year,
            "outage_p99" => point(self.outage_p99_s),
            "outage_max" => point(self.outage_max_s),
            "spofs" => point(self.structural_spofs.len() as f64),
            _ => return None,
        })
    }
}

/// The short name of a figure, from either of its names.
fn canonical(name: &str) -> Option<&'static str> {
    let long = [
        ("downtime_minutes_per_year", "downtime_minutes"),
        ("outages_per_year", "outages"),
        ("failed_requests_per_year", "failed_requests"),
        ("outage_p99_s", "outage_p99"),
        ("outage_max_s", "outage_max"),
        ("structural_spofs", "spofs"),
    ];
    METRICS
        .iter()
        .copied()
        .find(|m| *m == name)
        .or_else(|| long.iter().find(|(l, _)| *l == name).map(|(_, s)| *s))
}
