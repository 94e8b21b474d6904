//! The Monte Carlo fast path against what users feel (issue 12), at library level:
//!
//! - **No zero-length outages.** A MySQL pair (primary + replica, instant detection and
//!   promotion) fails only when both nodes are down: 2 q / MTTF outages a year with
//!   q = MTTR / (MTTF + MTTR), lasting MTTR / 2 on average (two repairs racing).
//! - **k-of-n.** A pool that needs k of its n servers is down exactly when fewer than k are
//!   up: the binomial tail, transient included.
//! - **Overload after a failure (N-1).** Two single-worker servers at 60% each: with one down
//!   the other runs at 120% and its queue times out. The fast path, told what each degraded
//!   state does to requests (a request-level run of the state), agrees with the request-level
//!   model run for run (paired) — and the fast path that assumes the survivors cope does not.
//! - **Blame.** A component's share of the downtime and its improvement potential (the
//!   availability gained if it never failed) say the same thing about what it costs.
//!
//! Tolerances follow tests/montecarlo.rs: a mean over independent replications is compared
//! through its two-sided 99.9% Student t interval, plus any bias bound derived in the test's
//! comment, and every check asserts that its interval is tight enough to mean something.

mod common;
use common::*;

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::experiment::overload::StateRuns;
use infrasim::model::availability::{self, Options};
use infrasim::model::degraded::{DegradedSpec, Groups};
use infrasim::model::*;
use rayon::prelude::*;
use std::process::Command;

/// Binomial coefficient.
fn choose(n: u32, k: u32) -> f64 {
    (0..k).fold(1.0, |c, i| c * (n - i) as f64 / (i + 1) as f64)
}

// ---- zero-length outages ---------------------------------------------------------------------

/// Runs of the DB pair and their horizon: 2,000 x 100 years, about 365 expected outages.
const PAIR_RUNS: u64 = 2_000;
const PAIR_YEARS: u64 = 100;

/// One server that never fails, a MySQL primary and one replica (MTTF 8760 h, MTTR 8 h,
/// crashes), instant detection and promotion; every request reads once (from the replica
/// while there is one) and writes `writes` times (on the primary). Returns the outages per
/// year of each run and every outage's duration.
fn db_pair(writes: u32) -> (f64, f64, Vec<f64>, Vec<f64>) {
    let (mttf, mttr) = (8760.0 * 3600.0, 8.0 * 3600.0);
    let mut cfg = common::stack(10.0, 1, 1, 1, writes, 60);
    cfg.failures.random = vec![crashes(TargetKind::DbNode, mttf, mttr)];
    cfg.failures.db_failover.poll_interval = SimTime(1);
    cfg.failures.db_failover.poll_count = 1;
    cfg.failures.db_failover.promotion = Dist::zero();
    let comps = availability::components(&cfg);
    assert_eq!(comps.len(), 2);
    let horizon = SimTime::from_secs(PAIR_YEARS * 365 * 86_400);
    let runs: Vec<(f64, Vec<f64>)> = (0..PAIR_RUNS)
        .into_par_iter()
        .map(|rep| {
            let r = availability::simulate(&cfg, &comps, horizon, rep, None);
            (r.outages.len() as f64 / PAIR_YEARS as f64, r.outages)
        })
        .collect();
    let per_year = runs.iter().map(|r| r.0).collect();
    let durations = runs.into_iter().flat_map(|r| r.1).collect();
    (mttf, mttr, per_year, durations)
}

/// The mean of `xs` against `theory` through its 99.9% interval, which must be within 10%.
fn check(label: &str, xs: &[f64], theory: f64) {
    let e = Est::of(xs);
    log(format!(
        "  {label}: {:.5} ± {:.5} (99.9%, n = {})   theory {theory:.5}",
        e.mean,
        e.hw999(),
        e.n
    ));
    assert!(e.se < 0.1 * theory, "{label}: too few to judge: {e:?}");
    assert!(
        (e.mean - theory).abs() <= e.hw999(),
        "{label}: {} vs theory {theory} (± {})",
        e.mean,
        e.hw999()
    );
}

