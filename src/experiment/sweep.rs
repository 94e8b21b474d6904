//! Parameter sweeps with replications: the cartesian product of parameter values, R
//! replications per point, means with 95% confidence intervals, and paired comparisons.
//!
//! Replication r of every point uses streams derived from the same (seed, r): common random
//! numbers, so two points that differ only in LB algorithm see the same arrivals and work,
//! and their difference is measured on paired runs (a much tighter interval).

use super::metrics::flatten;
use super::shard::Shard;
use crate::model::{Config, Stack};
use crate::stats::MeanCi;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// One combination of parameter values.
#[derive(Clone, Debug)]
pub struct Point {
    /// (parameter key, value) in sweep order.
    pub label: Vec<(String, String)>,
    pub config: Config,
}

/// One finished run: its point, its replication and every metric.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRow {
    pub point: usize,
    pub rep: u64,
    pub metrics: Vec<(String, f64)>,
}

/// The cartesian product of `values` (first parameter varies slowest).
pub fn product(parameters: &[(String, Vec<String>)]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![vec![]];
    for (key, values) in parameters {
        out = out
            .into_iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut p = prefix.clone();
                    p.push((key.clone(), v.clone()));
                    p
                })
            })
            .collect();
    }
    out
}

/// (point, replication) pairs in study order, restricted to a shard.
pub fn jobs(points: usize, replications: u32, shard: Option<Shard>) -> Vec<(usize, u64)> {
    (0..points)
        .flat_map(|p| (0..replications as u64).map(move |r| (p, r)))
        .enumerate()
        .filter(|(j, _)| shard.is_none_or(|s| s.owns(*j)))
        .map(|(_, job)| job)
        .collect()
}

/// Runs the jobs in parallel on the current rayon pool; results come back in job order.
/// A job not yet started when `stop()` turns true is skipped (interruption); `done` sees
/// every finished run as it finishes (progress, journal).
pub fn run(
    points: &[Point],
    jobs: &[(usize, u64)],
    stop: &(dyn Fn() -> bool + Sync),
    done: &(dyn Fn(&RunRow) + Sync),
) -> Vec<RunRow> {
    jobs.par_iter()
        .filter_map(|&(p, rep)| {
            if stop() {
                return None;
            }
            let r = Stack::run(&points[p].config, rep);
            let row = RunRow {
                point: p,
                rep,
                metrics: flatten(&r),
            };
            done(&row);
            Some(row)
        })
        .collect()
}

/// Mean and 95% interval of every metric at one point.
#[derive(Clone, Debug)]
pub struct PointSummary {
    pub point: usize,
    pub runs: usize,
    pub metrics: Vec<(String, MeanCi)>,
}

pub fn aggregate(points: usize, rows: &[RunRow]) -> Vec<PointSummary> {
    (0..points)
        .map(|p| {
            let mut by_key: Vec<(String, Vec<f64>)> = vec![];
            let mut index: BTreeMap<String, usize> = BTreeMap::new();
            let mut runs = 0;
            for row in rows.iter().filter(|r| r.point == p) {
                runs += 1;
                for (k, v) in &row.metrics {
                    let i = *index.entry(k.clone()).or_insert_with(|| {
                        by_key.push((k.clone(), vec![]));
                        by_key.len() - 1
                    });
                    by_key[i].1.push(*v);
                }
            }
            PointSummary {
                point: p,
                runs,
                metrics: by_key
                    .into_iter()
                    .map(|(k, xs)| (k, MeanCi::from_samples(&xs)))
                    .collect(),
            }
        })
        .collect()
}

/// A paired comparison of two points that differ in one parameter only.
#[derive(Clone, Debug)]
pub struct Comparison {
    pub a: usize,
    pub b: usize,
    pub parameter: String,
    pub metric: String,
    /// Mean of (a - b) over replications run at both points, with its 95% interval.
    pub difference: MeanCi,
    /// The interval excludes zero.
    pub significant: bool,
}

/// Metrics compared between points.
pub const COMPARED: [&str; 5] = [
    "latency.mean",
    "latency.p99",
    "availability",
    "throughput_rps",
    "requests.failed",
];

/// Every pair of points differing in exactly one parameter, compared on [`COMPARED`].
/// `labels[p]` is point p's (parameter, value) list.
pub fn compare(labels: &[Vec<(String, String)>], rows: &[RunRow]) -> Vec<Comparison> {
    let value = |p: usize, rep: u64, m: &str| -> Option<f64> {
        rows.iter()
            .find(|r| r.point == p && r.rep == rep)
            .and_then(|r| r.metrics.iter().find(|(k, _)| k == m).map(|(_, v)| *v))
    };
    let mut out = vec![];
    for a in 0..labels.len() {
        for b in a + 1..labels.len() {
            let diff: Vec<&String> = labels[a]
                .iter()
                .zip(&labels[b])
                .filter(|(x, y)| x.1 != y.1)
                .map(|(x, _)| &x.0)
                .collect();
            if diff.len() != 1 {
                continue;
            }
            let reps: Vec<u64> = rows
                .iter()
                .filter(|r| r.point == a)
                .map(|r| r.rep)
                .collect();
            for m in COMPARED {
                let d: Vec<f64> = reps
                    .iter()
                    .filter_map(|&r| Some(value(a, r, m)? - value(b, r, m)?))
                    .collect();
                if d.len() < 2 {
                    continue;
                }
                let ci = MeanCi::from_samples(&d);
                out.push(Comparison {
                    a,
                    b,
                    parameter: diff[0].clone(),
                    metric: m.to_string(),
                    significant: ci.half_width.is_finite() && (ci.low() > 0.0 || ci.high() < 0.0),
                    difference: ci,
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_and_jobs() {
        let p = product(&[
            ("a".into(), vec!["1".into(), "2".into()]),
            ("b".into(), vec!["x".into(), "y".into(), "z".into()]),
        ]);
        assert_eq!(p.len(), 6);
        assert_eq!(
            p[1],
            vec![("a".into(), "1".into()), ("b".into(), "y".into())]
        );
        let all = jobs(3, 4, None);
        assert_eq!(all.len(), 12);
        let mut merged: Vec<(usize, u64)> = (1..=5)
            .flat_map(|k| jobs(3, 4, Some(Shard { k, n: 5 })))
            .collect();
        merged.sort();
        assert_eq!(merged, all);
    }
}
