//! Queueing theory against the simulator.
//!
//! Every test builds a configuration whose closed form is known (Poisson arrivals, exponential
//! application work, every other stage taking no time: `common::mmc`), runs R independent
//! replications (replication index 0..R, in parallel), and compares the mean over the
//! replications with the formula.
//!
//! How the tolerances are derived (nothing is a number picked to pass):
//! - Replication means are independent and, by the central limit theorem over ~1e5-1e6
//!   requests each, close to normal. With sample mean m and standard error SE = s / sqrt(R),
//!   (m - theory) / SE is Student t with R - 1 df, so `|m - theory| <= t_{0.9995, R-1} SE` is a
//!   two-sided 99.9% interval: a correct simulator fails a given check with probability 0.1%.
//!   The seeds are fixed, so the outcome is deterministic.
//! - Such a check passes vacuously if the interval is huge, so each one also asserts that the
//!   run was long enough: SE / theory below [`MAX_REL_SE`].
//! - Latency quantiles come from an HDR histogram with 3 significant digits; its bucket
//!   rounding (at most 1e-3 relative) is added to the interval for quantile checks.
//! - Little's law and request conservation are checked in every run (see [`check_run`]).
//!
//! The theory is in domain.md §8. Rates: mu = 100/s (10 ms of work) throughout.

mod common;
use common::*;

use infrasim::model::*;
use rayon::prelude::*;

/// Service rate of one application worker (requests per second).
const MU: f64 = 100.0;

/// Independent replications per configuration.
const R: usize = 20;

/// A check is only meaningful if the run was long enough for a tight interval: the standard
/// error of every compared mean must be below this fraction of the theoretical value (the
/// 99.9% half-width is then below t(19) x 1% = 3.9% of it; the runs below are sized so that
/// the SE of a mean response is about 0.1-0.5%).
const MAX_REL_SE: f64 = 0.01;

/// Student t quantiles t_{0.9995, df} for df = 1..=30: the half-width multiplier of a two-sided
/// 99.9% confidence interval (the "two-sided 0.001" column of the usual printed tables), rounded
/// to 3 decimals; every entry is re-derived in `t_quantile_table_is_correct` from the exact
/// closed form of the t distribution. (`stats::ci::student_t_975` is the 95% one.)
const T_999: [f64; 30] = [
    636.619, 31.599, 12.924, 8.610, 6.869, 5.959, 5.408, 5.041, 4.781, 4.587, //
    4.437, 4.318, 4.221, 4.140, 4.073, 4.015, 3.965, 3.922, 3.883, 3.850, //
    3.819, 3.792, 3.768, 3.745, 3.725, 3.707, 3.690, 3.674, 3.659, 3.646,
];

fn t_999(df: usize) -> f64 {
    assert!((1..=30).contains(&df), "t table covers df 1..=30, got {df}");
    T_999[df - 1]
}

// ---- statistics over replications ----------------------------------------------------------

impl Est {
    fn from_runs(runs: &[RunResults], f: impl Fn(&RunResults) -> f64) -> Est {
        Est::of(&runs.iter().map(f).collect::<Vec<_>>())
    }

    /// Half-width of the two-sided 99.9% interval.
    fn half_width(&self) -> f64 {
        t_999(self.n - 1) * self.se
    }
}

/// Asserts that `theory` lies in the 99.9% interval of `est` widened by `quantisation` (a
/// known deterministic measurement resolution, 0 for exact means), and that the interval is
/// tight (SE below `MAX_REL_SE` of the theory).
fn check(label: &str, est: Est, theory: f64, quantisation: f64) {
    let hw = est.half_width();
    log(format!(
        "  {label:<34} sim {:>10.6} ± {:.6} (SE {:.3}% of theory)   theory {:>10.6}   diff {:+.2} SE",
        est.mean,
        hw,
        100.0 * est.se / theory.abs(),
        theory,
        (est.mean - theory) / est.se
    ));
    assert!(
        est.se <= MAX_REL_SE * theory.abs(),
        "{label}: interval too wide to mean anything: SE {} > {MAX_REL_SE} x {theory}",
        est.se
    );
    assert!(
        (est.mean - theory).abs() <= hw + quantisation,
        "{label}: simulation {} vs theory {theory}: |diff| {} > t_0.9995({}) x SE {} + {quantisation}",
        est.mean,
        (est.mean - theory).abs(),
        est.n - 1,
        est.se
    );
}

