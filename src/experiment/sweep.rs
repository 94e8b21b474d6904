//! Parameter sweeps with replications: the cartesian product of parameter values, R
//! replications per point, means with 95% confidence intervals, and paired comparisons.
//!
//! Replication r of every point uses streams derived from the same (seed, r): common random
//! numbers, so two points that differ only in LB algorithm see the same arrivals and work,
//! and their difference is measured on paired runs (a much tighter interval).

use super::metrics::flatten;
use super::shard::Shard;
use crate::model::timeline::NoRows;
use crate::model::{Config, CutShort, RunResults, Stack};
use crate::stats::MeanCi;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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

/// A run of a study cut short for its requests in flight (`RunResults::cut_short`): the
/// study has no figure for its point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overflowed {
    pub point: usize,
    pub rep: u64,
    pub cut: CutShort,
}

/// Runs the jobs in parallel on the current rayon pool; results come back in job order.
/// A job not yet started when `stop()` turns true is skipped (interruption); `done` sees
/// every finished run as it finishes (progress, journal), and `seen` its whole results
/// first (what a chart needs beyond the metrics, kept by the caller instead of running the
/// point again).
///
/// The jobs are taken longest first (the most requests expected: rate x (warm-up +
/// duration); ties in job order) from one shared counter, so a study ends on its shortest
/// runs: in job order, a rate sweep ended on its highest rates, one thread running the last
/// of them while the other had nothing left (issue 13). The order runs are taken in changes
/// nothing in them: each depends on its point and replication alone.
///
/// A run cut short for its requests in flight is no row: the jobs not yet started are
/// skipped and the error is the overflowed job first in job order among those that ran.
pub fn run(
    points: &[Point],
    jobs: &[(usize, u64)],
    stop: &(dyn Fn() -> bool + Sync),
    done: &(dyn Fn(&RunRow) + Sync),
    seen: &(dyn Fn(usize, u64, &RunResults) + Sync),
) -> Result<Vec<RunRow>, Overflowed> {
    let requests = |&(p, _): &(usize, u64)| {
        let c = &points[p].config;
        c.workload.rate * (c.warmup + c.duration).as_secs_f64()
    };
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by(|&a, &b| {
        requests(&jobs[b])
            .total_cmp(&requests(&jobs[a]))
            .then(a.cmp(&b))
    });
    let next = AtomicUsize::new(0);
    let finished = Mutex::new(Vec::with_capacity(jobs.len()));
    let overflowed: Mutex<Option<(usize, Overflowed)>> = Mutex::new(None);
    let failed = AtomicBool::new(false);
    let work = || {
        let mut mine = vec![];
        while let Some(&j) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
            if stop() || failed.load(Ordering::Relaxed) {
                continue;
            }
            let (p, rep) = jobs[j];
            let r = match Stack::run_with(&points[p].config, rep, &mut NoRows).complete() {
                Ok(r) => r,
                Err(cut) => {
                    failed.store(true, Ordering::Relaxed);
                    let mut first = overflowed.lock().unwrap_or_else(|e| e.into_inner());
                    if first.is_none_or(|(k, _)| j < k) {
                        *first = Some((j, Overflowed { point: p, rep, cut }));
                    }
                    continue;
                }
            };
            seen(p, rep, &r);
            let row = RunRow {
                point: p,
                rep,
                metrics: flatten(&r),
            };
            done(&row);
            mine.push((j, row));
        }
        finished
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(mine);
    };
    rayon::scope(|s| {
        for _ in 1..rayon::current_num_threads() {
            s.spawn(|_| work());
        }
        work();
    });
    if let Some((_, o)) = overflowed.into_inner().unwrap_or_else(|e| e.into_inner()) {
        return Err(o);
    }
    let mut rows = finished.into_inner().unwrap_or_else(|e| e.into_inner());
    rows.sort_unstable_by_key(|&(j, _)| j);
    Ok(rows.into_iter().map(|(_, row)| row).collect())
}

/// Mean and 95% interval of every metric at one point.
#[derive(Clone, Debug)]
pub struct PointSummary {
    pub point: usize,
    pub runs: usize,
    pub metrics: Vec<(String, MeanCi)>,
}

