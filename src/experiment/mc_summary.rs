//! The summary of a Monte Carlo study from its runs in bounded memory (issue 13): the runs are
//! read as a stream several times (from `runs.csv` on disk, or from memory), never held.
//!
//! The figures are the same f64, bit for bit, as those of sorting and summing every run held in
//! memory (`MeanCi::from_samples`, a sort of every outage duration):
//! - a mean is the sum of the column in run order, summed as `Iterator::sum` sums (`-0.0`
//!   plus each value in turn), divided by the count;
//! - the variance is a second pass summing the squared deviations from that mean, in run
//!   order, as `from_samples` does (not a one-pass formula, which rounds differently);
//! - the outage quantiles are exact nearest-rank values found by `nearest_rank`, which reads
//!   the durations again until each wanted rank is resolved (two passes for up to 131,072
//!   durations in the wanted bucket, at most four).
//!
//! The first pass also hands every outage duration, in run order, to the caller (`outages.csv`
//! and the outage histogram are streamed from it).

use super::montecarlo::{ComponentSummary, McRun, McSummary, StateRow};
use super::nearest_rank::{self, FirstPass, Ranks};
use crate::engine::SimTime;
use crate::model::availability::Spof;
use crate::stats::{MeanCi, mean_of, student_t_975};
use std::io;

/// Runs that can be read in order, as many times as needed.
pub trait RunSource {
    /// Calls `f` with every run, in rep order.
    fn each(&mut self, f: &mut dyn FnMut(&McRun) -> io::Result<()>) -> io::Result<()>;
}

impl RunSource for &[McRun] {
    fn each(&mut self, f: &mut dyn FnMut(&McRun) -> io::Result<()>) -> io::Result<()> {
        self.iter().try_for_each(f)
    }
}

/// Columns whose mean and interval the summary reports: the study's seven, then per component
/// its improvement and its SLO improvement.
const FIXED: usize = 7;

/// The values of the summarised columns of run `r` (`per_year` scales a horizon to a year).
fn columns(r: &McRun, per_year: f64, out: &mut Vec<f64>) {
    out.clear();
    out.extend([
        r.availability,
        r.slo_availability,
        r.time_availability,
        r.downtime_s / 60.0 * per_year,
        r.overload_s / 60.0 * per_year,
        r.outages.len() as f64 * per_year,
        r.failed_requests * per_year,
    ]);
    for c in 0..r.perfect.len() {
        out.push(r.perfect[c] - r.availability);
        out.push(r.perfect_slo[c] - r.slo_availability);
    }
}

/// Checks that run `r` has a value per component (a corrupt source must not panic).
fn check_width(r: &McRun, components: usize) -> io::Result<()> {
    if r.blame_s.len() != components
        || r.perfect.len() != components
        || r.perfect_slo.len() != components
    {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("run {} does not have one value per component", r.rep),
        ));
    }
    Ok(())
}

/// What `MeanCi::from_samples` gives for `n` samples of sum `sum`, all equal to `common` if
/// they are one value, whose squared deviations from their mean (`stats::mean_of`) sum to
/// `squares` (both summed in sample order, as it sums them).
fn mean_ci(n: usize, sum: f64, common: Option<f64>, squares: f64) -> MeanCi {
    if n == 0 {
        return MeanCi {
            mean: f64::NAN,
            half_width: f64::NAN,
            n,
        };
    }
    let mean = mean_of(sum, n, common);
    if n < 2 {
        return MeanCi {
            mean,
            half_width: 0.0,
            n,
        };
    }
    let var = squares / (n - 1) as f64;
    MeanCi {
        mean,
        half_width: student_t_975(n - 1) * (var / n as f64).sqrt(),
        n,
    }
}

/// The summary's first pass, fed the runs one at a time in rep order: the column sums, the
/// blame, the outage durations' first pass. The study feeds it each run as it is written
/// (`cli::montecarlo`, so the file is not read for it), `summarise` by reading the runs.
pub struct Sums {
    per_year: f64,
    horizon: SimTime,
    components: usize,
    sums: Vec<f64>,
    /// Per column, the value of every run so far while they all have the same bits
    /// (`stats::common_value`).
    common: Vec<Option<f64>>,
    blame: Vec<f64>,
    total_blame: f64,
    n: usize,
    durations: FirstPass,
    row: Vec<f64>,
}

