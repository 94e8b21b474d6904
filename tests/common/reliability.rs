//! Building blocks of the availability tests: components that fail and are repaired at
//! exponential times, HAProxy checks, and the exact mean over a horizon of the probability
//! that alternating components are up or down (the theory the fast path is held to).

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::model::*;

/// Every component of `kind` crashes (RST) after exponential times of mean `mttf` and is
/// repaired after exponential times of mean `mttr`, by unlimited crews.
pub fn crashes(kind: TargetKind, mttf: f64, mttr: f64) -> RandomFaults {
    RandomFaults {
        kind,
        fault: FaultKind::Crash,
        ttf: Dist::exp(mttf).unwrap(),
        ttr: Dist::exp(mttr).unwrap(),
        repair: Default::default(),
    }
}

/// HAProxy checks every `inter` (fastinter and downinter alike), DOWN after `fall` failures,
/// UP after `rise` passes; L7 checks (an app down behind a live Nginx is seen), 3 retries with
/// redispatch.
pub fn health(inter: SimTime, rise: u32, fall: u32) -> HealthCheck {
    HealthCheck {
        enabled: true,
        inter,
        fastinter: inter,
        downinter: inter,
        rise,
        fall,
        layer7: true,
        retries: 3,
        redispatch: true,
        timeout_connect: SimTime::from_secs(1),
        timeout_check: None,
    }
}

/// Mean over [0, h] of a product of factors `a + b e^(-s t)`: the product expands into a sum
/// of exponentials, each of which averages to (1 - e^(-r h)) / (r h).
pub fn mean_of_product(factors: &[(f64, f64, f64)], h: f64) -> f64 {
    // (coefficient, total rate) of every term of the expansion
    let mut terms = vec![(1.0, 0.0)];
    for &(a, b, s) in factors {
        terms = terms
            .into_iter()
            .flat_map(|(c, r)| [(c * a, r), (c * b, r + s)])
            .collect();
    }
    terms
        .into_iter()
        .map(|(c, r)| {
            if r == 0.0 {
                c
            } else {
                c * (1.0 - (-r * h).exp()) / (r * h)
            }
        })
        .sum()
}

/// An alternating exponential up/down component that starts up: P(up at t) =
/// A + (1 - A) e^(-(1/mttf + 1/mttr) t), as (a, b, s); P(down at t) is (1 - A, -(1 - A), s).
pub fn p_up(mttf: f64, mttr: f64) -> (f64, f64, f64) {
    let a = mttf / (mttf + mttr);
    (a, 1.0 - a, 1.0 / mttf + 1.0 / mttr)
}

pub fn p_down(mttf: f64, mttr: f64) -> (f64, f64, f64) {
    let (a, _, s) = p_up(mttf, mttr);
    (1.0 - a, -(1.0 - a), s)
}
