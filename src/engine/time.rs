//! Simulated time as an integer number of nanoseconds.
//!
//! Integer time makes ordering and equality exact, so results never depend on float rounding
//! (STYLE lesson 4). Conversions to and from seconds happen only at the edges.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point in simulated time, or a span of it, in nanoseconds since the start of the run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SimTime(pub u64);

impl SimTime {
    pub const ZERO: SimTime = SimTime(0);
    pub const MAX: SimTime = SimTime(u64::MAX);

    pub const fn from_nanos(ns: u64) -> Self {
        SimTime(ns)
    }

    pub const fn from_micros(us: u64) -> Self {
        SimTime(us * 1_000)
    }

    pub const fn from_millis(ms: u64) -> Self {
        SimTime(ms * 1_000_000)
    }

    pub const fn from_secs(s: u64) -> Self {
        SimTime(s * 1_000_000_000)
    }

    /// Converts seconds to the nearest nanosecond, saturating: negative or NaN gives zero and
    /// values beyond ~584 years give [`SimTime::MAX`].
    ///
    /// Every sampled duration passes here, so it avoids `f64::round`, which on the baseline
    /// x86-64 target is a library call (no SSE4.1 `roundsd`; 2.6% of an M/M/1 run's
    /// instructions), and rounds with one addition and one truncation (issue 13):
    ///
    /// - For 0.5 <= x < 2^52, `(x + 0.5)` truncated is `x.round()` exactly. Say
    ///   2^k <= x < 2^(k+1) (-1 <= k <= 51): x is a multiple of its ulp u = 2^(k-52) <= 1/2,
    ///   and so is 0.5, so the exact sum s is a multiple of u. Below 2^(k+1) that is
    ///   representable: no rounding at all. At or above 2^(k+1) the spacing is 2u and s may
    ///   round up by u, but s < 2^(k+1) + 1/2 and u <= 1/2, so the rounded sum stays below
    ///   the integer 2^(k+1) + 1 and truncates to the same integer as s. Halves go up, as
    ///   `round`'s do (away from zero, and x > 0).
    /// - For 2^52 <= x < 2^63, x is a whole number: truncation is exact.
    ///
    /// Below 2^63 ns (292 years: every duration a run draws) the conversion goes through
    /// `i64`, one instruction (`cvttsd2si`), where `u64`'s takes a compare, a subtraction and
    /// a select on baseline x86-64; the values are the same. A unit test compares the whole
    /// function with `f64::round` on edge cases and ten million random values.
    #[inline]
    pub fn from_secs_f64(s: f64) -> Self {
        /// 2^52 and 2^63 as f64s (exact).
        const WHOLE_FROM: f64 = 4_503_599_627_370_496.0;
        const I64_END: f64 = 9_223_372_036_854_775_808.0;
        let x = s * 1e9;
        if x.is_nan() || x < 0.5 {
            SimTime(0)
        } else if x < WHOLE_FROM {
            // SAFETY: 1 <= x + 0.5 < 2^52 + 1 and not NaN, so its truncation is a valid i64.
            SimTime(unsafe { (x + 0.5).to_int_unchecked::<i64>() } as u64)
        } else if x < I64_END {
            // SAFETY: 2^52 <= x < 2^63, so its truncation is a valid i64 (and exact).
            SimTime(unsafe { x.to_int_unchecked::<i64>() } as u64)
        } else if x >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            let n = x as u64;
            SimTime(n + u64::from(x - n as f64 >= 0.5))
        }
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    pub fn as_secs_f64(self) -> f64 {
        // Division, not a multiplication by 1e-9 (which is inexact): whole values stay whole.
        self.0 as f64 / 1e9
    }

    pub const fn saturating_sub(self, other: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(other.0))
    }
}

