//! Time-weighted average of a piecewise-constant integer quantity (busy servers, queue
//! length, requests in the system), integrated exactly in integer nanoseconds.

use crate::engine::SimTime;

#[derive(Clone, Debug, Default)]
pub struct TimeAverage {
    value: u64,
    last: SimTime,
    start: SimTime,
    area: u128,
    max: u64,
}

impl TimeAverage {
    pub fn new() -> Self {
        Self::default()
    }

    /// The current value.
    #[inline]
    pub fn value(&self) -> u64 {
        self.value
    }

    /// Sets the value at time `now` (>= the last update).
    #[inline]
    pub fn set(&mut self, now: SimTime, value: u64) {
        self.area += self.value as u128 * (now - self.last).as_nanos() as u128;
        self.last = now;
        self.value = value;
        if value > self.max {
            self.max = value;
        }
    }

    #[inline]
    pub fn add(&mut self, now: SimTime, delta: i64) {
        let v = (self.value as i64 + delta).max(0) as u64;
        self.set(now, v);
    }

    /// Forgets the history before `now` (end of warm-up); the current value carries over.
    pub fn reset(&mut self, now: SimTime) {
        self.set(now, self.value);
        self.area = 0;
        self.start = now;
        self.max = self.value;
    }

    /// Average over [start, now].
    pub fn mean(&self, now: SimTime) -> f64 {
        let span = (now - self.start).as_nanos();
        if span == 0 {
            return self.value as f64;
        }
        let area = self.area + self.value as u128 * (now - self.last).as_nanos() as u128;
        area as f64 / span as f64
    }

    pub fn max(&self) -> u64 {
        self.max
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrates_steps() {
        let mut t = TimeAverage::new();
        t.set(SimTime(0), 2);
        t.set(SimTime(10), 4);
        assert!((t.mean(SimTime(20)) - 3.0).abs() < 1e-12);
        t.reset(SimTime(20));
        t.add(SimTime(30), -4);
        assert!((t.mean(SimTime(40)) - 2.0).abs() < 1e-12);
        assert_eq!(t.max(), 4);
    }
}
