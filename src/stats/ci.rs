//! Means with 95% confidence intervals over independent replications (Student t).

use serde::Serialize;

/// A sample mean with its 95% confidence half-width.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
pub struct MeanCi {
    pub mean: f64,
    /// Half-width of the 95% interval; 0 with fewer than 2 observations.
    pub half_width: f64,
    pub n: usize,
}

impl MeanCi {
    pub fn from_samples(xs: &[f64]) -> MeanCi {
        let n = xs.len();
        if n == 0 {
            return MeanCi {
                mean: f64::NAN,
                half_width: f64::NAN,
                n,
            };
        }
        let mean = mean_of(xs.iter().sum::<f64>(), n, common_value(xs));
        if n < 2 {
            return MeanCi {
                mean,
                half_width: 0.0,
                n,
            };
        }
        let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1) as f64;
        MeanCi {
            mean,
            half_width: student_t_975(n - 1) * (var / n as f64).sqrt(),
            n,
        }
    }

    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }

    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }

    pub fn contains(&self, x: f64) -> bool {
        self.low() <= x && x <= self.high()
    }
}

/// The value every sample has, bit for bit, if they all have one (a figure every run gives
/// alike: a target, a deterministic run).
pub fn common_value(xs: &[f64]) -> Option<f64> {
    let first = *xs.first()?;
    xs.iter()
        .all(|x| x.to_bits() == first.to_bits())
        .then_some(first)
}

/// The mean of `n` samples summing to `sum`; when they all are one value (`common`), that
/// value itself. `sum / n` of n equal values is not always the value (0.7 + 0.7 + 0.7 is
/// 2.0999999999999996, / 3 is 0.6999999999999998), and the squared deviations from that
/// rounded mean then give a half-width above 0: every run gave 0.7, yet the interval
/// [0.6999999999999998 - h, ...] failed `--assert 'x >= 0.7'` and `x == 0.7`, which the rule
/// (docs/experiments.md) passes when every run gives the value.
pub fn mean_of(sum: f64, n: usize, common: Option<f64>) -> f64 {
    common.unwrap_or(sum / n as f64)
}

/// The 97.5% quantile of Student's t with `df` degrees of freedom (two-sided 95%).
/// Exact table to 30 df, then the Cornish-Fisher expansion (error < 1e-4).
pub fn student_t_975(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    if df == 0 {
        return f64::INFINITY;
    }
    if df <= 30 {
        return TABLE[df - 1];
    }
    let z: f64 = 1.959_963_984_540_054;
    let n = df as f64;
    let g1 = (z.powi(3) + z) / 4.0;
    let g2 = (5.0 * z.powi(5) + 16.0 * z.powi(3) + 3.0 * z) / 96.0;
    let g3 = (3.0 * z.powi(7) + 19.0 * z.powi(5) + 17.0 * z.powi(3) - 15.0 * z) / 384.0;
    z + g1 / n + g2 / (n * n) + g3 / (n * n * n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_quantiles() {
        assert!((student_t_975(1) - 12.706).abs() < 1e-3);
        assert!((student_t_975(40) - 2.021).abs() < 1e-3);
        assert!((student_t_975(120) - 1.980).abs() < 1e-3);
    }

    /// Samples that are all one value have that mean and no interval, whatever rounding
    /// their sum takes (0.7 * 3 / 3 was 0.6999999999999998, with a half-width of 1e-16).
    #[test]
    fn samples_all_alike_have_their_value_as_mean() {
        for (v, n) in [
            (0.7, 3),
            (0.1, 3),
            (0.1, 6),
            (0.999, 7),
            (1.1, 10),
            (-0.0, 2),
        ] {
            let c = MeanCi::from_samples(&vec![v; n]);
            assert_eq!(c.mean.to_bits(), f64::to_bits(v), "{v} x {n}");
            assert_eq!(c.half_width, 0.0, "{v} x {n}");
            assert!(c.contains(v));
        }
        assert_eq!(common_value(&[0.7, 0.7]), Some(0.7));
        assert_eq!(common_value(&[0.0, -0.0]), None);
        assert_eq!(common_value(&[]), None);
    }

    #[test]
    fn ci_of_constant_and_spread() {
        let c = MeanCi::from_samples(&[1.0, 1.0, 1.0]);
        assert_eq!(c.half_width, 0.0);
        let c = MeanCi::from_samples(&[1.0, 2.0, 3.0, 4.0]);
        assert!((c.mean - 2.5).abs() < 1e-12);
        // s = 1.291, t(3) = 3.182 -> 3.182 * 1.291 / 2 = 2.054
        assert!((c.half_width - 2.054).abs() < 1e-3);
    }
}
