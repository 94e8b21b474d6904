//! Load shapes (`ramp`, `[workload.profile]`, `[[workload.flash]]`): the arrivals are a
//! non-homogeneous Poisson process with the rate the scenario describes.
//!
//! For each shape, the arrivals of one run are counted in B bins and each count n_i is
//! compared with Λ_i, the integral of the rate over the bin, computed here from the documented
//! formula (docs/scenario.md §3), independently of `model/shape.rs`. Under the model n_i is
//! Poisson(Λ_i), so:
//! - each bin: |n_i − Λ_i| <= 5 √Λ_i (normal approximation, Λ_i >= 400 here; the two-sided
//!   tail of 5 standard deviations is 5.7e-7, under 1e-4 over the bins of all the cases);
//! - all bins together: X = Σ (n_i − Λ_i)² / Λ_i has mean B and variance Σ (2 + 1/Λ_i), and
//!   must stay below B + Z_999 × √(Σ (2 + 1/Λ_i)). A flash decay 20% slower than documented
//!   fails the per-bin check (bin 27 of the CSV case: 86 475 arrivals for 81 058 ± 285).
//!
//! Thinning is robust to its own cell bounds (the bound is recomputed at every candidate), so
//! what these checks catch is a rate of the wrong shape: a ramp that starts instead of ending
//! at its phase's `at`, a cosine of the wrong phase or period, a CSV row on the wrong interval,
//! a flash of the wrong height or decay.

mod common;
use common::*;

use std::f64::consts::TAU;
use std::path::Path;

/// Loads a scenario written in `dir` (for the profile CSVs).
fn load(dir: &Path, toml: &str) -> infrasim::model::Config {
    infrasim::scenario::load_str(toml, &dir.join("shape.toml"), &[])
        .unwrap_or_else(|e| panic!("{e}"))
        .config
}

