//! Exponential: memoryless; the M in M/M/1. Sampled by `rand_distr`'s ziggurat
//! (`Exp1`, through [`Rng::exp`]), scaled by the mean.

use super::{DistError, Sample, check_positive};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Exponential {
    mean: f64,
}

impl Exponential {
    pub fn new(mean: f64) -> Result<Self, DistError> {
        check_positive("mean", mean)?;
        Ok(Exponential { mean })
    }
}

impl Sample for Exponential {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        rng.exp(self.mean)
    }
    fn mean(&self) -> f64 {
        self.mean
    }
    fn variance(&self) -> f64 {
        self.mean * self.mean
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_matches() {
        super::super::testutil::check_mean(&Exponential::new(0.01).unwrap(), 200_000);
        assert!(Exponential::new(0.0).is_err());
        assert!(Exponential::new(f64::NAN).is_err());
    }
}