impl Add for SimTime {
    type Output = SimTime;
    #[inline]
    fn add(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for SimTime {
    #[inline]
    fn add_assign(&mut self, rhs: SimTime) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for SimTime {
    type Output = SimTime;
    #[inline]
    fn sub(self, rhs: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(rhs.0))
    }
}

impl fmt::Display for SimTime {
    /// Human form with the largest unit that keeps the value >= 1 (`1.5s`, `250ms`, `40us`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns >= 1_000_000_000 {
            write!(f, "{}s", trim(ns as f64 / 1e9))
        } else if ns >= 1_000_000 {
            write!(f, "{}ms", trim(ns as f64 / 1e6))
        } else if ns >= 1_000 {
            write!(f, "{}us", trim(ns as f64 / 1e3))
        } else {
            write!(f, "{ns}ns")
        }
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old definition, kept as the reference for the rounding without `f64::round`.
    fn by_round(s: f64) -> SimTime {
        let ns = (s * 1e9).round();
        if ns.is_nan() || ns <= 0.0 {
            SimTime(0)
        } else if ns >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            SimTime(ns as u64)
        }
    }

    #[test]
    fn rounding_is_f64_round_exactly() {
        let mut edges = vec![
            0.0,
            -0.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            5e-10,
            4.999999999e-10,
            1.5e-9,
            2.5e-9,
            1e10,
            1.8e10,
            1.9e10,
            9.007199254740993e6,
            f64::from_bits(0.5f64.to_bits() - 1) * 1e-9,
        ];
        for k in 0..64 {
            let x = (1u64 << k) as f64;
            for d in [-0.5, 0.5, 0.0, 1.5, -1.5] {
                edges.push((x + d) * 1e-9);
                edges.push(f64::from_bits((x + d).to_bits() + 1) * 1e-9);
                edges.push(f64::from_bits((x + d).to_bits().saturating_sub(1)) * 1e-9);
            }
        }
        for k in 0..64 {
            // Around every power of two and every half above it, in nanoseconds.
            let x = (1u64 << k) as f64;
            for y in [x, x + 0.5, x - 0.5, x * 1.5, x + 1.0] {
                for b in y.to_bits().saturating_sub(3)..=y.to_bits() + 3 {
                    edges.push(f64::from_bits(b) / 1e9);
                    edges.push(f64::from_bits(b) * 1e-9);
                }
            }
        }
        let mut r = crate::engine::Rng::new(crate::engine::StreamId::new(5, "round", 0));
        for _ in 0..200_000 {
            // Seconds over many magnitudes, and values just around half a nanosecond.
            let e = r.below(30) as i32 - 12;
            edges.push(r.uniform() * 10f64.powi(e));
            edges.push((r.below(1 << 40) as f64 + 0.5) * 1e-9);
        }
        for s in edges {
            assert_eq!(SimTime::from_secs_f64(s), by_round(s), "{s:e}");
        }
    }

    /// Ten million random values: gaps and service times (1 ns to 10^4 s, log-uniform),
    /// raw bit patterns of positive doubles, and values a few ulps from n + 1/2 ns.
    #[test]
    fn rounding_is_f64_round_on_ten_million_random_values() {
        let mut r = crate::engine::Rng::new(crate::engine::StreamId::new(6, "round", 0));
        for _ in 0..10_000_000 / 3 {
            let s = 10f64.powf(r.uniform() * 13.0 - 9.0);
            assert_eq!(SimTime::from_secs_f64(s), by_round(s), "{s:e}");
            let s = f64::from_bits(r.next_u64() >> 1);
            assert_eq!(SimTime::from_secs_f64(s), by_round(s), "{s:e}");
            let half = (r.below(1 << 53) as f64 + 0.5) * 1e-9;
            let s = f64::from_bits((half.to_bits() + r.below(7)).saturating_sub(3));
            assert_eq!(SimTime::from_secs_f64(s), by_round(s), "{s:e}");
        }
    }

    #[test]
    fn conversions_round_trip() {
        assert_eq!(SimTime::from_secs_f64(1.5).as_nanos(), 1_500_000_000);
        assert_eq!(SimTime::from_secs_f64(-1.0), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(f64::NAN), SimTime::ZERO);
        assert_eq!(SimTime::from_secs_f64(1e300), SimTime::MAX);
        assert_eq!(SimTime::from_millis(250).to_string(), "250ms");
        assert_eq!(SimTime::from_micros(1500).to_string(), "1.5ms");
    }

    #[test]
    fn arithmetic_saturates() {
        assert_eq!(SimTime::MAX + SimTime(1), SimTime::MAX);
        assert_eq!(SimTime(1) - SimTime(5), SimTime::ZERO);
    }
}
