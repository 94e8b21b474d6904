//! Waiting time per stage and latency per request class against queueing theory.
//!
//! Same method as theory_queueing.rs: R independent replications of a configuration with a
//! closed form (`common::mmc`: Poisson arrivals, one server, every stage but the application
//! taking no time), the mean over the replications compared with the formula on a two-sided
//! 99.9% Student t interval (`Est::hw999`), and each check refused as meaningless unless the
//! run was long enough for the standard error to be below [`MAX_REL_SE`] of the theory.
//! Percentiles come from an HDR histogram (3 significant digits): its bucket rounding, at most
//! 1e-3 relative, is added to their interval. The seeds are fixed, so the outcome is
//! deterministic; a correct simulator fails a given check with probability 0.1%.
//!
//! The wait is measured from the request's arrival at the queue to the moment it takes the
//! worker (or, at HAProxy, the server slot): Wq of the theory (domain.md §8).

mod common;
use common::*;

use infrasim::dist::Dist;
use infrasim::model::*;
use infrasim::stats::WaitSummary;
use rayon::prelude::*;

/// Service rate of one application worker (requests per second).
const MU: f64 = 100.0;

/// Independent replications per configuration.
const R: u64 = 20;

/// Largest standard error, relative to the theory, for a check to mean anything (the 99.9%
/// half-width is then below t(19) x 1% = 3.9% of it).
const MAX_REL_SE: f64 = 0.01;

/// Histogram bucket rounding of a percentile (3 significant digits).
const QUANTISATION: f64 = 1e-3;

fn check(label: &str, est: Est, theory: f64, quantisation: f64) {
    let hw = est.hw999();
    log(format!(
        "  {label:<36} sim {:>10.6} ± {:.6} (SE {:.3}% of theory)   theory {:>10.6}",
        est.mean,
        hw,
        100.0 * est.se / theory.abs(),
        theory
    ));
    assert!(
        est.se <= MAX_REL_SE * theory.abs(),
        "{label}: interval too wide to mean anything: SE {} > {MAX_REL_SE} x {theory}",
        est.se
    );
    assert!(
        (est.mean - theory).abs() <= hw + quantisation,
        "{label}: simulation {} vs theory {theory}: |diff| {} > {hw} + {quantisation}",
        est.mean,
        (est.mean - theory).abs()
    );
}

fn replicate(cfg: &Config) -> Vec<RunResults> {
    let runs: Vec<RunResults> = (0..R).into_par_iter().map(|k| Stack::run(cfg, k)).collect();
    for r in &runs {
        assert_eq!(r.requests.failed, 0, "run {}: {:?}", r.run, r.errors);
        for w in &r.waits {
            // Nothing can leave a queue without a worker here; conservation of the counts.
            assert_eq!(w.left_queue, 0, "run {} {}", r.run, w.name);
            assert!(w.waited <= w.passed);
        }
    }
    runs
}

fn stage<'a>(r: &'a RunResults, name: &str) -> &'a WaitSummary {
    r.waits
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("no stage {name} in {:?}", r.waits))
}

fn est(runs: &[RunResults], f: impl Fn(&RunResults) -> f64) -> Est {
    Est::of(&runs.iter().map(f).collect::<Vec<_>>())
}

/// `mmc` with `requests` arrivals per replication and its own seed.
fn config(lambda: f64, c: u32, requests: u64, seed: u64) -> Config {
    let seconds = (requests as f64 / lambda).ceil() as u64;
    let mut cfg = mmc(lambda, MU, c, 1, Algorithm::RoundRobin, seconds);
    cfg.seed = seed;
    cfg
}

/// Checks one stage against M/M/c: P(wait) = C, E[Wq] = C / (c mu - lambda), and, as
/// P(Wq > t) = C e^{-(c mu - lambda) t}, the q-quantile ln(C / (1 - q)) / (c mu - lambda) for
/// q > 1 - C (0 below: those ranks are the requests that did not wait).
fn check_mmc_wait(runs: &[RunResults], name: &str, lambda: f64, c: u32) {
    let pw = erlang_c(lambda / MU, c);
    let drain = c as f64 * MU - lambda;
    check(
        &format!("{name}: P(wait) = C"),
        est(runs, |r| stage(r, name).wait_probability),
        pw,
        0.0,
    );
    check(
        &format!("{name}: mean wait (s)"),
        est(runs, |r| stage(r, name).mean_s),
        pw / drain,
        0.0,
    );
    type Getter = fn(&WaitSummary) -> f64;
    let quantiles: [(f64, &str, Getter); 3] = [
        (0.5, "p50", |w| w.p50_s),
        (0.9, "p90", |w| w.p90_s),
        (0.99, "p99", |w| w.p99_s),
    ];
    for (q, label, get) in quantiles {
        assert!(
            q > 1.0 - pw,
            "{label} falls on the zeros: pick a busier queue"
        );
        let theory = (pw / (1.0 - q)).ln() / drain;
        check(
            &format!("{name}: {label} wait (s)"),
            est(runs, |r| get(stage(r, name))),
            theory,
            QUANTISATION * theory,
        );
    }
}

