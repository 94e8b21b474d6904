//! The failure model against the mechanisms it imitates and against reliability theory.
//!
//! Every configuration is built by hand (`common::stack`: zero service times, so nothing
//! queues and every failure is caused by a fault and the mechanisms around it). Expected values
//! come from the real mechanisms (domain.md §1.3-1.4 HAProxy checks, §3.1-3.2 keepalived and
//! DNS, §4.3-4.4 MySQL semi-sync and failover, §5/§8 availability), and where a count depends
//! on random arrivals it is recomputed independently: the test rebuilds the run's arrival
//! sequence from the same named random streams the model draws from (`Workload`), and counts
//! the requests that fall in the window the mechanism predicts. So most checks are exact; the
//! statistical ones (phases of check and poll cycles, Poisson counts, availability) use
//! intervals derived from the known variance or from the replications (99.9% Student t),
//! like tests/theory_queueing.rs.
//!
//! Every run of this file is also checked for conservation ([`check_run`]).

mod common;
use common::*;

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::engine::StreamId;
use infrasim::model::stack::{
    VRRP_PHASE_STREAM, advert_phase, master_down_after, master_down_interval,
};
use infrasim::model::workload::FIRST_CLIENT_IP;
use infrasim::model::*;

// ---- 1. HAProxy health checks: detection and recovery times (domain.md §1.4) ----------------

/// web-01's host crashes at T0 for `DOWN` seconds, 2 servers, default check timers except
/// `fastinter`. Reported detection = first failing check after the crash (a uniform phase in
/// (0, inter]) + (fall - 1) x fastinter; marked UP again = first check after the repair (phase
/// in (0, downinter]) + (rise - 1) x fastinter.
fn detection_case(fastinter: SimTime) {
    const R: u64 = 40;
    let t0 = SimTime::from_millis(20_012);
    let down = SimTime::from_secs(15);
    let mut cfg = common::stack(20.0, 2, 0, 0, 0, 60);
    cfg.failures.health.fastinter = fastinter;
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::Server(0),
        kind: FaultKind::Crash,
        at: t0,
        duration: Some(down),
    }];
    let h = cfg.failures.health.clone();
    let _r = Report::start(format!(
        "health checks, inter {} fastinter {} downinter {} rise {} fall {} ({R} replications):",
        h.inter, h.fastinter, h.downinter, h.rise, h.fall
    ));
    let (inter, fast, downinter) = (secs(h.inter), secs(h.fastinter), secs(h.downinter));
    let detect_lo = (h.fall - 1) as f64 * fast;
    let up_lo = (h.rise - 1) as f64 * fast;
    let repaired = t0 + down;
    let runs = replicate(&cfg, R);
    let mut detect = vec![];
    let mut recover = vec![];
    for r in &runs {
        assert_eq!(r.faults.len(), 1);
        let f = &r.faults[0];
        assert_eq!(f.component, "web-01");
        let ttd = f.time_to_detect_s.expect("the crash is detected");
        assert!(
            ttd >= detect_lo - EPS && ttd <= detect_lo + inter + EPS,
            "run {}: detection {ttd} outside [{detect_lo}, {}]",
            r.run,
            detect_lo + inter
        );
        // Traffic is routed around it from then on.
        assert!((f.time_to_recover_s.unwrap() - ttd).abs() < EPS);
        let down_log = log_entries(r, "server marked DOWN");
        assert_eq!(down_log.len(), 1, "run {}: {:?}", r.run, r.event_log);
        assert!((down_log[0].t - secs(t0) - ttd).abs() < EPS);
        assert_eq!(down_log[0].detail, "web-01");
        let up_log = log_entries(r, "server marked UP");
        assert_eq!(up_log.len(), 1, "run {}: {:?}", r.run, r.event_log);
        assert_eq!(up_log[0].detail, "web-01");
        let ttu = up_log[0].t - secs(repaired);
        assert!(
            ttu >= up_lo - EPS && ttu <= up_lo + downinter + EPS,
            "run {}: marked up {ttu} s after the repair, outside [{up_lo}, {}]",
            r.run,
            up_lo + downinter
        );
        detect.push(ttd);
        recover.push(ttu);
        // What clients saw: without `option redispatch`, requests sent to web-01 before it is
        // marked DOWN are retried on it `retries` times and get a 503; nothing else fails.
        // Round robin alternates over the two servers, so that is half the arrivals in
        // [crash, detection), to within one.
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(r, &arr);
        let in_window = count_in(&arr, t0, t0 + SimTime::from_secs_f64(ttd)) as f64;
        let failed = errors(r, "connect_failed_503") as f64;
        assert_eq!(r.requests.failed as f64, failed, "{:?}", nonzero(r));
        assert!(
            (failed - in_window / 2.0).abs() <= 1.0,
            "run {}: {failed} connect failures, {in_window} arrivals before detection",
            r.run
        );
    }
    check_uniform_mean(
        "time to detect (marked DOWN after crash)",
        &detect,
        detect_lo,
        inter,
    );
    check_uniform_mean("time to mark UP after repair", &recover, up_lo, downinter);
}

/// Defaults inter = fastinter = downinter = 2 s, rise 2, fall 3: detection in [4, 6] s, mean
/// 5 s; back UP in [2, 4] s, mean 3 s (domain.md §1.4 table).
#[test]
fn health_check_detection_default_timers() {
    detection_case(SimTime::from_secs(2));
}

/// fastinter = 500 ms: detection in [1, 3] s (mean 2 s); back UP in [0.5, 2.5] s (mean 1.5 s).
#[test]
fn health_check_detection_fastinter_500ms() {
    detection_case(SimTime::from_millis(500));
}

/// web-01's application process dies behind a live Nginx for 10 s. A plain TCP check still
/// connects to Nginx, so the server is never marked DOWN and every request round robin sends
/// it gets a 502 for the whole outage; an L7 check (`option httpchk`) fails like a dead host's,
/// so the 502s stop at the detection, U(0, inter] + (fall - 1) x fastinter after the crash
/// (domain.md §1.4).
#[test]
fn app_crash_needs_layer7_check() {
    let _r = Report::start("application process down behind a live Nginx:");
    let t0 = SimTime::from_millis(20_012);
    let down = SimTime::from_secs(10);
    for layer7 in [false, true] {
        let mut cfg = common::stack(20.0, 2, 0, 0, 0, 40);
        cfg.failures.health.layer7 = layer7;
        cfg.failures.scheduled = vec![ScheduledFault {
            target: Target::App(0),
            kind: FaultKind::Crash,
            at: t0,
            duration: Some(down),
        }];
        for r in replicate(&cfg, 5) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let f = &r.faults[0];
            assert_eq!(f.component, "web-01.app");
            let until = if layer7 {
                let ttd = f.time_to_detect_s.expect("an L7 check sees it");
                assert!((4.0 - EPS..=6.0 + EPS).contains(&ttd), "{ttd}");
                t0 + SimTime::from_secs_f64(ttd)
            } else {
                assert_eq!(f.detected_s, None, "a TCP check cannot see it");
                assert!((f.time_to_recover_s.unwrap() - secs(down)).abs() < EPS);
                t0 + down
            };
            let in_window = count_in(&arr, t0, until) as f64;
            let failed = errors(&r, "app_down_502") as f64;
            assert_eq!(r.requests.failed as f64, failed, "{:?}", nonzero(&r));
            assert!(
                (failed - in_window / 2.0).abs() <= 1.0,
                "layer7 {layer7} run {}: {failed} 502s, {in_window} arrivals in the window",
                r.run
            );
            if r.run == 0 {
                log(format!(
                    "  layer7 {layer7}: detected after {:?} s, 502s {failed} (half of {in_window} \
                     arrivals in [crash, {}])",
                    f.time_to_detect_s,
                    if layer7 { "detection" } else { "repair" }
                ));
            }
        }
    }
}

// ---- 2. Load-balancer high availability (domain.md §3.1, §3.2) --------------------------------

const ADVERT: u64 = 1;
/// Master-down timer of the priority-100 backup: 3 x advert_int + (256 - 100) / 256 s.
const MASTER_DOWN_100: f64 = 3.609375;
/// Skew of the priority-100 backup alone: its wait after a priority-0 advertisement.
const SKEW_100: f64 = 0.609375;

