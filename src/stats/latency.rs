//! Latency distribution in constant memory: an HDR histogram (3 significant digits) plus an
//! exact sum for the mean, so the mean never carries the histogram's bucket error.

use crate::engine::SimTime;
use hdrhistogram::Histogram;

/// Highest trackable latency: one day. Longer values are clamped (and counted as such).
const MAX_NS: u64 = 86_400 * 1_000_000_000;

#[derive(Clone, Debug)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
    sum_ns: u128,
    sum_sq_s: f64,
    count: u64,
    max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            // 1 us resolution at the bottom is far below anything the model produces except
            // zero-work stages; values below 1 ns are recorded as 1 ns.
            hist: Histogram::new_with_bounds(1, MAX_NS, 3).expect("static bounds are valid"),
            sum_ns: 0,
            sum_sq_s: 0.0,
            count: 0,
            max_ns: 0,
        }
    }

    #[inline]
    pub fn record(&mut self, d: SimTime) {
        let ns = d.as_nanos().clamp(1, MAX_NS);
        // `saturating_record` cannot fail: the value is clamped into range above.
        self.hist.saturating_record(ns);
        self.sum_ns += d.as_nanos() as u128;
        let s = d.as_secs_f64();
        self.sum_sq_s += s * s;
        self.count += 1;
        self.max_ns = self.max_ns.max(d.as_nanos());
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean in seconds (0 when empty).
    pub fn mean_secs(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count as f64 / 1e9
        }
    }

    /// Sample standard deviation in seconds.
    pub fn std_secs(&self) -> f64 {
        if self.count < 2 {
            return 0.0;
        }
        let n = self.count as f64;
        let m = self.mean_secs();
        ((self.sum_sq_s - n * m * m) / (n - 1.0)).max(0.0).sqrt()
    }

    pub fn max_secs(&self) -> f64 {
        self.max_ns as f64 / 1e9
    }

    /// Quantile q in [0, 1], in seconds, to the histogram's 3 significant digits.
    pub fn quantile_secs(&self, q: f64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        self.hist.value_at_quantile(q) as f64 / 1e9
    }

    /// Fraction of recorded values above `t`.
    pub fn fraction_above(&self, t: SimTime) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let ns = t.as_nanos().clamp(1, MAX_NS);
        let below = self.hist.count_between(1, ns);
        1.0 - below as f64 / self.hist.len() as f64
    }

    /// Adds another histogram's values (for merging per-replica or per-run results).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        // Same bounds on both sides, so `add` cannot fail.
        let _ = self.hist.add(&other.hist);
        self.sum_ns += other.sum_ns;
        self.sum_sq_s += other.sum_sq_s;
        self.count += other.count;
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// (upper value in seconds, cumulative fraction) points for a CDF plot, one per
    /// histogram step at `ticks` per half-decade resolution.
    pub fn cdf_points(&self) -> Vec<(f64, f64)> {
        let total = self.hist.len();
        if total == 0 {
            return vec![];
        }
        let mut out = vec![];
        let mut seen = 0u64;
        for v in self.hist.iter_log(1000, 1.1) {
            seen += v.count_since_last_iteration();
            out.push((
                v.value_iterated_to() as f64 / 1e9,
                seen as f64 / total as f64,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_and_quantiles() {
        let mut h = LatencyHistogram::new();
        for i in 1..=1000u64 {
            h.record(SimTime::from_micros(i));
        }
        assert!((h.mean_secs() - 500.5e-6).abs() < 1e-12);
        assert!((h.quantile_secs(0.5) - 500e-6).abs() < 1e-6);
        assert!((h.quantile_secs(0.99) - 990e-6).abs() < 2e-6);
        assert!((h.fraction_above(SimTime::from_micros(900)) - 0.1).abs() < 0.002);
        let mut g = LatencyHistogram::new();
        g.merge(&h);
        assert_eq!(g.count(), 1000);
    }
}
