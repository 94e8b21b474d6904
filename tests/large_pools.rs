//! Pools at the server limit (issue 13): a 10,000-server scenario passes validation and runs
//! under every balancing algorithm, and the tree-kept policies spread its requests as their
//! rules say.
//!
//! `scenarios/mm1.toml`'s single-worker server copied 10,000 times, Poisson arrivals at a
//! per-server load of 0.5 for 0.1 s of simulated time (about 50,000 requests, a fraction of a
//! second per algorithm in a release build).

use infrasim::model::{RunResults, Stack};
use infrasim::scenario::build::MAX_SERVERS;
use std::path::Path;

const SERVERS: usize = 10_000;

fn run(algorithm: &str) -> RunResults {
    let rate = 0.5 * 100.0 * SERVERS as f64;
    let overrides = [
        format!("servers.count={SERVERS}"),
        format!("lb.algorithm={algorithm}"),
        format!("workload.rate={rate}"),
        "duration=100ms".to_string(),
        "warmup=0s".to_string(),
    ];
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mm1.toml");
    let cfg = infrasim::scenario::load(&path, &overrides)
        .unwrap_or_else(|e| panic!("{algorithm}: {e}"))
        .config;
    assert_eq!(cfg.servers.len(), SERVERS);
    Stack::run(&cfg, 0)
}

#[test]
fn the_limit_is_ten_thousand() {
    assert_eq!(MAX_SERVERS, SERVERS);
}

#[test]
fn ten_thousand_servers_run_under_every_algorithm() {
    for algorithm in ["leastconn", "roundrobin", "random(2)", "static-rr", "first"] {
        let r = run(algorithm);
        let n = r.requests.arrived;
        assert!((45_000..55_000).contains(&n), "{algorithm}: {n} requests");
        assert_eq!(r.requests.failed, 0, "{algorithm}");
        assert_eq!(r.servers.len(), SERVERS);
        let used = r.servers.iter().filter(|s| s.dispatched > 0).count();
        let most = r.servers.iter().map(|s| s.dispatched).max().unwrap_or(0);
        let total: u64 = r.servers.iter().map(|s| s.dispatched).sum();
        assert_eq!(total, n, "{algorithm}: every request dispatched once");
        match algorithm {
            // Equal weights: strict rotation, so every server gets n / N, give or take one.
            "roundrobin" | "static-rr" => {
                assert_eq!(used, SERVERS, "{algorithm}");
                assert!(most <= n / SERVERS as u64 + 1, "{algorithm}: {most}");
            }
            // Idle servers first, rotating among them: all are used, none piles up (a server
            // at load 0.5 holds more than 20 requests with probability 0.5^21).
            "leastconn" => {
                assert_eq!(used, SERVERS, "{algorithm}");
                assert!(most <= n / SERVERS as u64 + 30, "{algorithm}: {most}");
            }
            // No maxconn: `first` never needs a second server.
            "first" => assert_eq!(used, 1, "{algorithm}"),
            _ => assert!(used > SERVERS / 2, "{algorithm}: {used} servers used"),
        }
    }
}
