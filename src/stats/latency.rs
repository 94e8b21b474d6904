//! Latency distribution in constant memory: an HDR histogram (3 significant digits) plus an
//! exact sum for the mean, so the mean never carries the histogram's bucket error.
//!
//! A request's latency is recorded in [`Buckets`], which has the bucket layout of this HDR
//! histogram (`hdrhistogram`'s, lowest 1, 3 significant digits: 2048 sub-buckets) at about 15
//! instructions a record, where the crate's `saturating_record` took about 58 (its generic
//! counter, `Result`, and min, max and count tracking): one record per completed request, 4%
//! of the M/M/1 stack's instructions per request (issue 13). The HDR histogram is made from
//! the counts the first time it is read (quantiles, the CDF), with one `record_n` per filled
//! bucket, so it holds exactly the counts recording each value in it would have given.

use super::buckets::Buckets;
use crate::engine::SimTime;
use hdrhistogram::Histogram;
use std::sync::OnceLock;

/// Highest trackable latency: one day. Longer values are clamped (and counted as such).
const MAX_NS: u64 = 86_400 * 1_000_000_000;

#[derive(Debug)]
pub struct LatencyHistogram {
    counts: Buckets,
    sum_sq_s: f64,
    /// The HDR histogram of `counts`, made when first read; a record drops it.
    hdr: OnceLock<Histogram<u64>>,
}

/// A copy leaves the HDR histogram behind (made again if the copy is read): copied, it would
/// double the memory of every run's results that keeps a histogram.
impl Clone for LatencyHistogram {
    fn clone(&self) -> Self {
        LatencyHistogram {
            counts: self.counts.clone(),
            sum_sq_s: self.sum_sq_s,
            hdr: OnceLock::new(),
        }
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        Self::new()
    }
}

impl LatencyHistogram {
    pub fn new() -> Self {
        LatencyHistogram {
            counts: Buckets::new(),
            sum_sq_s: 0.0,
            hdr: OnceLock::new(),
        }
    }

    #[inline]
    pub fn record(&mut self, d: SimTime) {
        if self.hdr.get().is_some() {
            self.hdr = OnceLock::new();
        }
        self.counts.record(d);
        let s = d.as_secs_f64();
        self.sum_sq_s += s * s;
    }

    /// The HDR histogram of the values recorded so far. 1 us resolution at the bottom is far
    /// below anything the model produces except zero-work stages; values below 1 ns count as
    /// 1 ns, values above [`MAX_NS`] as `MAX_NS` (each bucket of `counts` lies within one
    /// bucket of the HDR histogram, so clamping its lowest value clamps all of it alike).
    fn hdr(&self) -> &Histogram<u64> {
        self.hdr.get_or_init(|| {
            let mut h = Histogram::new_with_bounds(1, MAX_NS, 3).expect("static bounds are valid");
            for (low, n) in self.counts.filled() {
                // Clamped into range: cannot fail.
                let _ = h.record_n(low.clamp(1, MAX_NS), n);
            }
            h
        })
    }

    pub fn count(&self) -> u64 {
        self.counts.count()
    }

    /// Exact mean in seconds (0 when empty).
    pub fn mean_secs(&self) -> f64 {
        self.counts.mean_secs()
    }

    /// Sample standard deviation in seconds.
    pub fn std_secs(&self) -> f64 {
        if self.count() < 2 {
            return 0.0;
        }
        let n = self.count() as f64;
        let m = self.mean_secs();
        ((self.sum_sq_s - n * m * m) / (n - 1.0)).max(0.0).sqrt()
    }

    pub fn max_secs(&self) -> f64 {
        self.counts.max_secs()
    }

    /// Quantile q in [0, 1], in seconds, to the histogram's 3 significant digits: the top of
    /// the bucket holding the nearest rank (HdrHistogram's `value_at_quantile`), never above
    /// the exact maximum. No quantile exceeds the largest value; the top of its bucket can
    /// (every request taking exactly 10 ms gave a p99 of 10.0024 ms beside a max of 10 ms, and
    /// an `[slo]` p99 target of 10 ms "missed" with every request within it), so it is capped
    /// there, as [`Buckets::at_rank_secs`] caps a wait's.
    pub fn quantile_secs(&self, q: f64) -> f64 {
        if self.count() == 0 {
            return 0.0;
        }
        self.hdr().value_at_quantile(q).min(self.counts.max_ns()) as f64 / 1e9
    }