/// Active-passive keepalived pair, advert_int 1 s, backup priority 100 (master 101, `state
/// MASTER`): lb-1 fails (`kind`) at T0 = 10.005 s for 20 s. Deterministic arrivals every 10 ms,
/// 50 ms of app work (so 5 requests are always in flight).
fn vrrp_config(preempt: bool, kind: FaultKind, track: Option<VrrpScript>) -> Config {
    let mut cfg = common::stack(100.0, 2, 0, 0, 0, 40);
    cfg.workload.mix[0].app = Dist::det(0.05).unwrap();
    cfg.failures.lb_ha = LbHa::ActivePassive {
        advert_int: SimTime::from_secs(ADVERT),
        backup_priority: 100,
        preempt,
        master_state: true,
        track,
    };
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::Lb(0),
        kind,
        at: SimTime::from_millis(10_005),
        duration: Some(SimTime::from_secs(20)),
    }];
    cfg
}

/// When a client's connection succeeds after SYN retransmissions: its SYNs leave at a, a + 1,
/// a + 3, a + 7, ... s (Linux, initial RTO 1 s doubled each time); the first at or after
/// `answered` is accepted.
fn first_syn_after(a: SimTime, answered: SimTime) -> SimTime {
    (0..40)
        .map(|n| a + SimTime::from_secs((1u64 << n) - 1))
        .find(|&t| t >= answered)
        .unwrap()
}

/// The master's *host* dies (`down`): its advertisements stop and the backup takes the floating
/// IP when its master-down timer, 3 x 1 s + 156/256 s = 3.609375 s (keepalived vrrp.h
/// `VRRP_MS_DOWN_TIMER`), runs out after the last advertisement it heard: the initial master
/// advertises every second at the run's phase (`vrrp.phase`), so the takeover comes 2.61 to
/// 3.61 s after the failure. Clients that connect meanwhile get no answer at all: they
/// retransmit their SYN (1, 3, 7 s after the first) and are served by lb-2 at the first
/// retransmission after the takeover, so none fails; only the 5 requests in flight through lb-1
/// lose their connection. lb-1 comes back as BACKUP and, configured `state MASTER`, preempts
/// after one advert_int + 1/256 s (keepalived vrrp_scheduler.c `vrrp_init_state`); the 5 in
/// flight through lb-2 then are lost too.
#[test]
fn vrrp_host_down_takeover_and_preempt() {
    let _r = Report::start("keepalived active-passive, master host down, preempt:");
    let cfg = vrrp_config(true, FaultKind::Down, None);
    let t0 = SimTime::from_millis(10_005);
    let repaired = t0 + SimTime::from_secs(20);
    assert_eq!(
        master_down_interval(SimTime::from_secs(ADVERT), 100),
        SimTime::from_secs_f64(MASTER_DOWN_100)
    );
    let preempt = repaired + SimTime::from_secs(ADVERT) + SimTime::from_secs_f64(1.0 / 256.0);
    for r in replicate(&cfg, 3) {
        let advert = SimTime::from_secs(ADVERT);
        let phase = advert_phase(
            StreamId::new(cfg.seed, VRRP_PHASE_STREAM, r.run).key(),
            advert,
        );
        let after = master_down_after(t0, phase, advert, 100);
        let takeover = t0 + after;
        let after = secs(after);
        assert!(after > MASTER_DOWN_100 - 1.0 && after <= MASTER_DOWN_100);
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let f = &r.faults[0];
        assert_eq!((f.component.as_str(), f.kind.as_str()), ("lb-1", "down"));
        log(format!(
            "  run {}: detect {:?} s, recover {:?} s (expected {after:.6}, advertisements at \
             phase {phase}); errors {:?}; max latency {:.3} s",
            r.run,
            f.time_to_detect_s,
            f.time_to_recover_s,
            nonzero(&r),
            r.latency.max
        ));
        assert!((f.time_to_recover_s.unwrap() - after).abs() < EPS);
        assert!((f.time_to_detect_s.unwrap() - after).abs() < EPS);
        let tk = log_entries(&r, "VRRP takeover");
        assert_eq!(tk.len(), 1, "{:?}", r.event_log);
        assert_eq!(tk[0].component, "lb-2");
        assert!((tk[0].t - secs(takeover)).abs() < EPS, "{}", tk[0].t);
        let pre = log_entries(&r, "VRRP preempt");
        assert_eq!(pre.len(), 1, "{:?}", r.event_log);
        assert_eq!(pre[0].component, "lb-1");
        assert!((pre[0].t - secs(preempt)).abs() < EPS, "{}", pre[0].t);
        // Nobody fails for lack of an answer: they wait.
        assert_eq!(errors(&r, "lb_down"), 0);
        assert_eq!(errors(&r, "lb_connect_timeout"), 0);
        let in_flight = |t: SimTime| count_in(&arr, t - SimTime::from_millis(50), t + SimTime(1));
        assert_eq!(in_flight(t0), 5);
        assert_eq!(
            errors(&r, "lb_connection_lost"),
            in_flight(t0) + in_flight(preempt)
        );
        assert_eq!(r.requests.failed, errors(&r, "lb_connection_lost"));
        // The slowest request waited for the first of its SYNs after the takeover.
        let waits: Vec<f64> = arr
            .iter()
            .filter(|(t, _)| *t >= t0 && *t < takeover)
            .map(|(t, _)| secs(first_syn_after(*t, takeover) - *t))
            .collect();
        assert_eq!(waits.len() as u64, count_in(&arr, t0, takeover));
        assert!(waits.len() > 250);
        let slowest = waits.iter().cloned().fold(0.0, f64::max) + 0.05;
        // The first arrival after the crash retransmits at +1, +3, +7 s: its third SYN is
        // answered if the takeover comes by then, else its fourth.
        let first = arr.iter().find(|(t, _)| *t >= t0).unwrap().0;
        let expected = if takeover - first <= SimTime::from_secs(3) {
            3.05
        } else {
            7.05
        };
        assert!((slowest - expected).abs() < 1e-6, "{slowest}");
        assert!(
            (r.latency.max - slowest).abs() <= slowest * 1e-3,
            "max latency {} vs {slowest}",
            r.latency.max
        );
        assert_eq!(r.timeline.last().unwrap().lb, "lb-1");
        assert_eq!(r.requests.in_flight_end, 5);
    }
}

/// Without preempt the repaired lb-1 stays backup: no second disruption.
#[test]
fn vrrp_without_preempt_keeps_backup() {
    let _r = Report::start("keepalived active-passive, nopreempt:");
    let cfg = vrrp_config(false, FaultKind::Down, None);
    for r in replicate(&cfg, 2) {
        assert!(log_entries(&r, "VRRP preempt").is_empty());
        assert_eq!(log_entries(&r, "VRRP takeover").len(), 1);
        assert_eq!(errors(&r, "lb_connection_lost"), 5);
        assert_eq!(r.requests.failed, 5);
        assert_eq!(r.timeline.last().unwrap().lb, "lb-2");
        log(format!(
            "  run {}: failed {} ({:?}), VIP ends on lb-2",
            r.run,
            r.requests.failed,
            nonzero(&r)
        ));
    }
}

/// The HAProxy *process* dies on a live host (`crash`) and keepalived does not watch it: the
/// floating IP stays on lb-1, whose kernel resets every connection. Every arrival until the
/// repair fails at once (lb_down); no takeover (domain.md §3.1).
#[test]
fn vrrp_untracked_haproxy_crash_keeps_the_ip_on_a_dead_lb() {
    let _r = Report::start("keepalived without vrrp_script, HAProxy process crash:");
    let cfg = vrrp_config(true, FaultKind::Crash, None);
    let t0 = SimTime::from_millis(10_005);
    let repaired = t0 + SimTime::from_secs(20);
    for r in replicate(&cfg, 2) {
        let arr = arrivals(&cfg, r.run);
        assert!(
            log_entries(&r, "VRRP takeover").is_empty(),
            "{:?}",
            r.event_log
        );
        assert_eq!(errors(&r, "lb_down"), count_in(&arr, t0, repaired));
        assert_eq!(errors(&r, "lb_down"), 2000);
        let f = &r.faults[0];
        assert_eq!(f.detected_s, None, "nothing notices");
        assert!((f.time_to_recover_s.unwrap() - 20.0).abs() < EPS);
        log(format!(
            "  run {}: lb_down {} (every arrival of the 20 s), no takeover",
            r.run,
            errors(&r, "lb_down")
        ));
    }
}