/// ∫ rate over [a, b), Simpson's rule on 200 panels (the rates here are smooth inside a bin, or
/// change at a bin boundary).
fn integral(rate: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let n = 200;
    let h = (b - a) / n as f64;
    let mut s = rate(a) + rate(b - 1e-9);
    for i in 1..n {
        let x = a + i as f64 * h;
        s += rate(x) * if i % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

/// Checks the counts of `cfg`'s arrivals in `bins` bins against `rate`; returns X and its bound.
fn check_counts(name: &str, cfg: &infrasim::model::Config, rate: &dyn Fn(f64) -> f64, bins: usize) {
    let arr = arrivals(cfg, 0);
    let d = secs(cfg.duration);
    let w = d / bins as f64;
    let mut counts = vec![0u64; bins];
    for (t, _) in &arr {
        let i = ((secs(*t) / w) as usize).min(bins - 1);
        counts[i] += 1;
    }
    let (mut x, mut var) = (0.0, 0.0);
    for (i, &n) in counts.iter().enumerate() {
        let lam = integral(rate, i as f64 * w, (i + 1) as f64 * w);
        assert!(
            lam >= 400.0,
            "{name}: bin {i} expects only {lam:.0}: lengthen the run"
        );
        let dev = n as f64 - lam;
        assert!(
            dev.abs() <= 5.0 * lam.sqrt(),
            "{name}: bin {i} has {n} arrivals, the rate gives {lam:.1} ± {:.1}",
            lam.sqrt()
        );
        x += dev * dev / lam;
        var += 2.0 + 1.0 / lam;
    }
    let bound = bins as f64 + Z_999 * var.sqrt();
    assert!(
        x <= bound,
        "{name}: chi-square {x:.1} over {bins} bins, bound {bound:.1}"
    );
    eprintln!(
        "{name}: {} arrivals, chi-square {x:.1} (bound {bound:.1})",
        arr.len()
    );
}

fn tmp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("infrasim-shapes-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn linear_ramps_and_steps() {
    let dir = tmp("ramp");
    let cfg = load(
        &dir,
        r#"
        duration = "400s"
        [workload]
        rate = 100
        phases = [
          { at = "100s", rate = 1000, ramp = "linear" },
          { at = "200s", rate = 300 },
          { at = "300s", rate = 100, ramp = "linear" },
        ]
        "#,
    );
    // A ramp ends at its phase's `at`, starting from the previous phase's rate at that
    // phase's `at` (time 0 and `rate` for the first).
    let rate = |t: f64| match t {
        t if t < 100.0 => 100.0 + 9.0 * t,
        t if t < 200.0 => 1000.0,
        t if t < 300.0 => 300.0 - 2.0 * (t - 200.0),
        _ => 100.0,
    };
    check_counts("ramps", &cfg, &rate, 40);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn daily_cosine_profile() {
    let dir = tmp("daily");
    // A "day" of one hour, so the whole cycle fits a short run.
    let cfg = load(
        &dir,
        r#"
        duration = "2h"
        [workload.profile]
        shape = "daily"
        peak = 900
        trough = 150
        peak_at = "40min"
        period = "1h"
        "#,
    );
    let rate = |t: f64| 150.0 + 750.0 * 0.5 * (1.0 + (TAU * (t - 2400.0) / 3600.0).cos());
    check_counts("daily", &cfg, &rate, 96);
    // The mean rate is the configured rate (what studies and the Monte Carlo use).
    assert_eq!(cfg.workload.rate, 525.0);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn csv_profile_with_a_flash_crowd() {
    let dir = tmp("csv");
    std::fs::write(
        dir.join("rates.csv"),
        "rate\n# four intervals, repeated\n200\n500\n50\n800\n",
    )
    .unwrap();
    let cfg = load(
        &dir,
        r#"
        duration = "1600s"
        [workload.profile]
        csv = "rates.csv"
        interval = "200s"
        [[workload.flash]]
        at = "1000s"
        multiple = 6
        rise = "50s"
        decay = "100s"
        "#,
    );
    let table = [200.0, 500.0, 50.0, 800.0];
    let rate = move |t: f64| {
        let base = table[((t / 200.0) as usize) % 4];
        let g = if t < 1000.0 {
            0.0
        } else if t < 1050.0 {
            (t - 1000.0) / 50.0
        } else {
            (-(t - 1050.0) / 100.0).exp()
        };
        base * (1.0 + 5.0 * g)
    };
    // Bins of 40 s: the 50 req/s interval gives 2000 a bin.
    check_counts("csv+flash", &cfg, &rate, 40);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shaped_arrivals_are_deterministic_and_leave_other_streams_alone() {
    let dir = tmp("det");
    let text = r#"
        duration = "60s"
        [workload]
        rate = 100
        phases = [ { at = "30s", rate = 300, ramp = "linear" } ]
        "#;
    let a = arrivals(&load(&dir, text), 0);
    let b = arrivals(&load(&dir, text), 0);
    assert_eq!(
        a.iter().map(|(t, _)| *t).collect::<Vec<_>>(),
        b.iter().map(|(t, _)| *t).collect::<Vec<_>>()
    );
    // The work of the k-th request comes from `work` whatever the arrival times: the same as
    // in a run of constant rate.
    let flat = arrivals(
        &load(&dir, "duration = \"60s\"\n[workload]\nrate = 100\n"),
        0,
    );
    for ((_, x), (_, y)) in a.iter().zip(&flat) {
        assert_eq!((x.class, x.client_ip, x.app), (y.class, y.client_ip, y.app));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn shape_errors_name_the_key_and_the_csv_line() {
    let dir = tmp("err");
    std::fs::write(dir.join("bad.csv"), "10\n20\nlots\n").unwrap();
    let err = |toml: &str| {
        infrasim::scenario::load_str(toml, &dir.join("s.toml"), &[])
            .unwrap_err()
            .to_string()
    };
    let e = err("duration = \"1h\"\n[workload.profile]\ncsv = \"bad.csv\"\n");
    assert!(
        e.contains("workload.profile.csv") && e.contains("bad.csv line 3"),
        "{e}"
    );
    let e = err(
        "duration = \"1h\"\n[workload]\nrate = 5\n[workload.profile]\nshape = \"daily\"\npeak = 5\ntrough = 1\n",
    );
    assert!(e.contains("workload.rate"), "{e}");
    let e = err("duration = \"1h\"\n[workload.profile]\nshape = \"daily\"\npeak = 5\ntrough = 9\n");
    assert!(e.contains("workload.profile.trough"), "{e}");
    let e = err(
        "duration = \"1h\"\n[workload]\nrate = 5\narrival = \"deterministic\"\n[[workload.flash]]\nat = \"1s\"\nmultiple = 2\ndecay = \"1s\"\n",
    );
    assert!(e.contains("workload.arrival"), "{e}");
    let e = err(
        "duration = \"1h\"\n[workload]\nrate = 5\nphases = [{ at = \"1s\", rate = 2, ramp = \"cubic\" }]\n",
    );
    assert!(e.contains("workload.phases[0].ramp"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}
