//! Uniform on [min, max].

use super::{DistError, Sample, check_non_negative};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Uniform {
    min: f64,
    max: f64,
}

impl Uniform {
    pub fn new(min: f64, max: f64) -> Result<Self, DistError> {
        check_non_negative("min", min)?;
        check_non_negative("max", max)?;
        if max < min {
            return Err(DistError(format!("max ({max}) must be >= min ({min})")));
        }
        Ok(Uniform { min, max })
    }

    pub fn min(&self) -> f64 {
        self.min
    }

    pub fn max(&self) -> f64 {
        self.max
    }
}

impl Sample for Uniform {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        self.min + (self.max - self.min) * rng.uniform()
    }
    fn mean(&self) -> f64 {
        0.5 * (self.min + self.max)
    }
    fn variance(&self) -> f64 {
        let w = self.max - self.min;
        w * w / 12.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_matches() {
        super::super::testutil::check_mean(&Uniform::new(0.001, 0.003).unwrap(), 100_000);
        assert!(Uniform::new(2.0, 1.0).is_err());
    }
}
