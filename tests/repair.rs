//! Who repairs failures, and when (`model/repair.rs`, issue 12): shared repair crews, and
//! detection by monitoring or by user complaints (`[monitoring]`).
//!
//! - Two identical units with exponential times to failure and repair and **one** technician
//!   are the three-state Markov chain of reliability textbooks (0, 1 or 2 units down; from 2
//!   down only one is being repaired, at rate mu): the fast path's unavailability of a pool of
//!   two such servers is that chain's P(both down), not the (1 - A)^2 of independent repairs.
//! - The request-level model and the fast path see the same failures and compute the same
//!   repairs (count and total time to repair, replication by replication) when technicians
//!   are shared, and agree on availability.
//!
//! Tolerances as in tests/montecarlo.rs: a mean over independent runs is compared through its
//! two-sided 99.9% Student t interval (a correct model fails a given check with probability
//! 0.1%; the seeds are fixed, so the outcome is deterministic), and each check also asserts its
//! interval is tight enough to mean something.

mod common;
use common::paired::check_agreement;
use common::*;

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::model::availability;
use infrasim::model::repair::{Detection, RepairPolicy};
use infrasim::model::*;
use rayon::prelude::*;

const MTTF: f64 = 600.0;
const MTTR: f64 = 60.0;

/// `common::crashes` repaired by `crews` technicians (unlimited when None).
fn random(kind: TargetKind, mttf: f64, mttr: f64, crews: Option<u32>) -> RandomFaults {
    RandomFaults {
        repair: RepairPolicy {
            crews,
            detection: None,
        },
        ..crashes(kind, mttf, mttr)
    }
}

// ---- the three-state Markov chain ---------------------------------------------------------------

/// Generator of the chain "units down" for two units failing at `l` each and one technician
/// repairing at `m`: 0 -> 1 at 2l, 1 -> 2 at l, 1 -> 0 at m, 2 -> 1 at m.
fn chain(l: f64, m: f64) -> [[f64; 3]; 3] {
    [[-2.0 * l, 2.0 * l, 0.0], [m, -(l + m), l], [0.0, m, -m]]
}

/// Stationary probabilities of [`chain`]: detailed balance, pi_1 = 2 l / m pi_0 and
/// pi_2 = l / m pi_1 (a birth-death chain).
fn stationary(l: f64, m: f64) -> [f64; 3] {
    let r = l / m;
    let p0 = 1.0 / (1.0 + 2.0 * r + 2.0 * r * r);
    [p0, 2.0 * r * p0, 2.0 * r * r * p0]
}

/// Time average over [0, h] of P(state 2 at t) starting in state 0 (both up): the
/// Kolmogorov forward equations p' = p Q integrated by fourth-order Runge-Kutta with step `dt`,
/// the average by the trapezoid rule on the same grid.
fn mean_p2(q: &[[f64; 3]; 3], h: f64, dt: f64) -> f64 {
    let f = |p: &[f64; 3]| -> [f64; 3] {
        let mut d = [0.0; 3];
        for (j, dj) in d.iter_mut().enumerate() {
            *dj = (0..3).map(|i| p[i] * q[i][j]).sum();
        }
        d
    };
    let add =
        |p: &[f64; 3], k: &[f64; 3], s: f64| [p[0] + s * k[0], p[1] + s * k[1], p[2] + s * k[2]];
    let n = (h / dt).round() as usize;
    let mut p = [1.0, 0.0, 0.0];
    let mut integral = 0.0;
    for _ in 0..n {
        let before = p[2];
        let k1 = f(&p);
        let k2 = f(&add(&p, &k1, dt / 2.0));
        let k3 = f(&add(&p, &k2, dt / 2.0));
        let k4 = f(&add(&p, &k3, dt));
        for i in 0..3 {
            p[i] += dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
        }
        integral += 0.5 * (before + p[2]) * dt;
    }
    integral / (n as f64 * dt)
}