impl Sums {
    /// For runs of `components` components over `horizon`.
    pub fn new(components: usize, horizon: SimTime) -> Sums {
        let year = 365.0 * 86_400.0;
        let width = FIXED + 2 * components;
        Sums {
            per_year: year / horizon.as_secs_f64(),
            horizon,
            components,
            // `Iterator::sum` of f64 starts from -0.0 (so that a sum of -0.0 stays -0.0).
            sums: vec![-0.0f64; width],
            common: vec![None; width],
            blame: vec![-0.0f64; components],
            total_blame: -0.0f64,
            n: 0,
            durations: FirstPass::default(),
            row: Vec::with_capacity(width),
        }
    }

    /// Adds the next run; `outage` sees each of its outage durations (rep, seconds).
    pub fn add(
        &mut self,
        r: &McRun,
        outage: &mut dyn FnMut(u64, f64) -> io::Result<()>,
    ) -> io::Result<()> {
        check_width(r, self.components)?;
        columns(r, self.per_year, &mut self.row);
        for (s, x) in self.sums.iter_mut().zip(&self.row) {
            *s += x;
        }
        for (c, x) in self.common.iter_mut().zip(&self.row) {
            *c = match *c {
                _ if self.n == 0 => Some(*x),
                Some(v) if v.to_bits() == x.to_bits() => Some(v),
                _ => None,
            };
        }
        for (b, x) in self.blame.iter_mut().zip(&r.blame_s) {
            *b += x;
            self.total_blame += x;
        }
        for &d in &r.outages {
            self.durations.add(d);
            outage(r.rep, d)?;
        }
        self.n += 1;
        Ok(())
    }
}

/// Aggregates the runs of `source`; `components` are the names in column order
/// (`McRun::blame_s`). `outage` sees every outage duration (rep, seconds) once, in run order.
pub fn summarise(
    components: &[String],
    spofs: Vec<Spof>,
    degraded_states: Vec<StateRow>,
    slo_latency_s: Option<f64>,
    horizon: SimTime,
    source: &mut dyn RunSource,
    outage: &mut dyn FnMut(u64, f64) -> io::Result<()>,
) -> io::Result<McSummary> {
    let mut first = Sums::new(components.len(), horizon);
    source.each(&mut |r| first.add(r, outage))?;
    summarise_from(
        first,
        components,
        spofs,
        degraded_states,
        slo_latency_s,
        source,
    )
}

