//! Uniform on [min, max], sampled by `rand_distr::Uniform` (rand's, re-exported).

use super::{DistError, Sample, check_non_negative};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Uniform {
    min: f64,
    max: f64,
    inner: rand_distr::Uniform<f64>,
}

impl Uniform {
    pub fn new(min: f64, max: f64) -> Result<Self, DistError> {
        check_non_negative("min", min)?;
        check_non_negative("max", max)?;
        if max < min {
            return Err(DistError(format!("max ({max}) must be >= min ({min})")));
        }
        // Inclusive, so min = max (a point mass written as a range) stays valid.
        let inner = rand_distr::Uniform::new_inclusive(min, max)
            .map_err(|e| DistError(format!("uniform({min}, {max}): {e}")))?;
        Ok(Uniform { min, max, inner })
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
        rand_distr::Distribution::sample(&self.inner, rng.raw())
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
