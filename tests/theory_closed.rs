//! Closed-loop users (`[workload.users]`) against operational laws and mean-value analysis.
//!
//! - The interactive response time law, R = N/X - Z, holds on every sample path up to edge
//!   effects, whatever the stack; the tolerance is derived below from the run itself.
//! - Mean-value analysis (Reiser & Lavenberg 1980, "Mean-value analysis of closed multichain
//!   queuing networks", JACM 27(2); Lazowska et al., *Quantitative System Performance*, 1984,
//!   ch. 6) gives the exact throughput and response time of a product-form closed network:
//!   exponential think time (a delay station) and single-server FIFO stations with exponential
//!   service. Nginx (one worker) then the application (one worker) with every other stage
//!   taking no time is such a network: a request leaves Nginx's worker before it queues for the
//!   application. Replication means are compared with the exact figures through 99.9% Student
//!   t intervals, as in `theory_queueing.rs`.

mod common;
use common::*;

use infrasim::dist::Dist;
use infrasim::model::*;
use rayon::prelude::*;

/// Replications per configuration.
const R: u64 = 20;

/// A check only means something if its interval is tight: standard error below this fraction
/// of the theoretical value (as in `theory_queueing.rs`).
const MAX_REL_SE: f64 = 0.01;

/// `mmc` with the open arrivals off and `users` closed-loop users instead.
fn closed(users: UsersConfig, seconds: u64) -> Config {
    let mut cfg = common::mmc(1.0, 100.0, 1, 1, Algorithm::RoundRobin, seconds);
    cfg.name = "closed-test".into();
    cfg.workload.rate = 0.0;
    cfg.workload.users = Some(users);
    cfg
}

fn runs(cfg: &Config) -> Vec<RunResults> {
    let runs: Vec<RunResults> = (0..R).into_par_iter().map(|k| Stack::run(cfg, k)).collect();
    for r in &runs {
        check_run(r);
        assert_eq!(r.requests.failed, 0, "nothing can fail here");
    }
    runs
}

/// The interactive response time law on one run, with the edge bound derived from the run:
///
/// Over the window [w, e] of length T each of the N users is always either waiting for a page
/// or thinking. Take the F pages that started in the window and finished by e, each with the
/// think time that follows it cut at e (what `users` reports: R = mean page time, Z = mean of
/// those thinks, X = F / T). These F cycles (page + think) lie inside the window and do not
/// overlap, so N T = F (R + Z) + U, where U is the users' time in the window outside them: at
/// most one cycle per user cut by w and one page in flight at e, each shorter than
/// C = max page time + max think (with some slack: those pages are not among the F). So, with
/// X = F / T:
///     0 <= (N / X - Z) - R = U / F <= 2 N C / F,
/// the first inequality exact (the mean is exact, not the histogram's), the second checked
/// with the looser 3 N C / F.
fn check_law(r: &RunResults) -> f64 {
    let u = r.users.as_ref().expect("users report");
    let n = f64::from(u.users);
    let f = u.pages_completed as f64;
    let c = u.page_time.max + u.max_think_s;
    let bound = 3.0 * n * c / f;
    let diff = u.law_response_s - u.page_time.mean;
    assert!(
        diff >= -1e-9 * u.page_time.mean && diff <= bound,
        "run {}: R = {} but N/X - Z = {}: diff {diff} outside [0, edge bound {bound}]",
        r.run,
        u.page_time.mean,
        u.law_response_s
    );
    // The reported figure is N/X - Z of the reported X and Z.
    let law = n / u.page_throughput - u.mean_think_s;
    assert!((law - u.law_response_s).abs() <= 1e-12 * law.abs().max(1.0));
    diff.abs() / bound
}

