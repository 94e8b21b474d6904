//! The Kolmogorov-Smirnov goodness-of-fit test, for samples timed in whole milliseconds.
//!
//! HAProxy's timers are differences of millisecond clocks: a duration d is logged as
//! floor(d + u) with u the unknown phase, uniform on [0, 1), so P(logged <= k) is F(k + 1 - u)
//! averaged over u, ≈ F(k + 0.5). The sample's ECDF at each logged value k is compared with the
//! fitted F at k + 0.5, both just below and at k (the ECDF jumps there). The p-value is the
//! asymptotic Kolmogorov distribution with Stephens' small-sample correction (Stephens 1970);
//! the parameters are estimated from the same sample, which makes it conservative (Lilliefors):
//! a family it rejects is certainly rejected.

use super::families::Family;

/// (D, p-value) of `sorted` (ascending, milliseconds) against `f`.
pub fn test(sorted: &[f64], f: &Family, whole_ms: bool) -> (f64, f64) {
    let n = sorted.len();
    if n == 0 {
        return (0.0, 1.0);
    }
    let shift = if whole_ms { 0.5 } else { 0.0 };
    let mut d: f64 = 0.0;
    let mut i = 0;
    while i < n {
        let x = sorted[i];
        let mut j = i;
        while j < n && sorted[j] == x {
            j += 1;
        }
        // Ties (whole milliseconds): the ECDF goes from i/n to j/n at x.
        let fx = f.cdf(x + shift);
        let below = if whole_ms { f.cdf(x - 0.5) } else { fx };
        d = d.max((j as f64 / n as f64 - fx).abs());
        d = d.max((i as f64 / n as f64 - below).abs());
        i = j;
    }
    let sn = (n as f64).sqrt();
    (d, kolmogorov_q((sn + 0.12 + 0.11 / sn) * d))
}

/// P(K > x) for the Kolmogorov distribution.
pub fn kolmogorov_q(x: f64) -> f64 {
    if x < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = (-2.0 * k * k * x * x).exp();
        sum += if (k as i64) % 2 == 1 { term } else { -term };
        if term < 1e-16 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_of_its_own_family_passes_and_another_fails() {
        // Exponential quantiles at (i + 0.5)/n: a perfect sample.
        let n = 2000;
        let f = Family::Exponential { mean: 10.0 };
        let s: Vec<f64> = (0..n)
            .map(|i| f.quantile((i as f64 + 0.5) / n as f64))
            .collect();
        let (d, p) = test(&s, &f, false);
        assert!(d < 0.01 && p > 0.5, "{d} {p}");
        let g = Family::Lognormal {
            mean: 10.0,
            cv: 0.3,
        };
        let (_, p) = test(&s, &g, false);
        assert!(p < 1e-6);
        assert!((kolmogorov_q(1.358) - 0.05).abs() < 0.001);
    }
}
