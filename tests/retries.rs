//! Client retries (`[workload.retry]`) multiply the offered load by the factor theory gives.
//!
//! A request whose attempts each fail independently with probability p is sent
//! N = min(G, r + 1) times (G geometric, r retries): P(N >= k) = p^(k-1) for k = 1..=r+1, so
//!     E[N]   = sum_{k=1}^{r+1} p^(k-1)        = (1 - p^(r+1)) / (1 - p),
//!     E[N^2] = sum_{k=1}^{r+1} (2k - 1) p^(k-1),
//! and a fraction p^(r+1) of the requests fail at their last attempt. During a total outage
//! (p = 1) every request becomes exactly r + 1 attempts.

mod common;
use common::*;

use infrasim::engine::SimTime;
use infrasim::model::*;

fn retry(retries: u32, backoff: SimTime) -> RetryConfig {
    RetryConfig {
        retries,
        backoff,
        multiplier: 2.0,
        max_backoff: SimTime::from_secs(120),
        jitter: true,
    }
}

/// E[N] and Var[N] for attempts failing with probability p and r retries.
fn attempts(p: f64, r: u32) -> (f64, f64) {
    let (mut m1, mut m2) = (0.0, 0.0);
    for k in 1..=r + 1 {
        let tail = p.powi(k as i32 - 1);
        m1 += tail;
        m2 += (2 * k - 1) as f64 * tail;
    }
    (m1, m2 - m1 * m1)
}

#[test]
fn attempts_formula_known_values() {
    // No failures: one attempt; all fail: r + 1; p = 1/2, r = 1: 1 + 1/2.
    assert_eq!(attempts(0.0, 3), (1.0, 0.0));
    assert_eq!(attempts(1.0, 3).0, 4.0);
    assert!((attempts(0.5, 1).0 - 1.5).abs() < 1e-15);
    // The closed form (1 - p^(r+1)) / (1 - p).
    let p: f64 = 0.3;
    assert!((attempts(p, 4).0 - (1.0 - p.powi(5)) / (1.0 - p)).abs() < 1e-12);
    // Var for r = 1: N is 1 or 2 with P(2) = p, so p (1 - p).
    assert!((attempts(p, 1).1 - p * (1.0 - p)).abs() < 1e-12);
}

#[test]
fn an_outage_multiplies_the_offered_load_by_retries_plus_one() {
    let _r = Report::start("retries during a total outage: every request becomes r + 1 attempts");
    // Writes while the primary is down (no failover): each attempt fails at once (500).
    for (retries, backoff) in [(3, SimTime::ZERO), (2, SimTime::from_millis(200))] {
        let mut cfg = common::stack(100.0, 2, 0, 0, 1, 60);
        cfg.workload.retry = Some(retry(retries, backoff));
        cfg.failures.scheduled = vec![ScheduledFault {
            target: Target::DbPrimary,
            kind: FaultKind::Crash,
            at: SimTime::ZERO,
            duration: None,
        }];
        for r in replicate(&cfg, 3) {
            let x = r.retries.as_ref().unwrap();
            assert_eq!(x.succeeded, 0);
            assert_eq!(r.requests.failed, x.attempts - r.requests.in_flight_end);
            // Requests still waiting for a retry at the end: those that failed within the
            // longest total backoff before the end (at most rate x that + 1, deterministic
            // arrivals).
            let total_backoff: f64 = (1..=retries)
                .map(|k| backoff.as_secs_f64() * 2f64.powi(k as i32 - 1))
                .sum();
            let unfinished = (100.0 * total_backoff).ceil() as u64 + 1;
            let full = (retries as u64 + 1) * x.requests;
            assert!(
                x.attempts <= full && x.attempts + retries as u64 * unfinished >= full,
                "attempts {} vs (r + 1) x requests {full}",
                x.attempts
            );
            assert!(x.gave_up + unfinished >= x.requests && x.gave_up <= x.requests);
            if backoff == SimTime::ZERO {
                assert_eq!(x.attempts, full, "no backoff: exactly r + 1 attempts each");
                assert_eq!(x.amplification, retries as f64 + 1.0);
            }
            log(format!(
                "  retries {retries}, backoff {:.1} s: {} requests, {} attempts, amplification {:.4}",
                backoff.as_secs_f64(),
                x.requests,
                x.attempts,
                x.amplification
            ));
        }
    }
}

#[test]
fn retries_multiply_the_load_by_the_geometric_factor() {
    let _r = Report::start("retries with independent failures: E[N] = (1 - p^(r+1)) / (1 - p)");
    // Two servers, `random(1)`: each attempt picks one on HAProxy's ring, independently; the
    // first server's application is down (Nginx answers 502 at once, no health checks, so it
    // stays in rotation). p is that server's share of the attempts.
    let r_ = 3u32;
    let mut cfg = common::stack(200.0, 2, 0, 0, 0, 600);
    cfg.lb.algorithm = Algorithm::Random { draws: 1 };
    cfg.failures.health.enabled = false;
    cfg.workload.retry = Some(retry(r_, SimTime::from_millis(50)));
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::App(0),
        kind: FaultKind::Crash,
        at: SimTime::ZERO,
        duration: None,
    }];
    let runs = replicate(&cfg, 4);
    for r in &runs {
        let x = r.retries.as_ref().unwrap();
        let dispatched: u64 = r.servers.iter().map(|s| s.dispatched).sum();
        let p = r.servers[0].dispatched as f64 / dispatched as f64;
        let (mean, var) = attempts(p, r_);
        // p-hat comes from the attempts themselves (A of them): SE sqrt(p (1 - p) / A); its
        // effect on E[N] is dE/dp x that, dE/dp = sum_{k=1}^{r} k p^(k-1).
        let slope: f64 = (1..=r_).map(|k| k as f64 * p.powi(k as i32 - 1)).sum();
        let se_p = (p * (1.0 - p) / x.attempts as f64).sqrt();
        let w = x.requests as f64;
        let se = (var / w + (slope * se_p).powi(2)).sqrt();
        // Requests cut by the end of the run (waiting for a retry: at most rate x total
        // backoff, 200 x 0.35 s) change the ratio by at most that many attempts.
        let edge = 3.0 * 200.0 * 0.35 / w;
        let tol = Z_999 * se + edge;
        log(format!(
            "  run {}: p = {p:.4}, attempts/request {:.5}, theory {mean:.5} ± {tol:.5}; gave up \
             {:.5} vs p^(r+1) {:.5}",
            r.run,
            x.amplification,
            x.gave_up as f64 / w,
            p.powi(r_ as i32 + 1)
        ));
        assert!(p > 0.2 && p < 0.8, "both servers take attempts: p = {p}");
        assert!(
            (x.amplification - mean).abs() <= tol,
            "amplification {} vs (1 - p^(r+1)) / (1 - p) = {mean} ± {tol}",
            x.amplification
        );
        // The clients' availability is 1 - p^(r+1), the servers' 1 - p.
        let gave_up = x.gave_up as f64 / w;
        let pr = p.powi(r_ as i32 + 1);
        assert!(
            (gave_up - pr).abs()
                <= Z_999 * (pr * (1.0 - pr) / w).sqrt() + edge + 4.0 * pr * se_p / p
        );
    }
}