/// With a `vrrp_script` watching HAProxy (interval 1 s, fall 1), the script's next run sees it
/// dead: lb-1 enters FAULT, sends a priority-0 advertisement, drops the address, and lb-2 takes
/// over after its skew alone, 156/256 s. Arrivals until FAULT are reset (lb_down), later ones
/// wait for the takeover; the 5 in flight are lost. When HAProxy is back, the script
/// takes lb-1 out of FAULT at its next run and lb-1 preempts after its master-down timer.
#[test]
fn vrrp_tracked_haproxy_crash_moves_the_ip_after_the_script() {
    let _r = Report::start("keepalived with vrrp_script, HAProxy process crash:");
    let script = VrrpScript {
        interval: SimTime::from_secs(1),
        fall: 1,
        rise: 1,
    };
    let cfg = vrrp_config(true, FaultKind::Crash, Some(script));
    let t0 = SimTime::from_millis(10_005);
    let repaired = t0 + SimTime::from_secs(20);
    let master_down_101 = secs(master_down_interval(SimTime::from_secs(ADVERT), 101));
    for r in replicate(&cfg, 4) {
        let arr = arrivals(&cfg, r.run);
        let fault = log_entries(&r, "VRRP fault");
        assert_eq!(fault.len(), 1, "{:?}", r.event_log);
        let tk = log_entries(&r, "VRRP takeover");
        assert_eq!(tk.len(), 1, "{:?}", r.event_log);
        assert_eq!(tk[0].component, "lb-2");
        // The script runs once a second at its own phase: FAULT within (0, 1] s of the crash.
        let detect = fault[0].t - secs(t0);
        assert!(
            detect > 0.0 && detect <= 1.0 + EPS,
            "FAULT after {detect} s"
        );
        assert!((tk[0].t - fault[0].t - SKEW_100).abs() < EPS);
        // Until FAULT lb-1 still holds the address and resets; from FAULT to the takeover
        // nobody holds it and clients wait for their retransmissions.
        let fault_at = SimTime::from_secs_f64(fault[0].t);
        assert_eq!(
            errors(&r, "lb_down"),
            count_in(&arr, t0, fault_at + SimTime(1))
        );
        // 5 in flight at the crash, 5 through lb-2 at the preemption.
        assert_eq!(
            r.requests.failed,
            errors(&r, "lb_down") + 10,
            "{:?}",
            nonzero(&r)
        );
        // Back: the script sees HAProxy within a second, lb-1 leaves FAULT and preempts after
        // its master-down timer (3 x 1 s + 155/256 s).
        let leave = log_entries(&r, "VRRP leaves fault");
        assert_eq!(leave.len(), 1);
        assert!(leave[0].t > secs(repaired) && leave[0].t <= secs(repaired) + 1.0 + EPS);
        let pre = log_entries(&r, "VRRP preempt");
        assert_eq!(pre.len(), 1, "{:?}", r.event_log);
        assert!((pre[0].t - leave[0].t - master_down_101).abs() < EPS);
        log(format!(
            "  run {}: FAULT {detect:.3} s after the crash, takeover {:.3} s, lb_down {}",
            r.run,
            tk[0].t - secs(t0),
            errors(&r, "lb_down")
        ));
    }
}

/// The same tracked crash of lb-1's HAProxy (10.005 s to 30.005 s), and lb-1's host goes down
/// on [15 s, 20 s) meanwhile. When the host comes back, keepalived starts as BACKUP and,
/// configured `state MASTER`, would preempt after one advert_int + 1/256 s; but its
/// `vrrp_script` runs again within a second and still finds HAProxy dead: FAULT, so lb-1 never
/// takes the address back before the crash is repaired and lb-2 keeps serving. Only the
/// arrivals between the crash and the first FAULT are reset (lb_down); only the 5 in flight
/// through lb-1 at the crash and the 5 through lb-2 at the preemption after the repair lose
/// their connection.
#[test]
fn a_host_back_with_haproxy_still_dead_stays_in_fault() {
    let _r = Report::start("keepalived with vrrp_script, host back while HAProxy is dead:");
    let script = VrrpScript {
        interval: SimTime::from_secs(1),
        fall: 1,
        rise: 1,
    };
    let mut cfg = vrrp_config(true, FaultKind::Crash, Some(script));
    cfg.failures.scheduled.push(ScheduledFault {
        target: Target::Lb(0),
        kind: FaultKind::Down,
        at: SimTime::from_secs(15),
        duration: Some(SimTime::from_secs(5)),
    });
    let t0 = SimTime::from_millis(10_005);
    let repaired = t0 + SimTime::from_secs(20);
    for r in replicate(&cfg, 4) {
        let arr = arrivals(&cfg, r.run);
        let fault = log_entries(&r, "VRRP fault");
        assert_eq!(fault.len(), 2, "{:?}", r.event_log);
        // Back at 20 s, FAULT again at the script's next run, within a second.
        assert!(
            fault[1].t > 20.0 && fault[1].t <= 21.0 + EPS,
            "second FAULT at {} s",
            fault[1].t
        );
        let pre = log_entries(&r, "VRRP preempt");
        assert_eq!(pre.len(), 1, "{:?}", r.event_log);
        assert!(pre[0].t > secs(repaired), "preempted at {} s", pre[0].t);
        let fault_at = SimTime::from_secs_f64(fault[0].t);
        assert_eq!(
            errors(&r, "lb_down"),
            count_in(&arr, t0, fault_at + SimTime(1)),
            "{:?}",
            nonzero(&r)
        );
        assert_eq!(
            r.requests.failed,
            errors(&r, "lb_down") + 10,
            "{:?}",
            nonzero(&r)
        );
        log(format!(
            "  run {}: FAULT again {:.3} s after the host came back, preempt {:.3} s after the \
             repair, lb_down {}",
            r.run,
            fault[1].t - 20.0,
            pre[0].t - secs(repaired),
            errors(&r, "lb_down")
        ));
    }
}

/// One HAProxy, Poisson arrivals at 50/s: its process dies on [10 s, 30 s). Exactly the arrivals
/// in that window fail (lb_down: the host resets them), nothing else; over R runs their total
/// is Poisson(R x 50 x 20).
#[test]
fn single_lb_outage_window() {
    const R: u64 = 20;
    const RATE: f64 = 50.0;
    let _r = Report::start("single HAProxy down for 20 s, Poisson 50/s:");
    let mut cfg = common::stack(RATE, 2, 0, 0, 0, 40);
    cfg.workload.arrival = ArrivalKind::Poisson;
    let (t0, d) = (SimTime::from_secs(10), SimTime::from_secs(20));
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::Lb(0),
        kind: FaultKind::Crash,
        at: t0,
        duration: Some(d),
    }];
    let mut total = 0;
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let expected = count_in(&arr, t0, t0 + d);
        assert_eq!(errors(&r, "lb_down"), expected, "run {}", r.run);
        assert_eq!(r.requests.failed, expected, "{:?}", nonzero(&r));
        let f = &r.faults[0];
        assert_eq!(f.detected_s, None, "nothing detects a single LB's death");
        assert!((f.time_to_recover_s.unwrap() - secs(d)).abs() < EPS);
        total += expected;
    }
    let mean = R as f64 * RATE * secs(d);
    let bound = Z_999 * mean.sqrt();
    log(format!(
        "  lb_down over {R} runs: {total} (Poisson mean {mean}, 99.9% bound ± {bound:.0})"
    ));
    assert!((total as f64 - mean).abs() <= bound);
}