#[test]
fn a_db_pair_with_instant_failover_is_down_only_when_both_nodes_are() {
    let _r = Report::start("DB pair (MTTF 8760 h, MTTR 8 h, instant detection and promotion)");
    // Reads only: any node up serves them, so an outage is "both down". Both nodes start up;
    // the transient (relaxation time ~ 8 h) is negligible over 100 years. The stationary
    // rate of entering "both down" is 2 q / MTTF, q = MTTR / (MTTF + MTTR); it ends at the
    // first of two exponential repairs: mean MTTR / 2.
    let (mttf, mttr, per_year, durations) = db_pair(0);
    let q = mttr / (mttf + mttr);
    let year = 365.0 * 86_400.0;
    check("reads: outages/year", &per_year, 2.0 * q / mttf * year);
    check(
        "reads: mean outage (h)",
        &hours(&durations),
        mttr / 2.0 / 3600.0,
    );
    // With writes the outage starts the same way but ends only when the node that was the
    // primary returns: the other one was down when the failover ran, and orchestrator does
    // not promote a node that rejoins after it (it comes back as a stale, read-only copy
    // until someone reattaches it). Memoryless repair: mean MTTR.
    let (_, _, per_year, durations) = db_pair(1);
    check("writes: outages/year", &per_year, 2.0 * q / mttf * year);
    check("writes: mean outage (h)", &hours(&durations), mttr / 3600.0);
}

fn hours(seconds: &[f64]) -> Vec<f64> {
    seconds.iter().map(|s| s / 3600.0).collect()
}

// ---- k-of-n ------------------------------------------------------------------------------------

#[test]
fn a_pool_needing_k_of_n_servers_is_down_with_the_binomial_tail() {
    let _r = Report::start("k-of-n: 4 servers, MTTF 10 min / MTTR 2 min, 1 ms checks");
    let (mttf, mttr) = (600.0, 120.0);
    let mut cfg = common::stack(10.0, 4, 0, 0, 0, 60);
    cfg.failures.random = vec![crashes(TargetKind::Server, mttf, mttr)];
    // Detection and rejoin within 1 ms: the pool is what is up.
    cfg.failures.health = health(SimTime::from_millis(1), 1, 1);
    let comps = availability::components(&cfg);
    let h = 30.0 * 86_400.0;
    let horizon = SimTime::from_secs_f64(h);
    for k in [1u32, 2, 3, 4] {
        let opts = Options {
            min_servers: k,
            overload: None,
            stalls: None,
            groups: Groups::of(&cfg),
        };
        let u: Vec<f64> = (0..200u64)
            .into_par_iter()
            .map(|rep| {
                1.0 - availability::simulate_with(&cfg, &comps, horizon, rep, None, &opts)
                    .availability
            })
            .collect();
        // P(fewer than k up) = sum over j < k of C(4, j) up^j down^(4-j), each term's mean
        // over [0, h] exact from an up start.
        let theory: f64 = (0..k)
            .map(|j| {
                let mut f = vec![p_up(mttf, mttr); j as usize];
                f.extend(vec![p_down(mttf, mttr); 4 - j as usize]);
                choose(4, j) * mean_of_product(&f, h)
            })
            .sum();
        let e = Est::of(&u);
        log(format!(
            "  k = {k}: unavailability {:.6e} ± {:.2e} (99.9%)   binomial tail {theory:.6e}   diff {:+.2} SE",
            e.mean,
            e.hw999(),
            (e.mean - theory) / e.se
        ));
        // k = 1 (all four down) is the rarest: 200 runs of 30 days give it an SE of ~1.5%.
        assert!(e.se <= 0.02 * theory, "k = {k}: interval too wide: {e:?}");
        assert!(
            (e.mean - theory).abs() <= e.hw999(),
            "k = {k}: fast path {} vs binomial tail {theory} (± {})",
            e.mean,
            e.hw999()
        );
    }
}

// ---- overload after a failure ------------------------------------------------------------------

/// Arrival rate, per-server service rate (one worker each) and HAProxy's `timeout queue`.
const LAMBDA: f64 = 12.0;
const MU: f64 = 10.0;
const TIMEOUT_QUEUE_S: f64 = 1.0;
/// Server crashes: MTTF 20 min, MTTR 4 min (exponential).
const N1_MTTF: f64 = 1200.0;
const N1_MTTR: f64 = 240.0;
const N1_HOURS: u64 = 2;
const N1_REPS: u64 = 100;