#[test]
fn the_chain_solver_is_right() {
    let (l, m) = (1.0 / MTTF, 1.0 / MTTR);
    let pi = stationary(l, m);
    let q = chain(l, m);
    // pi Q = 0 and the probabilities add up to 1.
    for j in 0..3 {
        let flow: f64 = pi.iter().zip(&q).map(|(p, row)| p * row[j]).sum();
        assert!(flow.abs() < 1e-15, "column {j}: {flow}");
    }
    assert!((pi.iter().sum::<f64>() - 1.0).abs() < 1e-15);
    // From an all-up start the average tends to pi_2 (the transient costs ~ pi_2 / (h (l + m))
    // relatively) and is below it (P2 starts at 0 and rises).
    let long = mean_p2(&q, 1e7, 1.0);
    assert!(
        long < pi[2] && (pi[2] - long) / pi[2] < 1e-4,
        "{long} vs {}",
        pi[2]
    );
    // Halving the step changes nothing that matters.
    let (a, b) = (mean_p2(&q, 86_400.0, 1.0), mean_p2(&q, 86_400.0, 0.5));
    assert!((a - b).abs() < 1e-9 * a, "{a} vs {b}");
}

/// Runs of the availability check, and their horizon (30 days: ~3 900 failure cycles per unit).
const RUNS: u64 = 200;
const HORIZON: u64 = 30 * 86_400;

#[test]
fn one_crew_for_two_units_gives_the_markov_chain_probabilities() {
    let _r = Report::start("shared crews: two servers, one technician (3-state Markov chain)");
    // Only the two hosts fail. With redispatch a dead host still in rotation costs nothing
    // while the other is alive, and with 1 ms checks (rise = fall = 1) a repaired server is
    // back within 1 ms: service fails exactly while both are down.
    let mut cfg = common::stack(10.0, 2, 0, 1, 0, 60);
    cfg.name = "crews-theory".into();
    cfg.failures.random = vec![random(TargetKind::Server, MTTF, MTTR, Some(1))];
    cfg.failures.health = health(SimTime::from_millis(1), 1, 1);
    let comps = availability::components(&cfg);
    let horizon = SimTime::from_secs(HORIZON);
    let runs: Vec<availability::PassResult> = (0..RUNS)
        .into_par_iter()
        .map(|rep| availability::simulate(&cfg, &comps, horizon, rep, None))
        .collect();
    let (l, m) = (1.0 / MTTF, 1.0 / MTTR);
    let pi = stationary(l, m);
    let theory = mean_p2(&chain(l, m), HORIZON as f64, 1.0);
    let q = MTTR / (MTTF + MTTR);
    log(format!(
        "  stationary: P(0 down) {:.6}, P(1 down) {:.6}, P(both down) {:.6e}, pool availability \
         {:.6}; over 30 days from an all-up start P(both down) {theory:.6e}",
        pi[0],
        pi[1],
        pi[2],
        1.0 - pi[2]
    ));
    log(format!(
        "  with a technician per unit (independent repairs) it would be (1 - A)^2 = {:.6e}",
        q * q
    ));
    for (label, values) in [
        (
            "request-weighted unavailability",
            runs.iter()
                .map(|r| 1.0 - r.availability)
                .collect::<Vec<_>>(),
        ),
        (
            "time with the pool down",
            runs.iter().map(|r| 1.0 - r.time_availability).collect(),
        ),
    ] {
        let e = Est::of(&values);
        log(format!(
            "  {label:<32} {:.6e} ± {:.3e} (99.9%, SE {:.2}% of theory)   diff {:+.2} SE",
            e.mean,
            e.hw999(),
            100.0 * e.se / theory,
            (e.mean - theory) / e.se
        ));
        assert!(
            e.se <= 0.01 * theory,
            "{label}: interval too wide to mean anything: SE {} vs theory {theory}",
            e.se
        );
        assert!(
            (e.mean - theory).abs() <= e.hw999(),
            "{label}: fast path {} vs the chain's {theory}: |diff| {} > 99.9% half-width {}",
            e.mean,
            (e.mean - theory).abs(),
            e.hw999()
        );
        // The check tells a shared technician from independent repairs.
        assert!(
            (e.mean - q * q).abs() > 10.0 * e.hw999(),
            "{label}: cannot tell one crew from independent repairs"
        );
    }
    // First come first served: the mean time to repair is the fix plus the wait for the
    // technician. A failure waits when it finds the other unit under repair: failures happen
    // in states 0 and 1 at rates 2l and l, so a fraction l pi_1 / (2 l pi_0 + l pi_1) of them
    // find state 1, and then wait for the remaining fix, exponential of mean 1/m.
    let arrivals_in_1 = l * pi[1] / (2.0 * l * pi[0] + l * pi[1]);
    let expected = MTTR * (1.0 + arrivals_in_1);
    let per_run: Vec<f64> = runs.iter().map(|r| r.repair_s / r.repairs as f64).collect();
    let e = Est::of(&per_run);
    log(format!(
        "  mean time to repair {:.3} s ± {:.3} (99.9%) over {} repairs; expected {expected:.3} s \
         (fix {MTTR} s + wait {:.3} s)",
        e.mean,
        e.hw999(),
        runs.iter().map(|r| r.repairs).sum::<u64>(),
        MTTR * arrivals_in_1
    ));
    // Only repairs that end within the horizon count: the one or two cut off per run are
    // longer than average, a bias of ~ 1/3 900 of the mean (0.02 s), a quarter of the SE.
    assert!(
        (e.mean - expected).abs() <= e.hw999(),
        "mean time to repair {} vs {expected} (± {})",
        e.mean,
        e.hw999()
    );
    assert!(
        e.mean - e.hw999() > MTTR * (1.0 + arrivals_in_1 / 2.0),
        "the wait for the technician should show"
    );
}