/// A 100 req/s stack of two servers run for `seconds`, whose one HAProxy's host goes silent
/// at 10.005 s for `silent` seconds: the configuration, and the silence's start and length.
fn silent_lb(seconds: u64, silent: u64) -> (Config, SimTime, SimTime) {
    let mut cfg = common::stack(100.0, 2, 0, 0, 0, seconds);
    let (t0, d) = (SimTime::from_millis(10_005), SimTime::from_secs(silent));
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::Lb(0),
        kind: FaultKind::Down,
        at: t0,
        duration: Some(d),
    }];
    (cfg, t0, d)
}

/// One HAProxy whose host goes silent for 20 s: a client retransmits its SYN at 1, 3, 7, 15,
/// 31, 63 s and gives up at 127 s. Nobody fails; a client arriving at a is served at its first
/// SYN after the repair, so the longest wait is for a client whose retransmission just missed.
#[test]
fn single_lb_host_down_clients_wait() {
    let (mut cfg, t0, d) = silent_lb(60, 20);
    let r = Stack::run(&cfg, 0);
    let arr = arrivals(&cfg, 0);
    assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
    let back = t0 + d;
    let slowest = arr
        .iter()
        .filter(|(t, _)| *t >= t0 && *t < back)
        .map(|(t, _)| secs(first_syn_after(*t, back) - *t))
        .fold(0.0, f64::max);
    assert!(slowest > 15.0 && slowest <= 31.0, "{slowest}");
    assert!((r.latency.max - slowest).abs() <= slowest * 1e-3);
    // Down longer than the clients' patience: a client whose last SYN (63 s after its first;
    // none leaves at the 127 s timeout) came before the repair gives up (lb_connect_timeout),
    // later ones wait and are served.
    cfg.duration = SimTime::from_secs(400);
    cfg.failures.scheduled[0].duration = Some(SimTime::from_secs(200));
    let r = Stack::run(&cfg, 0);
    let arr = arrivals(&cfg, 0);
    let back = t0 + SimTime::from_secs(200);
    let gave_up = arr
        .iter()
        .filter(|(t, _)| *t >= t0 && first_syn_after(*t, back) - *t >= SimTime::from_secs(127))
        .count() as u64;
    assert_eq!(errors(&r, "lb_connect_timeout"), gave_up);
    assert_eq!(r.requests.failed, gave_up);
}

/// Two HAProxy behind DNS round robin, TTL 30 s; the health-checked DNS service withdraws a
/// dead LB's record `withdraw` after the crash. Clients whose cached answer names lb-1 fail
/// (its host resets them) until they re-resolve: each client refreshes its answer every TTL
/// at its own phase, uniform over clients, so after the withdrawal the share still bound to
/// lb-1 falls linearly to 0 over one TTL. Expected failures: rate x 1/2 x (withdraw + TTL/2)
/// (when the repair comes later); nothing fails before the crash or after withdraw + TTL.
fn active_active_case(down_secs: u64, withdraw_secs: u64) {
    const R: u64 = 10;
    const RATE: f64 = 50.0;
    let ttl = SimTime::from_secs(30);
    let withdraw = SimTime::from_secs(withdraw_secs);
    let mut cfg = common::stack(RATE, 2, 0, 0, 0, 120);
    cfg.workload.arrival = ArrivalKind::Poisson;
    cfg.workload.clients = 10_000;
    cfg.failures.lb_ha = LbHa::ActiveActive {
        dns_ttl: ttl,
        withdraw_after: withdraw,
    };
    let (t0, d) = (SimTime::from_secs(10), SimTime::from_secs(down_secs));
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::Lb(0),
        kind: FaultKind::Crash,
        at: t0,
        duration: Some(d),
    }];
    let mut total = 0;
    let mut exposure = 0.0;
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        assert_eq!(
            r.requests.failed,
            errors(&r, "lb_down"),
            "{:?}",
            nonzero(&r)
        );
        // Only lb-1's clients (odd client index, see below), only inside the window.
        let end = (t0 + withdraw + ttl).min(t0 + d);
        let possible = arr
            .iter()
            .filter(|(t, w)| *t >= t0 && *t < end && w.client_ip % 2 == 0)
            .count() as u64;
        let certain = arr
            .iter()
            .filter(|(t, w)| *t >= t0 && *t < (t0 + withdraw).min(t0 + d) && w.client_ip % 2 == 0)
            .count() as u64;
        let failed = errors(&r, "lb_down");
        assert!(
            (certain..=possible).contains(&failed),
            "run {}: {failed} not in [{certain}, {possible}]",
            r.run
        );
        let f = &r.faults[0];
        if down_secs > withdraw_secs {
            let w = log_entries(&r, "DNS record withdrawn");
            assert_eq!(w.len(), 1, "{:?}", r.event_log);
            assert!((w[0].t - secs(t0 + withdraw)).abs() < EPS);
            assert!((f.time_to_detect_s.unwrap() - withdraw_secs as f64).abs() < EPS);
        }
        let recovered = secs((withdraw + ttl).min(d));
        assert!(
            (f.time_to_recover_s.unwrap() - recovered).abs() < EPS,
            "recovered after {:?} s, expected {recovered}",
            f.time_to_recover_s
        );
        total += failed;
        let linear = secs(ttl) / 2.0;
        exposure += if down_secs >= withdraw_secs + 30 {
            withdraw_secs as f64 + linear
        } else if down_secs <= withdraw_secs {
            down_secs as f64
        } else {
            // Repaired during the move: the remaining clients are served again at the repair.
            let x = (down_secs - withdraw_secs) as f64 / secs(ttl);
            withdraw_secs as f64 + secs(ttl) * (x - x * x / 2.0)
        };
    }
    // Half the clients (FIRST_CLIENT_IP is odd: the odd indices) map to lb-1.
    assert_eq!(FIRST_CLIENT_IP % 2, 1);
    let mean = RATE * exposure / 2.0;
    // Poisson arrivals, plus the spread of 10 000 client phases (binomial, far smaller).
    let bound = Z_999 * mean.sqrt() * 1.1;
    log(format!(
        "  down {down_secs} s, withdrawn after {withdraw_secs} s: lb_down over {R} runs {total} \
         (mean {mean:.0}, bound ± {bound:.0})"
    ));
    assert!((total as f64 - mean).abs() <= bound);
}

#[test]
fn active_active_dns_withdrawal_and_ttl() {
    let _r = Report::start("active-active behind DNS, TTL 30 s:");
    active_active_case(90, 20); // withdrawn after 20 s, then clients move over 30 s
    active_active_case(90, 0); // withdrawn at once: only the TTL
    active_active_case(12, 20); // repaired before the withdrawal
}

/// The backup's master-down timer runs from the last advertisement it heard (RFC 3768 §6.4.2,
/// keepalived vrrp.c), which the master sends every advert_int from when it became master
/// (the initial one at a phase derived from the seed, `vrrp.phase`): so the delay from a
/// silent failure to the takeover is uniform in (MDI - advert_int, MDI], MDI being 3 x
/// advert_int plus the taker's skew (lb-1 priority 101, lb-2 100), and MDI - delay, the time
/// since the last advertisement, has mean advert_int / 2. Many random `down` faults of both
/// LBs (MTTF 60 s, MTTR 5 s, 1 h, 8 replications, with and without preemption); each takeover
/// that follows a master's failure with the taker up all along counts. The mean is held to 4.5
/// standard errors of a uniform (sd = advert_int / sqrt(12)). Timing the takeover from the
/// failure, as the model did, gives MDI every time.
#[test]
fn vrrp_master_down_timer_runs_from_the_last_advertisement() {
    let _r = Report::start("keepalived: master-down timer from the last advertisement:");
    let advert = ADVERT as f64;
    let mdi = |k: usize| {
        secs(master_down_interval(
            SimTime::from_secs(ADVERT),
            101 - k as u32,
        ))
    };
    let mut since = vec![];
    for preempt in [true, false] {
        let cfg = silent_lb_pair(2.0, preempt, 3600);
        for r in replicate(&cfg, 8) {
            for (k, d, _) in takeover_delays(&r) {
                assert!(
                    d > mdi(k) - advert + EPS && d <= mdi(k) + EPS,
                    "run {}: lb-{} takes over {d} s after the failure, outside ({}, {}]",
                    r.run,
                    k + 1,
                    mdi(k) - advert,
                    mdi(k)
                );
                since.push(mdi(k) - d);
            }
        }
    }
    let n = since.len() as f64;
    assert!(n >= 300.0, "only {n} takeovers");
    let mean = since.iter().sum::<f64>() / n;
    let tol = 4.5 * advert / 12f64.sqrt() / n.sqrt();
    log(format!(
        "  {n} takeovers: the last advertisement {mean:.4} s before the failure on average \
         (expected {:.4} ± {tol:.4}), range [{:.4}, {:.4}]",
        advert / 2.0,
        since.iter().cloned().fold(f64::MAX, f64::min),
        since.iter().cloned().fold(0.0, f64::max)
    ));
    assert!(
        (mean - advert / 2.0).abs() <= tol,
        "the last advertisement {mean} s before the failure on average, expected {} ± {tol}",
        advert / 2.0
    );
}