#[test]
fn closed_loop_response_time_law() {
    let _r = Report::start("closed loop: interactive response time law R = N/X - Z");
    // Not product form on purpose: two servers round-robin, two workers each, log-normal work,
    // three requests per page, sessions of four pages, uniform think times. The law holds
    // whatever the stack does.
    let mut cfg = closed(
        UsersConfig {
            count: 40,
            think: Dist::Uniform(infrasim::dist::Uniform::new(0.2, 1.0).unwrap()),
            pages: 4,
            requests: 3,
            abandon: 0.0,
            away: None,
        },
        1200,
    );
    cfg.servers = (0..2).map(|_| cfg.servers[0].clone()).collect();
    for (i, s) in cfg.servers.iter_mut().enumerate() {
        s.name = format!("web-{}", i + 1);
        s.app_workers = 2;
    }
    cfg.workload.mix[0].app = Dist::LogNormal(infrasim::dist::LogNormal::new(0.02, 1.5).unwrap());
    let runs = runs(&cfg);
    let mut worst: f64 = 0.0;
    for r in &runs {
        worst = worst.max(check_law(r));
        let u = r.users.as_ref().unwrap();
        // Three requests per page: the requests the users sent are three per page.
        assert!(r.requests.arrived >= 3 * u.pages_completed);
        // Sessions of four pages: the window's pages are four per session started in it,
        // give or take the sessions cut by its edges (at most one per user at each).
        assert!(u.pages_completed <= 4 * u.sessions + 3 * 40, "{u:?}");
        assert!(4 * u.sessions <= u.pages_completed + 4 * 40, "{u:?}");
    }
    let u = runs[0].users.as_ref().unwrap();
    log(format!(
        "  N = 40: X = {:.3} pages/s, R = {:.5} s, Z = {:.5} s, N/X - Z = {:.5} s; \
         worst |diff| / bound over {R} runs {worst:.3}",
        u.page_throughput, u.page_time.mean, u.mean_think_s, u.law_response_s
    ));
    // The bound must be tight enough to mean something: a few percent of R.
    let bound = 3.0 * 40.0 * (u.page_time.max + u.max_think_s) / u.pages_completed as f64;
    assert!(bound < 0.1 * u.page_time.mean, "bound {bound} too loose");
}

/// Exact MVA for single-server FIFO stations of demands `d` (seconds) and a delay of mean `z`:
/// R_k(n) = D_k (1 + Q_k(n - 1)), X(n) = n / (Z + sum R_k(n)), Q_k(n) = X(n) R_k(n).
/// Returns (X(n), R(n)) with R the sum over stations.
fn mva(n: u32, d: &[f64], z: f64) -> (f64, f64) {
    let mut q = vec![0.0; d.len()];
    let (mut x, mut r) = (0.0, 0.0);
    for k in 1..=n {
        let rk: Vec<f64> = d.iter().zip(&q).map(|(d, q)| d * (1.0 + q)).collect();
        r = rk.iter().sum();
        x = f64::from(k) / (z + r);
        q = rk.iter().map(|r| x * r).collect();
    }
    (x, r)
}

#[test]
fn mva_matches_known_values() {
    // One station, one user: R = D, X = 1 / (D + Z).
    let (x, r) = mva(1, &[0.5], 1.5);
    assert!((x - 0.5).abs() < 1e-15 && (r - 0.5).abs() < 1e-15);
    // The machine-repairman model M/M/1//N (Kleinrock, Queueing Systems I, §3.10): with
    // N = 2, D = 1, Z = 1, p0 = 1 / (1 + 2 + 2) = 0.2, X = (1 - p0) / D = 0.8.
    let (x, _) = mva(2, &[1.0], 1.0);
    assert!((x - 0.8).abs() < 1e-12, "{x}");
    // Many users: X tends to 1 / D_max (the bottleneck).
    let (x, _) = mva(500, &[0.02, 0.04], 0.5);
    assert!((x - 25.0).abs() < 1e-6, "{x}");
}

fn check(label: &str, est: Est, theory: f64) {
    let hw = est.hw999();
    log(format!(
        "  {label:<26} sim {:>10.6} ± {:.6} (SE {:.3}% of theory)   MVA {:>10.6}",
        est.mean,
        hw,
        100.0 * est.se / theory,
        theory
    ));
    assert!(
        est.se <= MAX_REL_SE * theory,
        "{label}: SE {} too wide",
        est.se
    );
    assert!(
        (est.mean - theory).abs() <= hw,
        "{label}: simulation {} vs MVA {theory}: outside the 99.9% interval ± {hw}",
        est.mean
    );
}

#[test]
fn closed_loop_matches_exact_mva() {
    let _r = Report::start("closed loop: Nginx + app single-server stations, exact MVA");
    // N = 12 users near the knee N* = (D + Z) / D_max = (0.06 + 0.5) / 0.04 = 14: both the
    // queueing and the think time matter.
    let (n, s_nginx, s_app, z) = (12u32, 0.02, 0.04, 0.5);
    let mut cfg = closed(
        UsersConfig {
            count: n,
            think: Dist::exp(z).unwrap(),
            pages: 1,
            requests: 1,
            abandon: 0.0,
            away: None,
        },
        2000,
    );
    cfg.workload.mix[0].nginx = Dist::exp(s_nginx).unwrap();
    cfg.workload.mix[0].app = Dist::exp(s_app).unwrap();
    let runs = runs(&cfg);
    for r in &runs {
        check_law(r);
    }
    let (x, resp) = mva(n, &[s_nginx, s_app], z);
    let users = |f: fn(&infrasim::model::clients::UsersReport) -> f64| {
        Est::of(
            &runs
                .iter()
                .map(|r| f(r.users.as_ref().unwrap()))
                .collect::<Vec<_>>(),
        )
    };
    check("throughput X (pages/s)", users(|u| u.page_throughput), x);
    check("response time R (s)", users(|u| u.page_time.mean), resp);
    let util = Est::of(
        &runs
            .iter()
            .map(|r| r.servers[0].app_utilisation)
            .collect::<Vec<_>>(),
    );
    check("app utilisation X D", util, x * s_app);
}

