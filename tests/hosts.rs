//! Co-located and correlated failures (issue 12): a named host takes every server and DB node
//! on it down at once, a rack every host in it, in both models.
//!
//! - Request level: a host fault is exactly its members' faults at the same instant (the runs
//!   are identical request for request), and a member already down by its own fault stays
//!   down until both faults end (fault counts).
//! - The fast path agrees with the request-level model, replication by replication
//!   (`common::paired`), on a stack where a host carries a web server and the primary.
//! - Two servers on one rack, with only rack faults, have the availability of one component,
//!   MTTF / (MTTF + MTTR): the redundancy of the pair is gone. Checked like tests/montecarlo.rs
//!   (99.9% Student t interval over independent replications, asserted tight).

mod common;
use common::*;

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::model::availability;
use infrasim::model::*;
use rayon::prelude::*;

const MTTF: f64 = 600.0;
const MTTR: f64 = 60.0;

fn host(name: &str, rack: Option<usize>, servers: &[usize], db_nodes: &[usize]) -> Host {
    Host {
        name: name.into(),
        rack,
        cores: None,
        servers: servers.to_vec(),
        db_nodes: db_nodes.to_vec(),
    }
}

/// Two web servers, the primary on web-01's machine (`h1`), one read and one write per
/// request, no replica: the classic co-located layout's failure domain.
fn colocated(seconds: u64) -> Config {
    let mut cfg = common::stack(20.0, 2, 0, 1, 1, seconds);
    cfg.name = "hosts-test".into();
    cfg.failures.layout = Layout {
        hosts: vec![host("h1", None, &[0], &[0]), host("h2", None, &[1], &[])],
        racks: vec![],
    };
    cfg
}

fn fault(target: Target, at: u64, secs: u64) -> ScheduledFault {
    ScheduledFault {
        target,
        kind: FaultKind::Crash,
        at: SimTime::from_secs(at),
        duration: Some(SimTime::from_secs(secs)),
    }
}

#[test]
fn a_host_fault_is_its_members_faults_at_the_same_instant() {
    let _r = Report::start("request level: host h1 = web-01 + db-primary crashing at once");
    let mut by_host = colocated(60);
    by_host.failures.scheduled = vec![fault(Target::Host(0), 10, 20)];
    let mut by_parts = colocated(60);
    by_parts.failures.scheduled = vec![
        fault(Target::Server(0), 10, 20),
        fault(Target::DbNode(0), 10, 20),
    ];
    let a = Stack::run(&by_host, 0);
    let b = Stack::run(&by_parts, 0);
    log(format!(
        "  host fault: availability {:.6}, errors {:?}",
        a.availability, a.errors
    ));
    assert_eq!(a.faults.len(), 1);
    assert_eq!(a.faults[0].component, "host:h1");
    assert_eq!((a.faults[0].start_s, a.faults[0].end_s), (10.0, Some(30.0)));
    // Both members failed: web-01's connections (refused, retried elsewhere) and every write.
    assert!(
        a.availability < 0.75,
        "writes should fail: {}",
        a.availability
    );
    assert_eq!(a.requests.arrived, b.requests.arrived);
    assert_eq!(a.requests.failed, b.requests.failed);
    assert_eq!(a.errors, b.errors);
    assert_eq!(a.availability, b.availability);
    let states = |r: &RunResults| -> Vec<&'static str> {
        r.timeline.iter().map(|row| row.servers[0]).collect()
    };
    assert_eq!(states(&a), states(&b));
    assert_eq!(
        a.timeline
            .iter()
            .map(|r| r.primary.clone())
            .collect::<Vec<_>>(),
        b.timeline
            .iter()
            .map(|r| r.primary.clone())
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_member_down_by_its_own_fault_stays_down_until_both_end() {
    let _r = Report::start("request level: web-01 down 10-40 s, its host down 20-30 s");
    let mut cfg = colocated(60);
    cfg.failures.scheduled = vec![
        fault(Target::Server(0), 10, 30),
        fault(Target::Host(0), 20, 10),
    ];
    let r = Stack::run(&cfg, 0);
    let state = |t: f64| {
        r.timeline
            .iter()
            .find(|row| (row.t - t).abs() < 1e-9)
            .map(|row| row.servers[0])
            .unwrap()
    };
    // The host's repair at 30 s does not bring web-01 back: its own fault lasts to 40 s.
    for t in [32.0, 35.0, 39.0] {
        assert_ne!(state(t), "up", "web-01 at {t} s");
    }
    assert_eq!(state(5.0), "up");
    assert_eq!(state(55.0), "up");
    // Writes fail only while the host (with the primary) is down.
    let failed: Vec<u64> = r.timeline.iter().map(|row| row.failed).collect();
    log(format!("  failures per second: {failed:?}"));
    assert!(failed[21..29].iter().all(|&f| f > 0));
    assert!(failed[33..39].iter().all(|&f| f == 0));
}

#[test]
fn host_components_and_spofs_are_named() {
    let mut cfg = colocated(60);
    cfg.failures.random = vec![
        crashes(TargetKind::Server, MTTF, MTTR),
        crashes(TargetKind::Host, MTTF, MTTR),
    ];
    let names: Vec<String> = availability::components(&cfg)
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["web-01", "web-02", "host:h1", "host:h2"]);
    let spofs = availability::structural_spofs(&cfg);
    let h1 = spofs.iter().find(|s| s.component == "host:h1").unwrap();
    assert!(h1.effect.contains("db-primary") && h1.effect.contains("web-01"));
    assert!(!spofs.iter().any(|s| s.component == "host:h2"));
}

