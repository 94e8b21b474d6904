//! Lognormal given by its mean and coefficient of variation.
//!
//! sigma_ln^2 = ln(1 + cv^2), mu_ln = ln(mean) - sigma_ln^2 / 2 (domain.md §8: the lognormal's
//! sigma is not its CV). Sampled by `rand_distr::LogNormal` (a ziggurat normal, exponentiated).

use super::{DistError, Sample, check_positive};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct LogNormal {
    mean: f64,
    cv: f64,
    inner: rand_distr::LogNormal<f64>,
}

impl LogNormal {
    pub fn new(mean: f64, cv: f64) -> Result<Self, DistError> {
        check_positive("mean", mean)?;
        check_positive("cv", cv)?;
        let s2 = (1.0 + cv * cv).ln();
        let inner = rand_distr::LogNormal::new(mean.ln() - s2 / 2.0, s2.sqrt())
            .map_err(|e| DistError(format!("mean {mean} with cv {cv}: {e}")))?;
        Ok(LogNormal { mean, cv, inner })
    }

    pub fn cv(&self) -> f64 {
        self.cv
    }
}

/// One standard normal draw (Box–Muller, cosine branch only: simple and stream-stable).
impl Sample for LogNormal {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        rand_distr::Distribution::sample(&self.inner, rng.raw())
    }
    fn mean(&self) -> f64 {
        self.mean
    }
    fn variance(&self) -> f64 {
        (self.mean * self.cv).powi(2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_matches() {
        super::super::testutil::check_mean(&LogNormal::new(0.02, 0.5).unwrap(), 200_000);
        assert!(LogNormal::new(0.02, 0.0).is_err());
    }
}
