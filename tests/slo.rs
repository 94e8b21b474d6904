//! `[slo]`: availability against a latency objective (issue 12), checked against queueing
//! theory and through the command line.
//!
//! The theory check. In M/M/1 (FIFO) the response time T is exponential with rate mu - lambda
//! (domain.md §8), so the share of requests served within a latency t is
//!     P(T <= t) = 1 - exp(-(mu - lambda) t).
//! A run's `slo_availability` is good / finished, a binomial-looking proportion of n requests,
//! but successive response times in one queue are positively correlated (a busy period makes a
//! run of slow requests), so its variance is the binomial p (1 - p) / n times an inflation
//! factor IF = 1 + 2 sum_k corr(1{T_i <= t}, 1{T_i+k <= t}), which for rho = 0.8 is tens: the
//! queue relaxes in ~1 / (mu (1 - sqrt rho)^2) = 0.9 s, i.e. ~70 arrivals. IF has no handy
//! closed form, so it is measured, not assumed, by batch means where the batches are R
//! independent replications (their own seeds, each after its own warm-up): their means are
//! independent and, over ~1e5 requests each, normal. The tolerance is then
//!     |mean - theory| <= t_{0.9995, R-1} x s / sqrt(R)
//!                      = 3.29 x binomial SE x sqrt(IF) x (t_{0.9995, R-1} / 3.29),
//! a two-sided 99.9% interval (the last factor, 1.18 for R = 20, pays for estimating IF from
//! R values). The report prints the binomial SE and the measured IF. Nothing here is a number
//! picked to pass; the seeds are fixed, so the outcome is deterministic. The check must also be
//! able to fail: its half-width must be smaller than the difference a 5% error in the latency
//! compared would make (e.g. judging the app's service time alone, or t rounded).

mod common;
use common::*;

use infrasim::engine::SimTime;
use infrasim::model::*;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const MU: f64 = 100.0;
/// Independent replications of the theory check.
const R: usize = 20;

/// The M/M/1 of `common::mmc` at `lambda`, `requests` arrivals per replication, judged against
/// `slo`.
fn mm1(lambda: f64, requests: u64, seed: u64, slo: Slo) -> Config {
    let seconds = (requests as f64 / lambda).ceil() as u64;
    let mut cfg = mmc(lambda, MU, 1, 1, Algorithm::RoundRobin, seconds);
    cfg.seed = seed;
    cfg.slo = Some(slo);
    cfg
}

fn latency(t: SimTime) -> Slo {
    Slo {
        latency: t,
        target: None,
        percentiles: vec![],
    }
}

/// P(T <= t) of M/M/1.
fn within(lambda: f64, t: f64) -> f64 {
    1.0 - (-(MU - lambda) * t).exp()
}