/// Asserts that the paired mean difference `est` (A - B per replication) is significantly
/// negative: its whole 99.9% interval lies below 0.
fn check_negative(label: &str, est: Est) {
    let hw = est.half_width();
    log(format!(
        "  {label:<34} mean diff {:+.6} ± {:.6}  (interval [{:+.6}, {:+.6}])",
        est.mean,
        hw,
        est.mean - hw,
        est.mean + hw
    ));
    assert!(
        est.mean + hw < 0.0,
        "{label}: difference {} ± {hw} does not exclude 0",
        est.mean
    );
}

// ---- running ---------------------------------------------------------------------------------

/// Runs replications 0..R of `cfg` in parallel and checks every run with [`check_run`].
fn replicate(cfg: &Config, label: &str) -> Vec<RunResults> {
    let runs: Vec<RunResults> = (0..R as u64)
        .into_par_iter()
        .map(|k| Stack::run(cfg, k))
        .collect();
    let (mut worst_rel, mut worst_frac, mut loosest): (f64, f64, f64) = (0.0, 0.0, 0.0);
    for r in &runs {
        let (rel, bound) = check_run(cfg, r, label);
        worst_rel = worst_rel.max(rel);
        worst_frac = worst_frac.max(rel / bound);
        loosest = loosest.max(bound);
    }
    let req: u64 = runs.iter().map(|r| r.requests.arrived).sum();
    log(format!(
        "  [{label}] {} runs, {:.2}M measured requests, conservation ok; Little: worst |L - lW|/L \
         {worst_rel:.1e} (bounds up to {loosest:.1e}, worst ratio {worst_frac:.3})",
        runs.len(),
        req as f64 * 1e-6,
    ));
    runs
}

/// Per-run invariants that hold on every sample path; returns Little's law's relative error
/// and its bound (for the report).
///
/// Conservation: nothing is refused in these configurations (unbounded queues, no limits), so
/// `failed = 0`, every measured arrival was dispatched at once (sum of the servers' dispatched
/// = arrived), and arrived = completed + failed + in_flight_end, with the servers' completions
/// adding up to the total.
///
/// Little's law, L = lambda W, is a sample-path identity except at the two edges of the
/// measurement window [w, e] of length T. With A measured arrivals, F of them finished with
/// total sojourn S (W = S/F, lambda = A/T) and I = A - F still in flight at e:
///     L T = S + E1 + E2,   lambda W T = S A/F = S + I W,
/// where E1 = sum over the I in-flight requests of (e - arrival) and E2 = sum over the N(w)
/// requests present at w of their time in the window. So
///     |L T - lambda W T| <= max(E1, I W) + E2 <= (I + N(w)) x (longest time in system).
/// N(w) is not reported, but it is at most the largest number ever present in the window:
/// Q = sum over servers of (app workers + app_max_queue) (the maxima restart from the current
/// value at w; the LB and Nginx hold nothing here). The longest time in system is taken as
/// M = latency.max: a request present at an edge is in the same FIFO lines as the measured
/// ones just after or before it. Hence the bound, computed from the run itself:
///     |L - lambda W| / L <= (Q + I) M / (L T).
/// It is about 1e-3 for these runs (the actual errors are ~1e-5), several times tighter than
/// "3 x the relative standard error of W". Its worst case is a congestion peak exactly at w
/// (N(w) = Q, the k-th request in line leaving after about k services): about half the bound
/// (0.44 was the worst of 3000 short trial runs at rho = 0.9).
fn check_run(cfg: &Config, r: &RunResults, label: &str) -> (f64, f64) {
    let q = &r.requests;
    let ctx = format!("{label} run {}", r.run);
    assert_eq!(
        q.arrived,
        q.completed + q.failed + q.in_flight_end,
        "{ctx}: conservation"
    );
    assert_eq!(
        q.failed, 0,
        "{ctx}: no request can fail here: {:?}",
        r.errors
    );
    assert!(r.errors.values().all(|&n| n == 0), "{ctx}: {:?}", r.errors);
    let dispatched: u64 = r.servers.iter().map(|s| s.dispatched).sum();
    let completed: u64 = r.servers.iter().map(|s| s.completed).sum();
    assert_eq!(
        dispatched, q.arrived,
        "{ctx}: every arrival is dispatched at once"
    );
    assert_eq!(completed, q.completed, "{ctx}: servers' completions add up");
    assert!(q.arrived > 10_000, "{ctx}: run too short");

    let ll = &r.littles_law;
    let l = ll.mean_in_system;
    let most_present: u64 = r
        .servers
        .iter()
        .zip(&cfg.servers)
        .map(|(s, c)| s.app_max_queue + u64::from(c.app_workers))
        .sum();
    assert!(
        q.in_flight_end <= most_present,
        "{ctx}: more in flight than ever present"
    );
    let bound = (most_present + q.in_flight_end) as f64 * r.latency.max / (l * r.measured_s);
    let rel = (l - ll.lambda_times_w).abs() / l;
    assert!(
        rel <= bound,
        "{ctx}: Little's law: L = {l}, lambda W = {}, relative error {rel} > edge bound {bound}",
        ll.lambda_times_w
    );
    // The reported relative error is the same quantity.
    assert!((ll.relative_error - rel).abs() <= 1e-12 * (1.0 + rel));
    (rel, bound)
}