/// M/M/1 at rho = 0.8 in the application's queue: P(wait) = 0.8, E[Wq] = 0.8 / 20 = 40 ms,
/// p90 = ln 8 / 20 = 104 ms. HAProxy queues nothing (no `maxconn`), and there is no query.
#[test]
fn mm1_wait_at_the_app() {
    let _report = Report::start("M/M/1 rho=0.8: wait at the app");
    let lambda = 80.0;
    let runs = replicate(&config(lambda, 1, 500_000, 401));
    check_mmc_wait(&runs, "app", lambda, 1);
    for r in &runs {
        let lb = stage(r, "lb_queue");
        assert_eq!((lb.waited, lb.passed), (0, r.servers[0].dispatched));
        assert_eq!(stage(r, "db").passed, 0);
        assert!(
            r.waits
                .iter()
                .all(|w| w.name != "lb_threads" && w.name != "nginx")
        );
        // The stage's P(wait) is the station's own, over measured requests instead of
        // arrivals after the warm-up: the two differ by the requests queued at the warm-up's
        // end at most.
        let app = stage(r, "app");
        let edge = (r.servers[0].app_max_queue + 1) as f64 / app.passed as f64;
        assert!((app.wait_probability - r.servers[0].app_wait_probability).abs() <= edge);
    }
}

/// M/M/4 at rho = 0.8 (lambda = 320/s): C = 0.5964, E[Wq] = C / 80 = 7.45 ms.
#[test]
fn mmc_wait_at_the_app() {
    let _report = Report::start("M/M/4 rho=0.8: wait at the app");
    let lambda = 320.0;
    let runs = replicate(&config(lambda, 4, 600_000, 402));
    check_mmc_wait(&runs, "app", lambda, 4);
}

/// HAProxy's queue as M/M/1: one server with `maxconn 1` takes one request at a time (its
/// slot is held from the assignment to the response), so the others wait in HAProxy's queue
/// (configuration manual §5.2 "maxconn") and never in the application's, whose worker is
/// free whenever a request gets the slot.
#[test]
fn mm1_wait_in_haproxy_queue() {
    let _report = Report::start("M/M/1 rho=0.8 through maxconn 1: wait in HAProxy's queue");
    let lambda = 80.0;
    let mut cfg = config(lambda, 1, 500_000, 403);
    cfg.servers[0].maxconn = 1;
    let runs = replicate(&cfg);
    check_mmc_wait(&runs, "lb_queue", lambda, 1);
    check(
        "mean response (s)",
        est(&runs, |r| r.latency.mean),
        1.0 / (MU - lambda),
        0.0,
    );
    for r in &runs {
        assert_eq!(stage(r, "app").waited, 0, "run {}", r.run);
    }
}

/// Two classes in one M/G/1 FIFO queue (one worker): "short" with exponential work of mean
/// 5 ms and "long" with 15 ms exactly, half of the requests each, at lambda = 60/s. Service:
/// E[S] = 10 ms (rho = 0.6), E[S^2] = (2 x 5^2 + 15^2) / 2 ms^2 = 137.5e-6 s^2. FIFO makes the
/// wait the same for every class (Poisson arrivals see time averages): Pollaczek-Khinchine
/// E[Wq] = lambda E[S^2] / (2 (1 - rho)) = 10.3125 ms, and each class's mean response is that
/// plus its own mean work: 15.3125 ms and 25.3125 ms. P(wait) = rho.
#[test]
fn two_classes_in_one_mg1_queue() {
    let _report = Report::start("M/G/1 rho=0.6, two classes: per-class response");
    let lambda = 60.0;
    let mut cfg = config(lambda, 1, 500_000, 404);
    let class = |name: &str, app: Dist| RequestClass {
        name: name.into(),
        weight: 1.0,
        nginx: Dist::zero(),
        app,
        reads: 0,
        writes: 0,
        static_file: false,
    };
    cfg.workload.mix = vec![
        class("short", Dist::exp(0.005).unwrap()),
        class("long", Dist::det(0.015).unwrap()),
    ];
    let (es, es2) = (0.010, (2.0 * 0.005f64.powi(2) + 0.015f64.powi(2)) / 2.0);
    let rho = lambda * es;
    let wq = lambda * es2 / (2.0 * (1.0 - rho));
    let runs = replicate(&cfg);
    check(
        "app: P(wait) = rho",
        est(&runs, |r| stage(r, "app").wait_probability),
        rho,
        0.0,
    );
    check(
        "app: mean wait (s)",
        est(&runs, |r| stage(r, "app").mean_s),
        wq,
        0.0,
    );
    for (k, work) in [(0, 0.005), (1, 0.015)] {
        check(
            &format!("{}: mean response (s)", runs[0].classes[k].name),
            est(&runs, |r| r.classes[k].latency.mean),
            wq + work,
            0.0,
        );
    }
    for r in &runs {
        // The classes' completions and latencies make up the run's.
        let c = &r.classes;
        assert_eq!(c[0].completed + c[1].completed, r.requests.completed);
        let mean = (c[0].latency.mean * c[0].completed as f64
            + c[1].latency.mean * c[1].completed as f64)
            / r.requests.completed as f64;
        assert!((mean - r.latency.mean).abs() <= 1e-9 * r.latency.mean);
        // A class never finishes faster than its own work: "long" takes 15 ms at least.
        assert!(c[1].latency.p50 >= 0.015 * (1.0 - QUANTISATION));
    }
}