/// Users who leave after a failed page (`abandon`): every page fails here (clients give up
/// after 1 ms on 10 ms of work), so a session of P pages ends early at page j < P with
/// probability (1 − p)^(j−1) p: a share 1 − (1 − p)^(P−1) of sessions is abandoned and a
/// session loads (1 − (1 − p)^P) / p pages on average. The decisions are independent draws,
/// so the abandoned count is binomial over the sessions; the window's edges cut at most one
/// session per user. The time away follows the page as a think time does, so the response
/// time law still holds with it.
#[test]
fn users_leave_after_failed_pages() {
    let _r = Report::start("closed loop: users abandon sessions after failed pages");
    let (n, pages, p) = (20u32, 4u32, 0.3);
    let mut cfg = closed(
        UsersConfig {
            count: n,
            think: Dist::det(1.0).unwrap(),
            pages,
            requests: 1,
            abandon: p,
            away: Some(Dist::det(3.0).unwrap()),
        },
        3600,
    );
    cfg.workload.mix[0].app = Dist::det(0.01).unwrap();
    cfg.workload.client_timeout = Some(infrasim::engine::SimTime::from_millis(1));
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    check_law(&r);
    let u = r.users.as_ref().unwrap();
    assert_eq!(u.pages_failed, u.pages_completed, "every page fails");
    let sessions = u.sessions as f64;
    let abandoned = u.sessions_abandoned.expect("reported with abandon") as f64;
    let share = 1.0 - (1.0 - p).powi(pages as i32 - 1);
    let per_session = (1.0 - (1.0 - p).powi(pages as i32)) / p;
    let edge = f64::from(n) / sessions;
    let tol = Z_999 * (share * (1.0 - share) / sessions).sqrt() + edge;
    log(format!(
        "  p = {p}, {pages} pages: {abandoned} of {sessions} sessions abandoned ({:.4}, theory \
         {share:.4} ± {tol:.4}); {:.4} pages per session (theory {per_session:.4})",
        abandoned / sessions,
        u.pages_completed as f64 / sessions
    ));
    assert!((abandoned / sessions - share).abs() <= tol);
    // Pages per session: a sum of the sessions' geometric page counts (each at most P).
    let sd = (pages as f64) / (2.0 * sessions.sqrt());
    assert!(
        (u.pages_completed as f64 / sessions - per_session).abs()
            <= Z_999 * sd + pages as f64 * edge
    );
    // Without `abandon` the same users click through every failure: four pages a session.
    let mut stay = cfg.clone();
    if let Some(u) = &mut stay.workload.users {
        u.abandon = 0.0;
        u.away = None;
    }
    let s = Stack::run(&stay, 0);
    let su = s.users.as_ref().unwrap();
    assert!(su.sessions_abandoned.is_none());
    assert!(
        (su.pages_completed as f64 / su.sessions as f64 - pages as f64).abs()
            <= pages as f64 * f64::from(n) / su.sessions as f64
    );
}

/// Times away far longer than the window (ten minutes away, a 2-minute run): nearly every one
/// drawn runs past the end. Counted whole, they made Z larger than N/X and the law's R
/// negative; cut at the run's end, N/X - Z is R plus the edges, never below it.
#[test]
fn time_away_past_the_end_keeps_the_law_at_or_above_r() {
    let _r = Report::start("closed loop: the response time law with long times away");
    let mut cfg = closed(
        UsersConfig {
            count: 20,
            think: Dist::det(1.0).unwrap(),
            pages: 4,
            requests: 1,
            abandon: 0.5,
            away: Some(Dist::det(600.0).unwrap()),
        },
        120,
    );
    cfg.workload.mix[0].app = Dist::det(0.01).unwrap();
    cfg.workload.client_timeout = Some(infrasim::engine::SimTime::from_millis(1));
    // The users' first pages (at 1 s) in the window.
    cfg.warmup = infrasim::engine::SimTime::ZERO;
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let u = r.users.as_ref().unwrap();
    assert!(
        u.sessions_abandoned.unwrap() >= 10,
        "most users leave for the rest of the run: {u:?}"
    );
    assert!(
        u.max_think_s <= 120.0,
        "a think is counted up to the end: {u:?}"
    );
    assert!(u.law_response_s >= 0.0, "{u:?}");
    check_law(&r);
}
