//! A run judged against its latency objective (`[slo]`): how many finished requests were good
//! (served successfully within the latency), the error budget a target allows and how much of
//! it the run used, and each percentile target against the percentile observed.
//!
//! The request path keeps one count per request class, incremented at completion when the
//! response time is within the latency (a compare and an add, `stack/flow.rs`); everything
//! here is arithmetic on those counts and on the latency histogram, done once at the end.
//!
//! The denominator is the one `availability` uses, completed + failed after the warm-up:
//! requests still in flight at the end are judged by neither. Percentiles are those of the
//! successful requests, from the same histogram as `latency.p50` and the others (3 significant
//! digits), so a percentile target always agrees with the percentile printed beside it.

use super::config::Slo;
use crate::stats::LatencyHistogram;
use serde::Serialize;

/// The SLO figures of one run (`summary.json`'s `slo`). Fractions are of finished requests;
/// NaN (null in JSON) when no request finished.
#[derive(Clone, Debug, Serialize)]
pub struct SloReport {
    /// The latency objective, seconds.
    pub latency_s: f64,
    /// Served successfully within the latency.
    pub good: u64,
    /// Served successfully, but slower than the latency.
    pub slow: u64,
    /// Failed (the run's `requests.failed`).
    pub failed: u64,
    /// (slow + failed) / finished: 1 - slo_availability.
    pub bad_fraction: f64,
    /// The error budget, when the scenario sets a target.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub budget: Option<ErrorBudget>,
    /// Percentile targets, in increasing quantile order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub percentiles: Vec<PercentileCheck>,
}

/// What a target allows and what the run used of it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ErrorBudget {
    /// Fraction of finished requests that must be good.
    pub target: f64,
    /// 1 - target: the fraction allowed to be bad.
    pub allowed_bad_fraction: f64,
    /// allowed_bad_fraction × finished: how many requests the run could afford to lose.
    pub allowed_bad_requests: f64,
    /// bad_fraction / allowed_bad_fraction: the share of the budget used (1 = all of it, 2 =
    /// twice over). With a target of 1 there is no budget: 0 if no request was bad, infinite
    /// (null in JSON) otherwise.
    pub budget_consumed: f64,
    /// slo_availability >= target; None when no request finished.
    pub met: Option<bool>,
}

/// One percentile target against the run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PercentileCheck {
    /// `p50`, `p90`, `p95`, `p99` or `p999`.
    pub name: String,
    pub quantile: f64,
    /// The longest the percentile may be, seconds.
    pub target_s: f64,
    /// The percentile of the successful requests' response time, seconds; NaN when none
    /// completed.
    pub observed_s: f64,
    /// observed_s <= target_s; None when no request completed.
    pub met: Option<bool>,
}

/// The percentile keys of `[slo]` and their quantiles, in increasing order.
pub const PERCENTILES: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p95", 0.95),
    ("p99", 0.99),
    ("p999", 0.999),
];

/// The key of quantile `q` (`p99` for 0.99), as `[slo]` and the outputs write it.
pub fn percentile_name(q: f64) -> String {
    PERCENTILES
        .iter()
        .find(|(_, x)| *x == q)
        .map_or_else(|| format!("p{}", q * 100.0), |(n, _)| n.to_string())
}

impl ErrorBudget {
    /// The budget of `target` for a run where `bad` of `finished` requests were bad.
    pub fn new(target: f64, good: u64, finished: u64) -> ErrorBudget {
        // 1 - 0.999 is 0.0010000000000000009 in binary: rounded to the decimal it stands for.
        let allowed = decimal(1.0 - target);
        let bad = finished - good;
        let bad_fraction = fraction(bad, finished);
        let budget_consumed = if finished == 0 {
            f64::NAN
        } else if bad == 0 {
            0.0
        } else if allowed > 0.0 {
            bad_fraction / allowed
        } else {
            f64::INFINITY
        };
        ErrorBudget {
            target,
            allowed_bad_fraction: allowed,
            allowed_bad_requests: allowed * finished as f64,
            budget_consumed,
            // Compared as the printed figure is computed: both sides are correctly rounded, so
            // the comparison agrees with the exact one.
            met: (finished > 0).then(|| fraction(good, finished) >= target),
        }
    }
}

