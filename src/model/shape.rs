//! Time-varying arrival rates (load shapes): linear ramps between phases, a daily profile (a
//! cosine between a trough and a peak, or a table of rates per interval from the user's CSV),
//! and flash crowds (a rise to a multiple of the rate, then an exponential decay).
//!
//! The rate is λ(t) = base(t) × Π_k flash_k(t). Arrivals under it are a non-homogeneous
//! Poisson process sampled by *thinning* (P. A. W. Lewis & G. S. Shedler, "Simulation of
//! nonhomogeneous Poisson processes by thinning", Naval Research Logistics Quarterly 26(3),
//! 1979): candidates come from a homogeneous process at a rate λ̄ ≥ λ(t) and each is kept with
//! probability λ(t)/λ̄. The bound is not one figure for the whole run (a flash crowd ten times
//! the base would then waste nine candidates in ten the rest of the day) but one per *cell*:
//! time is cut at every point where a component changes its formula (a phase, a table
//! interval, a 1/96th of the daily period aligned on its peak, a flash's start, peak and every
//! half decay time), so each component is monotone inside a cell and its supremum there is the
//! larger of its values at the cell's two ends. A candidate that would cross a cell's end is
//! dropped and a fresh gap drawn from the end at the next cell's bound, which memorylessness
//! makes exact (the same argument as the step phases in `workload.rs`).
//!
//! Candidates and acceptance draws come from the `arrivals` stream, the stream the open-loop
//! gaps always used; a scenario without a shape never builds one, so its draws are unchanged.
//! The sampler keeps its own clock in seconds (f64) so that the nanosecond rounding of the
//! returned arrival times never feeds back into the process.

use crate::engine::{Rng, SimTime};

/// Cells per daily period (the cosine is monotone on each: its peak and trough fall on cell
/// boundaries because the count is even and the cells are aligned on `peak_at`).
pub const DAILY_CELLS: f64 = 96.0;
/// A flash's decay is cut into cells of half its time constant, for this many time constants;
/// after that one open cell (its bound, the value at its start, exceeds 1 by less than
/// (multiple − 1) × e^-40).
const FLASH_DECAY_CELLS: u32 = 80;

/// One change of rate in a list of phases.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Knot {
    /// Seconds from the start.
    pub at: f64,
    /// Requests per second from `at` (>= 0).
    pub rate: f64,
    /// The rate moves linearly from the previous knot's (or the initial rate at time 0) to
    /// this one's over the interval before `at`, instead of stepping at `at`.
    pub linear: bool,
}

/// The base rate, before flash crowds.
#[derive(Clone, Debug, PartialEq)]
pub enum Base {
    /// `workload.rate` and its phases, steps or linear ramps.
    Phases { rate: f64, knots: Vec<Knot> },
    /// A daily cosine: `trough + (peak − trough) × (1 + cos(2π (t − peak_at) / period)) / 2`.
    Daily {
        peak: f64,
        trough: f64,
        peak_at: f64,
        period: f64,
    },
    /// Rates per interval (from a CSV), repeating every `rates.len() × interval`.
    Table { interval: f64, rates: Vec<f64> },
}

/// A flash crowd: from `at` the rate rises linearly to `multiple` × over `rise`, then decays
/// back towards × 1 exponentially with time constant `decay`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Flash {
    pub at: f64,
    pub multiple: f64,
    pub rise: f64,
    pub decay: f64,
}

/// A load shape (`[workload.profile]`, ramps in `[workload] phases`, `[[workload.flash]]`).
#[derive(Clone, Debug, PartialEq)]
pub struct Shape {
    pub base: Base,
    pub flashes: Vec<Flash>,
}

impl Base {
    /// The next point after `t` where the formula changes (infinity: none).
    fn next_break(&self, t: f64) -> f64 {
        match self {
            Base::Phases { knots, .. } => {
                let i = knots.partition_point(|k| k.at <= t);
                knots.get(i).map_or(f64::INFINITY, |k| k.at)
            }
            Base::Daily {
                peak_at, period, ..
            } => {
                let step = period / DAILY_CELLS;
                let n = ((t - peak_at) / step).floor() + 1.0;
                let mut b = peak_at + n * step;
                if b <= t {
                    b += step; // rounding
                }
                b
            }
            Base::Table { interval, .. } => {
                let mut b = ((t / interval).floor() + 1.0) * interval;
                if b <= t {
                    b += interval;
                }
                b
            }
        }
    }

