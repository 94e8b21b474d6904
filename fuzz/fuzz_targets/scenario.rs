//! Fuzzes the scenario loader and validator: any UTF-8 text, with and without `--set`
//! overrides, must load or be refused with problems; it must never panic or hang.
//!
//! Overrides come from the input itself: every line `#set key.path=value` (a TOML comment, so
//! the file still parses) is passed as `--set key.path=value`, and the first byte picks one of
//! a few fixed override sets that resize lists and index into them.
//!
//!     RUSTC_BOOTSTRAP=1 cargo fuzz run scenario --sanitizer none -- -max_len=4096

#![no_main]

use infrasim::scenario::load_str;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

const FIXED: &[&[&str]] = &[
    &["servers.count=3", "servers[2].weight=2"],
    &[
        "database.replicas.count=2",
        "database.replicas[1].speed=0.5",
    ],
    &[
        "faults.count=2",
        "faults[1].at=1s",
        "faults[1].target=web-01",
    ],
    &["workload.mix.count=3", "workload.mix[2].reads=2"],
    &["lb.algorithm=random(2)", "lb.ha=active-passive", "seed=7"],
    &[
        "duration=10min",
        "workload.rate=1e3",
        "timeline.interval=1ms",
    ],
    &[
        "random_faults.count=1",
        "servers.count=0",
        "servers.count=1024",
    ],
];

fuzz_target!(|text: &str| {
    let origin = Path::new("fuzz.toml");
    check(load_str(text, origin, &[]));

    let mut sets: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("#set "))
        .take(8)
        .map(str::to_string)
        .collect();
    if !sets.is_empty() {
        check(load_str(text, origin, &sets));
    }
    let pick = text.bytes().next().unwrap_or(0) as usize % FIXED.len();
    sets.extend(FIXED[pick].iter().map(|s| s.to_string()));
    let loaded = load_str(text, origin, &sets);
    // A sweep point is the scenario with more overrides: build the first one too.
    if let Ok(sc) = &loaded
        && let Some(sweep) = &sc.study.sweep
    {
        let extra: Vec<String> = sweep
            .parameters
            .iter()
            .take(4)
            .filter_map(|p| p.values.first().map(|v| format!("{}={v}", p.key)))
            .collect();
        let _ = sc.with_overrides(&extra);
    }
    check(loaded);
});

/// What a loaded configuration promises the model (the invariants documented on `Config`).
fn check(r: Result<infrasim::scenario::Scenario, infrasim::scenario::ScenarioError>) {
    match r {
        Ok(sc) => {
            let c = &sc.config;
            assert!(!c.servers.is_empty() && c.servers.len() <= 1024);
            assert!(c.duration > infrasim::engine::SimTime::ZERO);
            assert!(c.warmup < c.duration);
            assert!(c.workload.rate > 0.0 && c.workload.rate.is_finite());
            assert!(!c.workload.mix.is_empty());
            assert!(c.workload.mix.iter().all(|m| m.weight > 0.0));
            assert!(c.workload.clients >= 1);
            assert!(c.database.replicas.len() <= 1024);
            for s in &c.servers {
                assert!(s.nginx_workers >= 1 && s.app_workers >= 1 && s.nginx_max_conns >= 1);
                assert!(s.speed > 0.0 && s.speed.is_finite());
            }
            for n in std::iter::once(&c.database.primary).chain(&c.database.replicas) {
                assert!(n.workers >= 1 && n.max_connections >= n.workers);
                assert!(n.speed > 0.0 && n.speed.is_finite());
            }
            assert!(c.lb.threads >= 1);
        }
        Err(e) => {
            assert!(!e.problems.is_empty(), "an error must name a problem");
            let _ = e.to_string();
        }
    }
}