/// Runs R replications and checks the within-SLO share against theory; returns the runs.
fn check_within(lambda: f64, t_ms: u64, requests: u64, seed: u64) -> Vec<RunResults> {
    let t = t_ms as f64 * 1e-3;
    let label = format!("M/M/1 rho={} within {t_ms} ms", lambda / MU);
    let _report = Report::start(label.clone());
    let cfg = mm1(lambda, requests, seed, latency(SimTime::from_millis(t_ms)));
    let runs: Vec<RunResults> = (0..R as u64)
        .into_par_iter()
        .map(|k| Stack::run(&cfg, k))
        .collect();
    for r in &runs {
        check_run(r);
        let s = r.slo.as_ref().expect("[slo] is set: the report is there");
        let finished = r.requests.completed + r.requests.failed;
        assert_eq!(
            s.good + s.slow,
            r.requests.completed,
            "{label}: good + slow"
        );
        assert_eq!(s.failed, r.requests.failed);
        assert_eq!(r.classes[0].good, Some(s.good), "{label}: the one class");
        let a = r.slo_availability.unwrap();
        assert_eq!(a, s.good as f64 / finished as f64);
        assert_eq!(r.classes[0].slo_availability, Some(a));
        assert!(a <= r.availability);
    }
    let shares: Vec<f64> = runs.iter().map(|r| r.slo_availability.unwrap()).collect();
    let est = Est::of(&shares);
    let theory = within(lambda, t);
    let n: u64 = runs
        .iter()
        .map(|r| r.requests.completed + r.requests.failed)
        .sum();
    let binomial_se = (theory * (1.0 - theory) / n as f64).sqrt();
    let inflation = (est.se / binomial_se).powi(2);
    let hw = est.hw999();
    let sharper = within(lambda, 1.05 * t);
    log(format!(
        "  {R} runs, {n} requests: within {t_ms} ms {:.6} ± {hw:.6} (99.9%), theory {theory:.6} \
         (diff {:+.2} SE); binomial SE {binomial_se:.2e}, replication SE {:.2e}: inflation \
         {inflation:.1}; P(T <= 1.05 t) = {sharper:.6} is {:.1} half-widths away",
        est.mean,
        (est.mean - theory) / est.se,
        est.se,
        (sharper - theory) / hw
    ));
    assert!(
        (est.mean - theory).abs() <= hw,
        "{label}: {} ± {hw} does not contain the theory {theory}",
        est.mean
    );
    assert!(
        hw < (sharper - theory).abs(),
        "{label}: the interval (± {hw}) is too wide to tell t from 1.05 t: run longer"
    );
    runs
}

/// M/M/1 at rho = 0.8, t = 100 ms: P(T <= t) = 1 - e^-2 = 0.864665.
#[test]
fn within_slo_matches_mm1_rho_08() {
    check_within(80.0, 100, 200_000, 301);
}

/// M/M/1 at rho = 0.5, t = 20 ms (the mean response): P(T <= t) = 1 - e^-1 = 0.632121.
#[test]
fn within_slo_matches_mm1_rho_05() {
    check_within(50.0, 20, 100_000, 302);
}

/// The error budget of a target: met exactly when the share within the latency is at least
/// the target, and the share of the budget used is the bad share over 1 - target. Targets just
/// below and just above the run's own share (± 0.001; the SLO draws nothing, so the run is the
/// same whatever the target) must give opposite verdicts.
#[test]
fn error_budget_against_target() {
    let _report = Report::start("error budget, M/M/1 rho=0.8 within 100 ms");
    let cfg = mm1(80.0, 200_000, 303, latency(SimTime::from_millis(100)));
    let share = Stack::run(&cfg, 0).slo_availability.unwrap();
    for (target, met) in [(share - 0.001, true), (share + 0.001, false)] {
        let mut c = cfg.clone();
        c.slo.as_mut().unwrap().target = Some(target);
        let r = Stack::run(&c, 0);
        let b = r.slo.as_ref().unwrap().budget.unwrap();
        let a = r.slo_availability.unwrap();
        assert_eq!(a, share, "the target changed the run");
        let finished = (r.requests.completed + r.requests.failed) as f64;
        log(format!(
            "  target {target:.6}: within {a:.6}, budget {:.1} requests, {:.1}% used, met {:?}",
            b.allowed_bad_requests,
            100.0 * b.budget_consumed,
            b.met
        ));
        assert_eq!(b.met, Some(met), "target {target}, share {a}");
        assert!((b.allowed_bad_fraction - (1.0 - target)).abs() < 1e-9);
        assert!((b.allowed_bad_requests - b.allowed_bad_fraction * finished).abs() < 1e-6);
        assert!((b.budget_consumed - (1.0 - a) / b.allowed_bad_fraction).abs() < 1e-9);
        assert_eq!(met, b.budget_consumed <= 1.0);
    }
}