/// Two servers with one worker each and `maxconn 1` behind one HAProxy whose backend queue
/// times out after 1 s (HAProxy answers 503), Poisson arrivals at 12/s, exponential 100 ms
/// work: rho = 0.6 per server healthy, 1.2 on the survivor when one is down.
fn n_minus_1_overloads() -> Config {
    let mut cfg = common::mmc(LAMBDA, MU, 1, 2, Algorithm::RoundRobin, N1_HOURS * 3600);
    cfg.name = "n-minus-1".into();
    cfg.warmup = SimTime::ZERO;
    cfg.lb.timeout_queue = SimTime::from_secs_f64(TIMEOUT_QUEUE_S);
    for s in &mut cfg.servers {
        s.maxconn = 1;
    }
    cfg.failures.timeline_interval = SimTime::ZERO;
    cfg.failures.health = health(SimTime::from_secs(1), 2, 2);
    cfg.failures.random = vec![crashes(TargetKind::Server, N1_MTTF, N1_MTTR)];
    // Healthy, the M/M/2 response time is met by 500 ms for nearly all; with one server the
    // survivor's queue reaches toward its 1 s timeout and most requests are slow.
    cfg.slo = Some(Slo {
        latency: SimTime::from_millis(SLO_MS),
        target: None,
        percentiles: vec![],
    });
    cfg
}

/// The N-1 scenario's latency objective.
const SLO_MS: u64 = 500;

