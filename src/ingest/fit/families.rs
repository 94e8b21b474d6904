//! The model's service-time families, fitted by their mean and coefficient of variation (the
//! way scenarios write them, docs/scenario.md §1), with the CDFs the goodness-of-fit test
//! needs. Special functions: the complementary error function (W. J. Cody's rational
//! approximation via `erfc` of Numerical Recipes §6.2, |error| < 1.2e-7) and the regularised
//! lower incomplete gamma function (series and continued fraction, Numerical Recipes §6.2).

use crate::dist::special::ln_gamma;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    Exponential { mean: f64 },
    Lognormal { mean: f64, cv: f64 },
    Gamma { mean: f64, cv: f64 },
    Weibull { shape: f64, scale: f64 },
}

impl Family {
    /// Every family fitted to a sample's mean and cv (milliseconds); those that cannot take
    /// them are left out.
    pub fn fitted(mean: f64, cv: f64) -> Vec<Family> {
        let mut out = vec![Family::Exponential { mean }];
        if cv > 0.0 {
            out.push(Family::Lognormal { mean, cv });
            out.push(Family::Gamma { mean, cv });
            if let Some(shape) = weibull_shape(cv) {
                let scale = mean / ln_gamma(1.0 + 1.0 / shape).exp();
                out.push(Family::Weibull { shape, scale });
            }
        }
        out
    }

    pub fn name(&self) -> &'static str {
        match self {
            Family::Exponential { .. } => "exponential",
            Family::Lognormal { .. } => "lognormal",
            Family::Gamma { .. } => "gamma",
            Family::Weibull { .. } => "weibull",
        }
    }

    /// The scenario's distribution string (times in microseconds, exact decimals).
    pub fn spec(&self) -> String {
        let us = |ms: f64| format!("{:.0}us", (ms * 1000.0).max(1.0));
        match *self {
            Family::Exponential { mean } => format!("exp({})", us(mean)),
            Family::Lognormal { mean, cv } => format!("lognormal({}, cv={cv:.4})", us(mean)),
            Family::Gamma { mean, cv } => format!("gamma({}, cv={cv:.4})", us(mean)),
            Family::Weibull { shape, scale } => {
                format!("weibull(shape={shape:.4}, scale={})", us(scale))
            }
        }
    }

    /// P(X <= x), x in milliseconds.
    pub fn cdf(&self, x: f64) -> f64 {
        if x <= 0.0 {
            return 0.0;
        }
        match *self {
            Family::Exponential { mean } => 1.0 - (-x / mean).exp(),
            Family::Lognormal { mean, cv } => {
                let s2 = (1.0 + cv * cv).ln();
                let mu = mean.ln() - s2 / 2.0;
                0.5 * erfc(-(x.ln() - mu) / (s2.sqrt() * std::f64::consts::SQRT_2))
            }
            Family::Gamma { mean, cv } => {
                let k = 1.0 / (cv * cv);
                gamma_p(k, x * k / mean)
            }
            Family::Weibull { shape, scale } => 1.0 - (-(x / scale).powf(shape)).exp(),
        }
    }

    /// The `p` quantile, by bisection on the CDF.
    pub fn quantile(&self, p: f64) -> f64 {
        let (mut lo, mut hi) = (0.0f64, 1.0f64);
        let mut guard = 0;
        while self.cdf(hi) < p && guard < 200 {
            hi *= 2.0;
            guard += 1;
        }
        for _ in 0..100 {
            let mid = 0.5 * (lo + hi);
            if self.cdf(mid) < p {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }
}

/// The Weibull shape with coefficient of variation `cv`: cv² = Γ(1+2/k)/Γ(1+1/k)² − 1
/// decreases in k; solved by bisection on [0.05, 100].
fn weibull_shape(cv: f64) -> Option<f64> {
    let f = |k: f64| ((ln_gamma(1.0 + 2.0 / k) - 2.0 * ln_gamma(1.0 + 1.0 / k)).exp() - 1.0).sqrt();
    let (mut lo, mut hi) = (0.05f64, 100.0f64);
    if cv > f(lo) || cv < f(hi) {
        return None;
    }
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > cv {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Some(0.5 * (lo + hi))
}

/// erfc(x), relative error < 1.2e-7 (Numerical Recipes, 2nd ed., §6.2 `erfcc`).
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let ans = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { ans } else { 2.0 - ans }
}

/// The regularised lower incomplete gamma function P(a, x).
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let gln = ln_gamma(a);
    if x < a + 1.0 {
        let (mut ap, mut sum) = (a, 1.0 / a);
        let mut del = sum;
        for _ in 0..10_000 {
            ap += 1.0;
            del *= x / ap;
            sum += del;
            if del.abs() < sum.abs() * 1e-14 {
                break;
            }
        }
        (sum.ln() - x + a * x.ln() - gln).exp().min(1.0)
    } else {
        // Lentz's continued fraction for Q(a, x).
        let tiny = 1e-300;
        let mut b = x + 1.0 - a;
        let mut c = 1.0 / tiny;
        let mut d = 1.0 / b;
        let mut h = d;
        for i in 1..10_000 {
            let an = -(i as f64) * (i as f64 - a);
            b += 2.0;
            d = an * d + b;
            if d.abs() < tiny {
                d = tiny;
            }
            c = b + an / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let del = d * c;
            h *= del;
            if (del - 1.0).abs() < 1e-14 {
                break;
            }
        }
        (1.0 - (-x + a * x.ln() - gln).exp() * h).clamp(0.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdfs_agree_with_known_values() {
        assert!((erfc(0.5) - 0.479_500_122).abs() < 1e-6);
        // Gamma(k=1) is the exponential.
        let g = Family::Gamma { mean: 2.0, cv: 1.0 };
        assert!((g.cdf(3.0) - (1.0 - (-1.5f64).exp())).abs() < 1e-9);
        // Lognormal median = mean / sqrt(1 + cv²).
        let l = Family::Lognormal {
            mean: 10.0,
            cv: 1.0,
        };
        assert!((l.cdf(10.0 / 2f64.sqrt()) - 0.5).abs() < 1e-6);
        // Weibull shape 1 is the exponential: cv 1.
        assert!((weibull_shape(1.0).unwrap() - 1.0).abs() < 1e-6);
        let e = Family::Exponential { mean: 1.0 };
        assert!((e.quantile(0.5) - 2f64.ln()).abs() < 1e-9);
    }
}
