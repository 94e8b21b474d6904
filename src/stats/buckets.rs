//! A lean log-linear histogram of durations for a per-request hot path: the bucket layout of
//! an HDR histogram with 2048 sub-buckets (HdrHistogram's `sub_bucket_count` for 3 significant
//! digits: every value is within 1/1024 of its bucket's bounds), an exact sum for the mean and
//! the exact maximum, and nothing else.
//!
//! A record costs about 15 instructions, where the `hdrhistogram` crate's `saturating_record`
//! costs about 58 (its generic counter, `Result`, and min, max and count tracking), which
//! matters when every request that queues records a wait and every completed request its
//! latency: [`LatencyHistogram`](super::LatencyHistogram) records into one of these and makes
//! its HDR histogram from the counts when read.

use crate::engine::SimTime;

/// Sub-buckets per bucket, as a power of two: 2^11 = 2048.
const SUB_BITS: u32 = 11;
const HALF: usize = 1 << (SUB_BITS - 1);
/// Values above are counted in the top bucket (about 1.6 days in nanoseconds; the exact
/// maximum is kept apart).
const MAX_NS: u64 = (1 << 47) - 1;
/// Buckets 0..=36 cover 0..2^47: bucket 0 holds 0..2048 one by one, bucket b >= 1 the values
/// [2^(b+10), 2^(b+11)) in 1024 steps of 2^b.
const COUNTS: usize = (37 + 1) * HALF;

#[derive(Clone, Debug)]
pub struct Buckets {
    counts: Vec<u64>,
    count: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Default for Buckets {
    fn default() -> Self {
        Self::new()
    }
}

impl Buckets {
    pub fn new() -> Self {
        Buckets {
            counts: vec![0; COUNTS],
            count: 0,
            sum_ns: 0,
            max_ns: 0,
        }
    }

    /// Index of the bucket holding `ns` (HdrHistogram's `counts_index_for` with
    /// `unit_magnitude` 0).
    #[inline(always)]
    fn index(ns: u64) -> usize {
        let v = ns.min(MAX_NS);
        // Leading zeros of the top bit above the sub-bucket range: 0 for v < 2048.
        let bucket = (64 - SUB_BITS) - (v | ((1 << SUB_BITS) - 1)).leading_zeros();
        ((bucket as usize) << (SUB_BITS - 1)) + (v >> bucket) as usize
    }

    /// The lowest value that falls in bucket `index`.
    fn lowest_in(index: usize) -> u64 {
        if index == 0 {
            0
        } else {
            Self::highest_in(index - 1) + 1
        }
    }

    /// The highest value that falls in bucket `index`.
    fn highest_in(index: usize) -> u64 {
        if index < 2 * HALF {
            return index as u64;
        }
        let bucket = (index >> (SUB_BITS - 1)) - 1;
        let sub = ((index & (HALF - 1)) + HALF) as u64;
        ((sub + 1) << bucket) - 1
    }

    #[inline(always)]
    pub fn record(&mut self, d: SimTime) {
        let ns = d.as_nanos();
        self.counts[Self::index(ns)] += 1;
        self.count += 1;
        self.sum_ns += u128::from(ns);
        self.max_ns = self.max_ns.max(ns);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact sum of the recorded values, in ns.
    pub fn sum_ns(&self) -> u128 {
        self.sum_ns
    }

    /// The exact maximum recorded, in ns.
    pub fn max_ns(&self) -> u64 {
        self.max_ns
    }

    /// (lowest value of the bucket in ns, count) of every bucket that holds values, lowest
    /// first: what another histogram of the same layout needs to hold the same counts.
    pub fn filled(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        (self.counts.iter().enumerate())
            .filter(|&(_, &c)| c > 0)
            .map(|(i, &c)| (Self::lowest_in(i), c))
    }

    /// Adds another histogram's values.
    pub fn merge(&mut self, other: &Buckets) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum_ns += other.sum_ns;
        self.max_ns = self.max_ns.max(other.max_ns);
    }

    /// Exact mean in seconds (0 when empty).
    pub fn mean_secs(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count as f64 / 1e9
        }
    }

    pub fn max_secs(&self) -> f64 {
        self.max_ns as f64 / 1e9
    }

    /// The value of rank `rank` (1-based, nearest rank) in seconds: the top of its bucket (as
    /// HdrHistogram's `value_at_quantile`), never above the exact maximum; 0 when empty.
    pub fn at_rank_secs(&self, rank: u64) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        let rank = rank.clamp(1, self.count);
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::highest_in(i).min(self.max_ns) as f64 / 1e9;
            }
        }
        self.max_secs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_tile_the_range_within_a_thousandth() {
        // Every bucket starts one past the previous one's top, and is at most 1/1024 wide.
        let mut low = 0u64;
        for i in 0..COUNTS {
            let high = Buckets::highest_in(i);
            assert_eq!(Buckets::index(low), i, "low end of {i}");
            assert_eq!(Buckets::index(high), i, "high end of {i}");
            assert!(high - low <= low / 1024, "bucket {i}: {low}..{high}");
            low = high + 1;
        }
        assert_eq!(low, MAX_NS + 1);
        assert_eq!(Buckets::index(u64::MAX), COUNTS - 1);
    }

    #[test]
    fn ranks_mean_and_max() {
        let mut b = Buckets::new();
        for i in 1..=1000u64 {
            b.record(SimTime::from_micros(i));
        }
        assert!((b.mean_secs() - 500.5e-6).abs() < 1e-15);
        assert!((b.at_rank_secs(500) - 500e-6).abs() <= 500e-6 / 1024.0);
        assert!((b.at_rank_secs(990) - 990e-6).abs() <= 990e-6 / 1024.0);
        assert_eq!(b.at_rank_secs(1000), 1e-3);
        assert_eq!(Buckets::new().at_rank_secs(1), 0.0);
    }
}
