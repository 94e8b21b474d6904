//! Deterministic: always the same value. Zero means "this stage takes no time".

use super::{DistError, Sample, check_non_negative};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Deterministic {
    value: f64,
}

impl Deterministic {
    pub fn new(value: f64) -> Result<Self, DistError> {
        check_non_negative("value", value)?;
        Ok(Deterministic { value })
    }

    pub fn value(&self) -> f64 {
        self.value
    }
}

impl Sample for Deterministic {
    #[inline]
    fn sample(&self, _rng: &mut Rng) -> f64 {
        self.value
    }
    fn mean(&self) -> f64 {
        self.value
    }
    fn variance(&self) -> f64 {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant() {
        super::super::testutil::check_mean(&Deterministic::new(0.25).unwrap(), 1000);
        assert!(Deterministic::new(-1.0).is_err());
    }
}
