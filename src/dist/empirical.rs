//! Empirical: resamples measured values (bootstrap), e.g. latencies exported from production.
//! The samples come from a CSV the scenario layer reads; this type never touches files.

use super::{DistError, Sample, check_non_negative};
use crate::engine::Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Empirical {
    samples: Vec<f64>,
    mean: f64,
    variance: f64,
}

impl Empirical {
    pub fn new(samples: Vec<f64>) -> Result<Self, DistError> {
        if samples.is_empty() {
            return Err(DistError(
                "an empirical distribution needs at least one sample".into(),
            ));
        }
        for (i, &s) in samples.iter().enumerate() {
            check_non_negative(&format!("sample {}", i + 1), s)?;
        }
        let n = samples.len() as f64;
        let mean = samples.iter().sum::<f64>() / n;
        let variance = samples.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
        Ok(Empirical {
            samples,
            mean,
            variance,
        })
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn scaled(&self, k: f64) -> Result<Self, DistError> {
        Empirical::new(self.samples.iter().map(|x| x * k).collect())
    }
}

impl Sample for Empirical {
    #[inline]
    fn sample(&self, rng: &mut Rng) -> f64 {
        self.samples[rng.below(self.samples.len() as u64) as usize]
    }
    fn mean(&self) -> f64 {
        self.mean
    }
    fn variance(&self) -> f64 {
        self.variance
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resamples() {
        let e = Empirical::new(vec![0.001, 0.002, 0.010]).unwrap();
        super::super::testutil::check_mean(&e, 100_000);
        assert!(Empirical::new(vec![]).is_err());
        assert!(Empirical::new(vec![-1.0]).is_err());
    }
}