    /// Fraction of recorded values above `t`.
    pub fn fraction_above(&self, t: SimTime) -> f64 {
        if self.count() == 0 {
            return 0.0;
        }
        let ns = t.as_nanos().clamp(1, MAX_NS);
        let hdr = self.hdr();
        let below = hdr.count_between(1, ns);
        1.0 - below as f64 / hdr.len() as f64
    }

    /// Adds another histogram's values (for merging per-replica or per-run results).
    pub fn merge(&mut self, other: &LatencyHistogram) {
        self.hdr = OnceLock::new();
        self.counts.merge(&other.counts);
        self.sum_sq_s += other.sum_sq_s;
    }

    /// (upper value in seconds, cumulative fraction) points for a CDF plot, one per
    /// histogram step at `ticks` per half-decade resolution.
    pub fn cdf_points(&self) -> Vec<(f64, f64)> {
        let hdr = self.hdr();
        let total = hdr.len();
        if total == 0 {
            return vec![];
        }
        let mut out = vec![];
        let mut seen = 0u64;
        for v in hdr.iter_log(1000, 1.1) {
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

    /// A quantile is never above the largest value recorded, even when the top of its bucket
    /// is (10 ms is in the bucket 9.9983-10.0024 ms).
    #[test]
    fn quantiles_never_exceed_the_maximum() {
        let mut h = LatencyHistogram::new();
        for _ in 0..290 {
            h.record(SimTime::from_millis(10));
        }
        for q in [1e-9, 0.5, 0.99, 0.999, 1.0] {
            assert_eq!(h.quantile_secs(q), 0.01, "q {q}");
        }
        assert_eq!(h.max_secs(), 0.01);
        let mut z = LatencyHistogram::new();
        z.record(SimTime::ZERO);
        assert_eq!(
            z.quantile_secs(0.5),
            0.0,
            "a zero is 0, not the 1 ns it is counted as"
        );
    }

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

    /// What the HDR histogram made from the counts answers is what it answers when each value
    /// is recorded in it, as this type did before it kept its own counts: quantiles, fractions
    /// above, CDF points, after a merge and after records that follow a read.
    #[test]
    fn answers_as_an_hdr_histogram_fed_each_value() {
        let direct = |values: &[u64]| {
            let mut h = Histogram::<u64>::new_with_bounds(1, MAX_NS, 3).unwrap();
            for &v in values {
                h.saturating_record(v.clamp(1, MAX_NS));
            }
            h
        };
        // Spread over every magnitude, bucket edges, zero, and beyond the top.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut values: Vec<u64> = (0..50_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> (x % 40)) % (MAX_NS / 1000 * 1001)
            })
            .collect();
        values.extend([
            0,
            1,
            2047,
            2048,
            2049,
            4095,
            4096,
            MAX_NS - 1,
            MAX_NS,
            MAX_NS + 1,
            u64::MAX / 4,
        ]);
        let (a, b) = values.split_at(30_000);
        let mut h = LatencyHistogram::new();
        a.iter().for_each(|&v| h.record(SimTime::from_nanos(v)));
        let early = h.quantile_secs(0.5); // read once, then recorded into again
        let mut other = LatencyHistogram::new();
        b.iter().for_each(|&v| other.record(SimTime::from_nanos(v)));
        h.merge(&other);
        let d = direct(&values);
        assert_eq!(early, direct(a).value_at_quantile(0.5) as f64 / 1e9);
        let max = *values.iter().max().unwrap();
        for q in [
            0.0, 1e-6, 0.001, 0.1, 0.25, 0.5, 0.9, 0.99, 0.999, 0.999_99, 1.0,
        ] {
            assert_eq!(
                h.quantile_secs(q),
                d.value_at_quantile(q).min(max) as f64 / 1e9,
                "q {q}"
            );
        }
        for t in [0, 1, 5_000, 1_000_000, 123_456_789, MAX_NS, u64::MAX / 2] {
            let ns = t.clamp(1, MAX_NS);
            let want = 1.0 - d.count_between(1, ns) as f64 / d.len() as f64;
            assert_eq!(h.fraction_above(SimTime::from_nanos(t)), want, "t {t}");
        }
        let want: Vec<(f64, f64)> = d
            .iter_log(1000, 1.1)
            .scan(0, |seen, v| {
                *seen += v.count_since_last_iteration();
                Some((
                    v.value_iterated_to() as f64 / 1e9,
                    *seen as f64 / d.len() as f64,
                ))
            })
            .collect();
        assert_eq!(h.cdf_points(), want);
        assert_eq!(h.clone().cdf_points(), want, "a copy, made again");
        assert_eq!(h.count(), values.len() as u64);
        assert_eq!(h.max_secs(), *values.iter().max().unwrap() as f64 / 1e9);
    }
}