// ---- the two models, paired ------------------------------------------------------------------

/// `common::stack` (zero service times, deterministic arrivals at `rate`, no warm-up) with two
/// web servers and one MySQL primary every request reads from; hosts, app processes and the
/// primary fail with MTTF 10 min / MTTR 1 min, the two hosts sharing one technician and the
/// two app processes another; checks every second, DOWN after 2 failures, UP after 2 passes.
fn shared_crews(rate: f64, seconds: u64) -> Config {
    let mut cfg = common::stack(rate, 2, 0, 1, 0, seconds);
    cfg.name = "crews-vs-requests".into();
    cfg.failures.timeline_interval = SimTime::ZERO;
    cfg.failures.health = health(SimTime::from_secs(1), 2, 2);
    cfg.failures.random = vec![
        random(TargetKind::Server, MTTF, MTTR, Some(1)),
        random(TargetKind::App, MTTF, MTTR, Some(1)),
        random(TargetKind::DbNode, MTTF, MTTR, None),
    ];
    cfg
}

#[test]
fn fast_path_agrees_with_the_request_level_model_with_shared_crews() {
    let _r = Report::start(
        "shared crews: fast path vs request-level model (2 h, MTTF 10 min / MTTR 1 min, one \
         technician for the hosts, one for the apps)",
    );
    let cfg = shared_crews(20.0, 2 * 3600);
    // What the fast path leaves out is listed at tests/montecarlo.rs's AGREEMENT: well under
    // 1% of the unavailability here; 5% leaves room for the statistical half-width.
    let runs = check_agreement(&cfg, 40, 0.05);
    let waits: usize = runs
        .iter()
        .map(|r| log_entries(r, "waits for a technician").len())
        .sum();
    let failures: usize = runs
        .iter()
        .map(|r| r.faults.iter().filter(|f| f.random).count())
        .sum();
    log(format!(
        "  {waits} of {failures} failures waited for a technician"
    ));
    // Each failure of a host or an app finds the other one under repair ~ 8% of the time.
    assert!(
        waits * 50 > failures,
        "the crews should make some failures wait: {waits} of {failures}"
    );
}

// ---- detection: monitoring or user complaints ---------------------------------------------------

/// Prometheus scraping every 30 s, rules every 30 s, `for: 1m`, Alertmanager's 30 s
/// `group_wait`, and someone acknowledging after an exponential 2 min: 4 min on average.
fn alerts() -> Detection {
    Detection::Alerts {
        scrape: SimTime::from_secs(30),
        evaluation: SimTime::from_secs(30),
        pending: SimTime::from_secs(60),
        notify: SimTime::from_secs(30),
        acknowledge: Some(Dist::exp(120.0).unwrap()),
    }
}