/// The fast path with state runs vs the request-level model, paired run for run.
///
/// Where they differ, and by how much at most:
/// - the state's penalty is one request-level run of it (replication 0, one hour measured):
///   its error is common to every pair, so it is a bias, bounded by 3.29 x its standard
///   error (estimated from 10 further replications of the state) x the share of requests
///   that arrive in the state (at most the time fraction with exactly one server up,
///   2 q (1 - q), q = MTTR / (MTTF + MTTR));
/// - the fast path applies a state's steady state from its first instant. In the fluid
///   limit the survivor's queue grows at (rho - 1) seconds of wait per second and reaches
///   the 1 s timeout after timeout / (rho - 1) = 5 s, and it drains within the timeout after
///   the repair: per state change at most lambda x 5 s x the state's failing fraction
///   requests are counted in the wrong state, two changes per failure;
/// - detection windows, retries and in-flight requests are modelled alike in both (tests/
///   montecarlo.rs bounds what remains below 1% of the unavailability).
#[test]
fn fast_path_agrees_with_the_request_level_model_when_n_minus_1_overloads() {
    let _r = Report::start(format!(
        "N-1 overload: 2 servers x 1 worker, lambda {LAMBDA}/s, mu {MU}/s, timeout queue {TIMEOUT_QUEUE_S} s; {N1_REPS} paired runs of {N1_HOURS} h"
    ));
    let cfg = n_minus_1_overloads();
    let comps = availability::components(&cfg);
    let spec = DegradedSpec::default();
    let runs = StateRuns::new(&cfg, spec.state_run(&cfg), cfg.slo_latency());
    let groups = Groups::of(&cfg);
    let healthy = groups.healthy(&cfg);
    let mut one_down = healthy.clone();
    one_down.servers[0] -= 1;
    let penalty = runs.measure(&one_down).penalty.fail;
    // The state's own noise: 10 further replications of its configuration.
    let state_cfg = runs.config(&one_down);
    let reps: Vec<(f64, f64)> = (1..=10u64)
        .into_par_iter()
        .map(|rep| {
            let r = Stack::run(&state_cfg, rep);
            let fail = r.requests.failed as f64 / (r.requests.completed + r.requests.failed) as f64;
            (fail, 1.0 - r.slo_availability.unwrap())
        })
        .collect();
    let state = Est::of(&reps.iter().map(|r| r.0).collect::<Vec<_>>());
    let state_bad = Est::of(&reps.iter().map(|r| r.1).collect::<Vec<_>>());
    let measured = runs.measure(&one_down).penalty;
    let bad = measured.fail + measured.late;
    log(format!(
        "  one server serving: {:.4} of requests fail (replication 0); over 10 more {:.4} ± {:.4} SE; healthy {:.2e}",
        penalty,
        state.mean,
        state.se,
        runs.measure(&healthy).penalty.fail
    ));
    // Fluid bound: at rho = 1.2 at least 1 - 1/1.2 of the arrivals must fail.
    assert!(penalty > 0.15, "N-1 should overload: {penalty}");

    let with_states = Options {
        min_servers: 1,
        overload: Some(&runs),
        stalls: None,
        groups: groups.clone(),
    };
    let coping = Options::coping(&cfg);
    let horizon = cfg.duration;
    let rows: Vec<(f64, f64, f64, u64, f64, f64)> = (0..N1_REPS)
        .into_par_iter()
        .map(|rep| {
            let req = Stack::run(&cfg, rep);
            let fast = availability::simulate_with(&cfg, &comps, horizon, rep, None, &with_states);
            let naive = availability::simulate_with(&cfg, &comps, horizon, rep, None, &coping);
            (
                req.availability,
                fast.availability,
                naive.availability,
                fast.failures,
                req.slo_availability.unwrap(),
                fast.slo_availability,
            )
        })
        .collect();
    let slow = Est::of(&rows.iter().map(|r| r.0).collect::<Vec<_>>());
    let d = Est::of(&rows.iter().map(|r| r.1 - r.0).collect::<Vec<_>>());
    let naive = Est::of(&rows.iter().map(|r| r.2 - r.0).collect::<Vec<_>>());
    let unavail = 1.0 - slow.mean;
    let failures = rows.iter().map(|r| r.3 as f64).sum::<f64>() / N1_REPS as f64;

    let q = N1_MTTR / (N1_MTTF + N1_MTTR);
    let degraded_share = 2.0 * q * (1.0 - q);
    let state_bias = Z_999 * state.se * degraded_share;
    let fill_s = TIMEOUT_QUEUE_S / (LAMBDA / MU - 1.0);
    let requests = LAMBDA * horizon.as_secs_f64();
    let transient = 2.0 * failures * LAMBDA * fill_s * penalty / requests;
    let bound = state_bias + transient;
    log(format!(
        "  request level: unavailability {unavail:.5} ± {:.5} (99.9%); {failures:.1} failures per run",
        slow.hw999()
    ));
    log(format!(
        "  fast path with state runs - request level: {:+.2e} ± {:.2e} (99.9%), allowed ± {bound:.2e} (state {state_bias:.1e} + transient {transient:.1e}) = {:.1}% of the unavailability",
        d.mean,
        d.hw999(),
        100.0 * bound / unavail
    ));
    log(format!(
        "  fast path assuming survivors cope - request level: {:+.2e} ± {:.2e} (99.9%)",
        naive.mean,
        naive.hw999()
    ));
    assert!(
        unavail > 0.02,
        "the scenario should fail enough to compare: {unavail}"
    );
    assert!(
        d.hw999() + bound <= 0.25 * unavail,
        "the comparison is too loose to mean anything: ± {} + {bound} vs unavailability {unavail}",
        d.hw999()
    );
    assert!(
        (d.mean).abs() <= d.hw999() + bound,
        "fast path with state runs disagrees: {} ± {} beyond the bias bound {bound}",
        d.mean,
        d.hw999()
    );
    // Within the SLO: the same comparison, slow requests counted as failed. The bounds are
    // derived as above with the state's bad fraction (failed or slower than 500 ms) in place
    // of its failing fraction.
    let slow_slo = Est::of(&rows.iter().map(|r| r.4).collect::<Vec<_>>());
    let d_slo = Est::of(&rows.iter().map(|r| r.5 - r.4).collect::<Vec<_>>());
    let unavail_slo = 1.0 - slow_slo.mean;
    let bound_slo =
        Z_999 * state_bad.se * degraded_share + 2.0 * failures * LAMBDA * fill_s * bad / requests;
    log(format!(
        "  within {SLO_MS} ms: one server serving {bad:.4} bad; request level {:.5} unavailable; fast - request {:+.2e} ± {:.2e} (99.9%), allowed ± {bound_slo:.2e} = {:.1}%",
        unavail_slo,
        d_slo.mean,
        d_slo.hw999(),
        100.0 * bound_slo / unavail_slo
    ));
    assert!(
        measured.late > 0.1,
        "N-1 should also be slow, not only fail: late {}",
        measured.late
    );
    assert!(
        d_slo.mean.abs() <= d_slo.hw999() + bound_slo,
        "within-SLO availability disagrees: {} ± {} beyond {bound_slo}",
        d_slo.mean,
        d_slo.hw999()
    );
    assert!(
        d_slo.hw999() + bound_slo <= 0.25 * unavail_slo,
        "the SLO comparison is too loose: ± {} + {bound_slo} vs {unavail_slo}",
        d_slo.hw999()
    );
    // The coping fast path misses the overload: its error is outside the same allowance.
    assert!(
        naive.mean - naive.hw999() > bound,
        "the survivors-cope fast path should overstate availability: {} ± {}",
        naive.mean,
        naive.hw999()
    );
}