impl SloReport {
    /// The report of a run with `good` of `completed` successes within the latency, `failed`
    /// failures, and `latency` the histogram of the successes' response times.
    pub fn new(
        slo: &Slo,
        good: u64,
        completed: u64,
        failed: u64,
        latency: &LatencyHistogram,
    ) -> SloReport {
        let finished = completed + failed;
        SloReport {
            latency_s: slo.latency.as_secs_f64(),
            good,
            slow: completed - good,
            failed,
            bad_fraction: fraction(finished - good, finished),
            budget: slo.target.map(|t| ErrorBudget::new(t, good, finished)),
            percentiles: slo
                .percentiles
                .iter()
                .map(|&(q, target)| {
                    let observed = if latency.count() == 0 {
                        f64::NAN
                    } else {
                        latency.quantile_secs(q)
                    };
                    let target_s = target.as_secs_f64();
                    PercentileCheck {
                        name: percentile_name(q),
                        quantile: q,
                        target_s,
                        observed_s: observed,
                        met: (latency.count() > 0).then_some(observed <= target_s),
                    }
                })
                .collect(),
        }
    }
}

/// `x` rounded to 12 significant digits: the difference (or quotient) of decimals without its
/// binary noise (99.9 / 100 is 0.9990000000000001).
pub fn decimal(x: f64) -> f64 {
    format!("{x:.11e}").parse().unwrap_or(x)
}

/// a / b, NaN when b is 0 (nothing measured).
pub fn fraction(a: u64, b: u64) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::SimTime;

    #[test]
    fn budget_arithmetic() {
        // 99.9% of 10,000 requests: 10 may be bad; 25 were: 2.5 budgets.
        let b = ErrorBudget::new(0.999, 9_975, 10_000);
        assert_eq!(b.allowed_bad_fraction, 0.001);
        assert!((b.allowed_bad_requests - 10.0).abs() < 1e-9);
        assert!((b.budget_consumed - 2.5).abs() < 1e-9);
        assert_eq!(b.met, Some(false));
        // exactly at the target: met, the whole budget used
        let b = ErrorBudget::new(0.999, 9_990, 10_000);
        assert_eq!(b.met, Some(true));
        assert!((b.budget_consumed - 1.0).abs() < 1e-9);
        // a target of 1: no budget
        assert_eq!(ErrorBudget::new(1.0, 10, 10).budget_consumed, 0.0);
        assert_eq!(ErrorBudget::new(1.0, 10, 10).met, Some(true));
        assert!(ErrorBudget::new(1.0, 9, 10).budget_consumed.is_infinite());
        // nothing finished: nothing to judge
        let b = ErrorBudget::new(0.99, 0, 0);
        assert!(b.budget_consumed.is_nan());
        assert_eq!(b.met, None);
    }

    #[test]
    fn report_counts_and_percentiles() {
        let mut h = LatencyHistogram::new();
        for ms in 1..=100u64 {
            h.record(SimTime::from_millis(ms));
        }
        let slo = Slo {
            latency: SimTime::from_millis(80),
            target: Some(0.9),
            percentiles: vec![
                (0.5, SimTime::from_millis(60)),
                (0.99, SimTime::from_millis(90)),
            ],
        };
        // 80 of the 100 successes are within 80 ms; 20 more requests failed.
        let r = SloReport::new(&slo, 80, 100, 20, &h);
        assert_eq!((r.good, r.slow, r.failed), (80, 20, 20));
        assert!((r.bad_fraction - 40.0 / 120.0).abs() < 1e-12);
        let b = r.budget.unwrap();
        assert_eq!(b.met, Some(false));
        assert!((b.budget_consumed - (40.0 / 120.0) / 0.1).abs() < 1e-9);
        assert_eq!(r.percentiles[0].name, "p50");
        assert_eq!(r.percentiles[0].met, Some(true));
        assert_eq!(r.percentiles[0].observed_s, h.quantile_secs(0.5));
        assert_eq!(r.percentiles[1].name, "p99");
        assert_eq!(r.percentiles[1].met, Some(false));
        let empty = SloReport::new(&slo, 0, 0, 0, &LatencyHistogram::new());
        assert!(empty.bad_fraction.is_nan());
        assert_eq!(empty.percentiles[0].met, None);
    }

    /// Every request within the latency: a percentile target of that latency is met (the top
    /// of the histogram bucket holding 10 ms, 10.0024 ms, said "missed").
    #[test]
    fn a_percentile_target_every_request_meets_is_met() {
        let mut h = LatencyHistogram::new();
        for _ in 0..290 {
            h.record(SimTime::from_millis(10));
        }
        let slo = Slo {
            latency: SimTime::from_millis(10),
            target: None,
            percentiles: vec![(0.99, SimTime::from_millis(10))],
        };
        let r = SloReport::new(&slo, 290, 290, 0, &h);
        assert_eq!(r.percentiles[0].observed_s, 0.01);
        assert_eq!(r.percentiles[0].met, Some(true));
    }

    #[test]
    fn percentile_names() {
        for (n, q) in PERCENTILES {
            assert_eq!(percentile_name(q), n);
        }
    }
}