// ---- 3. MySQL failover (domain.md §4.3, §4.4) ----------------------------------------------

/// Deterministic writes at 50/s (the k-th at 20 ms x k, one write each, zero service time), a
/// primary and one replica with a replication delay of exactly 2 s; the primary crashes for
/// good at T0 = 20.005 s. Monitor: polls every 5 s, 2 failed polls, promotion 10 s.
fn failover_config(semi_sync: bool) -> Config {
    let mut cfg = common::stack(50.0, 2, 1, 0, 1, 70);
    cfg.database.replication.delay = Dist::det(2.0).unwrap();
    cfg.failures.db_failover.semi_sync = semi_sync;
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::DbPrimary,
        kind: FaultKind::Crash,
        at: SimTime::from_millis(20_005),
        duration: None,
    }];
    cfg
}

/// Times of the monitor's detection and of the promotion, from the event log.
fn failover_times(r: &RunResults) -> (f64, f64) {
    let det = log_entries(r, "primary failure detected");
    assert_eq!(det.len(), 1, "{:?}", r.event_log);
    let prom = log_entries(r, "promoted to primary");
    assert_eq!(prom.len(), 1, "{:?}", r.event_log);
    assert_eq!(prom[0].component, "db-replica-1");
    (det[0].t, prom[0].t)
}

/// Asynchronous replication: lost = acknowledged transactions still on the wire to the
/// replica at the crash = commits in (T0 - 2 s, T0] = 18.02 ..= 20.00 s: 100. Writes fail
/// (no_primary_500) exactly from the crash to the promotion, which comes at detection + 10 s
/// (the relay log is already applied: zero apply time); detection is U(0, 5] + 5 s after.
#[test]
fn mysql_failover_async_loses_in_flight() {
    const R: u64 = 20;
    let _r = Report::start("MySQL async failover, delay 2 s, writes every 20 ms:");
    let cfg = failover_config(false);
    let t0 = SimTime::from_millis(20_005);
    let fo = cfg.failures.db_failover.clone();
    let (poll, count) = (secs(fo.poll_interval), fo.poll_count);
    let mut detect = vec![];
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let in_flight = count_in(
            &arr,
            t0 - SimTime::from_secs(2) + SimTime(1),
            t0 + SimTime(1),
        );
        assert_eq!(in_flight, 100);
        assert_eq!(
            r.failover.lost_transactions, in_flight,
            "run {}: lost transactions",
            r.run
        );
        let (det, prom) = failover_times(&r);
        let ttd = det - secs(t0);
        assert!(
            ttd >= (count - 1) as f64 * poll - EPS && ttd <= count as f64 * poll + EPS,
            "run {}: detection {ttd} s after the crash",
            r.run
        );
        detect.push(ttd - (count - 1) as f64 * poll);
        assert!(
            (prom - det - 10.0).abs() < EPS,
            "promotion {prom}, detection {det}"
        );
        assert!((r.failover.write_unavailable_s - (prom - secs(t0))).abs() < EPS);
        assert_eq!(r.failover.promotions, 1);
        assert_eq!(r.failover.final_primary, "db-replica-1");
        let f = &r.faults[0];
        assert_eq!(f.component, "db-primary");
        assert!((f.time_to_detect_s.unwrap() - ttd).abs() < EPS);
        assert!((f.time_to_recover_s.unwrap() - (prom - secs(t0))).abs() < EPS);
        // Writes arriving in [crash, promotion) fail, all others succeed.
        let expected = count_in(&arr, t0, SimTime::from_secs_f64(prom));
        assert_eq!(errors(&r, "no_primary_500"), expected, "run {}", r.run);
        assert_eq!(r.requests.failed, expected, "{:?}", nonzero(&r));
        if r.run < 3 {
            log(format!(
                "  run {}: lost {} (expected 100), detected +{ttd:.3} s, promoted +{:.3} s, \
                 write outage {:.3} s, no_primary_500 {} (expected {expected})",
                r.run,
                r.failover.lost_transactions,
                prom - secs(t0),
                r.failover.write_unavailable_s,
                errors(&r, "no_primary_500")
            ));
        }
    }
    check_uniform_mean(
        "detection - (poll_count - 1) x poll_interval",
        &detect,
        0.0,
        poll,
    );
}

/// Semi-synchronous (AFTER_SYNC) replication: a commit is acknowledged only once the replica
/// has it in its relay log (2 s there + 2 s back), so nothing acknowledged is lost. The
/// requests still waiting for their acknowledgement at the crash (commits in (T0 - 4 s, T0]:
/// 200) lose their connection to the primary and fail (db_node_down_500).
#[test]
fn mysql_failover_semi_sync_loses_nothing() {
    const R: u64 = 5;
    let _r = Report::start("MySQL semi-sync failover, delay 2 s, writes every 20 ms:");
    let cfg = failover_config(true);
    let t0 = SimTime::from_millis(20_005);
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        assert_eq!(r.failover.lost_transactions, 0, "run {}", r.run);
        let waiting = count_in(
            &arr,
            t0 - SimTime::from_secs(4) + SimTime(1),
            t0 + SimTime(1),
        );
        assert_eq!(waiting, 200);
        assert_eq!(errors(&r, "db_node_down_500"), waiting, "run {}", r.run);
        let (_, prom) = failover_times(&r);
        let expected = count_in(&arr, t0, SimTime::from_secs_f64(prom));
        assert_eq!(errors(&r, "no_primary_500"), expected);
        assert_eq!(r.requests.failed, waiting + expected, "{:?}", nonzero(&r));
        log(format!(
            "  run {}: lost {}, failed waiting for the ack {} (expected 200), no_primary_500 {} \
             (expected {expected}), semi-sync fallbacks {}",
            r.run,
            r.failover.lost_transactions,
            errors(&r, "db_node_down_500"),
            errors(&r, "no_primary_500"),
            r.failover.semi_sync_fallbacks,
        ));
    }
}

