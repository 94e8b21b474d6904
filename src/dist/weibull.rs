//! Weibull (shape k, scale λ): the usual model for wear-out (k > 1) or infant mortality
//! (k < 1) in failure times. Sampled by `rand_distr::Weibull` (inversion, λ(-ln U)^(1/k)).

use super::special::ln_gamma;
use super::{DistError, Sample, check_positive};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Weibull {
    shape: f64,
    scale: f64,
    inner: rand_distr::Weibull<f64>,
}

/// Smallest shape accepted. The mean and the variance involve Γ(1 + 1/k) and Γ(1 + 2/k), which
/// overflow a double below k ≈ 0.0117; failure-time data has shapes from about 0.3 (infant
/// mortality) to 5 (wear-out).
pub const MIN_SHAPE: f64 = 0.02;

impl Weibull {
    pub fn new(shape: f64, scale: f64) -> Result<Self, DistError> {
        check_shape(shape)?;
        check_positive("scale", scale)?;
        let inner = rand_distr::Weibull::new(scale, shape)
            .map_err(|e| DistError(format!("shape {shape}, scale {scale}: {e}")))?;
        Ok(Weibull {
            shape,
            scale,
            inner,
        })
    }

    /// Weibull with the given shape and mean: scale = mean / Γ(1 + 1/k). This is how MTTF is
    /// usually quoted.
    pub fn from_shape_mean(shape: f64, mean: f64) -> Result<Self, DistError> {
        check_shape(shape)?;
        check_positive("mean", mean)?;
        let scale = mean / ln_gamma(1.0 + 1.0 / shape).exp();
        if !(scale.is_finite() && scale > 0.0) {
            return Err(DistError(format!(
                "a mean of {mean} s with shape {shape} needs a scale of {scale:e} s, which a \
                 double cannot hold: give a larger mean or shape"
            )));
        }
        Weibull::new(shape, scale)
    }

    pub fn shape(&self) -> f64 {
        self.shape
    }

    pub fn scale(&self) -> f64 {
        self.scale
    }
}

fn check_shape(shape: f64) -> Result<(), DistError> {
    check_positive("shape", shape)?;
    if shape < MIN_SHAPE {
        return Err(DistError(format!(
            "shape must be at least {MIN_SHAPE} (below, the mean and variance overflow: \
             Γ(1 + 2/shape) is beyond a double), got {shape}"
        )));
    }
    Ok(())
}

impl Sample for Weibull {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        // rand_distr: scale · (−ln U)^(1/shape), U in (0, 1] (inversion).
        rand_distr::Distribution::sample(&self.inner, rng.raw())
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
    fn a_tiny_shape_is_refused_for_what_it_is() {
        let e = Weibull::from_shape_mean(1e-3, 1e-3).unwrap_err();
        assert!(e.0.contains("shape must be at least"), "{}", e.0);
        assert!(!e.0.contains("scale"), "{}", e.0);
        assert!(Weibull::new(0.01, 1.0).is_err());
        let w = Weibull::from_shape_mean(MIN_SHAPE, 1.0).unwrap();
        assert!(w.mean().is_finite() && w.variance().is_finite());
    }

    #[test]
    fn means_match() {
        super::super::testutil::check_mean(&Weibull::new(1.5, 2.0).unwrap(), 200_000);
        let w = Weibull::from_shape_mean(0.7, 3.0).unwrap();
        assert!((w.mean() - 3.0).abs() < 1e-9);
        super::super::testutil::check_mean(&w, 400_000);
    }
}
