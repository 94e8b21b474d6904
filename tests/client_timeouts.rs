//! Clients that give up (`workload.client_timeout`) and HAProxy's `option abortonclose`
//! (`lb.abortonclose`), against queueing theory.
//!
//! One server with one worker and `maxconn 1` (HAProxy's queue holds the waiting requests),
//! Poisson arrivals at lambda, exponential work at mu, clients that give up after T.
//!
//! - **Without abortonclose** HAProxy serves every request anyway (configuration manual,
//!   "option abortonclose": "aborted requests will be served"): the queue is an M/M/1, whose
//!   FIFO response time is exponential with rate mu - lambda, so a fraction
//!   P(R > T) = exp(-(mu - lambda) T) of the clients give up. Above saturation the queue grows
//!   without end and almost every client gives up, while the server stays busy.
//! - **With abortonclose** a request still queued at its client's deadline leaves the queue:
//!   an M/M/1+D queue (deterministic patience D = T). Its virtual waiting time V (the wait an
//!   arrival would have) has an atom P0 at 0 and density lambda P0 e^{(lambda - mu) v} below T,
//!   f(T) e^{-mu (v - T)} above (level crossing: Baccelli, Boyer and Hébuterne, "Single-server
//!   queues with impatient customers", Adv. Appl. Prob. 16, 1984). The system is stable above
//!   saturation: the server is busy 1 - P0 of the time. A client gives up when V > T, or when
//!   V <= T < V + S:
//!
//! ```text
//! 1 / P0     = 1 + lambda (e^{(lambda - mu) T} - 1) / (lambda - mu) + lambda e^{(lambda - mu) T} / mu
//! P(abandon) = P(V > T) = lambda P0 e^{(lambda - mu) T} / mu
//! P(give up) = P(abandon) + P0 e^{-mu T} + integral_0^T lambda P0 e^{(lambda - mu) v} e^{-mu (T - v)} dv
//!            = P0 e^{(lambda - mu) T} (1 + lambda / mu)
//! ```
//!
//! Tolerances: each replication gives one proportion; their mean over R replications is
//! compared with the formula in a two-sided 99.9 % Student t interval, which must itself be
//! tight (SE below 1 % of the value).

mod common;
use common::*;

use infrasim::engine::SimTime;
use infrasim::model::*;
use rayon::prelude::*;

const MU: f64 = 100.0;
const R: u64 = 20;

fn config(lambda: f64, timeout: f64, abort: bool, seconds: u64) -> Config {
    let mut cfg = mmc(lambda, MU, 1, 1, Algorithm::RoundRobin, seconds);
    cfg.seed = 7_001;
    cfg.servers[0].maxconn = 1;
    cfg.workload.client_timeout = Some(SimTime::from_secs_f64(timeout));
    cfg.lb.abortonclose = abort;
    cfg
}

fn runs(cfg: &Config) -> Vec<RunResults> {
    (0..R).into_par_iter().map(|k| Stack::run(cfg, k)).collect()
}

/// Share of the finished requests whose client gave up.
fn gave_up(r: &RunResults) -> f64 {
    let n = r.errors["client_timeout"] as f64;
    for (k, v) in &r.errors {
        assert!(k == "client_timeout" || *v == 0, "{k}: {v}");
    }
    n / (r.requests.completed + r.requests.failed) as f64
}

/// Share of the arrivals that never reached the server (left HAProxy's queue).
fn abandoned(r: &RunResults) -> f64 {
    1.0 - r.servers[0].dispatched as f64 / r.requests.arrived as f64
}

fn check(label: &str, xs: &[f64], theory: f64) {
    let e = Est::of(xs);
    let hw = e.hw999();
    log(format!(
        "  {label:<44} sim {:.5} ± {:.5}   theory {theory:.5}",
        e.mean, hw
    ));
    assert!(e.se < 0.01 * theory, "{label}: run too short (SE {})", e.se);
    assert!(
        (e.mean - theory).abs() <= hw,
        "{label}: {} ± {hw} against {theory}",
        e.mean
    );
}

/// M/M/1+D: (P0, P(abandon), P(give up)).
fn mm1_d(lambda: f64, mu: f64, t: f64) -> (f64, f64, f64) {
    let g = ((lambda - mu) * t).exp();
    let p0 = 1.0 / (1.0 + lambda * (g - 1.0) / (lambda - mu) + lambda * g / mu);
    (p0, lambda * p0 * g / mu, p0 * g * (1.0 + lambda / mu))
}

#[test]
fn formulas_known_values() {
    // Patience 0: everyone who finds the server busy leaves (M/M/1/1, Erlang B):
    // P(abandon) = a / (1 + a), and every client gives up.
    let (p0, ab, up) = mm1_d(120.0, 100.0, 0.0);
    assert!((p0 - 1.0 / 2.2).abs() < 1e-12 && (ab - 1.2 / 2.2).abs() < 1e-12);
    assert!((up - 1.0).abs() < 1e-12);
    // Infinite patience below saturation: the M/M/1 (P0 = 1 - rho, nobody leaves).
    let (p0, ab, up) = mm1_d(50.0, 100.0, 1e3);
    assert!((p0 - 0.5).abs() < 1e-12 && ab < 1e-12 && up < 1e-12);
}

#[test]
fn without_abortonclose_every_request_is_served_and_the_tail_gives_up() {
    let _r = Report::start("client timeout, no abortonclose: M/M/1, P(R > T)");
    let (lambda, t) = (90.0, 0.2);
    let all = runs(&config(lambda, t, false, 8_000));
    let xs: Vec<f64> = all.iter().map(gave_up).collect();
    check("clients giving up", &xs, (-(MU - lambda) * t).exp());
    for r in &all {
        // Served anyway: every measured arrival reached the server (bar the few still
        // queued at the end).
        assert!(abandoned(r) < 1e-3, "abandoned {}", abandoned(r));
    }
}

#[test]
fn above_saturation_without_abortonclose_almost_everyone_gives_up() {
    let _r = Report::start("client timeout at 120 % load, no abortonclose");
    let cfg = config(120.0, 0.2, false, 600);
    let r = Stack::run(&cfg, 0);
    let share = gave_up(&r);
    log(format!(
        "  clients giving up {share:.4}, utilisation {:.4}",
        r.servers[0].app_utilisation
    ));
    // The queue grows by 20/s: after the first 10 s (a wait of 0.2 s at most 20 requests
    // ahead) every arrival waits longer than T.
    assert!(share > 0.95, "{share}");
    assert!(r.servers[0].app_utilisation > 0.99);
}

#[test]
fn with_abortonclose_the_queue_sheds_what_its_clients_left() {
    let _r = Report::start("client timeout with abortonclose: M/M/1+D");
    for (lambda, t) in [(90.0, 0.05), (120.0, 0.2)] {
        let all = runs(&config(lambda, t, true, 2_000));
        let (p0, ab, up) = mm1_d(lambda, MU, t);
        let label = format!("lambda {lambda}, T {t}");
        check(
            &format!("{label}: clients giving up"),
            &all.iter().map(gave_up).collect::<Vec<_>>(),
            up,
        );
        check(
            &format!("{label}: abandoned in the queue"),
            &all.iter().map(abandoned).collect::<Vec<_>>(),
            ab,
        );
        check(
            &format!("{label}: server busy"),
            &all.iter()
                .map(|r| r.servers[0].app_utilisation)
                .collect::<Vec<_>>(),
            1.0 - p0,
        );
    }
}
