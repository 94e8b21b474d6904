//! Running a configuration and reading its results, shared by the failure test files: every
//! run checked for conservation, error counts, event-log entries, and the run's arrival
//! sequence rebuilt from the model's own named streams.

use infrasim::engine::SimTime;
use infrasim::model::stack::LogEntry;
use infrasim::model::workload::{Work, Workload};
use infrasim::model::*;
use rayon::prelude::*;

use super::{Z_999, log};

/// Tolerance for comparing times reported in seconds (f64) with exact nanosecond times.
pub const EPS: f64 = 1e-9;

// ---- running and per-run invariants ----------------------------------------------------------

/// Runs replications `0..n` of `cfg` in parallel; every run is checked with [`check_run`].
pub fn replicate(cfg: &Config, n: u64) -> Vec<RunResults> {
    let runs: Vec<RunResults> = (0..n).into_par_iter().map(|k| Stack::run(cfg, k)).collect();
    for r in &runs {
        check_run(r);
    }
    runs
}

/// Conservation, on every run: each measured request is counted once, as
/// completed, failed (under exactly one cause) or still in flight at the end. `in_flight_end`
/// is computed as a difference, so double counting would show as `completed + failed >
/// arrived` (the difference would wrap): that is what the first assertion guards.
pub fn check_run(r: &RunResults) {
    let q = &r.requests;
    let ctx = format!("{} run {}", r.scenario, r.run);
    assert!(
        q.completed + q.failed <= q.arrived,
        "{ctx}: more requests finished than arrived: {q:?}"
    );
    assert_eq!(
        q.arrived,
        q.completed + q.failed + q.in_flight_end,
        "{ctx}: conservation"
    );
    let by_cause: u64 = r.errors.values().sum();
    assert_eq!(
        by_cause, q.failed,
        "{ctx}: errors by cause {:?} do not add up to failed",
        r.errors
    );
    let served: u64 = r.servers.iter().map(|s| s.completed).sum();
    assert_eq!(served, q.completed, "{ctx}: servers' completions add up");
    if r.warmup_s == 0.0 && !r.timeline.is_empty() {
        // The timeline sees every request (no warm-up): its per-row counts cannot exceed the
        // totals (arrivals after the last row are in no row).
        let rows_failed: u64 = r.timeline.iter().map(|row| row.failed).sum();
        let rows_arrived: u64 = r.timeline.iter().map(|row| row.arrivals).sum();
        assert!(
            rows_failed <= q.failed && rows_arrived <= q.arrived,
            "{ctx}"
        );
    }
}

pub fn errors(r: &RunResults, cause: &str) -> u64 {
    *r.errors
        .get(cause)
        .unwrap_or_else(|| panic!("no cause {cause}"))
}

/// Causes with a non-zero count, for messages.
pub fn nonzero(r: &RunResults) -> Vec<(&str, u64)> {
    r.errors
        .iter()
        .filter(|e| *e.1 > 0)
        .map(|(k, &v)| (k.as_str(), v))
        .collect()
}

/// Event-log entries named `event`.
pub fn log_entries<'a>(r: &'a RunResults, event: &str) -> Vec<&'a LogEntry> {
    r.event_log.iter().filter(|e| e.event == event).collect()
}

pub fn secs(t: SimTime) -> f64 {
    t.as_secs_f64()
}

/// The arrivals of replication `rep` of `cfg` (time, what the request is), rebuilt from the
/// named streams the model draws from ("arrivals" and "work"): the model calls `next_arrival`
/// then `draw` at each arrival, and the two streams are separate, so this is the same sequence.
pub fn arrivals(cfg: &Config, rep: u64) -> Vec<(SimTime, Work)> {
    let mut w = Workload::new(&cfg.workload, cfg.seed, rep);
    let mut out = vec![];
    let mut next = w.next_arrival(SimTime::ZERO);
    while let Some(t) = next {
        if t > cfg.duration {
            break;
        }
        out.push((t, w.draw()));
        next = w.next_arrival(t);
    }
    out
}

/// Checks that the rebuilt arrival sequence is the run's (every request is measured here).
pub fn check_rebuilt(r: &RunResults, arr: &[(SimTime, Work)]) {
    assert_eq!(r.warmup_s, 0.0);
    assert_eq!(
        r.requests.arrived,
        arr.len() as u64,
        "run {}: the rebuilt arrival sequence is not the model's",
        r.run
    );
}

pub fn count_in(arr: &[(SimTime, Work)], from: SimTime, to: SimTime) -> u64 {
    arr.iter().filter(|(t, _)| *t >= from && *t < to).count() as u64
}

/// Mean and sample standard deviation.
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let v = xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, v.sqrt())
}

/// Asserts that the mean of `xs`, independent draws of a uniform on [lo, lo + width], is within
/// the two-sided 99.9% normal bound of its expectation, using the uniform's known variance
/// width^2 / 12 (the mean of 20-40 uniforms is very close to normal). Also asserts the draws do
/// spread over the interval (a constant phase would give a tight but wrong picture): with n
/// uniform draws, P(all in the upper or all in the lower three quarters) = 2 x 0.75^n.
pub fn check_uniform_mean(label: &str, xs: &[f64], lo: f64, width: f64) {
    let n = xs.len() as f64;
    let (m, sd) = mean_sd(xs);
    let expected = lo + width / 2.0;
    let bound = Z_999 * width / (12.0 * n).sqrt();
    let min = xs.iter().cloned().fold(f64::INFINITY, f64::min);
    let max = xs.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    log(format!(
        "  {label:<44} mean {m:.4} s (sd {sd:.4}, range {min:.3}..{max:.3}) expected {expected:.4} \
         ± {bound:.4} (uniform on [{lo}, {}], sd {:.4})",
        lo + width,
        width / 12f64.sqrt()
    ));
    assert!(
        (m - expected).abs() <= bound,
        "{label}: mean {m} vs {expected}: |diff| > {bound}"
    );
    assert!(
        min < lo + width / 4.0 && max > lo + 3.0 * width / 4.0,
        "{label}: draws do not spread over [{lo}, {}]: {min}..{max}",
        lo + width
    );
}
