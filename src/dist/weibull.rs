//! Weibull (shape k, scale λ): the usual model for wear-out (k > 1) or infant mortality
//! (k < 1) in failure times. Sampled by inversion, λ(-ln U)^(1/k).

use super::special::ln_gamma;
use super::{DistError, Sample, check_positive};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Weibull {
    shape: f64,
    scale: f64,
}

impl Weibull {
    pub fn new(shape: f64, scale: f64) -> Result<Self, DistError> {
        check_positive("shape", shape)?;
        check_positive("scale", scale)?;
        Ok(Weibull { shape, scale })
    }

    /// Weibull with the given shape and mean: scale = mean / Γ(1 + 1/k). This is how MTTF is
    /// usually quoted.
    pub fn from_shape_mean(shape: f64, mean: f64) -> Result<Self, DistError> {
        check_positive("shape", shape)?;
        check_positive("mean", mean)?;
        Weibull::new(shape, mean / ln_gamma(1.0 + 1.0 / shape).exp())
    }

    pub fn shape(&self) -> f64 {
        self.shape
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }
}

impl Sample for Weibull {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        self.scale * (-rng.uniform_open0().ln()).powf(1.0 / self.shape)
    }
    fn mean(&self) -> f64 {
        self.scale * ln_gamma(1.0 + 1.0 / self.shape).exp()
    }
    fn variance(&self) -> f64 {
        let g1 = ln_gamma(1.0 + 1.0 / self.shape).exp();
        let g2 = ln_gamma(1.0 + 2.0 / self.shape).exp();
        self.scale * self.scale * (g2 - g1 * g1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn means_match() {
        super::super::testutil::check_mean(&Weibull::new(1.5, 2.0).unwrap(), 200_000);
        let w = Weibull::from_shape_mean(0.7, 3.0).unwrap();
        assert!((w.mean() - 3.0).abs() < 1e-9);
        super::super::testutil::check_mean(&w, 400_000);
    }
}