/// [`summarise`] once `first` has seen every run of `source`: the passes after the first.
pub fn summarise_from(
    first: Sums,
    components: &[String],
    spofs: Vec<Spof>,
    degraded_states: Vec<StateRow>,
    slo_latency_s: Option<f64>,
    source: &mut dyn RunSource,
) -> io::Result<McSummary> {
    let Sums {
        per_year,
        horizon,
        sums,
        common,
        blame,
        total_blame,
        n,
        durations,
        mut row,
        ..
    } = first;
    let width = sums.len();
    debug_assert_eq!(
        components.len(),
        blame.len(),
        "a first pass of another study"
    );
    let means: Vec<f64> = sums
        .iter()
        .zip(&common)
        .map(|(&s, &c)| mean_of(s, n, c))
        .collect();
    let mut squares = vec![-0.0f64; width];
    let q = [0.5, 0.9, 0.99];
    let mut ranks = (!durations.is_empty()).then(|| {
        let at: Vec<u64> = q
            .iter()
            .map(|&p| nearest_rank::index(p, durations.len()))
            .collect();
        Ranks::new(&durations, &at)
    });
    // The second pass: the squared deviations, and the outage quantiles' next pass.
    if n >= 2 || ranks.as_ref().is_some_and(Ranks::pending) {
        source.each(&mut |r| {
            check_width(r, components.len())?;
            columns(r, per_year, &mut row);
            for ((s, x), m) in squares.iter_mut().zip(&row).zip(&means) {
                *s += (x - m) * (x - m);
            }
            if let Some(k) = ranks.as_mut().filter(|k| k.pending()) {
                r.outages.iter().for_each(|&d| k.add(d));
            }
            Ok(())
        })?;
        if let Some(k) = &mut ranks {
            k.end_pass();
        }
    }
    // Further passes over the durations alone, when a wanted bucket was crowded.
    while let Some(k) = ranks.as_mut().filter(|k| k.pending()) {
        source.each(&mut |r| {
            r.outages.iter().for_each(|&d| k.add(d));
            Ok(())
        })?;
        k.end_pass();
    }
    let quantiles = ranks.map_or(vec![0.0; q.len()], |k| k.values());
    let ci = |i: usize| mean_ci(n, sums[i], common[i], squares[i]);
    let mut ranked: Vec<ComponentSummary> = components
        .iter()
        .enumerate()
        .map(|(c, name)| ComponentSummary {
            component: name.clone(),
            downtime_share: if total_blame > 0.0 {
                blame[c] / total_blame
            } else {
                0.0
            },
            improvement: ci(FIXED + 2 * c),
            slo_improvement: ci(FIXED + 2 * c + 1),
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.improvement
            .mean
            .total_cmp(&a.improvement.mean)
            .then(a.component.cmp(&b.component))
    });
    Ok(McSummary {
        runs: n,
        horizon_s: horizon.as_secs_f64(),
        availability: ci(0),
        slo_latency_s,
        slo_availability: ci(1),
        time_availability: ci(2),
        downtime_minutes_per_year: ci(3),
        overload_minutes_per_year: ci(4),
        outages_per_year: ci(5),
        failed_requests_per_year: ci(6),
        outage_p50_s: quantiles[0],
        outage_p90_s: quantiles[1],
        outage_p99_s: quantiles[2],
        outage_max_s: durations.max().unwrap_or(0.0),
        components: ranked,
        structural_spofs: spofs,
        degraded_states,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The summary as it was computed before it was streamed: every run held, every column
    /// collected, `MeanCi::from_samples`, a sort of every duration.
    fn held(components: &[String], horizon: SimTime, runs: &[McRun]) -> McSummary {
        let per_year = 365.0 * 86_400.0 / horizon.as_secs_f64();
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
                let i =
                    ((p * durations.len() as f64).ceil() as usize).clamp(1, durations.len()) - 1;
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
                slo_improvement: col(&|r| r.perfect_slo[c] - r.slo_availability),
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
            slo_latency_s: None,
            slo_availability: col(&|r| r.slo_availability),
            time_availability: col(&|r| r.time_availability),
            downtime_minutes_per_year: col(&|r| r.downtime_s / 60.0 * per_year),
            overload_minutes_per_year: col(&|r| r.overload_s / 60.0 * per_year),
            outages_per_year: col(&|r| r.outages.len() as f64 * per_year),
            failed_requests_per_year: col(&|r| r.failed_requests * per_year),
            outage_p50_s: q(0.5),
            outage_p90_s: q(0.9),
            outage_p99_s: q(0.99),
            outage_max_s: durations.last().copied().unwrap_or(0.0),
            components: ranked,
            structural_spofs: vec![],
            degraded_states: vec![],
        }
    }

    /// Runs with awkward figures: values of mixed magnitude, -0.0, none or many outages.
    fn runs(n: u64) -> Vec<McRun> {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        (0..n)
            .map(|rep| {
                let a = 1.0 - next() * next() * 1e-3;
                let outages = (0..(next() * 6.0) as usize)
                    .map(|_| 30.0 * (next() * 9.0).exp())
                    .collect();
                McRun {
                    rep,
                    availability: a,
                    slo_availability: a - next() * 1e-5,
                    time_availability: if rep % 3 == 0 { 1.0 } else { a },
                    downtime_s: next() * 5000.0,
                    overload_s: if rep % 2 == 0 { -0.0 } else { next() },
                    failed_requests: (next() * 1e6).floor(),
                    failures: rep % 5,
                    outages,
                    blame_s: vec![next() * 100.0, 0.0, next()],
                    perfect: vec![a + next() * 1e-4, a, 1.0],
                    perfect_slo: vec![a, a + 1e-9, 1.0],
                }
            })
            .collect()
    }

    fn streamed(components: &[String], horizon: SimTime, runs: &[McRun]) -> McSummary {
        let mut seen = vec![];
        let s = summarise(
            components,
            vec![],
            vec![],
            None,
            horizon,
            &mut &runs[..],
            &mut |rep, d| {
                seen.push((rep, d));
                Ok(())
            },
        )
        .unwrap();
        let all: Vec<(u64, f64)> = runs
            .iter()
            .flat_map(|r| r.outages.iter().map(|&d| (r.rep, d)))
            .collect();
        assert_eq!(seen, all, "every outage once, in run order");
        s
    }

    #[test]
    fn the_streamed_summary_is_the_held_one_bit_for_bit() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let horizon = SimTime::from_secs(86_400 * 90);
        for n in [0, 1, 2, 3, 17, 1000, 5000] {
            let rs = runs(n);
            let a = serde_json::to_string(&streamed(&names, horizon, &rs)).unwrap();
            let b = serde_json::to_string(&held(&names, horizon, &rs)).unwrap();
            assert_eq!(a, b, "{n} runs");
        }
    }

    /// A column every run gives alike has that value as its mean and no interval, streamed as
    /// held (0.7 three times summed to 2.0999999999999996, a mean of 0.6999999999999998).
    #[test]
    fn a_column_all_alike_is_its_value() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let horizon = SimTime::from_secs(86_400 * 90);
        for n in [2u64, 3, 7] {
            let mut rs = runs(n);
            for r in &mut rs {
                r.availability = 0.7;
                r.slo_availability = 0.7;
                r.perfect[0] = 0.8;
            }
            let s = streamed(&names, horizon, &rs);
            assert_eq!(s.availability.mean, 0.7, "{n} runs");
            assert_eq!(s.availability.half_width, 0.0, "{n} runs");
            let a = serde_json::to_string(&s).unwrap();
            let b = serde_json::to_string(&held(&names, horizon, &rs)).unwrap();
            assert_eq!(a, b, "{n} runs");
        }
    }

    /// The outage quantiles, the longest outage and the SPOFs are figures of the whole study:
    /// an assertion on them is judged on their value, said to be over the study's runs.
    #[test]
    fn pooled_figures_are_the_studys_without_an_interval() {
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let s = streamed(&names, SimTime::from_secs(86_400 * 90), &runs(17));
        for (name, value) in [
            ("outage_p99", s.outage_p99_s),
            ("outage_max", s.outage_max_s),
            ("spofs", 0.0),
        ] {
            let est = s.metric(name).unwrap();
            assert_eq!((est.mean, est.n), (value, 17), "{name}");
            assert!(est.half_width.is_nan(), "{name}");
            let a = crate::experiment::Assertion::parse(&format!("{name} >= 0")).unwrap();
            let (passed, found) = a.check(&est);
            assert!(passed, "{name}: {found}");
            assert!(
                found.ends_with("over 17 runs (no interval)"),
                "{name}: {found}"
            );
        }
    }

    #[test]
    fn sums_start_as_iterator_sum_does() {
        let zeros = [-0.0f64, -0.0];
        let mut s = -0.0f64;
        zeros.iter().for_each(|x| s += x);
        assert_eq!(s.to_bits(), zeros.iter().sum::<f64>().to_bits());
        let mixed = [0.1f64, 1e16, -1e16, 0.2];
        let mut s = -0.0f64;
        mixed.iter().for_each(|x| s += x);
        assert_eq!(s.to_bits(), mixed.iter().sum::<f64>().to_bits());
    }

    #[test]
    fn a_run_of_the_wrong_width_is_an_error() {
        let mut rs = runs(3);
        rs[1].perfect.pop();
        let names: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
        let e = summarise(
            &names,
            vec![],
            vec![],
            None,
            SimTime::from_secs(1),
            &mut &rs[..],
            &mut |_, _| Ok(()),
        );
        assert!(e.is_err());
    }
}
