mod common;

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::model::*;

fn avail_cfg(kinds: &[TargetKind], seconds: u64) -> Config {
    let mut cfg = common::stack(5.0, 2, 0, 1, 0, seconds);
    cfg.workload.arrival = ArrivalKind::Poisson;
    cfg.database.read_from = ReadPolicy::Primary;
    cfg.warmup = SimTime::from_secs(200);
    let ms10 = SimTime::from_millis(10);
    cfg.failures.health = HealthCheck {
        enabled: true,
        inter: ms10,
        fastinter: ms10,
        downinter: ms10,
        rise: 1,
        fall: 1,
        layer7: false,
        retries: 1,
        redispatch: true,
        timeout_connect: ms10,
    };
    cfg.failures.db_failover.automatic = false;
    cfg.failures.timeline_interval = SimTime::ZERO;
    cfg.failures.random = kinds
        .iter()
        .map(|&kind| RandomFaults {
            kind,
            ttf: Dist::exp(60.0).unwrap(),
            ttr: Dist::exp(6.0).unwrap(),
        })
        .collect();
    cfg
}

#[test]
fn probe() {
    for kinds in [vec![TargetKind::DbNode], vec![TargetKind::Server], vec![TargetKind::Lb, TargetKind::Server, TargetKind::DbNode]] {
        let cfg = avail_cfg(&kinds, 20_000);
        let t = std::time::Instant::now();
        let r = Stack::run(&cfg, 0);
        eprintln!("{kinds:?}: {:.2}s events {} avail {:.5} arrived {} errors {:?}", t.elapsed().as_secs_f64(), r.events, r.availability, r.requests.arrived, r.errors.iter().filter(|e| *e.1 > 0).collect::<Vec<_>>());
    }
}