/// Percentile targets: met when the percentile (the one `latency.pXX` reports) is at most the
/// target. Each of the five is set just above (x 1.001) or just below (x 0.999) the run's own
/// percentile, alternately, and the verdicts must follow: the check is exact, not statistical
/// (the SLO draws nothing, so the same seed gives the same run whatever the targets).
#[test]
fn percentile_targets_pass_and_fail() {
    let _report = Report::start("percentile targets, M/M/1 rho=0.8");
    let cfg = mm1(80.0, 200_000, 304, latency(SimTime::from_millis(100)));
    let r = Stack::run(&cfg, 0);
    let quantiles = [0.5, 0.9, 0.95, 0.99, 0.999];
    let observed: Vec<f64> = quantiles
        .iter()
        .map(|&q| r.latency_hist.quantile_secs(q))
        .collect();
    assert_eq!(
        [observed[0], observed[1], observed[3], observed[4]],
        [r.latency.p50, r.latency.p90, r.latency.p99, r.latency.p999]
    );
    for flip in [false, true] {
        let mut c = cfg.clone();
        let want: Vec<bool> = (0..quantiles.len()).map(|i| (i % 2 == 0) != flip).collect();
        c.slo.as_mut().unwrap().percentiles = quantiles
            .iter()
            .zip(&observed)
            .zip(&want)
            .map(|((&q, &x), &met)| {
                let factor = if met { 1.001 } else { 0.999 };
                (q, SimTime::from_nanos((x * factor * 1e9).round() as u64))
            })
            .collect();
        let again = Stack::run(&c, 0);
        assert_eq!(again.latency.p99, r.latency.p99, "the SLO changed the run");
        let checks = &again.slo.as_ref().unwrap().percentiles;
        let names: Vec<&str> = checks.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["p50", "p90", "p95", "p99", "p999"]);
        for (p, (&x, &met)) in checks.iter().zip(observed.iter().zip(&want)) {
            log(format!(
                "  {} {:.6} s against {:.6} s: {:?}",
                p.name, p.observed_s, p.target_s, p.met
            ));
            assert_eq!(p.observed_s, x);
            assert_eq!(p.met, Some(met), "{} {x} against {}", p.name, p.target_s);
        }
    }
}

/// The p95 a percentile target is judged on (the one percentile `latency` does not report) is
/// the 95th percentile: M/M/1 at rho = 0.5, ln(20) / 50 = 59.91 ms, checked as the theory
/// tests check quantiles (20 replications, 99.9% Student t interval, plus the histogram's
/// 3-significant-digit rounding).
#[test]
fn p95_matches_mm1() {
    let _report = Report::start("p95, M/M/1 rho=0.5");
    let mut slo = latency(SimTime::from_millis(100));
    slo.percentiles = vec![(0.95, SimTime::from_millis(60))];
    let cfg = mm1(50.0, 100_000, 306, slo);
    let p95: Vec<f64> = (0..R as u64)
        .into_par_iter()
        .map(|k| Stack::run(&cfg, k).slo.unwrap().percentiles[0].observed_s)
        .collect();
    let est = Est::of(&p95);
    let theory = 20f64.ln() / 50.0;
    let hw = est.hw999() + 1e-3 * theory;
    log(format!(
        "  p95 {:.6} ± {hw:.6} s (99.9%), theory {theory:.6} s",
        est.mean
    ));
    assert!((est.mean - theory).abs() <= hw, "{} vs {theory}", est.mean);
    assert!(est.se < 0.01 * theory, "run longer: SE {}", est.se);
}

/// Judging against an SLO changes nothing else: every other figure of the run is the same as
/// without `[slo]`, and the SLO fields are absent without it.
#[test]
fn slo_only_adds_figures() {
    let base = mm1(80.0, 50_000, 305, latency(SimTime::from_millis(100)));
    let mut without = base.clone();
    without.slo = None;
    let a = serde_json::to_value(Stack::run(&base, 0)).unwrap();
    let b = serde_json::to_value(Stack::run(&without, 0)).unwrap();
    assert!(b.get("slo").is_none() && b.get("slo_availability").is_none());
    assert!(b["classes"][0].get("good").is_none());
    let mut stripped = a.clone();
    let o = stripped.as_object_mut().unwrap();
    // The story gains one sentence.
    let story = o["story"].as_array_mut().unwrap();
    let n = story.len();
    story.retain(|l| !l.as_str().unwrap().contains("latency objective"));
    assert_eq!(story.len(), n - 1);
    assert!(o.remove("slo").is_some());
    assert!(o.remove("slo_availability").is_some());
    let class = o["classes"][0].as_object_mut().unwrap();
    assert!(class.remove("good").is_some());
    assert!(class.remove("slo_availability").is_some());
    assert_eq!(stripped, b);
}