/// `mmc` sized to `requests` arrivals per replication, with its own seed.
fn config(
    lambda: f64,
    c: u32,
    servers: usize,
    algorithm: Algorithm,
    requests: u64,
    seed: u64,
) -> Config {
    let seconds = (requests as f64 / lambda).ceil() as u64;
    let mut cfg = common::mmc(lambda, MU, c, servers, algorithm, seconds);
    cfg.seed = seed;
    cfg
}

// ---- closed forms ------------------------------------------------------------------------------

/// M/M/c mean response time: E[T] = C / (c mu - lambda) + 1 / mu.
fn mmc_response(lambda: f64, mu: f64, c: u32) -> f64 {
    erlang_c(lambda / mu, c) / (c as f64 * mu - lambda) + 1.0 / mu
}

/// sigma of E2/M/1 in closed form (domain.md §8): sigma = (1 + 4 rho - sqrt(1 + 8 rho)) / 2,
/// rho = (per-server arrival rate) / mu.
fn e2m1_sigma(rho: f64) -> f64 {
    (1.0 + 4.0 * rho - (1.0 + 8.0 * rho).sqrt()) / 2.0
}

/// Stationary distribution of a finite, irreducible continuous-time Markov chain given as
/// (from, to, rate) transitions: Gauss-Seidel on the global balance equations
/// pi_j q_j = sum_i pi_i q_ij, renormalised after each sweep, until the balance residual
/// sum_j |inflow_j - pi_j q_j| is below 1e-13 of the total flow.
fn stationary(n: usize, transitions: &[(usize, usize, f64)]) -> Vec<f64> {
    let mut out = vec![0.0; n];
    let mut incoming: Vec<Vec<(usize, f64)>> = vec![Vec::new(); n];
    for &(i, j, q) in transitions {
        assert!(i != j && q > 0.0);
        out[i] += q;
        incoming[j].push((i, q));
    }
    let inflow = |pi: &[f64], j: usize| incoming[j].iter().map(|&(i, q)| pi[i] * q).sum::<f64>();
    let mut pi = vec![1.0 / n as f64; n];
    for _sweep in 0..200_000 {
        for j in 0..n {
            pi[j] = inflow(&pi, j) / out[j];
        }
        let total: f64 = pi.iter().sum();
        pi.iter_mut().for_each(|p| *p /= total);
        let flow: f64 = (0..n).map(|j| pi[j] * out[j]).sum();
        let residual: f64 = (0..n)
            .map(|j| (inflow(&pi, j) - pi[j] * out[j]).abs())
            .sum();
        if residual <= 1e-13 * flow {
            return pi;
        }
    }
    panic!("Gauss-Seidel did not converge");
}