#[test]
fn fast_path_agrees_with_the_request_level_model_on_host_faults() {
    let _r = Report::start(
        "fast path vs request level: host faults over server and DB faults (2 h, MTTF 10 min)",
    );
    let mut cfg = colocated(2 * 3600);
    cfg.workload.mix[0].writes = 0;
    cfg.failures.timeline_interval = SimTime::ZERO;
    cfg.failures.health = health(SimTime::from_secs(1), 2, 2);
    cfg.failures.random = vec![
        crashes(TargetKind::Server, MTTF, MTTR),
        crashes(TargetKind::DbNode, 2.0 * MTTF, MTTR),
        crashes(TargetKind::Host, MTTF, MTTR),
    ];
    common::paired::check_agreement(&cfg, 40, 0.05);
}

// ---- the fast path against reliability theory ------------------------------------------------

const THEORY_RUNS: u64 = 200;
const THEORY_HORIZON: u64 = 30 * 86_400;

#[test]
fn two_servers_on_one_rack_have_the_availability_of_one_component() {
    let _r = Report::start("fast path vs theory: web-01 and web-02 on one rack");
    let mut cfg = common::stack(10.0, 2, 0, 1, 0, 60);
    cfg.name = "rack-theory".into();
    cfg.failures.layout = Layout {
        hosts: vec![
            host("h1", Some(0), &[0], &[]),
            host("h2", Some(0), &[1], &[]),
        ],
        racks: vec!["r1".into()],
    };
    cfg.failures.random = vec![crashes(TargetKind::Rack, MTTF, MTTR)];
    // Rejoin within 1 ms of a repair (rise = fall = 1).
    cfg.failures.health = health(SimTime::from_millis(1), 1, 1);
    let comps = availability::components(&cfg);
    assert_eq!(comps.len(), 1);
    assert_eq!(comps[0].name, "rack:r1");
    let horizon = SimTime::from_secs(THEORY_HORIZON);
    let u: Vec<f64> = (0..THEORY_RUNS)
        .into_par_iter()
        .map(|rep| 1.0 - availability::simulate(&cfg, &comps, horizon, rep, None).availability)
        .collect();
    let e = Est::of(&u);
    // One alternating component from an up start: mean over [0, h] of P(down at t) =
    // q (1 - (1 - e^(-s h)) / (s h)), q = MTTR / (MTTF + MTTR), s = 1/MTTF + 1/MTTR.
    let h = THEORY_HORIZON as f64;
    let q = MTTR / (MTTF + MTTR);
    let s = 1.0 / MTTF + 1.0 / MTTR;
    let theory = q * (1.0 - (1.0 - (-s * h).exp()) / (s * h));
    log(format!(
        "  unavailability {:.6e} ± {:.3e} (99.9%, SE {:.2}% of theory); theory {theory:.6e} \
         (a pair on separate racks: {:.6e})",
        e.mean,
        e.hw999(),
        100.0 * e.se / theory,
        q * q
    ));
    assert!(e.se <= 0.01 * theory, "interval too wide: SE {}", e.se);
    assert!(
        (e.mean - theory).abs() <= e.hw999(),
        "fast path {} vs theory {theory}: |diff| > 99.9% half-width {}",
        e.mean,
        e.hw999()
    );
}

// ---- shared CPU --------------------------------------------------------------------------------

#[test]
fn a_db_node_on_a_web_host_slows_the_app_by_the_cpu_it_uses() {
    let mut cfg = colocated(60);
    cfg.workload.mix[0].app = Dist::exp(0.010).unwrap();
    cfg.database.write_time = Dist::exp(0.005).unwrap();
    cfg.database.read_time = Dist::exp(0.001).unwrap();
    let (servers, nodes) = infrasim::model::capacity::cpu_busy(&cfg);
    // 10 requests/s per server x 10 ms of app; 20/s x (1 ms read + 5 ms write) on the primary.
    assert!((servers[0] - 0.1).abs() < 1e-9, "{servers:?}");
    assert!((nodes[0] - 0.12).abs() < 1e-9, "{nodes:?}");
    infrasim::model::colocation::share_cpu(&mut cfg);
    let speeds = |c: &Config| (c.servers[0].speed, c.database.primary.speed);
    assert_eq!(speeds(&cfg), (1.0, 1.0), "without cores nothing is shared");
    cfg.failures.layout.hosts[0].cores = Some(2);
    infrasim::model::colocation::share_cpu(&mut cfg);
    assert!((cfg.servers[0].speed - (1.0 - 0.12 / 2.0)).abs() < 1e-12);
    assert!((cfg.database.primary.speed - (1.0 - 0.1 / 2.0)).abs() < 1e-12);
    // web-02's host declares no cores: untouched.
    assert_eq!(cfg.servers[1].speed, 1.0);
}