// ---- through the command line ------------------------------------------------------------------

const MM1: &str = "scenarios/mm1.toml";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn simulate(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the simulate binary runs");
    Out {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A fresh folder under the system's temporary folder (removed first if a previous run left it).
fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("infrasim-slo-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The short M/M/1 (10 minutes, ~48,000 requests) judged against 100 ms: about 86% within.
const SHORT: [&str; 4] = ["--set", "duration=10min", "--set", "slo.latency=100ms"];

#[test]
fn single_run_shows_both_availabilities() {
    let mut args = vec![MM1];
    args.extend(SHORT);
    args.extend(["--set", "slo.target=99%", "--set", "slo.p99=200ms"]);
    args.extend(["--output", "none"]);
    let r = simulate(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("availability 100.000%"), "{}", r.stdout);
    assert!(
        r.stdout.contains("slo        within 100.000 ms: "),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("target 99.000%: MISSED"), "{}", r.stdout);
    assert!(r.stdout.contains("(<= 200.000 ms: MISSED)"), "{}", r.stdout);

    let mut args = vec![MM1, "--json", "--set", "duration=10min"];
    let plain = simulate(&args);
    assert_eq!(plain.code, 0, "{}", plain.stderr);
    assert!(!plain.stdout.contains("\"slo"), "{}", plain.stdout);
    args.extend(["--set", "slo.latency=100ms"]);
    let with = simulate(&args);
    let v: serde_json::Value = serde_json::from_str(&with.stdout).unwrap();
    let a = v["slo_availability"].as_f64().unwrap();
    assert!(a > 0.8 && a < 0.92, "{a}");
    assert_eq!(v["slo"]["latency_s"].as_f64(), Some(0.1));
    assert_eq!(v["availability"].as_f64(), Some(1.0));
}

#[test]
fn assert_on_slo_availability() {
    let dir = temp("assert");
    let junit = dir.join("junit.xml");
    let mut args = vec![MM1];
    args.extend(SHORT);
    args.extend(["--output", "none", "--junit", s(&junit)]);
    args.extend(["--assert", "slo_availability >= 0.99"]);
    args.extend(["--assert", "availability >= 0.999"]);
    let r = simulate(&args);
    assert_eq!(r.code, 1, "a violated SLO fails the gate: {}", r.stdout);
    assert!(r.stdout.contains("assert FAIL: slo_availability >= 0.99"));
    assert!(r.stdout.contains("assert PASS: availability >= 0.999"));
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("tests=\"2\" failures=\"1\""), "{xml}");
    assert!(
        xml.contains("name=\"slo_availability &gt;= 0.99\""),
        "{xml}"
    );

    let mut args = vec![MM1];
    args.extend(SHORT);
    args.extend(["--output", "none", "--assert", "slo_availability >= 0.8"]);
    args.extend(["--assert", "availability >= 0.999"]);
    let r = simulate(&args);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);

    // Without [slo] there is nothing to judge: a usage error naming the key.
    let r = simulate(&[
        MM1,
        "--set",
        "duration=10min",
        "--output",
        "none",
        "--assert",
        "slo_availability >= 0.99",
    ]);
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stderr.contains("'slo_availability'"), "{}", r.stderr);
    assert!(r.stderr.contains("no [slo] section"), "{}", r.stderr);
    // ... and the error budget without a target.
    let mut args = vec![MM1];
    args.extend(SHORT);
    args.extend(["--output", "none", "--assert", "error_budget <= 1"]);
    let r = simulate(&args);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("needs a target"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sweep_has_the_slo_column_and_is_deterministic() {
    let dir = temp("sweep");
    let run = |threads: &str, out: &Path| {
        let mut args = vec![MM1, "--set", "duration=3min", "--set", "slo.latency=100ms"];
        args.extend(["--set", "slo.target=0.9"]);
        args.extend(["--sweep", "workload.rate=50,80", "--replications", "3"]);
        args.extend(["--threads", threads, "--output", "summary", "-q"]);
        args.extend(["--out", s(out)]);
        simulate(&args)
    };
    let (one, two) = (dir.join("t1"), dir.join("t2"));
    let r = run("1", &one);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("slo availability"), "{}", r.stdout);
    assert!(r.stdout.contains("against the SLO"), "{}", r.stdout);
    assert!(r.stdout.contains("90%"), "the target: {}", r.stdout);
    assert!(
        r.stdout.contains(": met"),
        "rate 50 meets 90%: {}",
        r.stdout
    );
    assert_eq!(run("2", &two).code, 0);
    for f in ["sweep.csv", "runs.csv", "comparisons.csv"] {
        let a = std::fs::read(one.join(f)).unwrap();
        assert_eq!(
            a,
            std::fs::read(two.join(f)).unwrap(),
            "{f}: --threads 1 vs 2"
        );
    }
    let sweep = std::fs::read_to_string(one.join("sweep.csv")).unwrap();
    let header: Vec<&str> = sweep.lines().next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "slo_availability.mean")
        .expect("sweep.csv has slo_availability");
    let at = |line: usize| -> f64 {
        sweep
            .lines()
            .nth(line)
            .unwrap()
            .split(',')
            .nth(col)
            .unwrap()
            .parse()
            .unwrap()
    };
    // rate 50: 1 - e^-5 = 0.9933; rate 80: 1 - e^-2 = 0.8647
    assert!(at(1) > 0.97 && at(2) < 0.92, "{} {}", at(1), at(2));
    let runs = std::fs::read_to_string(one.join("runs.csv")).unwrap();
    assert!(
        runs.lines()
            .next()
            .unwrap()
            .split(',')
            .any(|h| h == "slo_availability")
    );
    let cmps = std::fs::read_to_string(one.join("comparisons.csv")).unwrap();
    assert!(cmps.contains(",slo_availability,"), "{cmps}");

    // The sweep's gate: every point must meet it.
    let mut args = vec![MM1, "--set", "duration=3min", "--set", "slo.latency=100ms"];
    args.extend(["--sweep", "workload.rate=50,80", "--replications", "3"]);
    args.extend(["--output", "none", "-q"]);
    let mut failing = args.clone();
    failing.extend(["--assert", "slo_availability >= 0.95"]);
    let r = simulate(&failing);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(
        r.stdout.contains("FAILS at workload.rate=80"),
        "{}",
        r.stdout
    );
    args.extend(["--assert", "slo_availability >= 0.5"]);
    assert_eq!(simulate(&args).code, 0);

    // Without [slo]: no column, and asserting on it is a usage error.
    let plain = dir.join("plain");
    let r = simulate(&[
        MM1,
        "--set",
        "duration=3min",
        "--sweep",
        "workload.rate=50,80",
        "--replications",
        "2",
        "--output",
        "summary",
        "-q",
        "--out",
        s(&plain),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stdout.contains("slo availability"), "{}", r.stdout);
    assert!(!r.stdout.contains("SLO"), "{}", r.stdout);
    let sweep = std::fs::read_to_string(plain.join("sweep.csv")).unwrap();
    assert!(!sweep.contains("slo"));
    let cmps = std::fs::read_to_string(plain.join("comparisons.csv")).unwrap();
    assert!(!cmps.contains("slo"));
    let r = simulate(&[
        MM1,
        "--set",
        "duration=3min",
        "--sweep",
        "workload.rate=50,80",
        "--output",
        "none",
        "--assert",
        "slo_availability >= 0.5",
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("'slo_availability'"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every bad value of `[slo]` is refused with the file, the key and its line (exit 2).
#[test]
fn slo_values_are_validated() {
    let dir = temp("validate");
    let mm1 = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(MM1)).unwrap();
    let with = |slo: &str| {
        let path = dir.join("s.toml");
        std::fs::write(&path, format!("{mm1}\n[slo]\n{slo}\n")).unwrap();
        let r = simulate(&[s(&path), "--output", "none"]);
        assert_eq!(r.code, 2, "[slo] {slo}: {}", r.stdout);
        assert!(r.stdout.is_empty());
        assert!(r.stderr.contains("s.toml"), "{}", r.stderr);
        r.stderr
    };
    // the scenario's lines, an empty line, `[slo]`, then the keys
    let slo_line = mm1.lines().count() + 3;
    let line = |k: usize| format!("(line {})", slo_line + k);
    let cases: [(&str, &str); 14] = [
        ("latency = \"0s\"", "slo.latency"),
        ("latency = \"-1s\"", "slo.latency"),
        ("latency = 1", "slo.latency"),
        ("latency = \"2d\"", "at most 1d"),
        // 5 h: longer than the 3.5 h - 1 min measured, and `m` is minutes
        ("latency = \"300m\"", "`m` is minutes"),
        ("target = 0.99", "is required in [slo]"),
        ("latency = \"1s\"\ntarget = 0", "slo.target"),
        ("latency = \"1s\"\ntarget = 1.5", "write 0.015"),
        (
            "latency = \"1s\"\ntarget = 99.9",
            "write 0.999 or \"99.9%\"",
        ),
        ("latency = \"1s\"\ntarget = \"120%\"", "slo.target"),
        ("latency = \"1s\"\ntarget = \"high\"", "slo.target"),
        ("latency = \"1s\"\np99 = \"0ms\"", "slo.p99"),
        ("latency = \"1s\"\np75 = \"1s\"", "unknown key `p75`"),
        ("latency = \"1s\"\np999 = true", "slo.p999"),
    ];
    for (slo, expect) in cases {
        let err = with(slo);
        assert!(err.contains(expect), "[slo] {slo}: {err}");
        assert!(err.starts_with("error: "), "{err}");
    }
    assert!(with("latency = \"0s\"").contains(&format!("slo.latency {}", line(0))));
    assert!(with("latency = \"1s\"\np99 = \"0ms\"").contains(&format!("slo.p99 {}", line(1))));
    // Every problem at once.
    let err = with("latency = \"0s\"\ntarget = 2\np50 = \"-1s\"");
    assert_eq!(err.lines().count(), 3, "{err}");
    // --set names the override.
    let r = simulate(&[MM1, "--set", "slo.latency=0s", "--output", "none"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--set slo.latency=0s"), "{}", r.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A target written as a percentage is the decimal it stands for, so a run exactly at the
/// target meets it (99.9 / 100 is 0.9990000000000001 in binary).
#[test]
fn percentage_target_is_exact() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(MM1);
    for (written, want) in [("99.9%", 0.999), ("0.999", 0.999), ("99.99%", 0.9999)] {
        let sc = infrasim::scenario::load(
            &path,
            &["slo.latency=1s".into(), format!("slo.target={written}")],
        )
        .unwrap();
        let slo = sc.config.slo.as_ref().unwrap();
        assert_eq!(slo.target, Some(want), "{written}");
        assert_eq!(sc.config.slo_latency(), Some(SimTime::from_secs(1)));
    }
}

/// The `[slo]` example of docs/scenario.md loads (appended to the M/M/1 scenario) and means
/// what the page says.
#[test]
fn documented_example_loads() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("docs/scenario.md")).unwrap();
    let start = docs.find("## 8. `[slo]`").expect("the [slo] section");
    let section = &docs[start..];
    let block = section
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .unwrap();
    let mm1 = std::fs::read_to_string(root.join(MM1)).unwrap();
    let sc = infrasim::scenario::load_str(&format!("{mm1}\n{block}"), Path::new("doc.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"));
    let slo = sc.config.slo.unwrap();
    assert_eq!(slo.latency, SimTime::from_secs(1));
    assert_eq!(slo.target, Some(0.999));
    assert_eq!(slo.percentiles, vec![(0.99, SimTime::from_millis(500))]);
}
