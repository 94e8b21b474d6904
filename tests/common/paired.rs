//! The Monte Carlo fast path against the request-level model, replication by replication.
//!
//! Both models draw failure and repair times from the same named streams
//! (`faults.<component>`) and compute repair times in the same module
//! (`model/repair.rs`), so replication r sees the same failures and the same repairs in both:
//! their counts and total repair time must be equal, and their availabilities agree within
//! what the fast path leaves out (requests in flight when a part dies, queueing).

use infrasim::model::availability::{self, PassResult};
use infrasim::model::*;
use rayon::prelude::*;

use super::{Est, log};

/// Runs replications 0..reps of `cfg` in both models; checks that every replication has the
/// same failures and the same repairs (count and total time to repair) in both, and that the
/// 99.9% interval of the paired difference in availability (fast - request level) lies within
/// ± `agreement` x the unavailability, with a half-width at most half that bound. Returns the
/// request-level runs, for further checks.
pub fn check_agreement(cfg: &Config, reps: u64, agreement: f64) -> Vec<RunResults> {
    let horizon = cfg.duration;
    let comps = availability::components(cfg);
    let t0 = std::time::Instant::now();
    let pairs: Vec<(RunResults, PassResult)> = (0..reps)
        .into_par_iter()
        .map(|rep| {
            (
                Stack::run(cfg, rep),
                availability::simulate(cfg, &comps, horizon, rep, None),
            )
        })
        .collect();
    let mut fast = vec![];
    let mut slow = vec![];
    let mut diff = vec![];
    for (rep, (req, mc)) in pairs.iter().enumerate() {
        let random: Vec<_> = req.faults.iter().filter(|f| f.random).collect();
        assert_eq!(
            random.len() as u64,
            mc.failures,
            "replication {rep}: {} failures at the request level, {} on the fast path",
            random.len(),
            mc.failures
        );
        let repaired: Vec<f64> = random
            .iter()
            .filter_map(|f| f.end_s.map(|e| e - f.start_s))
            .collect();
        let total: f64 = repaired.iter().sum();
        assert_eq!(
            repaired.len() as u64,
            mc.repairs,
            "replication {rep}: {} repairs at the request level, {} on the fast path",
            repaired.len(),
            mc.repairs
        );
        assert!(
            (total - mc.repair_s).abs() <= 1e-6 * (1.0 + repaired.len() as f64),
            "replication {rep}: total time to repair {total} s at the request level, {} s on \
             the fast path",
            mc.repair_s
        );
        assert!(req.requests.arrived > 0);
        fast.push(mc.availability);
        slow.push(req.availability);
        diff.push(mc.availability - req.availability);
    }
    let (f, s, d) = (Est::of(&fast), Est::of(&slow), Est::of(&diff));
    let unavail = 1.0 - s.mean;
    let repairs: u64 = pairs.iter().map(|p| p.1.repairs).sum();
    let repair_s: f64 = pairs.iter().map(|p| p.1.repair_s).sum();
    log(format!(
        "  {reps} paired replications in {:.1} s; {:.1} failures per run, identical in both \
         models, mean time to repair {:.1} s in both",
        t0.elapsed().as_secs_f64(),
        pairs.iter().map(|p| p.1.failures as f64).sum::<f64>() / reps as f64,
        repair_s / repairs.max(1) as f64
    ));
    log(format!(
        "  request level: availability {:.6} ± {:.6} (99.9%)",
        s.mean,
        s.hw999()
    ));
    log(format!(
        "  fast path:     availability {:.6} ± {:.6} (99.9%)",
        f.mean,
        f.hw999()
    ));
    log(format!(
        "  paired difference (fast - request): {:+.3e} ± {:.3e} (99.9%) = {:+.3}% ± {:.3}% of \
         the unavailability {:.5}",
        d.mean,
        d.hw999(),
        100.0 * d.mean / unavail,
        100.0 * d.hw999() / unavail,
        unavail
    ));
    assert!(
        unavail > 0.05,
        "the scenario should fail often enough to compare: unavailability {unavail}"
    );
    let bound = agreement * unavail;
    assert!(
        d.mean - d.hw999() >= -bound && d.mean + d.hw999() <= bound,
        "fast path vs request level: difference {} ± {} (99.9%) is not within ± {bound} \
         ({}% of the unavailability {unavail})",
        d.mean,
        d.hw999(),
        100.0 * agreement
    );
    assert!(
        d.hw999() <= 0.5 * bound,
        "the paired interval is too wide to mean anything: ± {} vs unavailability {unavail}",
        d.hw999()
    );
    pairs.into_iter().map(|p| p.0).collect()
}