/// Semi-sync's only replica is promoted: the new primary has no replica left to acknowledge,
/// so its first commit waits `semi_sync_timeout` (10 s) before it switches to asynchronous
/// replication, and every commit meanwhile waits with it (`rpl_semi_sync_source_wait_no_replica`
/// ON, MySQL's default). Users feel the primary's failure until that switch: the fault is
/// recovered at the first write arriving at or after the promotion (zero service and network
/// times: its commit is at its arrival) plus 10 s, not at the promotion, and the story says so.
/// With a second replica alive the new primary has one to acknowledge: recovered at the
/// promotion, no fallback.
#[test]
fn semi_sync_failover_to_the_only_replica_is_recovered_after_its_stall() {
    let _r = Report::start("semi-sync failover, recovery after the new primary's stall:");
    let t0 = SimTime::from_millis(20_005);
    for replicas in [1, 2] {
        let mut cfg = failover_config(true);
        if replicas == 2 {
            cfg.database.replicas.push(cfg.database.replicas[0].clone());
            cfg.database.replicas[1].name = "db-replica-2".into();
        }
        let timeout = secs(cfg.failures.db_failover.semi_sync_timeout);
        for r in replicate(&cfg, 5) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let prom = log_entries(&r, "promoted to primary");
            assert_eq!(prom.len(), 1, "{:?}", r.event_log);
            let prom = prom[0].t;
            let f = &r.faults[0];
            let ttr = f.time_to_recover_s.expect("recovered");
            let expected = if replicas == 1 {
                let first = arr
                    .iter()
                    .map(|(t, _)| secs(*t))
                    .find(|&t| t >= prom)
                    .expect("a write after the promotion");
                assert_eq!(r.failover.semi_sync_fallbacks, 1, "run {}", r.run);
                first + timeout - secs(t0)
            } else {
                assert_eq!(r.failover.semi_sync_fallbacks, 0, "run {}", r.run);
                prom - secs(t0)
            };
            assert!(
                (ttr - expected).abs() < 1e-6,
                "{replicas} replica(s), run {}: recovered after {ttr} s, expected {expected} s \
                 (promotion at +{:.3} s)",
                r.run,
                prom - secs(t0)
            );
            let told = format!("users felt it for {:.1} s", expected);
            assert!(
                r.story.iter().any(|l| l.contains(&told)),
                "{:?} lacks {told:?}",
                r.story
            );
            if r.run == 0 {
                log(format!(
                    "  {replicas} replica(s): promoted +{:.3} s, recovered +{ttr:.3} s \
                     (expected +{expected:.3} s)",
                    prom - secs(t0)
                ));
            }
        }
    }
}

/// A write-heavy Poisson mix (3/4 "write" requests: 1 read + 1 write; 1/4 "read" requests:
/// 2 reads; reads on the replica), 1 ms writes, replication delay 2 s and a replica applier
/// 60x slower than the primary, so the replica's relay log is far behind and the promotion must
/// drain it: writes resume when the last *received* transaction is applied, which the test
/// computes from the rebuilt arrivals (single applier: finish_k = max(arrive_k, finish_{k-1}) +
/// 60 ms). Lost = writes committed in (T0 - 2 s, T0]; a write in service at the crash fails
/// (db_node_down_500); writes fail from the crash until the promotion; reads never fail.
#[test]
fn mysql_failover_drain_and_reads() {
    const R: u64 = 10;
    let _r = Report::start("MySQL async failover with relay-log drain, Poisson mix:");
    let mut cfg = common::stack(50.0, 2, 1, 1, 1, 90);
    cfg.workload.arrival = ArrivalKind::Poisson;
    let write = cfg.workload.mix[0].clone();
    cfg.workload.mix = vec![
        RequestClass {
            name: "write".into(),
            weight: 3.0,
            ..write.clone()
        },
        RequestClass {
            name: "read".into(),
            weight: 1.0,
            reads: 2,
            writes: 0,
            ..write
        },
    ];
    let wt = SimTime::from_millis(1);
    cfg.database.write_time = Dist::det(secs(wt)).unwrap();
    cfg.database.replication.delay = Dist::det(2.0).unwrap();
    cfg.database.replication.apply_factor = 60.0;
    cfg.failures.db_failover.promotion = Dist::det(1.0).unwrap();
    // orchestrator's DelayMasterPromotionIfSQLThreadNotUpToDate: apply before taking writes.
    cfg.failures.db_failover.wait_for_apply = true;
    let t0 = SimTime::from_millis(20_005);
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::DbPrimary,
        kind: FaultKind::Crash,
        at: t0,
        duration: None,
    }];
    let delay = SimTime::from_secs(2);
    let apply = SimTime::from_millis(60);
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let writes: Vec<SimTime> = arr
            .iter()
            .filter(|(_, w)| w.writes > 0)
            .map(|(t, _)| *t)
            .collect();
        // Committed (write done) before the crash; those still in service at it fail.
        let commits: Vec<SimTime> = writes
            .iter()
            .map(|&a| a + wt)
            .filter(|&c| c <= t0)
            .collect();
        let in_service = writes.iter().filter(|&&a| a < t0 && a + wt > t0).count() as u64;
        let lost = commits.iter().filter(|&&c| c + delay > t0).count() as u64;
        let mut finish = SimTime::ZERO;
        for &c in commits.iter().filter(|&&c| c + delay <= t0) {
            finish = finish.max(c + delay) + apply;
        }
        let (det, prom) = failover_times(&r);
        let started = log_entries(&r, "promotion started")[0].t;
        assert!((started - det - 1.0).abs() < EPS);
        let expected_prom = secs(finish).max(started);
        assert!(
            finish > SimTime::from_secs_f64(started),
            "the drain is the point of this test"
        );
        assert!(
            (prom - expected_prom).abs() < EPS,
            "run {}: promoted at {prom}, expected when the relay log is drained: {expected_prom}",
            r.run
        );
        assert!((r.failover.write_unavailable_s - (prom - secs(t0))).abs() < EPS);
        assert_eq!(r.failover.lost_transactions, lost, "run {}", r.run);
        assert_eq!(errors(&r, "db_node_down_500"), in_service);
        let failed_writes = writes
            .iter()
            .filter(|&&a| a >= t0 && a < SimTime::from_secs_f64(prom))
            .count() as u64;
        assert_eq!(errors(&r, "no_primary_500"), failed_writes, "run {}", r.run);
        assert_eq!(
            r.requests.failed,
            failed_writes + in_service,
            "run {}: only writes fail: {:?}",
            r.run,
            nonzero(&r)
        );
        if r.run < 4 {
            log(format!(
                "  run {}: lost {} (expected {lost}), detected +{:.3} s, drained and promoted \
                 +{:.3} s (expected +{:.3}), write outage {:.3} s, no_primary_500 {} (expected \
                 {failed_writes}), in service at the crash {in_service}, stale reads {}",
                r.run,
                r.failover.lost_transactions,
                det - secs(t0),
                prom - secs(t0),
                expected_prom - secs(t0),
                r.failover.write_unavailable_s,
                errors(&r, "no_primary_500"),
                r.failover.stale_reads,
            ));
        }
    }
}

/// The old primary is repaired (T0 + 14 s) while the promoted replica is still draining its
/// relay log (detection by T0 + 10 s, promotion from 1 s later, drain until about T0 + 30 s):
/// it may hold transactions nobody else has, so it must rejoin as a replica rebuilt from the
/// new primary, at the instant the promotion completes, and only then return to the read pool.
#[test]
fn mysql_old_primary_repaired_during_drain_is_rebuilt() {
    let _r = Report::start("MySQL: old primary repaired during the relay-log drain:");
    let mut cfg = common::stack(50.0, 2, 1, 1, 1, 90);
    cfg.database.write_time = Dist::det(0.001).unwrap();
    cfg.database.replication.delay = Dist::det(2.0).unwrap();
    cfg.database.replication.apply_factor = 60.0;
    cfg.failures.db_failover.promotion = Dist::det(1.0).unwrap();
    cfg.failures.db_failover.wait_for_apply = true;
    let t0 = SimTime::from_millis(20_005);
    cfg.failures.scheduled = vec![ScheduledFault {
        target: Target::DbPrimary,
        kind: FaultKind::Crash,
        at: t0,
        duration: Some(SimTime::from_secs(14)),
    }];
    for r in replicate(&cfg, 3) {
        let (_, prom) = failover_times(&r);
        let started = log_entries(&r, "promotion started")[0].t;
        assert!(
            started < secs(t0) + 14.0 && prom > secs(t0) + 14.0,
            "repair during the drain"
        );
        let rejoin = log_entries(&r, "rejoins as a replica");
        assert_eq!(rejoin.len(), 1, "{:?}", r.event_log);
        assert_eq!(rejoin[0].component, "db-primary");
        assert!((rejoin[0].t - prom).abs() < EPS);
        let back: Vec<_> = log_entries(&r, "back in read pool");
        assert!(
            back.iter()
                .all(|e| e.component == "db-primary" && e.t > prom)
        );
        let old = r
            .replication
            .iter()
            .find(|x| x.name == "db-primary")
            .expect("the old primary replicates from the new one");
        assert!(old.transactions_applied > 0);
        log(format!(
            "  run {}: promoted +{:.3} s, old primary rebuilt at the same instant, applied {} \
             transactions from the new primary",
            r.run,
            prom - secs(t0),
            old.transactions_applied
        ));
    }
}