    /// The rate at `x` by the formula of the piece that holds `t` (x in [t, next_break(t)]):
    /// at a piece's end this is the left limit, which is what a supremum over the piece needs.
    fn piece_value(&self, t: f64, x: f64) -> f64 {
        match self {
            Base::Phases { rate, knots } => {
                let i = knots.partition_point(|k| k.at <= t);
                let (from_at, from_rate) = match i {
                    0 => (0.0, *rate),
                    _ => (knots[i - 1].at, knots[i - 1].rate),
                };
                match knots.get(i) {
                    Some(k) if k.linear && k.at > from_at => {
                        from_rate + (k.rate - from_rate) * (x - from_at) / (k.at - from_at)
                    }
                    _ => from_rate,
                }
            }
            Base::Daily {
                peak,
                trough,
                peak_at,
                period,
            } => {
                let phase = std::f64::consts::TAU * (x - peak_at) / period;
                trough + (peak - trough) * 0.5 * (1.0 + phase.cos())
            }
            Base::Table { interval, rates } => {
                let i = (t / interval).floor() as u64 % rates.len() as u64;
                rates[i as usize]
            }
        }
    }
}

impl Flash {
    fn next_break(&self, t: f64) -> f64 {
        if t < self.at {
            return self.at;
        }
        let peak = self.at + self.rise;
        if t < peak {
            return peak;
        }
        let half = 0.5 * self.decay;
        let k = ((t - peak) / half).floor() + 1.0;
        if k > f64::from(FLASH_DECAY_CELLS) {
            return f64::INFINITY;
        }
        let mut b = peak + k * half;
        if b <= t {
            b += half;
        }
        b
    }

    /// The factor at `x` by the formula of the piece that holds `t`.
    fn piece_value(&self, t: f64, x: f64) -> f64 {
        if t < self.at {
            return 1.0;
        }
        let peak = self.at + self.rise;
        let g = if t < peak {
            (x - self.at) / self.rise
        } else {
            (-(x - peak) / self.decay).exp()
        };
        1.0 + (self.multiple - 1.0) * g
    }
}

impl Shape {
    /// The rate at `t` (requests per second).
    pub fn rate_at(&self, t: f64) -> f64 {
        self.flashes
            .iter()
            .fold(self.base.piece_value(t, t), |r, f| r * f.piece_value(t, t))
    }

    /// The cell that starts at `t`: its end and the supremum of the rate on it.
    fn cell(&self, t: f64) -> (f64, f64) {
        let end = self
            .flashes
            .iter()
            .fold(self.base.next_break(t), |e, f| e.min(f.next_break(t)));
        let sup = |v: &dyn Fn(f64) -> f64| {
            if end.is_finite() {
                v(t).max(v(end))
            } else {
                v(t)
            }
        };
        let mut bound = sup(&|x| self.base.piece_value(t, x));
        for f in &self.flashes {
            bound *= sup(&|x| f.piece_value(t, x));
        }
        (end, bound)
    }

    /// An upper bound on the expected arrivals over [0, `until`) (the cells' bounds times their
    /// lengths) and the highest rate bound met: what the limits and the capacity figures use.
    /// Walks at most `max_cells` cells; the rest of the run is then counted at the highest
    /// bound met so far, or at the current one if higher (an over-estimate, never under).
    pub fn envelope(&self, until: f64, max_cells: usize) -> (f64, f64) {
        let (mut t, mut total, mut peak) = (0.0, 0.0, 0.0f64);
        for _ in 0..max_cells {
            if t >= until {
                return (total, peak);
            }
            let (end, bound) = self.cell(t);
            let end = end.min(until);
            peak = peak.max(bound);
            total += bound * (end - t);
            t = end;
        }
        if t < until {
            total += peak.max(self.cell(t).1) * (until - t);
            peak = peak.max(self.cell(t).1);
        }
        (total, peak)
    }
}

/// Arrivals of a [`Shape`] by thinning: the state of one run.
#[derive(Clone, Debug)]
pub struct Thinning {
    shape: Shape,
    /// The time of the last candidate or cell boundary, seconds.
    t: f64,
}

impl Thinning {
    pub fn new(shape: Shape) -> Self {
        Thinning { shape, t: 0.0 }
    }