/// No monitoring: users complain after an exponential 15 min on average.
fn complaints() -> Detection {
    Detection::Complaint(Dist::exp(900.0).unwrap())
}

/// One server failing with MTTF 10 min and a 1 min fix, detected as `detection` says; 1 ms
/// checks, so service fails exactly while it is down.
fn detected(detection: Option<Detection>) -> Config {
    let mut cfg = common::stack(10.0, 1, 0, 1, 0, 60);
    cfg.name = "detection-theory".into();
    let mut rf = random(TargetKind::Server, MTTF, MTTR, None);
    rf.repair.detection = detection;
    cfg.failures.random = vec![rf];
    cfg.failures.health = health(SimTime::from_millis(1), 1, 1);
    cfg
}

#[test]
fn monitoring_shortens_the_outage_by_its_detection_time() {
    let _r = Report::start(
        "detection: one server, MTTF 10 min, fix 1 min; alerts (4 min to act) vs user \
         complaints (15 min) vs no detection delay",
    );
    let horizon = SimTime::from_secs(HORIZON);
    for (label, detection) in [
        ("no delay (mttr is the outage)", None),
        ("alerts + acknowledgement", Some(alerts())),
        ("user complaints", Some(complaints())),
    ] {
        let wait = detection.as_ref().map_or(0.0, Detection::mean);
        let cfg = detected(detection);
        let comps = availability::components(&cfg);
        let runs: Vec<availability::PassResult> = (0..RUNS)
            .into_par_iter()
            .map(|rep| availability::simulate(&cfg, &comps, horizon, rep, None))
            .collect();
        // Renewal-reward: a cycle is up (MTTF), then waiting for people, then the fix.
        let theory = (wait + MTTR) / (MTTF + wait + MTTR);
        let e = Est::of(
            &runs
                .iter()
                .map(|r| 1.0 - r.time_availability)
                .collect::<Vec<_>>(),
        );
        let mttr = Est::of(
            &runs
                .iter()
                .map(|r| r.repair_s / r.repairs as f64)
                .collect::<Vec<_>>(),
        );
        log(format!(
            "  {label:<30} unavailability {:.5} ± {:.5} (99.9%), theory {theory:.5}: {:.3} \
             nines (theory {:.3}); time to repair {:.1} s ± {:.1}, theory {:.1} s",
            e.mean,
            e.hw999(),
            -(e.mean).log10(),
            -theory.log10(),
            mttr.mean,
            mttr.hw999(),
            wait + MTTR
        ));
        assert!(e.se <= 0.01 * theory, "{label}: SE {} too wide", e.se);
        assert!(
            (e.mean - theory).abs() <= e.hw999(),
            "{label}: {} vs {theory} (± {})",
            e.mean,
            e.hw999()
        );
        assert!(
            (mttr.mean - wait - MTTR).abs() <= mttr.hw999(),
            "{label}: time to repair {} vs {}",
            mttr.mean,
            wait + MTTR
        );
    }
}

#[test]
fn fast_path_agrees_with_the_request_level_model_with_monitoring() {
    let _r = Report::start(
        "detection: fast path vs request-level model (2 h, alerts for the hosts and the \
         primary, user complaints for the apps, one technician for the hosts)",
    );
    let mut cfg = shared_crews(20.0, 2 * 3600);
    cfg.name = "monitoring-vs-requests".into();
    cfg.failures.random[0].repair.detection = Some(alerts());
    cfg.failures.random[1].repair.detection = Some(Detection::Complaint(Dist::exp(60.0).unwrap()));
    cfg.failures.random[2].repair.detection = Some(alerts());
    let runs = check_agreement(&cfg, 40, 0.05);
    let acted: usize = runs
        .iter()
        .map(|r| log_entries(r, "people act").len())
        .sum();
    let failures: usize = runs
        .iter()
        .map(|r| r.faults.iter().filter(|f| f.random).count())
        .sum();
    log(format!(
        "  {acted} of {failures} failures waited for people"
    ));
    assert_eq!(acted, failures, "every failure waits for people to act");
}