// ---- 5. Availability from random failures (domain.md §5, §8) ------------------------------

/// Replications per availability case.
const AVAIL_R: u64 = 30;
/// Mean time to failure and to repair: the brief's 1 h / 6 min with one simulated second per
/// minute (only the ratio and the detection times relative to them matter).
const MTTF: f64 = 60.0;
const MTTR: f64 = 6.0;

/// Poisson arrivals at 5/s, one read on the primary per request, zero service times, every
/// mechanism made (nearly) instantaneous: checks every 10 ms with rise = fall = 1 (a dead
/// server is noticed within 10 ms, a repaired one within 10 ms: 0.2% of a repair),
/// `retries 1` + `option redispatch` (a request sent to a dead server not yet marked DOWN goes
/// to the other one at once), no automatic DB failover (the primary is down exactly while it
/// is broken). Each component of the `kinds` alternates exponential up (MTTF) and down (MTTR)
/// times. A 200 s warm-up (22 x the 9.1 s relaxation time 1 / (1/MTTF + 1/MTTR)) starts the
/// measurement in the stationary regime.
fn availability_config(kinds: &[TargetKind], seconds: u64) -> Config {
    let mut cfg = common::stack(5.0, 2, 0, 1, 0, seconds);
    cfg.name = format!("availability {kinds:?}");
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
        timeout_check: None,
    };
    cfg.failures.db_failover.automatic = false;
    cfg.failures.timeline_interval = SimTime::ZERO;
    cfg.failures.random = kinds
        .iter()
        .map(|&kind| RandomFaults {
            kind,
            fault: FaultKind::Crash,
            ttf: Dist::exp(MTTF).unwrap(),
            ttr: Dist::exp(MTTR).unwrap(),
            repair: Default::default(),
        })
        .collect();
    cfg
}

/// Runs the case and checks that the measured request availability's 99.9% interval over the
/// replications contains `theory`, and is tight: half-width below 20% of the unavailability.
fn availability_case(label: &str, kinds: &[TargetKind], theory: f64, seconds: u64) {
    let cfg = availability_config(kinds, seconds);
    let runs = replicate(&cfg, AVAIL_R);
    let xs: Vec<f64> = runs.iter().map(|r| r.availability).collect();
    for r in &runs {
        assert!(
            r.requests.in_flight_end <= 1,
            "nothing waits: {:?}",
            r.requests
        );
        assert!(r.faults.iter().filter(|f| f.random).count() > 100);
    }
    let (m, sd) = mean_sd(&xs);
    let n = xs.len();
    let hw = common::student_t_999(n - 1) * sd / (n as f64).sqrt();
    let requests: u64 = runs.iter().map(|r| r.requests.arrived).sum();
    log(format!(
        "  {label:<30} availability {m:.5} ± {hw:.5} (99.9%, {n} runs x {seconds} s, {:.1}M \
         requests)  theory {theory:.5}  unavailability {:.5} vs {:.5}  (half-width {:.1}% of it, \
         diff {:+.2} SE)",
        requests as f64 * 1e-6,
        1.0 - m,
        1.0 - theory,
        100.0 * hw / (1.0 - theory),
        (m - theory) / (sd / (n as f64).sqrt())
    ));
    assert!(
        hw < 0.2 * (1.0 - theory),
        "{label}: interval too wide: ± {hw} vs unavailability {}",
        1.0 - theory
    );
    assert!(
        (m - theory).abs() <= hw,
        "{label}: availability {m} ± {hw} does not contain {theory}"
    );
}

/// A = MTTF / (MTTF + MTTR) for one part.
fn part_availability() -> f64 {
    MTTF / (MTTF + MTTR)
}

/// Only the database fails: A = MTTF / (MTTF + MTTR) = 10/11.
#[test]
fn availability_db_only() {
    let _r = Report::start("availability from random failures (MTTF 60 s, MTTR 6 s):");
    availability_case(
        "DB primary only",
        &[TargetKind::DbNode],
        part_availability(),
        20_000,
    );
}

/// Only the two servers fail (independently): the pool is down only when both are,
/// A = 1 - (1 - A1)^2 = 1 - 1/121.
#[test]
fn availability_server_pool() {
    let _r = Report::start("availability from random failures (MTTF 60 s, MTTR 6 s):");
    let a = part_availability();
    availability_case(
        "2-server pool",
        &[TargetKind::Server],
        1.0 - (1.0 - a).powi(2),
        60_000,
    );
}

/// LB, server pool and DB fail independently, in series: A = A x (1 - (1 - A)^2) x A.
#[test]
fn availability_series() {
    let _r = Report::start("availability from random failures (MTTF 60 s, MTTR 6 s):");
    let a = part_availability();
    availability_case(
        "LB x pool x DB",
        &[TargetKind::Lb, TargetKind::Server, TargetKind::DbNode],
        a * (1.0 - (1.0 - a).powi(2)) * a,
        20_000,
    );
}

/// The t quantile used above against printed tables (two-sided 0.001 column).
#[test]
fn student_t_999_matches_tables() {
    for (df, t) in [
        (1, 636.619),
        (2, 31.599),
        (10, 4.587),
        (29, 3.659),
        (30, 3.646),
    ] {
        assert!((common::student_t_999(df) - t).abs() < 5e-4, "df {df}");
    }
}

/// The replica being promoted crashes while it drains its relay log: the promotion is
/// aborted and the other live replica is promoted instead; the lost-transaction count is
/// that of the replica actually promoted, counted once.
#[test]
fn promotion_survives_the_crash_of_the_replica_being_promoted() {
    let mut cfg = common::stack(100.0, 1, 2, 0, 1, 400);
    cfg.database.write_time = Dist::det(0.008).unwrap();
    cfg.database.replication.appliers = 1;
    cfg.database.replication.apply_factor = 2.0; // 1.6 s of applying per second: a backlog
    cfg.failures.db_failover.wait_for_apply = true;
    cfg.failures.scheduled = vec![
        ScheduledFault {
            target: Target::DbPrimary,
            kind: FaultKind::Crash,
            at: SimTime::from_secs(60),
            duration: None,
        },
        ScheduledFault {
            target: Target::DbNode(1),
            kind: FaultKind::Crash,
            at: SimTime::from_secs(80),
            duration: None,
        },
    ];
    let r = Stack::run(&cfg, 0);
    let events: Vec<(&str, &str)> = r
        .event_log
        .iter()
        .map(|e| (e.component.as_str(), e.event.as_str()))
        .collect();
    assert!(
        events.contains(&("db-replica-1", "promotion aborted")),
        "{events:?}"
    );
    assert!(
        events.contains(&("db-replica-2", "promoted to primary")),
        "{events:?}"
    );
    assert_eq!(r.failover.final_primary, "db-replica-2");
    assert_eq!(r.failover.promotions, 1);
    assert_eq!(
        r.failover.lost_transactions, 0,
        "delay 0: nothing was on the wire"
    );
    assert_eq!(
        r.requests.arrived,
        r.requests.completed + r.requests.failed + r.requests.in_flight_end
    );
    // writes resumed: the run ends with writes succeeding again
    let last = r.timeline.last().unwrap();
    assert_eq!(last.primary, "db-replica-2");
    assert_eq!(last.failed, 0);
}