    /// The next arrival, or None when the rate is 0 from here on for good.
    pub fn next(&mut self, rng: &mut Rng) -> Option<SimTime> {
        loop {
            let (end, bound) = self.shape.cell(self.t);
            if bound <= 0.0 {
                if !end.is_finite() {
                    return None;
                }
                self.t = end;
                continue;
            }
            let candidate = self.t + rng.exp(1.0 / bound);
            if candidate >= end {
                self.t = end;
                continue;
            }
            self.t = candidate;
            if rng.uniform() * bound < self.shape.rate_at(candidate) {
                return Some(SimTime::from_secs_f64(candidate));
            }
        }
    }

    /// The rate now (requests per second).
    pub fn rate(&self) -> f64 {
        self.shape.rate_at(self.t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phases(rate: f64, knots: &[(f64, f64, bool)]) -> Shape {
        Shape {
            base: Base::Phases {
                rate,
                knots: knots
                    .iter()
                    .map(|&(at, rate, linear)| Knot { at, rate, linear })
                    .collect(),
            },
            flashes: vec![],
        }
    }

    #[test]
    fn a_linear_ramp_moves_from_the_previous_rate() {
        let s = phases(100.0, &[(10.0, 300.0, true), (20.0, 50.0, false)]);
        assert_eq!(s.rate_at(0.0), 100.0);
        assert_eq!(s.rate_at(5.0), 200.0);
        assert_eq!(s.rate_at(10.0), 300.0);
        assert_eq!(s.rate_at(19.9), 300.0);
        assert_eq!(s.rate_at(20.0), 50.0);
        // The bound on the ramp's cell is its end value.
        assert_eq!(s.cell(5.0), (10.0, 300.0));
    }

    #[test]
    fn the_daily_cosine_peaks_and_troughs_where_asked() {
        let s = Shape {
            base: Base::Daily {
                peak: 400.0,
                trough: 40.0,
                peak_at: 72_000.0,
                period: 86_400.0,
            },
            flashes: vec![],
        };
        assert!((s.rate_at(72_000.0) - 400.0).abs() < 1e-9);
        assert!((s.rate_at(72_000.0 - 43_200.0) - 40.0).abs() < 1e-9);
        // Every cell's bound is at least the rate anywhere inside it.
        let mut t = 0.0;
        while t < 86_400.0 {
            let (end, bound) = s.cell(t);
            assert!(end > t && end - t <= 900.0 + 1e-6);
            for k in 0..=20 {
                let x = t + (end - t) * f64::from(k) / 20.0;
                assert!(s.rate_at(x.min(end - 1e-9)) <= bound * (1.0 + 1e-12));
            }
            t = end;
        }
    }

    #[test]
    fn a_flash_rises_then_decays() {
        let s = Shape {
            base: Base::Phases {
                rate: 10.0,
                knots: vec![],
            },
            flashes: vec![Flash {
                at: 100.0,
                multiple: 5.0,
                rise: 10.0,
                decay: 60.0,
            }],
        };
        assert_eq!(s.rate_at(99.0), 10.0);
        assert_eq!(s.rate_at(105.0), 30.0);
        assert!((s.rate_at(110.0) - 50.0).abs() < 1e-9);
        assert!((s.rate_at(170.0) - 10.0 * (1.0 + 4.0 / std::f64::consts::E)).abs() < 1e-9);
        assert_eq!(s.cell(0.0), (100.0, 10.0));
        assert_eq!(s.cell(100.0), (110.0, 50.0));
    }

    #[test]
    fn a_table_repeats() {
        let s = Shape {
            base: Base::Table {
                interval: 10.0,
                rates: vec![1.0, 0.0, 3.0],
            },
            flashes: vec![],
        };
        assert_eq!(s.rate_at(15.0), 0.0);
        assert_eq!(s.rate_at(25.0), 3.0);
        assert_eq!(s.rate_at(31.0), 1.0);
        let (total, peak) = s.envelope(60.0, 1000);
        assert_eq!((total, peak), (80.0, 3.0));
    }

    #[test]
    fn thinning_stops_when_the_rate_stays_zero() {
        let mut rng = Rng::new(crate::engine::StreamId::new(1, "arrivals", 0));
        let mut th = Thinning::new(phases(5.0, &[(10.0, 0.0, false)]));
        let mut n = 0;
        while let Some(t) = th.next(&mut rng) {
            assert!(t < SimTime::from_secs(10));
            n += 1;
        }
        assert!(n > 10);
    }
}