// ---- blame -------------------------------------------------------------------------------------

/// `ladder/1_one_server.toml`: the host (silent, MTTR 2 h) and its app process (crash,
/// restarted in 10 s). A component's share of the downtime must match its improvement
/// potential over the total unavailability: both count its whole outage, detection and
/// repair alike. They differ only where two failures overlap (an app crash while its host is
/// down: at most 2 h / 30 d = 0.3% of the host's downtime) and by the improvement's
/// statistical error.
#[test]
fn blame_shares_agree_with_improvement_potentials() {
    let _r = Report::start("blame vs improvement potential, ladder/1_one_server.toml");
    let dir = std::env::temp_dir().join(format!("infrasim-blame-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .args([
            "scenarios/ladder/1_one_server.toml",
            "--runs",
            "1000",
            "--quiet",
            "--output",
            "summary",
            "--out",
        ])
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("montecarlo.json")).unwrap())
            .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let s = json.get("summary").unwrap_or(&json);
    let unavail = 1.0 - s["availability"]["mean"].as_f64().unwrap();
    let comps = s["components"].as_array().unwrap();
    assert_eq!(comps.len(), 2);
    for c in comps {
        let name = c["component"].as_str().unwrap();
        let share = c["downtime_share"].as_f64().unwrap();
        let gain = c["improvement"]["mean"].as_f64().unwrap();
        // The summary's interval is 95%: widen it to 99.9%.
        let hw = c["improvement"]["half_width"].as_f64().unwrap() * Z_999 / 1.959_964;
        let implied = gain / unavail;
        let tol = hw / unavail + 0.003;
        log(format!(
            "  {name:<12} downtime share {:.4}   improvement / unavailability {:.4} ± {:.4}",
            share, implied, tol
        ));
        assert!(
            (share - implied).abs() <= tol,
            "{name}: share {share} vs improvement potential {implied} (± {tol})"
        );
    }
}

/// A state run measures the stack's steady state, so it carries none of a run's scheduled
/// events: no fault, and no flood. A flood in the scenario (here 10,000 req/s from 2 sources
/// for the whole run, all but the first 100 per source per 10 s denied by a per-source limit)
/// used to be run in every state: the healthy stack, which serves its 50 req/s with no error,
/// was measured failing 99.5% of its requests (the flood's 403s), and a year-long study
/// charged that to every minute of the year.
#[test]
fn state_runs_leave_out_the_flood() {
    let mut cfg = common::mmc(50.0, 100.0, 4, 2, Algorithm::RoundRobin, 600);
    cfg.name = "flooded".into();
    cfg.failures.random = vec![crashes(TargetKind::Server, 86_400.0, 3_600.0)];
    cfg.workload.flood = Some(infrasim::model::flood::FloodConfig {
        rate: 10_000.0,
        sources: 2,
        start: SimTime::ZERO,
        stop: None,
        like: 0,
    });
    cfg.lb.rate_limit = Some(infrasim::model::ratelimit::RateLimitConfig {
        period_ms: 10_000,
        limit: 100,
        action: infrasim::model::ratelimit::LimitAction::Deny,
        conn_limit: None,
    });
    let spec = DegradedSpec::default();
    let runs = StateRuns::new(&cfg, spec.state_run(&cfg), cfg.slo_latency());
    let groups = Groups::of(&cfg);
    let healthy = groups.healthy(&cfg);
    let measured = runs.measure(&healthy);
    let _r = Report::start(format!(
        "state run of a flooded scenario: healthy stack fails {:.4} of {} requests",
        measured.penalty.fail, measured.finished
    ));
    assert!(runs.config(&healthy).workload.flood.is_none());
    // M/M/4 at rho 0.125 per server, no timeout reached: nothing fails.
    assert_eq!(measured.penalty.fail, 0.0);
    // The rate: 50 req/s over the measured window, not the flood's 10,000.
    let window = spec.state_run(&cfg).as_secs_f64();
    assert!((measured.finished as f64 - 50.0 * window).abs() < 5.0 * (50.0 * window).sqrt());
}