/// Two identical exponential servers (rate mu each, FIFO, no jockeying) under
/// join-the-shortest-queue at Poisson rate lambda: mean number in system from the exact Markov
/// chain. By symmetry (and whatever the tie-breaking) the sorted state (x, y), with x the
/// longer queue and y <= x the shorter, is itself a Markov chain:
/// - arrival (lambda): to (x, y+1) if y < x, to (x+1, x) if y = x (one queue becomes the
///   longer);
/// - departure: if x = y > 0, rate 2 mu to (x, x-1); if x > y, mu to (x-1, y), and mu to
///   (x, y-1) if y > 0.
///
/// Truncated at x <= `cap` (arrivals at (cap, cap) are lost); the function asserts that the
/// top level holds negligible mass, so the truncation does not matter.
fn jsq2_mean_in_system(lambda: f64, mu: f64, cap: usize) -> f64 {
    let idx = |x: usize, y: usize| x * (x + 1) / 2 + y;
    let n = idx(cap, cap) + 1;
    let mut tr = Vec::new();
    for x in 0..=cap {
        for y in 0..=x {
            let s = idx(x, y);
            if y < x {
                tr.push((s, idx(x, y + 1), lambda));
            } else if x < cap {
                tr.push((s, idx(x + 1, x), lambda));
            }
            if x == y && x > 0 {
                tr.push((s, idx(x, x - 1), 2.0 * mu));
            } else if x > y {
                tr.push((s, idx(x - 1, y), mu));
                if y > 0 {
                    tr.push((s, idx(x, y - 1), mu));
                }
            }
        }
    }
    let pi = stationary(n, &tr);
    let mut mean = 0.0;
    for x in 0..=cap {
        for y in 0..=x {
            mean += (x + y) as f64 * pi[idx(x, y)];
        }
    }
    // The truncation must not matter: the top level holds negligible mass.
    let top: f64 = (0..=cap).map(|y| pi[idx(cap, y)]).sum();
    assert!(top < 1e-9, "truncation level too low: P(x = cap) = {top}");
    mean
}

// ---- checks of the oracles themselves ------------------------------------------------------