pub fn aggregate(points: usize, rows: &[RunRow]) -> Vec<PointSummary> {
    // One pass over the rows (a scan per point was quadratic: 100,000 points of 10 runs took
    // hours).
    let mut by_point: Vec<Vec<&RunRow>> = vec![vec![]; points];
    for r in rows {
        if let Some(v) = by_point.get_mut(r.point) {
            v.push(r);
        }
    }
    by_point
        .into_iter()
        .enumerate()
        .map(|(p, rows)| {
            let mut by_key: Vec<(String, Vec<f64>)> = vec![];
            let mut index: BTreeMap<&str, usize> = BTreeMap::new();
            for row in &rows {
                for (k, v) in &row.metrics {
                    let i = *index.entry(k.as_str()).or_insert_with(|| {
                        by_key.push((k.clone(), vec![]));
                        by_key.len() - 1
                    });
                    by_key[i].1.push(*v);
                }
            }
            PointSummary {
                point: p,
                runs: rows.len(),
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

/// Metrics compared between points. `slo_availability` is reported only with `[slo]`; without
/// it the pair has no such figure and no row (so a sweep without `[slo]` compares five).
pub const COMPARED: [&str; 6] = [
    "latency.mean",
    "latency.p99",
    "availability",
    "slo_availability",
    "throughput_rps",
    "requests.failed",
];

/// Pairs of points that differ in exactly one parameter: for each parameter of n values, each
/// point has n - 1 partners. The comparisons hold five figures per pair (six with `[slo]`).
pub fn pair_count(parameters: &[(String, Vec<String>)]) -> u128 {
    let points: u128 = parameters.iter().map(|(_, v)| v.len() as u128).product();
    let partners: u128 = parameters
        .iter()
        .map(|(_, v)| (v.len() as u128).saturating_sub(1))
        .sum();
    points * partners / 2
}

/// Every pair of points differing in exactly one parameter, compared on [`COMPARED`], in the
/// order (a, b) with a < b. Points are [`product`] of `parameters` (the first varies slowest).
/// Two values of a parameter written alike (a value listed twice) are not a difference.
pub fn compare(parameters: &[(String, Vec<String>)], rows: &[RunRow]) -> Vec<Comparison> {
    let labels = product(parameters);
    let by_run: BTreeMap<(usize, u64), &RunRow> =
        rows.iter().map(|r| ((r.point, r.rep), r)).collect();
    let value = |p: usize, rep: u64, m: &str| -> Option<f64> {
        by_run
            .get(&(p, rep))
            .and_then(|r| r.metrics.iter().find(|(k, _)| k == m).map(|(_, v)| *v))
    };
    let mut reps: Vec<Vec<u64>> = vec![vec![]; labels.len()];
    for r in rows {
        if let Some(v) = reps.get_mut(r.point) {
            v.push(r.rep);
        }
    }
    // The partners of a point: change one parameter's value, keep the others. They are found
    // by index in the product, not by comparing every pair of labels (quadratic in the points:
    // hours for a sweep of 100,000 points).
    let counts: Vec<usize> = parameters.iter().map(|(_, v)| v.len()).collect();
    let mut stride = vec![1usize; counts.len()];
    for i in (0..counts.len().saturating_sub(1)).rev() {
        stride[i] = stride[i + 1] * counts[i + 1];
    }
    let mut pairs: Vec<(usize, usize, usize)> = vec![];
    for a in 0..labels.len() {
        for (i, &n) in counts.iter().enumerate() {
            let at = (a / stride[i]) % n;
            for v in at + 1..n {
                pairs.push((a, a + (v - at) * stride[i], i));
            }
        }
    }
    pairs.sort_unstable();
    let mut out = vec![];
    for (a, b, i) in pairs {
        // Distinct labels only: a sweep may list a value twice.
        if labels[a][i].1 == labels[b][i].1 {
            continue;
        }
        for m in COMPARED {
            let d: Vec<f64> = reps[a]
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
                parameter: labels[a][i].0.clone(),
                metric: m.to_string(),
                significant: ci.half_width.is_finite() && (ci.low() > 0.0 || ci.high() < 0.0),
                difference: ci,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The comparisons as every pair of labels defines them (the quadratic reference).
    fn compare_pairwise(
        labels: &[Vec<(String, String)>],
        rows: &[RunRow],
    ) -> Vec<(usize, usize, String, String, f64)> {
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
                for m in COMPARED {
                    let d: Vec<f64> = rows
                        .iter()
                        .filter(|r| r.point == a)
                        .filter_map(|r| Some(value(a, r.rep, m)? - value(b, r.rep, m)?))
                        .collect();
                    if d.len() >= 2 {
                        let ci = MeanCi::from_samples(&d);
                        out.push((a, b, diff[0].clone(), m.to_string(), ci.mean));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn comparisons_by_index_are_the_pairwise_ones() {
        let params: Vec<(String, Vec<String>)> = vec![
            ("a".into(), vec!["1".into(), "2".into(), "3".into()]),
            ("b".into(), vec!["x".into(), "y".into()]),
            (
                "c".into(),
                vec!["p".into(), "q".into(), "r".into(), "s".into()],
            ),
        ];
        let labels = product(&params);
        let mut rows = vec![];
        for p in 0..labels.len() {
            for rep in 0..3u64 {
                let x = ((p * 7 + rep as usize * 13) % 11) as f64;
                rows.push(RunRow {
                    point: p,
                    rep,
                    metrics: COMPARED
                        .iter()
                        .map(|m| (m.to_string(), x + m.len() as f64))
                        .collect(),
                });
            }
        }
        let fast: Vec<(usize, usize, String, String, f64)> = compare(&params, &rows)
            .into_iter()
            .map(|c| (c.a, c.b, c.parameter, c.metric, c.difference.mean))
            .collect();
        assert_eq!(fast, compare_pairwise(&labels, &rows));
        assert_eq!(pair_count(&params), (24 * (2 + 1 + 3) / 2) as u128);
        assert_eq!(fast.len(), 72 * COMPARED.len());
    }

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
