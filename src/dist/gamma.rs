//! Gamma (shape k, scale θ); Erlang-k is the integer-shape case. Sampled by `rand_distr::Gamma`:
//! Marsaglia–Tsang (2000) on a ziggurat normal, with the boost Γ(k) = Γ(k+1) U^(1/k) for
//! shape < 1 and an exponential for shape 1.

use super::{DistError, Sample, check_positive};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Gamma {
    shape: f64,
    scale: f64,
    inner: rand_distr::Gamma<f64>,
}

impl Gamma {
    pub fn new(shape: f64, scale: f64) -> Result<Self, DistError> {
        check_positive("shape", shape)?;
        check_positive("scale", scale)?;
        let inner = rand_distr::Gamma::new(shape, scale)
            .map_err(|e| DistError(format!("shape {shape}, scale {scale}: {e}")))?;
        Ok(Gamma {
            shape,
            scale,
            inner,
        })
    }

    /// Gamma with the given mean and coefficient of variation: shape = 1/cv², scale = mean·cv².
    pub fn from_mean_cv(mean: f64, cv: f64) -> Result<Self, DistError> {
        check_positive("mean", mean)?;
        check_positive("cv", cv)?;
        Gamma::new(1.0 / (cv * cv), mean * cv * cv)
    }

    /// Erlang-k with the given mean: k exponential phases of mean mean/k.
    pub fn erlang(k: u32, mean: f64) -> Result<Self, DistError> {
        if k == 0 {
            return Err(DistError("k must be an integer >= 1".into()));
        }
        check_positive("mean", mean)?;
        Gamma::new(k as f64, mean / k as f64)
    }

    pub fn shape(&self) -> f64 {
        self.shape
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl Sample for Gamma {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        rand_distr::Distribution::sample(&self.inner, rng.raw())
    }
    fn mean(&self) -> f64 {
        self.shape * self.scale
    }
    fn variance(&self) -> f64 {
        self.shape * self.scale * self.scale
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_match() {
        super::super::testutil::check_mean(&Gamma::erlang(2, 0.01).unwrap(), 200_000);
        super::super::testutil::check_mean(&Gamma::from_mean_cv(0.01, 2.0).unwrap(), 400_000);
        super::super::testutil::check_mean(&Gamma::new(7.5, 0.3).unwrap(), 100_000);
        assert!(Gamma::erlang(0, 1.0).is_err());
    }
}
