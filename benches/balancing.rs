//! Cost of balancing in ns per request against the pool size (issue 13; release build:
//! `cargo bench --bench balancing`).
//!
//! `scenarios/mm1.toml`'s single-worker server copied N times (N = 2, 100, 1,000, 10,000),
//! Poisson arrivals at a per-server load of 0.9 (rate = 0.9 · N · μ), every stage but the
//! application bypassed, for each of `leastconn`, `roundrobin`, `random(2)` and `static-rr`.
//! A measurement is one whole run of about [`REQUESTS`] requests (building the model and its
//! results included); the figure is wall time over requests, the median of 3. Everything but the
//! balancer is the same per request whatever N, so the growth along a row is the balancer's.
//! The last column is leastconn's and roundrobin's cost over random(2)'s at the same N, the
//! ratio issue 13 asks to keep within 1.5 at 1,000 servers.

use infrasim::model::Stack;
use std::path::Path;
use std::time::Instant;

/// Requests per measurement (`QUICK` or `--test`: a hundredth).
const REQUESTS: f64 = 2_000_000.0;
/// μ of mm1.toml's application (exp(10ms)).
const MU: f64 = 100.0;
const LOAD: f64 = 0.9;
const POOLS: [usize; 4] = [2, 100, 1_000, 10_000];
const ALGORITHMS: [&str; 4] = ["leastconn", "roundrobin", "random(2)", "static-rr"];

/// ns per request of one run of `algorithm` over `servers` servers, median of 3.
fn ns_per_request(algorithm: &str, servers: usize, requests: f64) -> f64 {
    let rate = LOAD * MU * servers as f64;
    let seconds = requests / rate;
    let overrides = [
        format!("servers.count={servers}"),
        format!("lb.algorithm={algorithm}"),
        format!("workload.rate={rate}"),
        format!("duration={}ms", (seconds * 1e3).ceil()),
        "warmup=0s".to_string(),
    ];
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mm1.toml");
    let cfg = infrasim::scenario::load(&path, &overrides)
        .unwrap_or_else(|e| panic!("{e}"))
        .config;
    let mut ns: Vec<f64> = (0..3)
        .map(|_| {
            let t = Instant::now();
            let r = Stack::run(&cfg, 0);
            t.elapsed().as_secs_f64() * 1e9 / r.requests.arrived.max(1) as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    ns[1]
}

fn main() {
    // `cargo test --benches` runs this binary too: keep that quick.
    let quick = std::env::args().any(|a| a == "--test") || std::env::var_os("QUICK").is_some();
    let requests = if quick { REQUESTS / 100.0 } else { REQUESTS };
    println!("ns per request at per-server load {LOAD} ({requests} requests, median of 3)");
    print!("{:>8}", "servers");
    for a in ALGORITHMS {
        print!("{a:>12}");
    }
    println!("{:>22}", "lc/rnd2  rr/rnd2");
    for n in POOLS {
        let ns: Vec<f64> = ALGORITHMS
            .iter()
            .map(|a| ns_per_request(a, n, requests))
            .collect();
        print!("{n:>8}");
        for x in &ns {
            print!("{x:>12.0}");
        }
        println!("{:>14.2}{:>8.2}", ns[0] / ns[2], ns[1] / ns[2]);
    }
}