/// `failover.*` counts the measurement window, as the request counts do. `primary_down.toml`
/// loses its primary at 120 s and promotes a replica at about 136 s: with the warm-up ending
/// at 150 s none of it is measured; ending at 130 s, the write outage measured is the part of
/// [crash, promotion) after 130 s. Before, the warm-up's were counted too: 16.4 s of write
/// outage, one promotion and its lost transactions with nothing measured of them. Without a
/// promotion, the replica reads reported are the replicas' reads (`database.*.reads`, which
/// always counted the window only).
#[test]
fn failover_figures_count_the_measurement_window() {
    let _r = Report::start("failover figures over the measurement window");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/primary_down.toml");
    let run = |warmup: &str| {
        let cfg = infrasim::scenario::load(&path, &[format!("warmup={warmup}")])
            .unwrap_or_else(|e| panic!("{e}"))
            .config;
        Stack::run(&cfg, 0)
    };
    let whole = run("0s");
    let prom = whole.faults[0]
        .recovered_s
        .expect("the promotion ends the outage");
    assert!(prom > 130.0 && prom < 150.0, "promotion at {prom} s");
    assert_eq!(whole.failover.promotions, 1);
    assert!((whole.failover.write_unavailable_s - (prom - 120.0)).abs() < 1e-6);

    let none = run("150s");
    assert_eq!(none.failover.promotions, 0, "{:?}", none.failover);
    assert_eq!(none.failover.lost_transactions, 0, "{:?}", none.failover);
    assert_eq!(
        none.failover.write_unavailable_s, 0.0,
        "{:?}",
        none.failover
    );

    let part = run("130s");
    assert_eq!(part.failover.promotions, 1);
    assert_eq!(
        part.failover.lost_transactions,
        whole.failover.lost_transactions
    );
    assert!(
        (part.failover.write_unavailable_s - (prom - 130.0)).abs() < 1e-6,
        "{} s measured of an outage from 120 s to {prom} s, window from 130 s",
        part.failover.write_unavailable_s
    );

    // No failover: every replica read is a read of a replica node.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/replica_lag.toml");
    let cfg = infrasim::scenario::load(&path, &[]).unwrap().config;
    assert!(cfg.warmup > SimTime::ZERO, "replica_lag.toml has a warm-up");
    let r = Stack::run(&cfg, 0);
    assert_eq!(r.failover.promotions, 0);
    let replicas: u64 = r
        .database
        .iter()
        .filter(|d| d.role != "primary")
        .map(|d| d.reads)
        .sum();
    assert!(replicas > 0);
    assert_eq!(r.failover.replica_reads, replicas);
}

/// The story's line for a server failure says how long users felt it. When the others cannot
/// carry the load (retry_storm.toml: web-02 offered 140 % of its capacity with web-01 down),
/// HAProxy routing around the dead server ends only its own errors: the overload goes on until
/// the repair (75,000 requests failed over the next minute). The line said "users felt it for
/// 5.1 s"; it now says the server was routed around, then the overload. Where the others cope
/// (server_down.toml), or nothing is left to route to, the time to recover is what users felt,
/// and the line says so.
#[test]
fn the_story_does_not_end_an_overload_when_the_dead_server_is_routed_around() {
    let _r = Report::start("story of a server failure the others cannot absorb");
    let line = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
        let cfg = infrasim::scenario::load(&path, &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .config;
        let r = Stack::run(&cfg, 0);
        let story = infrasim::model::story::tell(&r);
        let at = story
            .iter()
            .find(|l| l.starts_with("web-01 "))
            .unwrap_or_else(|| panic!("no line for web-01 in {story:#?}"))
            .clone();
        (r, at)
    };
    let (storm, l) = line("scenarios/retry_storm.toml");
    let routed = storm.faults[0].time_to_recover_s.expect("routed around");
    // The errors go on well after the routing: more than the failing server's own.
    let after: u64 = storm.errors.get("queue_timeout_503").copied().unwrap_or(0);
    assert!(
        routed < 10.0 && after > 10_000,
        "{routed} s, {after} queue timeouts"
    );
    assert!(
        l.contains("routed around after") && l.contains("overload") && !l.contains("felt it for"),
        "{l}"
    );
    // What failed after that is told as failing after the routing, not after a "recovery"
    // the line just said users did not feel.
    assert!(
        l.contains("After it was routed around at 2.1 min, ") && !l.contains("recovery"),
        "{l}"
    );
    let (_, l) = line("scenarios/server_down.toml");
    assert!(l.contains("users felt it for 5.1 s"), "{l}");
    // Both servers down at once (abandoning_users.toml): nothing to route to; the outage
    // ends with the repair, and users felt the whole of it.
    let (_, l) = line("scenarios/abandoning_users.toml");
    assert!(l.contains("users felt it for 62.1 s"), "{l}");
}

/// What fails after a silent load balancer's repair is the fault's too, and the results and
/// the story say so. One HAProxy's host is silent for 200 s: a client whose last SYN (63 s
/// after its first) came before the repair gives up at its 127 s connect timeout, so clients
/// that arrived in the fault's first 64 s fail *after* the repair, up to 64 s after it. The
/// fault's `after_recovery` counts exactly those (rebuilt from the arrivals), all of them
/// arrived before the repair, and the story's line tells them; "users felt it for 200 s" alone
/// hid them.
#[test]
fn failures_after_a_silent_lb_is_repaired_are_counted_and_told() {
    let _r = Report::start("failures after the repair of a silent load balancer");
    let (cfg, t0, d) = silent_lb(400, 200);
    let r = Stack::run(&cfg, 0);
    let arr = arrivals(&cfg, 0);
    let back = t0 + d;
    let timeout = SimTime::from_secs(127);
    let gave_up: Vec<SimTime> = arr
        .iter()
        .filter(|(t, _)| *t >= t0 && first_syn_after(*t, back) - *t >= timeout)
        .map(|(t, _)| *t + timeout)
        .collect();
    let after: Vec<&SimTime> = gave_up.iter().filter(|&&t| t >= back).collect();
    assert!(
        after.len() > 1000 && after.len() < gave_up.len(),
        "{}",
        after.len()
    );
    let f = &r.faults[0];
    assert_eq!(f.recovered_s, Some(secs(back)));
    let a = f
        .after_recovery
        .as_ref()
        .expect("recovered, so an aftermath");
    assert_eq!(a.failed, after.len() as u64, "{a:?}");
    assert_eq!(
        a.arrived_before, a.failed,
        "every one lived through the fault"
    );
    assert_eq!(a.errors.get("lb_connect_timeout"), Some(&a.failed));
    assert_eq!(a.errors.len(), 1, "{:?}", a.errors);
    let last = secs(**after.last().unwrap());
    assert!((a.last_failure_s.unwrap() - last).abs() < EPS, "{a:?}");
    let first = secs(**after.first().unwrap());
    assert!((a.first_failure_s.unwrap() - first).abs() < EPS, "{a:?}");
    let line = r.story.iter().find(|l| l.starts_with("lb-1 ")).unwrap();
    let told = format!("After the repair, {} more requests failed, from ", a.failed);
    let until = format!(
        " to {:.1} s after it: {} lb_connect_timeout",
        last - secs(back),
        a.failed
    );
    assert!(line.contains(&told) && line.contains(&until), "{line}");
    assert!(first - secs(back) < 1.0, "{first}");
    log(format!("  {line}"));

    // The shipped scenario: the retransmitted SYNs that arrive after the repair come together
    // and HAProxy's queue times some out (503), after the repair too.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/lb_down.toml");
    let cfg = infrasim::scenario::load(&path, &["faults[0].kind=down".to_string()])
        .unwrap_or_else(|e| panic!("{e}"))
        .config;
    let r = Stack::run(&cfg, 0);
    let a = r.faults[0].after_recovery.as_ref().unwrap();
    let queued = errors(&r, "queue_timeout_503");
    assert!(queued > 1000, "{queued}");
    assert_eq!(a.errors.get("queue_timeout_503"), Some(&queued));
    assert_eq!(
        a.errors.get("lb_connect_timeout"),
        Some(&errors(&r, "lb_connect_timeout"))
    );
    let line = r.story.iter().find(|l| l.starts_with("lb-1 ")).unwrap();
    assert!(
        line.contains("After the repair,") && line.contains(" queue_timeout_503"),
        "{line}"
    );
    log(format!("  {line}"));

    // A crash is over at the repair: the reset clients failed at once, nothing after.
    let mut cfg = cfg;
    cfg.failures.scheduled[0].kind = FaultKind::Crash;
    let r = Stack::run(&cfg, 0);
    let a = r.faults[0].after_recovery.as_ref().unwrap();
    assert!(a.failed * 100 < r.requests.failed, "{a:?}");
    assert!(!r.story.iter().any(|l| l.contains("After the repair")));
}