/// Every table entry is the 99.9% two-sided quantile to its 3 decimals:
/// P(|T| < t - 0.0005) < 0.999 < P(|T| < t + 0.0005); same for z_{0.9995} (Simpson's rule on
/// the normal density).
#[test]
fn t_quantile_table_is_correct() {
    // The closed form against two textbook values first.
    assert!((t_central_prob(12.706, 1) - 0.95).abs() < 1e-4);
    assert!((t_central_prob(2.086, 20) - 0.95).abs() < 1e-4);
    for df in 1..=30 {
        let t = t_999(df);
        let below = t_central_prob(t - 0.0005, df);
        let above = t_central_prob(t + 0.0005, df);
        assert!(
            below < 0.999 && 0.999 < above,
            "df {df}: t {t}: {below} .. {above}"
        );
    }
    let normal_central = |z: f64| {
        let n = 20_000;
        let h = z / n as f64;
        let f = |x: f64| (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mut s = f(0.0) + f(z);
        for i in 1..n {
            s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        2.0 * s * h / 3.0
    };
    assert!(normal_central(Z_999 - 5e-6) < 0.999 && 0.999 < normal_central(Z_999 + 5e-6));
}

/// Erlang C against hand-computed values: a = 2, c = 3 gives B = 4/19, C = 4/9; c = 1 gives
/// C = rho (M/M/1); a = 1, c = 2 gives C = 1/3 (B_1 = 1/2, B_2 = 1/5, C = 0.2/0.6).
#[test]
fn erlang_c_known_values() {
    assert!((erlang_c(2.0, 3) - 4.0 / 9.0).abs() < 1e-12);
    assert!((erlang_c(0.8, 1) - 0.8).abs() < 1e-12);
    assert!((erlang_c(1.0, 2) - 1.0 / 3.0).abs() < 1e-12);
    // M/M/1 response from the M/M/c formula: 1/(mu - lambda).
    assert!((mmc_response(80.0, 100.0, 1) - 0.05).abs() < 1e-12);
}

/// The Markov chain solver reproduces M/M/2 (birth-death chain, truncated at 400): mean number
/// in system = lambda E[T] with E[T] from Erlang C.
#[test]
fn ctmc_solver_reproduces_mm2() {
    let (lambda, cap) = (180.0, 400);
    let mut tr = Vec::new();
    for k in 0..cap {
        tr.push((k, k + 1, lambda));
        tr.push((k + 1, k, MU * (k + 1).min(2) as f64));
    }
    let pi = stationary(cap + 1, &tr);
    let l: f64 = pi.iter().enumerate().map(|(k, p)| k as f64 * p).sum();
    let theory = lambda * mmc_response(lambda, MU, 2);
    assert!((l - theory).abs() < 1e-9 * theory, "{l} vs {theory}");
}

/// E2/M/1 as a GI/M/1 queue. Round-robin over 2 servers hands each one every 2nd arrival of a
/// Poisson(lambda) stream, so its interarrival time is the sum of 2 exponential gaps of rate
/// lambda: Erlang-2 with phase rate lambda, mean 2/lambda, Laplace transform
/// A*(s) = (lambda / (lambda + s))^2. GI/M/1: sigma is the root in (0, 1) of
/// sigma = A*(mu (1 - sigma)). With lambda = 2 rho mu this is
/// sigma (2 rho + 1 - sigma)^2 = 4 rho^2; dividing out the root sigma = 1 leaves
/// sigma^2 - (1 + 4 rho) sigma + 4 rho^2 = 0, whose root below 1 is domain.md's
/// sigma = (1 + 4 rho - sqrt(1 + 8 rho)) / 2.
/// (The transform (2 lambda / (2 lambda + s))^2 would be an Erlang-2 of mean 1/lambda, i.e. a
/// server receiving the whole stream; it does not match the per-server rate.)
/// Checked here: the closed form solves the fixed point, and the fixed-point iteration from 0
/// (monotone, converging to the smallest root) lands on it.
#[test]
fn e2m1_sigma_solves_gim1_fixed_point() {
    for rho in [0.3, 0.5, 0.8, 0.9, 0.99] {
        let lambda = 2.0 * rho * MU;
        let a_star = |s: f64| (lambda / (lambda + s)).powi(2);
        let sigma = e2m1_sigma(rho);
        assert!(sigma > 0.0 && sigma < 1.0);
        assert!(
            (sigma - a_star(MU * (1.0 - sigma))).abs() < 1e-12,
            "rho {rho}"
        );
        let mut it = 0.0;
        for _ in 0..1_000_000 {
            it = a_star(MU * (1.0 - it));
        }
        assert!(
            (it - sigma).abs() < 1e-9,
            "rho {rho}: iteration {it} vs {sigma}"
        );
        // Erlang-2 arrivals are more regular than Poisson: sigma < rho (the M/M/1 value).
        assert!(sigma < rho);
    }
}

// ---- the simulator against the theory --------------------------------------------------------

/// M/M/1 (domain.md §8): one server, one worker. Mean response 1/(mu - lambda); the response
/// is exponential with rate mu - lambda, so its q-quantile is -ln(1 - q) / (mu - lambda);
/// P(wait) = rho (PASTA: a Poisson arrival sees the time-average, and the server is busy a
/// fraction rho of the time); utilisation = rho.
fn mm1(rho: f64, requests: u64, seed: u64) {
    let lambda = rho * MU;
    let label = format!("M/M/1 rho={rho}");
    let _report = Report::start(label.clone());
    let cfg = config(lambda, 1, 1, Algorithm::RoundRobin, requests, seed);
    let runs = replicate(&cfg, &label);
    let t = 1.0 / (MU - lambda);
    check(
        "mean response (s)",
        Est::from_runs(&runs, |r| r.latency.mean),
        t,
        0.0,
    );
    type Getter = fn(&RunResults) -> f64;
    let quantiles: [(f64, &str, Getter); 3] = [
        (0.5, "p50", |r| r.latency.p50),
        (0.9, "p90", |r| r.latency.p90),
        (0.99, "p99", |r| r.latency.p99),
    ];
    for (q, name, get) in quantiles {
        let theory = -(1.0 - q).ln() * t;
        // + the histogram's 3-significant-digit bucket rounding (<= 1e-3 relative)
        check(
            &format!("{name} response (s)"),
            Est::from_runs(&runs, get),
            theory,
            1e-3 * theory,
        );
    }
    let pw = Est::from_runs(&runs, |r| r.servers[0].app_wait_probability);
    check("P(wait)", pw, rho, 0.0);
    let u = Est::from_runs(&runs, |r| r.servers[0].app_utilisation);
    check("utilisation", u, rho, 0.0);
}

/// M/M/1 at rho = 0.8: E[T] = 1/(100 - 80) = 50 ms, P(wait) = utilisation = 0.8.
#[test]
fn mm1_rho_08() {
    mm1(0.8, 500_000, 101);
}

/// M/M/1 at rho = 0.5: E[T] = 1/(100 - 50) = 20 ms, P(wait) = utilisation = 0.5.
#[test]
fn mm1_rho_05() {
    mm1(0.5, 200_000, 102);
}

/// M/M/c (domain.md §8): one server with c workers sharing one FIFO queue. P(wait) = Erlang C
/// (via the Erlang B recursion), E[T] = C / (c mu - lambda) + 1/mu, utilisation = rho.
fn mmc_check(c: u32, rho: f64, requests: u64, seed: u64) {
    let lambda = rho * c as f64 * MU;
    let label = format!("M/M/{c} rho={rho}");
    let _report = Report::start(label.clone());
    let cfg = config(lambda, c, 1, Algorithm::RoundRobin, requests, seed);
    let runs = replicate(&cfg, &label);
    let ec = erlang_c(lambda / MU, c);
    check(
        "mean response (s)",
        Est::from_runs(&runs, |r| r.latency.mean),
        mmc_response(lambda, MU, c),
        0.0,
    );
    check(
        "P(wait) = Erlang C",
        Est::from_runs(&runs, |r| r.servers[0].app_wait_probability),
        ec,
        0.0,
    );
    check(
        "utilisation",
        Est::from_runs(&runs, |r| r.servers[0].app_utilisation),
        rho,
        0.0,
    );
}

/// M/M/4 at rho = 0.8 (lambda = 320/s): C = 0.5964, E[T] = C/80 + 0.01 = 17.45 ms.
#[test]
fn mmc_c4_rho_08() {
    mmc_check(4, 0.8, 600_000, 201);
}

/// M/M/2 at rho = 0.8 (lambda = 160/s): C = 0.7111, E[T] = C/40 + 0.01 = 27.78 ms.
#[test]
fn mmc_c2_rho_08() {
    mmc_check(2, 0.8, 500_000, 202);
}

/// `random` with one draw over 2 equal servers: each request goes to server i with probability
/// p_i, its share of HAProxy's consistent-hash ring (about 0.431 / 0.569 for two weight-1
/// servers, `chash::Ring::shares`), independently of everything else, and the independent
/// thinning of a Poisson(lambda) stream gives independent Poisson(lambda p_i) streams
/// (domain.md §8). Each server is then an M/M/1 at lambda p_i: mean response over all requests
/// sum_i p_i / (mu - lambda p_i), P(wait) = utilisation = lambda p_i / mu. Server 0's share of
/// all dispatches over all replications is Binomial(n, p_0)/n:
/// |share - p_0| <= z_{0.9995} sqrt(p_0 (1 - p_0) / n). At rho = 0.7 the busier server runs at
/// 0.80.
#[test]
fn random_split_two_mm1() {
    let rho = 0.7;
    let lambda = 2.0 * rho * MU;
    let label = "random(1) x2";
    let _report = Report::start(format!("{label} rho={rho}"));
    let cfg = config(lambda, 1, 2, Algorithm::Random { draws: 1 }, 1_000_000, 301);
    let views: Vec<lb::ServerView> = (0..2)
        .map(|_| lb::ServerView {
            weight: 1,
            usable: true,
            ..Default::default()
        })
        .collect();
    let p = lb::chash::Ring::new(&views).shares(2);
    log(format!("  ring shares {:.6} / {:.6}", p[0], p[1]));
    assert!((p[0] - 0.431187).abs() < 1e-6, "{p:?}");
    let runs = replicate(&cfg, label);
    check(
        "mean response (s)",
        Est::from_runs(&runs, |r| r.latency.mean),
        p.iter().map(|&pi| pi / (MU - lambda * pi)).sum(),
        0.0,
    );
    for (i, &p_i) in p.iter().enumerate() {
        let rho_i = lambda * p_i / MU;
        let pw = Est::from_runs(&runs, |r| r.servers[i].app_wait_probability);
        check(&format!("server {i} P(wait)"), pw, rho_i, 0.0);
        let u = Est::from_runs(&runs, |r| r.servers[i].app_utilisation);
        check(&format!("server {i} utilisation"), u, rho_i, 0.0);
    }
    let n: u64 = runs
        .iter()
        .flat_map(|r| &r.servers)
        .map(|s| s.dispatched)
        .sum();
    let k0: u64 = runs.iter().map(|r| r.servers[0].dispatched).sum();
    let share = k0 as f64 / n as f64;
    let bound = Z_999 * (p[0] * (1.0 - p[0]) / n as f64).sqrt();
    log(format!(
        "  server 0 share {share:.6} (n = {n}), |share - p0| bound {bound:.6}"
    ));
    assert!(
        (share - p[0]).abs() <= bound,
        "share {share} vs {} ± {bound}",
        p[0]
    );
}

/// `roundrobin` over 2 equal servers: each gets every 2nd arrival, so Erlang-2 interarrivals
/// (E2/M/1, see `e2m1_sigma_solves_gim1_fixed_point` for the derivation). GI/M/1 results: an
/// arrival finds the server busy with probability sigma (so P(wait) = sigma, not rho), mean
/// response 1/(mu (1 - sigma)), utilisation rho = lambda/(2 mu). At rho = 0.8, sigma = 0.7399
/// and E[T] = 38.44 ms (against 50 ms for M/M/1). Round-robin alternates strictly, so the two
/// servers' dispatch counts differ by at most 1 in every run.
#[test]
fn roundrobin_two_servers_e2m1() {
    let rho = 0.8;
    let lambda = 2.0 * rho * MU;
    let label = "roundrobin x2";
    let _report = Report::start(format!("{label} rho={rho}"));
    let cfg = config(lambda, 1, 2, Algorithm::RoundRobin, 1_000_000, 401);
    let runs = replicate(&cfg, label);
    let sigma = e2m1_sigma(rho);
    check(
        "mean response (s)",
        Est::from_runs(&runs, |r| r.latency.mean),
        1.0 / (MU * (1.0 - sigma)),
        0.0,
    );
    for i in 0..2 {
        let pw = Est::from_runs(&runs, |r| r.servers[i].app_wait_probability);
        check(&format!("server {i} P(wait) = sigma"), pw, sigma, 0.0);
        let u = Est::from_runs(&runs, |r| r.servers[i].app_utilisation);
        check(&format!("server {i} utilisation"), u, rho, 0.0);
    }
    for r in &runs {
        let (a, b) = (r.servers[0].dispatched, r.servers[1].dispatched);
        assert!(
            a.abs_diff(b) <= 1,
            "run {}: round-robin split {a} / {b}",
            r.run
        );
    }
}

/// `leastconn` over 2 single-worker servers at rho = 0.9 (lambda = 180/s) is join-the-shortest-
/// queue: HAProxy's key is the number of requests in flight at the server, which here is its
/// queue length. Checked:
/// - against the exact JSQ Markov chain (`jsq2_mean_in_system`, E[T] = E[N]/lambda by Little's
///   law) within the 99.9% interval;
/// - leastconn beats random(1) (on HAProxy's ring one of the two servers gets 57% of the
///   traffic, so at this load it is overloaded: its queue grows for the whole run) and
///   roundrobin (E2/M/1: 75.9 ms): common random numbers (the arrival and work streams do not depend on the
///   algorithm, so replication k sees the same requests under each) and the paired difference
///   per replication, whose 99.9% interval must lie below 0;
/// - the pooled M/M/2 (one server, 2 workers, one queue: 52.6 ms) beats leastconn: a dispatcher
///   that commits a request to a server on arrival cannot do better than a shared queue with
///   identical exponential servers;
/// - roundrobin and M/M/2 also match their own closed forms at this load (random(1) is checked
///   against its split formula in `random_split_two_mm1`, at a load where both servers are
///   stable).
#[test]
fn leastconn_beats_random_and_roundrobin() {
    let rho = 0.9;
    let lambda = 2.0 * rho * MU;
    let requests = 500_000;
    let seed = 501; // the same seed for every configuration: common random numbers
    let _report = Report::start(format!(
        "leastconn vs random(1) vs roundrobin vs M/M/2, rho={rho}"
    ));
    let lc = replicate(
        &config(lambda, 1, 2, Algorithm::LeastConn, requests, seed),
        "leastconn x2",
    );
    let rnd = replicate(
        &config(lambda, 1, 2, Algorithm::Random { draws: 1 }, requests, seed),
        "random(1) x2",
    );
    let rr = replicate(
        &config(lambda, 1, 2, Algorithm::RoundRobin, requests, seed),
        "roundrobin x2",
    );
    let pooled = replicate(
        &config(lambda, 2, 1, Algorithm::RoundRobin, requests, seed),
        "M/M/2",
    );
    // Common random numbers: the same measured arrivals in replication k whatever the algorithm.
    for k in 0..R {
        assert_eq!(lc[k].requests.arrived, rnd[k].requests.arrived);
        assert_eq!(lc[k].requests.arrived, rr[k].requests.arrived);
        assert_eq!(lc[k].requests.arrived, pooled[k].requests.arrived);
    }

    let mean = |runs: &[RunResults]| Est::from_runs(runs, |r| r.latency.mean);
    let jsq = jsq2_mean_in_system(lambda, MU, 150) / lambda;
    check("leastconn E[T] vs JSQ chain", mean(&lc), jsq, 0.0);
    check(
        "roundrobin E[T] vs E2/M/1",
        mean(&rr),
        1.0 / (MU * (1.0 - e2m1_sigma(rho))),
        0.0,
    );
    check(
        "M/M/2 E[T] vs Erlang C",
        mean(&pooled),
        mmc_response(lambda, MU, 2),
        0.0,
    );

    let diff = |a: &[RunResults], b: &[RunResults]| {
        Est::of(
            &a.iter()
                .zip(b)
                .map(|(x, y)| x.latency.mean - y.latency.mean)
                .collect::<Vec<_>>(),
        )
    };
    check_negative("leastconn - random(1)", diff(&lc, &rnd));
    check_negative("leastconn - roundrobin", diff(&lc, &rr));
    check_negative("M/M/2 - leastconn", diff(&pooled, &lc));
    // The theory's own ordering, for the record.
    assert!(mmc_response(lambda, MU, 2) < jsq && jsq < 1.0 / (MU * (1.0 - e2m1_sigma(rho))));
}

/// `lb.connect` (HAProxy's connection to the server, the log's `Tc`) holds the server's slot
/// but none of its workers. One server, one worker, exponential work of mean 8 ms, a 2 ms
/// connect, Poisson arrivals at 50/s:
/// - with `maxconn 1` the slot is the bottleneck and a request holds it for connect + work: an
///   M/G/1 with S = 2 ms + Exp(8 ms), E[S] = 10 ms, E[S^2] = 64e-6 + 100e-6 s^2, rho = 0.5,
///   W = lambda E[S^2] / (2 (1 - rho)) = 8.2 ms (Pollaczek-Khinchine), E[T] = 18.2 ms;
/// - without `maxconn` the queue sits inside the application, whose worker idles through no
///   connect: 2 ms then an M/M/1 at 125/s: E[T] = 2 ms + 1/(125 - 50) = 15.33 ms.
///
/// Folding the connect into the work (a fit of the slot time `Ta - TR - Tw` as the service)
/// would give 18.2 ms in both cases.
#[test]
fn connect_holds_the_slot_not_the_worker() {
    let _report = Report::start("lb.connect: slot held, worker not");
    let (lambda, mu, d) = (50.0, 125.0, 0.002);
    let seconds = (300_000.0 / lambda) as u64;
    for (maxconn, theory) in [
        (
            1,
            d + 0.008 + lambda * (64e-6 + 100e-6) / (2.0 * (1.0 - lambda * (d + 0.008))),
        ),
        (0, d + 1.0 / (mu - lambda)),
    ] {
        let mut cfg = common::mmc(lambda, mu, 1, 1, Algorithm::RoundRobin, seconds);
        cfg.seed = 301;
        cfg.lb.connect = infrasim::dist::Dist::det(d).unwrap();
        cfg.servers[0].maxconn = maxconn;
        let runs: Vec<RunResults> = (0..R as u64)
            .into_par_iter()
            .map(|k| Stack::run(&cfg, k))
            .collect();
        for r in &runs {
            assert_eq!(r.requests.failed, 0, "maxconn {maxconn}: {:?}", r.errors);
        }
        check(
            &format!("mean response, maxconn {maxconn} (s)"),
            Est::from_runs(&runs, |r| r.latency.mean),
            theory,
            0.0,
        );
        // The worker is busy for the work only: utilisation lambda / mu either way.
        check(
            &format!("app utilisation, maxconn {maxconn}"),
            Est::from_runs(&runs, |r| r.servers[0].app_utilisation),
            lambda / mu,
            0.0,
        );
    }
}
