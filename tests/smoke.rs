mod common;
use infrasim::model::*;

#[test]
fn mm1_smoke() {
    let cfg = common::mmc(80.0, 100.0, 1, 1, Algorithm::RoundRobin, 20_000);
    let t = std::time::Instant::now();
    let r = Stack::run(&cfg, 0);
    eprintln!(
        "{:?} {} events {:.1} ns/event",
        t.elapsed(),
        r.events,
        t.elapsed().as_nanos() as f64 / r.events as f64
    );
    eprintln!(
        "mean {} p99 {} L {:?}",
        r.latency.mean, r.latency.p99, r.littles_law
    );
}
