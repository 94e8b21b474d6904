//! Lognormal given by its mean and coefficient of variation.
//!
//! sigma_ln^2 = ln(1 + cv^2), mu_ln = ln(mean) - sigma_ln^2 / 2 (domain.md §8: the lognormal's
//! sigma is not its CV). The normal draw is Box–Muller, written here so the stream is fixed.

use super::{DistError, Sample, check_positive};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct LogNormal {
    mean: f64,
    cv: f64,
    mu: f64,
    sigma: f64,
}

impl LogNormal {
    pub fn new(mean: f64, cv: f64) -> Result<Self, DistError> {
        check_positive("mean", mean)?;
        check_positive("cv", cv)?;
        let s2 = (1.0 + cv * cv).ln();
        Ok(LogNormal {
            mean,
            cv,
            mu: mean.ln() - s2 / 2.0,
            sigma: s2.sqrt(),
        })
    }

    pub fn cv(&self) -> f64 {
        self.cv
    }
}

/// One standard normal draw (Box–Muller, cosine branch only: simple and stream-stable).
pub(crate) fn standard_normal(rng: &mut Rng) -> f64 {
    let u1 = rng.uniform_open0();
    let u2 = rng.uniform();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

impl Sample for LogNormal {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        (self.mu + self.sigma * standard_normal(rng)).exp()
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
