//! The failure mechanisms of issue 10, end to end, against the software they imitate.
//!
//! Each test builds a small stack by hand (`common::stack`: zero service times, deterministic
//! arrivals unless said otherwise, no warm-up), injects one fault and checks what the real
//! software does, with the figures of its sources (domain.md §1.3-1.4 HAProxy retries and
//! checks, §2 Nginx, §4.3 semi-sync, §4.4 orchestrator; Gunicorn and MySQL client defaults).
//! Expected values come from the mechanism itself: which arrivals fall in the window it
//! predicts (the arrival sequence is rebuilt from the model's named streams, like
//! tests/failures.rs), and, where the mechanism is a queue or a loss system, an independent
//! replay of that queue written here from the real rules. Every failed request's time is
//! checked through the total time in system (`Σ sojourn = mean_time_in_system x finished`,
//! exact to the nanosecond), so a 504 that came at the wrong moment shows even when the count
//! is right. Statistical checks use the known variance (uniform phases, binomial draws) or a
//! 99.9% Student t over replications.
//!
//! Every run is checked for conservation ([`check_run`]).

mod common;
use common::*;

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::model::lb::{ServerView, chash::Ring};
use infrasim::model::workload::Work;
use infrasim::model::*;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

/// Tolerance for comparing times reported in seconds (f64) with exact nanosecond times.
/// Tolerance on a total time in system: sums of up to ~10^5 sojourns, each exact to the
/// nanosecond, read back through one f64 division and multiplication.
const SUM_EPS: f64 = 1e-5;

// ---- running and per-run invariants ----------------------------------------------------------

fn at(s: f64) -> SimTime {
    SimTime::from_secs_f64(s)
}

/// Total time in system of every measured request that finished (completed or failed), in
/// seconds: the model keeps the exact sum in nanoseconds and reports it divided by the count.
fn total_sojourn(r: &RunResults) -> f64 {
    r.littles_law.mean_time_in_system * (r.requests.completed + r.requests.failed) as f64
}

fn check_sojourn(label: &str, r: &RunResults, expected: f64) {
    let got = total_sojourn(r);
    assert!(
        (got - expected).abs() <= SUM_EPS,
        "{label} run {}: total time in system {got:.9} s, expected {expected:.9} s (diff {:+.9})",
        r.run,
        got - expected
    );
}

fn fault(
    target: Target,
    kind: FaultKind,
    t0: SimTime,
    duration: Option<SimTime>,
) -> ScheduledFault {
    ScheduledFault {
        target,
        kind,
        at: t0,
        duration,
    }
}

/// When a connect started at `a` gets through to a peer that answers again at `back`: Linux
/// sends the SYN at a, a + 1, a + 3, a + 7, ... s (initial RTO 1 s, doubled each time); the
/// first SYN at or after `back` is answered. None when that is not before `a + timeout`: the
/// connect then fails at its timeout (no SYN leaves at the timeout itself).
fn syn_answered(a: SimTime, back: SimTime, timeout: SimTime) -> Option<SimTime> {
    (0..40)
        .map(|n| a + SimTime::from_secs((1u64 << n) - 1))
        .take_while(|&t| t < a + timeout)
        .find(|&t| t >= back)
}

/// Server `i` of a strictly alternating round robin over 2 equal servers gets arrivals
/// i, i + 2, ...: web-01 (index 0) takes the first (nginx's smooth WRR: the first server in
/// declaration order wins the first tie).
fn rr_of(index: usize) -> usize {
    index % 2
}

/// The time of the log entry `event` about `detail` (the only one).
fn log_time(r: &RunResults, event: &str, detail: &str) -> f64 {
    let e: Vec<_> = log_entries(r, event)
        .into_iter()
        .filter(|e| e.detail == detail)
        .collect();
    assert_eq!(
        e.len(),
        1,
        "run {}: {event} {detail}: {:?}",
        r.run,
        r.event_log
    );
    e[0].t
}

// ---- 1. A retrying request keeps its server slot (domain.md §1.3) ----------------------------
//
// HAProxy keeps a stream assigned to its server while it waits to retry it
// (`stream_choose_redispatch` only sets SI_ST_ASS), and releases the slot with
// `sess_change_server(s, NULL)` only on the final failure or a redispatch (src/backend.c
// `back_handle_st_cer`). A refused request thus holds its slot for retries x turnaround =
// 3 x min(timeout connect, 1 s) = 3 s with the defaults.

const RST_RATE: f64 = 1000.0;
/// Half a gap after an arrival, so nothing happens at the crash instant itself.
const RST_T0: SimTime = SimTime(20_000_500_000);
/// retries x turnaround with the defaults (3 x min(5 s, 1 s)).
const RST_HOLD: f64 = 3.0;

/// 2 servers, deterministic arrivals every 1 ms, zero service times (a healthy request holds
/// nothing for any time); web-01's processes crash (its host answers RST) at T0 = 20.0005 s for
/// good. Default checks (inter 2 s, fall 3: detection U(0, 2] + 4 s after the crash) and
/// retries (3, no redispatch).
fn rst_config(algorithm: Algorithm, maxconn: u32) -> Config {
    let mut cfg = common::stack(RST_RATE, 2, 0, 0, 0, 30);
    cfg.name = format!("rst {} maxconn {maxconn}", algorithm.name());
    cfg.lb.algorithm = algorithm;
    for s in &mut cfg.servers {
        s.maxconn = maxconn;
    }
    cfg.failures.scheduled = vec![fault(Target::Server(0), FaultKind::Crash, RST_T0, None)];
    cfg
}

/// Bounds on how many times one slot of the dead server is taken in [T0, Td): its n-th take
/// (n = 0, 1, ...) comes no earlier than T0 + n x hold (it was held `hold` each time before),
/// and no later than T0 + first + n x (hold + refill), where `first` bounds the first take
/// and `refill` the time a freed slot stays free (the arrivals it takes the algorithm to
/// come back to the server).
fn slot_takes(td: f64, hold: f64, first: f64, refill: f64) -> (u64, u64) {
    let t0 = secs(RST_T0);
    let count =
        |lag: &dyn Fn(u64) -> f64| (0..100).take_while(|&n| t0 + lag(n) < td).count() as u64;
    (
        count(&|n| first + n as f64 * (hold + refill)),
        count(&|n| n as f64 * hold),
    )
}

/// Detection time of web-01's crash (the only fault), checked against the RST formula
/// U(0, inter] + (fall - 1) x fastinter = (4, 6] s.
fn rst_detection(r: &RunResults) -> f64 {
    let f = &r.faults[0];
    let ttd = f.time_to_detect_s.expect("detected");
    assert!(
        (4.0 - EPS..=6.0 + EPS).contains(&ttd),
        "run {}: {ttd}",
        r.run
    );
    f.detected_s.unwrap()
}

/// maxconn 4 on each server, round robin: every request sent to the dead web-01 keeps its slot
/// through its 3 retries (3 s), so web-01 is full after 4 of them and round robin skips it
/// (lb_fwrr.c skips a full server) until a slot frees. Connect failures = 4 slots x the number
/// of times each is taken before the detection: ceil((Td - T0) / 3 s) = 2 with detection in
/// (4, 6] s, i.e. 8, where a model that frees the slot at the refusal fails half the arrivals
/// of the window (~2500). web-01 counts 3 retries per failed request (`wretr`), no
/// redispatch. leastconn on the same configuration sends web-01 a request only when it is idle
/// (key 0, ties rotated): one per 3 s, never more than round robin.
#[test]
fn retries_hold_the_dead_servers_slot() {
    const R: u64 = 8;
    const M: u32 = 4;
    let _r = Report::start(format!(
        "RST during the detection window, maxconn {M}, {RST_RATE}/s ({R} replications):"
    ));
    let gap = 1.0 / RST_RATE;
    let rr_cfg = rst_config(Algorithm::RoundRobin, M);
    let lc_cfg = rst_config(Algorithm::LeastConn, M);
    let rr = replicate(&rr_cfg, R);
    let lc = replicate(&lc_cfg, R);
    for (r, l) in rr.iter().zip(&lc) {
        let arr = arrivals(&rr_cfg, r.run);
        check_rebuilt(r, &arr);
        let td = rst_detection(r);
        let failed = errors(r, "connect_failed_503");
        assert_eq!(r.requests.failed, failed, "{:?}", nonzero(r));
        // Round robin takes each of the 4 slots within the first 2 x 4 arrivals after the
        // crash and retakes a freed one within 2 arrivals (it alternates over 2 servers).
        let (lo, hi) = slot_takes(td, RST_HOLD, 2.0 * M as f64 * gap, 2.0 * gap);
        assert!(
            (M as u64 * lo..=M as u64 * hi).contains(&failed),
            "run {}: {failed} connect failures, expected {M} slots x [{lo}, {hi}] takes \
             (detection {:.3} s after the crash)",
            r.run,
            td - secs(RST_T0)
        );
        let w1 = &r.servers[0];
        assert_eq!(
            w1.retries,
            3 * failed,
            "run {}: 3 retries per failure",
            r.run
        );
        assert_eq!(w1.redispatches, 0);
        let before = arr
            .iter()
            .enumerate()
            .filter(|(i, (t, _))| *t < RST_T0 && rr_of(*i) == 0)
            .count() as u64;
        assert_eq!(w1.dispatched, before + failed, "run {}", r.run);
        assert_eq!(w1.completed, before);
        // leastconn: one request at a time on web-01 (it is preferred only while idle), taken
        // again at the next arrival after each release.
        let td_l = rst_detection(l);
        let failed_l = errors(l, "connect_failed_503");
        assert_eq!(l.requests.failed, failed_l, "{:?}", nonzero(l));
        let (lo_l, hi_l) = slot_takes(td_l, RST_HOLD, 2.0 * gap, gap);
        assert!(
            (lo_l..=hi_l).contains(&failed_l),
            "run {}: leastconn {failed_l} failures, expected [{lo_l}, {hi_l}]",
            l.run
        );
        assert!(
            failed_l <= failed,
            "run {}: leastconn {failed_l} > roundrobin {failed}",
            r.run
        );
        if r.run < 4 {
            log(format!(
                "  run {}: detection +{:.3} s: roundrobin {failed} connect failures (expected \
                 {M} x [{lo}, {hi}]), web-01 retries {} dispatched {}; leastconn (detection \
                 +{:.3} s) {failed_l} (expected [{lo_l}, {hi_l}])",
                r.run,
                td - secs(RST_T0),
                w1.retries,
                w1.dispatched,
                td_l - secs(RST_T0),
            ));
        }
    }
}

/// Without maxconn, round robin keeps alternating and sends web-01 every other arrival of the
/// detection window (exactly the even-indexed ones): those all fail after 3 s. A request
/// retrying web-01 counts in its `served`, so leastconn sees web-01 busy and sends it a request
/// only when idle: one per hold of 3 s, ceil((Td - T0) / 3) in all (about 2). random(2) sends a
/// request to web-01 while it is busy only when both draws land on it, with probability
/// p1^2 (p1 = web-01's share of HAProxy's ring, 0.431): the failures over the runs are
/// 1 + Binomial(N - K, p1^2) per run (the first goes there with probability p1 per arrival, K
/// arrivals until then, geometric). Counting a retrying request nowhere makes web-01 look idle
/// to both: leastconn would then fail half the window, random(2) about p1 of it.
#[test]
fn load_aware_algorithms_steer_around_a_retrying_server() {
    const R: u64 = 16;
    let _r = Report::start(format!(
        "RST during the detection window, no maxconn, {RST_RATE}/s ({R} replications):"
    ));
    let gap = 1.0 / RST_RATE;
    let views: Vec<ServerView> = (0..2)
        .map(|_| ServerView {
            weight: 1,
            usable: true,
            ..Default::default()
        })
        .collect();
    let p1 = Ring::new(&views).shares(2)[0];
    assert!((p1 - 0.431187).abs() < 1e-6, "{p1}");
    let rr_cfg = rst_config(Algorithm::RoundRobin, 0);
    let lc_cfg = rst_config(Algorithm::LeastConn, 0);
    let rnd_cfg = rst_config(Algorithm::Random { draws: 2 }, 0);
    let (rr, (lc, rnd)) = rayon::join(
        || replicate(&rr_cfg, R),
        || rayon::join(|| replicate(&lc_cfg, R), || replicate(&rnd_cfg, R)),
    );
    let (mut rnd_total, mut rnd_mean, mut rnd_var) = (0u64, 0.0, 0.0);
    for ((r, l), x) in rr.iter().zip(&lc).zip(&rnd) {
        let arr = arrivals(&rr_cfg, r.run);
        check_rebuilt(r, &arr);
        // round robin: exactly the even arrivals of [T0, Td).
        let td = rst_detection(r);
        let expected = arr
            .iter()
            .enumerate()
            .filter(|(i, (t, _))| *t >= RST_T0 && secs(*t) < td && rr_of(*i) == 0)
            .count() as u64;
        assert_eq!(errors(r, "connect_failed_503"), expected, "run {}", r.run);
        assert_eq!(r.requests.failed, expected, "{:?}", nonzero(r));
        check_sojourn("roundrobin", r, RST_HOLD * expected as f64);
        // leastconn: one at a time.
        let td_l = rst_detection(l);
        let failed_l = errors(l, "connect_failed_503");
        let (lo, hi) = slot_takes(td_l, RST_HOLD, 2.0 * gap, gap);
        assert!(
            (lo..=hi).contains(&failed_l),
            "run {}: leastconn {failed_l} failures, expected [{lo}, {hi}]",
            l.run
        );
        assert_eq!(l.requests.failed, failed_l, "{:?}", nonzero(l));
        // random(2): binomial.
        let td_x = rst_detection(x);
        let failed_x = errors(x, "connect_failed_503");
        assert_eq!(x.requests.failed, failed_x, "{:?}", nonzero(x));
        let n = count_in(&arr, RST_T0, at(td_x)) as f64;
        let q = p1 * p1;
        rnd_total += failed_x;
        rnd_mean += 1.0 + q * (n - 1.0 / p1);
        rnd_var += n * q * (1.0 - q) + (1.0 - p1) / (p1 * p1) * q * q;
        if r.run < 4 {
            log(format!(
                "  run {}: roundrobin {} (= even arrivals of the window, {expected}); leastconn \
                 {failed_l} (expected [{lo}, {hi}]); random(2) {failed_x} of {n} arrivals in \
                 its window (expected ~{:.1})",
                r.run,
                errors(r, "connect_failed_503"),
                1.0 + q * (n - 1.0 / p1)
            ));
        }
        assert!(
            failed_l <= expected && failed_x <= expected,
            "run {}",
            r.run
        );
    }
    let bound = Z_999 * rnd_var.sqrt();
    log(format!(
        "  random(2) over {R} runs: {rnd_total} failures, expected {rnd_mean:.1} ± {bound:.1} \
         (p1^2 = {:.4} of the window while web-01 is busy)",
        p1 * p1
    ));
    assert!((rnd_total as f64 - rnd_mean).abs() <= bound);
}

/// `option redispatch` with round robin over 2 servers: the first retry after a refusal goes
/// to the other server at once (`stream_choose_redispatch`: non-hash algorithm and more than
/// one active server; no turnaround before a redispatch), so nobody fails and nobody waits.
/// Every even arrival of the window is redispatched away from web-01 (`wredis`), none is
/// retried on it (`wretr`).
/// Would catch: a turnaround before the redispatch (time in system > 0), retries counted on
/// web-01, a redispatch only on the last retry, or failures.
#[test]
fn redispatch_sends_the_first_retry_elsewhere() {
    const R: u64 = 4;
    let _r = Report::start("RST during the detection window, option redispatch:");
    let mut cfg = rst_config(Algorithm::RoundRobin, 0);
    cfg.failures.health.redispatch = true;
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let td = rst_detection(&r);
        let expected = arr
            .iter()
            .enumerate()
            .filter(|(i, (t, _))| *t >= RST_T0 && secs(*t) < td && rr_of(*i) == 0)
            .count() as u64;
        assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
        let (w1, w2) = (&r.servers[0], &r.servers[1]);
        assert_eq!(w1.redispatches, expected, "run {}", r.run);
        assert_eq!(w1.retries, 0);
        assert_eq!(w2.redispatches + w2.retries, 0);
        assert_eq!(w1.dispatched - w1.completed, expected);
        assert_eq!(w2.dispatched, w2.completed);
        check_sojourn("redispatch", &r, 0.0);
        log(format!(
            "  run {}: detection +{:.3} s, web-01 redispatches {} (expected {expected}), retries \
             {}, failures {}",
            r.run,
            td - secs(RST_T0),
            w1.redispatches,
            w1.retries,
            r.requests.failed
        ));
    }
}

/// `scenarios/server_down.toml` (web-01 crashes for 2 min under 220 req/s, maxconn 32, no
/// redispatch) with roundrobin, leastconn and random(2), paired by replication (same arrivals,
/// same check phases). A request retrying the dead web-01 holds one of its 32 slots for 3 s:
/// - round robin fills the 32 slots within 64 arrivals of the crash and again within 64 of each
///   release: each slot is taken twice in the (4, 6] s detection window, 64 connect failures in
///   every run;
/// - leastconn sees web-01 as busy as its retrying requests and sends it a request only when
///   web-02 has more in flight: fewer failures, the 99.9% Student t interval of the paired
///   difference (roundrobin - leastconn) lies above 0;
/// - random(2) sends web-01 a request whenever both draws land on it (p1^2 = 0.186 of 220/s,
///   41/s), which still fills its 32 slots in under a second: no more failures than round
///   robin (the interval of the difference does not lie below 0), and no more than 64 connect
///   failures in any run.
///
/// With the retry counted nowhere (issue 10 measured 539 / 826 / 725) the load-aware
/// algorithms failed most.
#[test]
fn server_down_scenario_ranks_load_aware_algorithms_first() {
    const R: u64 = 12;
    let _r = Report::start(format!(
        "scenarios/server_down.toml, paired over {R} replications:"
    ));
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/server_down.toml");
    let load = |alg: &str| {
        infrasim::scenario::load(&path, &[format!("lb.algorithm={alg}")])
            .unwrap_or_else(|e| panic!("{e:?}"))
            .config
    };
    let names = ["roundrobin", "leastconn", "random(2)"];
    let cfgs: Vec<Config> = names.iter().map(|a| load(a)).collect();
    assert_eq!(cfgs[2].lb.algorithm, Algorithm::Random { draws: 2 });
    let runs: Vec<Vec<RunResults>> = cfgs.iter().map(|c| replicate(c, R)).collect();
    let failed =
        |k: usize| -> Vec<f64> { runs[k].iter().map(|r| r.requests.failed as f64).collect() };
    let rr = failed(0);
    assert!(
        cfgs.iter()
            .all(|c| c.servers.iter().all(|s| s.maxconn == 32))
    );
    for (r, x) in runs[0].iter().zip(&runs[2]) {
        assert_eq!(
            errors(r, "connect_failed_503"),
            64,
            "run {}: {:?}",
            r.run,
            nonzero(r)
        );
        assert!(
            errors(x, "connect_failed_503") <= 64,
            "run {}: {:?}",
            x.run,
            nonzero(x)
        );
    }
    for k in 1..3 {
        let other = failed(k);
        let d: Vec<f64> = rr.iter().zip(&other).map(|(a, b)| a - b).collect();
        let e = Est::of(&d);
        log(format!(
            "  roundrobin {:.1} failed per run, {} {:.1}: paired difference {:.1} ± {:.1} \
             (99.9%); connect_failed_503 {:.1} vs {:.1}",
            Est::of(&rr).mean,
            names[k],
            Est::of(&other).mean,
            e.mean,
            e.hw999(),
            runs[0]
                .iter()
                .map(|r| errors(r, "connect_failed_503") as f64)
                .sum::<f64>()
                / R as f64,
            runs[k]
                .iter()
                .map(|r| errors(r, "connect_failed_503") as f64)
                .sum::<f64>()
                / R as f64,
        ));
        if names[k] == "leastconn" {
            assert!(
                e.mean - e.hw999() > 0.0,
                "leastconn does not fail fewer requests than roundrobin: {e:?}"
            );
        } else {
            assert!(
                e.mean + e.hw999() >= 0.0,
                "{} fails more requests than roundrobin: {e:?}",
                names[k]
            );
        }
    }
}

/// `balance source` with one client address: every request hashes to the same server, which
/// takes one at a time (`maxconn 1`, zero service times) and crashes for good at T0. No
/// redispatch; `timeout queue` of an hour. The first request after T0 holds the slot through
/// its retries (3 x min(timeout connect, 1 s) = 3 s) then fails; the next ones wait in the
/// dead server's own queue (a hashed request queues on its server). HAProxy hands that queue
/// to the server as its slots free even once it is marked DOWN (src/queue.c
/// `process_srv_queue`: only the backend queue needs the server usable, "The <srv> queue is
/// still considered in this case"), so each queued request takes its turn at retrying and
/// fails 3 s after the previous one: all of them fail as connect failures, one after the
/// other, and none waits out `timeout queue`. Arrivals after the mark-down go to the other
/// server (the only one up: no hashing) and are served at once. Expected: connect failures =
/// the arrivals from T0 to the mark-down; the total time in system is a serial replay of
/// them, each starting when the previous fails (or at its arrival). Would catch: a DOWN
/// server's own queue left to expire (`queue_timeout_503` an hour after each arrival: the
/// run ends first, and they count as in flight).
#[test]
fn a_down_servers_own_queue_is_still_served_as_its_slots_free() {
    let _r = Report::start("balance source, the hashed server crashes with requests queued on it:");
    let mut cfg = common::stack(10.0, 2, 0, 0, 0, 240);
    cfg.lb.algorithm = Algorithm::Source { consistent: false };
    cfg.lb.timeout_queue = SimTime::from_secs(3600);
    cfg.workload.clients = 1;
    for s in &mut cfg.servers {
        s.maxconn = 1;
    }
    let h = &cfg.failures.health;
    let hold = secs(h.timeout_connect.min(SimTime::from_secs(1))) * f64::from(h.retries);
    for r in replicate(&cfg.clone(), 1) {
        // Which server the only address hashes to: the one that took every request.
        let target = (0..2).find(|&i| r.servers[i].dispatched > 0).unwrap();
        let mut cfg = cfg.clone();
        cfg.failures.scheduled = vec![fault(
            Target::Server(target),
            FaultKind::Crash,
            RST_T0,
            None,
        )];
        for r in replicate(&cfg, 4) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let name = &r.servers[target].name;
            let down = log_time(&r, "server marked DOWN", name);
            let stuck: Vec<f64> = arr
                .iter()
                .map(|(t, _)| secs(*t))
                .filter(|&t| t >= secs(RST_T0) && t < down)
                .collect();
            // Serial replay: each holds the slot `hold` from when it gets it.
            let mut free = 0.0_f64;
            let mut expected = 0.0;
            for &a in &stuck {
                let end = free.max(a) + hold;
                expected += end - a;
                free = end;
            }
            assert!(free < secs(cfg.duration), "the replay outlasts the run");
            assert_eq!(
                errors(&r, "connect_failed_503"),
                stuck.len() as u64,
                "{:?}",
                nonzero(&r)
            );
            assert_eq!(r.requests.failed, stuck.len() as u64, "{:?}", nonzero(&r));
            assert_eq!(r.requests.in_flight_end, 0);
            check_sojourn("down server's queue", &r, expected);
            if r.run == 0 {
                log(format!(
                    "  {name} marked DOWN +{:.3} s: {} requests stuck on it fail one by one \
                     until +{:.1} s, total time in system {expected:.1} s",
                    down - secs(RST_T0),
                    stuck.len(),
                    free - secs(RST_T0)
                ));
            }
        }
    }
}

/// `stick on src` with `option persist` and `option redispatch`, one client address, maxconn 1,
/// zero service times, `timeout queue` 20 s: web-01 holds the session and its host goes silent
/// for good at T0. The first request after T0 keeps the slot through its connect timeouts
/// (5 s each, retried at once) until its redispatch: on the last retry, or at the first
/// timeout after web-01 is marked DOWN; it is then served by web-02, which takes the session.
/// Meanwhile every arrival goes straight to web-01 (`persist`) and waits in its queue. When
/// web-01 is marked DOWN HAProxy does not re-balance that queue (`pendconn_redistribute` does
/// nothing with `option persist`): each request keeps its place and its `timeout queue` from
/// its arrival; as the slot frees, the oldest takes it, waits one connect timeout, and is
/// redispatched to web-02 (the server is not running). Expected: a replay of that queue. Would
/// catch: the queue re-balanced at the mark-down (each request sent straight back to the dead
/// server's queue by its session, its `timeout queue` restarted: fewer 503s, later).
#[test]
fn option_persist_keeps_a_down_servers_queue_in_place() {
    use infrasim::model::lb::stickiness::{PersistKind, PersistenceConfig};
    let _r = Report::start(
        "stick on src, option persist + redispatch, the session's server goes silent:",
    );
    let mut cfg = common::stack(10.0, 2, 0, 0, 0, 150);
    cfg.lb.persistence = Some(PersistenceConfig {
        kind: PersistKind::Source,
        persist: true,
    });
    cfg.lb.timeout_queue = SimTime::from_secs(20);
    cfg.workload.clients = 1;
    cfg.failures.health.redispatch = true;
    for s in &mut cfg.servers {
        s.maxconn = 1;
    }
    cfg.failures.scheduled = vec![fault(Target::Server(0), FaultKind::Down, RST_T0, None)];
    let h = &cfg.failures.health;
    let (tc, tq) = (secs(h.timeout_connect), secs(cfg.lb.timeout_queue));
    let retries = f64::from(h.retries);
    for r in replicate(&cfg, 4) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let down = log_time(&r, "server marked DOWN", "web-01");
        let mut after: Vec<f64> = arr
            .iter()
            .map(|(t, _)| secs(*t))
            .filter(|&t| t >= secs(RST_T0))
            .collect();
        let first = after.remove(0);
        // Its k-th connect timeout (k = 1, 2, ...) ends at first + k x tc; it is redispatched
        // at the first one after the mark-down, or at the last retry.
        let moved = (1..)
            .map(|k| first + k as f64 * tc)
            .find(|&t| t > down || t >= first + retries * tc - EPS)
            .unwrap();
        let queued: Vec<f64> = after.into_iter().filter(|&t| t < moved).collect();
        let (mut free, mut sojourn, mut expired) = (moved, moved - first, 0u64);
        for &a in &queued {
            if a + tq <= free {
                expired += 1;
                sojourn += tq;
            } else {
                sojourn += free + tc - a;
                free += tc;
            }
        }
        assert!(free < secs(cfg.duration), "the replay outlasts the run");
        assert_eq!(
            errors(&r, "queue_timeout_503"),
            expired,
            "{:?}",
            nonzero(&r)
        );
        assert_eq!(r.requests.failed, expired, "{:?}", nonzero(&r));
        check_sojourn("persist queue", &r, sojourn);
        if r.run == 0 {
            log(format!(
                "  web-01 marked DOWN +{:.3} s, session moved +{:.3} s: {} queued, {expired} \
                 expire after {tq} s, total time in system {sojourn:.1} s",
                down - secs(RST_T0),
                moved - secs(RST_T0),
                queued.len()
            ));
        }
    }
}

// ---- 2. A silent host: detection by checks that time out (domain.md §1.4) -------------------

const SILENT_T0: SimTime = SimTime(20_050_000_000);

/// web-01's host goes silent (`down`: powered off, kernel panic) at T0 = 20.05 s for 25 s;
/// 2 servers, 10 req/s, checks with default timers unless changed by the caller.
fn silent_config(seconds: u64) -> Config {
    let mut cfg = common::stack(10.0, 2, 0, 0, 0, seconds);
    cfg.failures.scheduled = vec![fault(
        Target::Server(0),
        FaultKind::Down,
        SILENT_T0,
        Some(SimTime::from_secs(25)),
    )];
    cfg
}

/// A check of a host that does not answer fails when its timeout expires, T = `inter` without
/// `timeout check` (the whole check bounded by inter) and min(`timeout connect`, `inter`) with
/// it (HAP-CFG "timeout check"); the next check starts `fastinter` after the end of the
/// previous one. Detection = U(0, inter] + fall x T + (fall - 1) x fastinter after the fault:
/// 10-12 s with the defaults (twice the 4-6 s of a host that answers RST). Every run inside
/// the interval, the mean against the uniform's mean with its standard error. After the repair
/// the server is marked UP by `rise` passing checks; a check still waiting on the silent host
/// fails when its timeout expires (the model decides a check by the state when it starts), so
/// UP comes within (rise - 1) x fastinter + [0, T + downinter] of the repair.
fn silent_detection_case(label: &str, timeout_connect: SimTime, timeout_check: Option<SimTime>) {
    const R: u64 = 40;
    let mut cfg = silent_config(60);
    cfg.failures.health.timeout_connect = timeout_connect;
    cfg.failures.health.timeout_check = timeout_check;
    let h = cfg.failures.health.clone();
    let t = match timeout_check {
        None => h.inter,
        Some(_) => h.timeout_connect.min(h.inter),
    };
    let (inter, fast, down, t) = (secs(h.inter), secs(h.fastinter), secs(h.downinter), secs(t));
    let lo = h.fall as f64 * t + (h.fall - 1) as f64 * fast;
    let up_lo = (h.rise - 1) as f64 * fast;
    let repaired = secs(SILENT_T0) + 25.0;
    log(format!(
        "  {label}: check timeout T = {t} s, detection expected in [{lo}, {}]",
        lo + inter
    ));
    let mut detect = vec![];
    for r in replicate(&cfg, R) {
        let f = &r.faults[0];
        assert_eq!((f.component.as_str(), f.kind.as_str()), ("web-01", "down"));
        let ttd = f.time_to_detect_s.expect("detected");
        assert!(
            ttd >= lo - EPS && ttd <= lo + inter + EPS,
            "run {}: detected {ttd} s after the fault, outside [{lo}, {}]",
            r.run,
            lo + inter
        );
        let down_t = log_time(&r, "server marked DOWN", "web-01");
        assert!((down_t - secs(SILENT_T0) - ttd).abs() < EPS);
        let up = log_time(&r, "server marked UP", "web-01") - repaired;
        assert!(
            up >= up_lo - EPS && up <= up_lo + t + down + EPS,
            "run {}: marked UP {up} s after the repair",
            r.run
        );
        detect.push(ttd - lo);
    }
    check_uniform_mean(
        &format!("{label}: detection - fall x T - (fall-1) x fastinter"),
        &detect,
        0.0,
        inter,
    );
}

/// Defaults: inter = fastinter = 2 s, fall 3, no `timeout check`: T = 2 s, detection in
/// [10, 12] s, mean 11 s (issue 10: "about 10-12 s with defaults instead of 4-6 s").
/// Would catch: a silent host detected like a refusing one (4-6 s), a check timeout other than
/// `inter`, or a phase that is not uniform.
#[test]
fn silent_host_detection_default_timers() {
    let _r = Report::start("silent host detection (40 replications):");
    silent_detection_case("defaults", SimTime::from_secs(5), None);
}

/// `timeout check 1s` with `timeout connect 1.5s`: the connect part of a check is bounded by
/// min(timeout connect, inter) = 1.5 s (not by `timeout check`, which bounds the read part):
/// detection in [3 x 1.5 + 2 x 2, + 2] = [8.5, 10.5] s.
/// Would catch: `timeout check` used as the connect part (detection in [7, 9] s) or ignored
/// (T = inter: [10, 12] s).
#[test]
fn silent_host_detection_with_timeout_check() {
    let _r = Report::start("silent host detection with timeout check (40 replications):");
    silent_detection_case(
        "timeout check 1 s, timeout connect 1.5 s",
        SimTime::from_millis(1500),
        Some(SimTime::from_secs(1)),
    );
}

// ---- 3. Requests in flight on a host that goes silent (HAProxy `timeout server`) -----------

/// 2 servers, 10 req/s (the k-th at k x 100 ms), 2 s of application work, `timeout server
/// 30s`, web-01 silent from T0 = 20.05 s for good, run to 80.05 s. The 10 requests inside
/// web-01 at T0 (round robin gives it the even arrivals; those of (T0 - 2 s, T0)) never get an
/// answer: each gets a 504 exactly 30 s after it reached web-01 (HAProxy's server-side
/// inactivity timer; no `retry-on` for a request already sent). The even arrivals of
/// [T0, detection) connect to a host that does not answer: 4 attempts of `timeout connect` 5 s,
/// then 503 after 20 s. Everything else completes in 2 s, except the 20 arrivals of the last
/// 2 s, still in flight. Without `timeout server` the 10 hang to the end of the run.
/// Would catch: in-flight requests failing at once (as with a reset), a 504 timed from
/// anything but the request reaching the server, a retry of a request already sent, or
/// `timeout server` applied when unset.
#[test]
fn in_flight_on_a_silent_host_end_at_timeout_server() {
    const R: u64 = 4;
    let _r = Report::start("requests in flight on a host that goes silent:");
    for timeout_server in [Some(SimTime::from_secs(30)), None] {
        let mut cfg = silent_config(80);
        cfg.duration = SimTime::from_millis(80_050);
        cfg.failures.scheduled[0].duration = None;
        cfg.workload.mix[0].app = Dist::det(2.0).unwrap();
        cfg.lb.timeout_server = timeout_server;
        for r in replicate(&cfg, R) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let td = at(r.faults[0].detected_s.unwrap());
            let even_in = |from: SimTime, to: SimTime| {
                arr.iter()
                    .enumerate()
                    .filter(|(i, (t, _))| *t >= from && *t < to && rr_of(*i) == 0)
                    .count() as u64
            };
            let inside = even_in(SILENT_T0 - SimTime::from_secs(2), SILENT_T0);
            assert_eq!(inside, 10);
            let refused = even_in(SILENT_T0, td);
            let end = count_in(
                &arr,
                cfg.duration - SimTime::from_secs(2),
                cfg.duration + SimTime(1),
            );
            assert_eq!(end, 20);
            let n504 = errors(&r, "server_timeout_504");
            let n503 = errors(&r, "connect_failed_503");
            assert_eq!(n503, refused, "run {}", r.run);
            assert_eq!(r.servers[0].retries, 3 * refused);
            match timeout_server {
                Some(_) => {
                    assert_eq!(n504, inside, "run {}", r.run);
                    assert_eq!(r.requests.in_flight_end, end);
                }
                None => {
                    assert_eq!(n504, 0);
                    assert_eq!(r.requests.in_flight_end, end + inside);
                }
            }
            assert_eq!(r.requests.failed, n504 + n503, "{:?}", nonzero(&r));
            check_sojourn(
                "silent host",
                &r,
                2.0 * r.requests.completed as f64 + 30.0 * n504 as f64 + 20.0 * n503 as f64,
            );
            if r.run < 2 {
                log(format!(
                    "  timeout server {:?}, run {}: detection +{:.3} s; server_timeout_504 {n504} \
                     (in flight at the fault {inside}, each after 30 s); connect_failed_503 \
                     {n503} (even arrivals before detection {refused}, each after 20 s); in \
                     flight at the end {}",
                    timeout_server.map(secs),
                    r.run,
                    secs(td - SILENT_T0),
                    r.requests.in_flight_end
                ));
            }
        }
    }
}

// ---- 4. New connections to a silent host still marked UP (domain.md §1.3) ------------------

/// Same fault, for good, zero work. A connection to a host that does not answer waits `timeout connect`
/// (5 s; SYNs at 0, 1 and 3 s), then HAProxy retries at once (no turnaround after a timeout):
/// without redispatch, 1 + retries attempts then 503, (1 + retries) x 5 s after the arrival
/// (20 s with retries 3, 10 s with retries 1), and `retries` retries counted on web-01; with
/// `option redispatch` the first retry goes to web-02 after one timeout connect: served after
/// 5 s, nobody fails.
/// Would catch: a silent host refusing at once, a turnaround after a connect timeout, a wrong
/// attempt count, or a redispatch that waits.
#[test]
fn connect_to_a_silent_host_waits_timeout_connect_per_attempt() {
    const R: u64 = 3;
    let _r = Report::start("connections to a silent host still marked UP:");
    for (retries, redispatch) in [(3, false), (1, false), (3, true)] {
        let mut cfg = silent_config(60);
        cfg.failures.scheduled[0].duration = None;
        cfg.failures.health.retries = retries;
        cfg.failures.health.redispatch = redispatch;
        for r in replicate(&cfg, R) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let td = at(r.faults[0].detected_s.unwrap());
            let sent = arr
                .iter()
                .enumerate()
                .filter(|(i, (t, _))| *t >= SILENT_T0 && *t < td && rr_of(*i) == 0)
                .count() as u64;
            let w1 = &r.servers[0];
            if redispatch {
                assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
                assert_eq!((w1.redispatches, w1.retries), (sent, 0), "run {}", r.run);
                check_sojourn("redispatch", &r, 5.0 * sent as f64);
            } else {
                assert_eq!(errors(&r, "connect_failed_503"), sent, "run {}", r.run);
                assert_eq!(r.requests.failed, sent, "{:?}", nonzero(&r));
                assert_eq!((w1.retries, w1.redispatches), (retries as u64 * sent, 0));
                check_sojourn(
                    "no redispatch",
                    &r,
                    5.0 * (1 + retries) as f64 * sent as f64,
                );
            }
            if r.run == 0 {
                log(format!(
                    "  retries {retries} redispatch {redispatch}: {sent} requests sent to web-01 \
                     before detection; failed {}, web-01 retries {} redispatches {}, mean time \
                     in system of all {:.6} s",
                    r.requests.failed,
                    w1.retries,
                    w1.redispatches,
                    r.littles_law.mean_time_in_system
                ));
            }
        }
    }
}

/// web-01 silent for `down` seconds only (shorter than any detection: never marked DOWN).
/// Arrivals sent to it meanwhile (the even ones of [T0, T0 + down)) connect at their first SYN
/// at or after the repair (SYNs at a, a + 1, a + 3 s, Linux's initial RTO doubled), if that
/// SYN leaves before `timeout connect` (5 s); otherwise the attempt times out at a + 5 s and
/// HAProxy retries at once, counting one retry (`wretr`) — with `retries 0` that request gets
/// its 503 at a + 5 s instead.
fn short_silence(down: SimTime, retries: u32) -> (Config, Vec<RunResults>) {
    let mut cfg = silent_config(40);
    cfg.failures.scheduled[0].duration = Some(down);
    cfg.failures.health.retries = retries;
    let runs = replicate(&cfg, 2);
    (cfg, runs)
}

/// What the real stack does with the even arrivals of [T0, T0 + down): (time in system of the
/// served ones, served after a retry, failed with 503 after a + 5 s).
fn short_silence_expected(cfg: &Config, arr: &[(SimTime, Work)], retries: u32) -> (f64, u64, u64) {
    let back = SILENT_T0 + cfg.failures.scheduled[0].duration.unwrap();
    let timeout = cfg.failures.health.timeout_connect;
    let (mut sojourn, mut retried, mut failed) = (0.0, 0, 0);
    for (i, (a, _)) in arr.iter().enumerate() {
        if *a < SILENT_T0 || *a >= back || rr_of(i) != 0 {
            continue;
        }
        match syn_answered(*a, back, timeout) {
            Some(t) => sojourn += secs(t - *a),
            None if retries > 0 => {
                // The retry starts at a + 5 s on a host that answers again.
                assert!(*a + timeout >= back);
                sojourn += secs(timeout);
                retried += 1;
            }
            None => failed += 1,
        }
    }
    (sojourn, retried, failed)
}

/// A 2.5 s silence: every request sent to web-01 gets through at its SYN at a + 1 or a + 3 s,
/// within its first attempt: no retry, no failure, each served exactly when its SYN crossed.
/// Would catch: a connect that waits the whole timeout instead of its next SYN, a host that
/// answers between SYNs, or a retry counted.
#[test]
fn syn_retransmission_gets_through_when_the_host_answers_again() {
    let _r = Report::start("a 2.5 s silence: SYN retransmissions:");
    let (cfg, runs) = short_silence(SimTime::from_millis(2500), 3);
    for r in runs {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let (sojourn, retried, failed) = short_silence_expected(&cfg, &arr, 3);
        assert_eq!((retried, failed), (0, 0));
        assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
        assert!(r.faults[0].detected_s.is_none());
        assert_eq!(r.servers[0].retries, 0);
        check_sojourn("2.5 s silence", &r, sojourn);
        log(format!(
            "  run {}: no failure, total wait of the requests sent to web-01 {sojourn:.3} s \
             (each until its first SYN after the repair), max latency {:.3} s",
            r.run, r.latency.max
        ));
    }
}

/// A 3.5 s silence: a request sent to web-01 in the first 0.5 s has its last SYN of the
/// attempt at a + 3 s, before the repair; no SYN leaves between a + 3 and the timeout at
/// a + 5 s, so the attempt fails there and HAProxy retries (one `wretr` each), and with
/// `retries 0` the request gets a 503 at a + 5 s. A model that tries the connection again at
/// the timeout instant counts no retry and serves those requests.
#[test]

fn no_syn_leaves_at_the_connect_timeout() {
    let _r = Report::start("a 3.5 s silence: the attempt times out after its last SYN:");
    for retries in [3, 0] {
        let (cfg, runs) = short_silence(SimTime::from_millis(3500), retries);
        for r in runs {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let (sojourn, retried, failed) = short_silence_expected(&cfg, &arr, retries);
            assert_eq!(retried + failed, 3, "the first 0.5 s: 3 even arrivals");
            log(format!(
                "  retries {retries}, run {}: web-01 retries {} (expected {retried}), \
                 connect_failed_503 {} (expected {failed})",
                r.run,
                r.servers[0].retries,
                errors(&r, "connect_failed_503")
            ));
            assert_eq!(r.servers[0].retries, retried, "run {}", r.run);
            assert_eq!(errors(&r, "connect_failed_503"), failed, "run {}", r.run);
            assert_eq!(r.requests.failed, failed, "{:?}", nonzero(&r));
            check_sojourn("3.5 s silence", &r, sojourn + 5.0 * failed as f64);
        }
    }
}

// ---- 5. A DB partition that drops packets drains the application's worker pool ------------

const LINK_T0: SimTime = SimTime(10_025_000_000);
const LINK_WORKERS: u32 = 8;
const LINK_BACKLOG: u32 = 4;

/// One server with 8 application workers and a backlog of 4, Nginx `proxy_read_timeout 5s`,
/// 20 req/s (every 50 ms), two classes drawn at random with equal weights: "db" (one read on
/// the primary) and "nodb" (no query at all). Zero service times. The link between the app
/// tier and MySQL fails (`kind`) at T0 = 10.025 s for good; the MySQL client has no read
/// timeout (PyMySQL's default) and the app server no worker timeout.
fn link_config(kind: FaultKind) -> Config {
    let mut cfg = common::stack(20.0, 1, 0, 1, 0, 40);
    let db = cfg.workload.mix[0].clone();
    cfg.workload.mix = vec![
        RequestClass {
            name: "db".into(),
            ..db.clone()
        },
        RequestClass {
            name: "nodb".into(),
            reads: 0,
            ..db
        },
    ];
    cfg.database.read_from = ReadPolicy::Primary;
    let s = &mut cfg.servers[0];
    s.app_workers = LINK_WORKERS;
    s.app_queue = LINK_BACKLOG;
    s.proxy_read_timeout = SimTime::from_secs(5);
    cfg.failures.scheduled = vec![fault(Target::DbLink, kind, LINK_T0, None)];
    cfg
}

/// A blackhole: each query sent after T0 gets no answer and its worker blocks in recv() for
/// good, so the pool drains after 8 "db" requests, at t_e = the 8th "db" arrival after T0
/// (expected 0.025 + (8/0.5 - 1) x 0.05 = 0.775 s after T0: 8 successes of Bernoulli(1/2)
/// trials 50 ms apart, negative binomial, sd 4 trials = 0.2 s). From then on nothing is
/// served, "nodb" requests included: the next 4 wait in the backlog and get a 504 after 5 s
/// (their connections stay in the backlog: nothing accepts them), later ones find the backlog
/// full and get a 502 at once. So completed = arrivals before T0 + "nodb" arrivals of
/// [T0, t_e), exactly. The 8 blocked "db" requests get their 504 after 5 s too. A partition that
/// rejects (`crash`) fails the "db" requests at once (500) and never touches the pool: every
/// "nodb" request is served.
/// Would catch: a blackhole that fails queries at once (the pool never drains, every "nodb"
/// served), workers freed by Nginx's timeout, a backlog slot freed by the 504, or a rejecting
/// partition that blocks workers.
#[test]
fn db_link_blackhole_fails_db_free_requests_once_the_pool_drains() {
    const R: u64 = 10;
    let _r = Report::start(format!(
        "db.link partition, 8 app workers, 20 req/s, half without queries ({R} replications):"
    ));
    let cfg = link_config(FaultKind::Blackhole);
    let mut drained = vec![];
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let db_after: Vec<SimTime> = arr
            .iter()
            .filter(|(t, w)| *t >= LINK_T0 && w.class == 0)
            .map(|(t, _)| *t)
            .collect();
        let t_e = db_after[LINK_WORKERS as usize - 1];
        let before = count_in(&arr, SimTime::ZERO, LINK_T0);
        let nodb_served = arr
            .iter()
            .filter(|(t, w)| *t >= LINK_T0 && *t < t_e && w.class == 1)
            .count() as u64;
        let after = arr.iter().filter(|(t, _)| *t > t_e).count() as u64;
        assert_eq!(r.requests.completed, before + nodb_served, "run {}", r.run);
        let n504 = errors(&r, "upstream_timeout_504");
        let n502 = errors(&r, "app_queue_full_502");
        assert_eq!(n504, (LINK_WORKERS + LINK_BACKLOG) as u64, "run {}", r.run);
        assert_eq!(n502, after - LINK_BACKLOG as u64, "run {}", r.run);
        assert_eq!(r.requests.failed, n504 + n502, "{:?}", nonzero(&r));
        assert_eq!(r.requests.in_flight_end, 0);
        check_sojourn("blackhole", &r, 5.0 * n504 as f64);
        drained.push(secs(t_e - LINK_T0));
        if r.run < 3 {
            log(format!(
                "  blackhole run {}: pool drained {:.3} s after the fault; nodb served after the \
                 fault {nodb_served}, then none; upstream_timeout_504 {n504}, \
                 app_queue_full_502 {n502}",
                r.run,
                secs(t_e - LINK_T0)
            ));
        }
    }
    let (m, _) = mean_sd(&drained);
    let expected = 0.025 + (2.0 * LINK_WORKERS as f64 - 1.0) * 0.05;
    let bound = Z_999 * 0.2 / (R as f64).sqrt();
    log(format!(
        "  pool drained after {m:.3} s on average, expected {expected:.3} ± {bound:.3} (workers / \
         query rate = {} s)",
        LINK_WORKERS as f64 / 10.0
    ));
    assert!((m - expected).abs() <= bound);
    // A partition that rejects: only the "db" requests fail.
    let cfg = link_config(FaultKind::Crash);
    for r in replicate(&cfg, 3) {
        let arr = arrivals(&cfg, r.run);
        let db_after = arr
            .iter()
            .filter(|(t, w)| *t >= LINK_T0 && w.class == 0)
            .count() as u64;
        assert_eq!(errors(&r, "db_unreachable_500"), db_after, "run {}", r.run);
        assert_eq!(r.requests.failed, db_after, "{:?}", nonzero(&r));
        assert_eq!(r.requests.completed, arr.len() as u64 - db_after);
        check_sojourn("rejecting link", &r, 0.0);
        if r.run == 0 {
            log(format!(
                "  crash (rejecting) link run 0: db_unreachable_500 {db_after} (every db request \
                 after the fault), every nodb request served"
            ));
        }
    }
}

/// Packets across a blackholed link are dropped: a query sent after T0 never reaches MySQL,
/// so the primary executes none (8 are sent, one per worker, before the pool is drained). A
/// model that runs the query and drops only the reply counts them on the primary (and, for a
/// write, commits and replicates a transaction the application never sent through).
#[test]

fn blackholed_link_queries_never_reach_mysql() {
    let _r = Report::start("db.link blackhole: queries sent after the fault:");
    let cfg = link_config(FaultKind::Blackhole);
    for net in [Dist::zero(), Dist::det(0.0005).unwrap()] {
        let mut cfg = cfg.clone();
        cfg.database.network = net.clone();
        let r = Stack::run(&cfg, 0);
        let arr = arrivals(&cfg, 0);
        let before = arr
            .iter()
            .filter(|(t, w)| *t < LINK_T0 && w.class == 0)
            .count() as u64;
        log(format!(
            "  network {net:?}: reads executed on the primary {} (db requests before the fault \
             {before})",
            r.database[0].reads
        ));
        assert_eq!(r.database[0].reads, before, "network {net:?}");
    }
}

// ---- 5b. What a partition or a silent node dropped: Linux's retransmission clock ----------

/// When Linux retransmits a segment sent at 0 that nobody acknowledges, on a connection whose
/// round trip is negligible: RTO = srtt + max(rttvar, TCP_RTO_MIN) = 200 ms, doubled at each
/// expiry up to TCP_RTO_MAX = 120 s, so 0.2, 0.6, 1.4, 3.0, 6.2, 12.6, ... s. Returns the first
/// expiry at or after `wait` (s), and whether the sender gives up there instead: at the first
/// expiry 924.6 s or more after the send (`tcp_retries2` = 15, Documentation/networking/
/// ip-sysctl.rst).
fn rto_expiry(wait: f64) -> (f64, bool) {
    let (mut t, mut rto) = (0.0, 0.2f64);
    loop {
        t += rto;
        if t >= 924.6 - 1e-9 {
            return (t, true);
        }
        if t >= wait - 1e-9 {
            return (t, false);
        }
        rto = (2.0 * rto).min(120.0);
    }
}

/// The read time of [`rto_config`] (s).
const READ: f64 = 0.09;

/// One server, a MySQL primary, one read of exactly 90 ms per request, deterministic arrivals
/// at `rate`, no timeout anywhere (no MySQL read timeout, no worker timeout, Nginx's and
/// HAProxy's an hour), for `seconds`.
fn rto_config(rate: f64, seconds: u64) -> Config {
    let mut cfg = common::stack(rate, 1, 0, 1, 0, seconds);
    cfg.database.read_time = Dist::det(READ).unwrap();
    cfg.database.read_from = ReadPolicy::Primary;
    cfg.servers[0].proxy_read_timeout = SimTime::from_secs(3600);
    cfg.servers[0].app_timeout = None;
    cfg.lb.timeout_server = Some(SimTime::from_secs(3600));
    cfg
}

/// Runs replication 0 of `cfg`, checked for conservation, with its arrivals rebuilt (and
/// checked to be the model's).
fn run_checked(cfg: &Config) -> (RunResults, Vec<(SimTime, Work)>) {
    let r = Stack::run(cfg, 0);
    check_run(&r);
    let arr = arrivals(cfg, 0);
    check_rebuilt(&r, &arr);
    (r, arr)
}

/// The arrival instants (s) of the requests whose [`READ`] ends before `end` (s).
fn read_before(arr: &[(SimTime, Work)], end: f64) -> Vec<f64> {
    arr.iter()
        .map(|&(a, _)| secs(a))
        .filter(|&a| a + READ < end)
        .collect()
}

/// The DB link drops packets for 7 s from T0 = 10.025 s. A query sent in the partition is
/// lost at its send and retransmitted by the application's kernel at 0.2, 0.6, 1.4, 3.0, 6.2,
/// 12.6 s after it; the first retransmission at or after the heal gets through, so a query sent
/// at 10.8 s is answered 12.6 s later, 6.375 s after the heal. A reply sent in the partition
/// (a query that ran across T0) is retransmitted the same way by the node's kernel. Every
/// request is served; each one's time in system is its 90 ms read plus that wait, exactly.
/// Would catch: delivery at the heal itself (the old model: 584.0 s of time in system in all
/// instead of 819.4 s), a retransmission clock started at the heal, or a lost reply resent as
/// its query (which would run a second time).
#[test]
fn a_query_lost_in_a_partition_gets_through_at_its_next_retransmission() {
    let _r = Report::start("db.link blackhole of 7 s, queries and replies retransmitted:");
    let t0 = at(10.025);
    let heal = at(17.025);
    let mut cfg = rto_config(20.0, 40);
    cfg.failures.scheduled = vec![fault(
        Target::DbLink,
        FaultKind::Blackhole,
        t0,
        Some(heal - t0),
    )];
    let (r, arr) = run_checked(&cfg);
    // The last arrivals' reads are still running at the end (40 s; one arrives at the end).
    let ended = read_before(&arr, 40.0);
    assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
    assert_eq!(r.requests.completed, ended.len() as u64);
    assert_eq!(r.requests.in_flight_end, (arr.len() - ended.len()) as u64);
    let (mut expected, mut at_heal, mut queries, mut replies) = (0.0, 0.0, 0, 0);
    let mut latest = 0.0f64;
    for &a in &ended {
        let (lost_at, what) = if a >= secs(t0) && a < secs(heal) {
            (a, &mut queries)
        } else if a < secs(t0) && a + READ >= secs(t0) {
            (a + READ, &mut replies)
        } else {
            expected += READ;
            at_heal += READ;
            continue;
        };
        *what += 1;
        let (e, gives_up) = rto_expiry(secs(heal) - lost_at);
        assert!(!gives_up);
        // The query ran (before its loss, or after its delivery) for 90 ms.
        expected += READ + e;
        at_heal += READ + (secs(heal) - lost_at);
        latest = latest.max(lost_at + e - secs(heal));
    }
    log(format!(
        "  queries lost {queries}, replies lost {replies}: time in system {:.3} s in all \
         (delivery at the heal would give {at_heal:.3} s); the last got through {latest:.3} s \
         after the heal",
        total_sojourn(&r)
    ));
    assert_eq!(queries, 140);
    assert_eq!(replies, 2);
    check_sojourn("retransmitted through a heal", &r, expected);
    // The longest wait after the heal: the query sent at 10.8 s, 6.225 s before the heal,
    // just after its 6.2 s retransmission would have got through: 12.6 s after its send,
    // 6.375 s after the heal (the partition lasted 7 s).
    assert!((latest - 6.375).abs() < 1e-9, "{latest}");
}

/// A partition that never heals, and no timeout anywhere: the application's kernel gives up on
/// each lost query at its 16th RTO expiry, 924.6 s after the send (`tcp_retries2` = 15), and
/// the application answers 500 ("Lost connection to MySQL server"). One request a second; the
/// partition starts at 10.5 s; the run lasts 1,000 s, so the requests sent before 75.4 s fail
/// (924.6 s after their send) and the later ones are still waiting at the end.
/// Would catch: a query that waits for ever, or a give-up counted from another instant.
#[test]
fn a_query_lost_for_good_fails_when_tcp_gives_up() {
    let _r = Report::start("db.link blackhole for good, no timeout anywhere:");
    let t0 = at(10.5);
    let mut cfg = rto_config(1.0, 1000);
    cfg.failures.scheduled = vec![fault(Target::DbLink, FaultKind::Blackhole, t0, None)];
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let arr = arrivals(&cfg, 0);
    let (e, gives_up) = rto_expiry(f64::INFINITY);
    assert!(gives_up && (e - 924.6).abs() < 1e-9);
    let fail = arr
        .iter()
        .filter(|(a, _)| *a >= t0 && secs(*a) + e <= 1000.0)
        .count() as u64;
    let waiting = arr.iter().filter(|(a, _)| *a >= t0).count() as u64 - fail;
    let before = arr.iter().filter(|(a, _)| *a < t0).count() as u64;
    log(format!(
        "  db_timeout_500 {} (expected {fail}: sent at least 924.6 s before the end), still \
         waiting at the end {} (expected {waiting})",
        errors(&r, "db_timeout_500"),
        r.requests.in_flight_end
    ));
    assert_eq!(errors(&r, "db_timeout_500"), fail);
    assert_eq!(r.requests.failed, fail, "{:?}", nonzero(&r));
    assert_eq!(r.requests.completed, before);
    assert_eq!(r.requests.in_flight_end, waiting);
    check_sojourn("given up", &r, READ * before as f64 + e * fail as f64);
}

/// The primary's host stops answering at T0 = 10.025 s and is back 5 s later; Gunicorn's
/// worker timeout is 20 s. A query it had received (one sent in the 100 ms before T0) is not
/// retransmitted: its client has nothing unacknowledged and is told nothing by the restarted
/// host, so it waits for the worker timeout (502 at 20 s). A query sent to the silent host is
/// retransmitted (0.2, 0.6, 1.4, 3.0, 6.2 s after its send); the first retransmission after
/// the restart meets a kernel that knows no such connection and gets a reset (500 then).
/// Would catch: the old model's reset of both at the restart, or delivering the retransmitted
/// query to the restarted mysqld.
#[test]
fn a_restarted_db_host_resets_retransmitted_queries_only() {
    let _r = Report::start("silent primary for 5 s, worker timeout 20 s:");
    let t0 = at(10.025);
    let back = at(15.025);
    let mut cfg = rto_config(20.0, 60);
    cfg.servers[0].app_timeout = Some(SimTime::from_secs(20));
    cfg.failures.scheduled = vec![fault(
        Target::DbNode(0),
        FaultKind::Down,
        t0,
        Some(back - t0),
    )];
    let (r, arr) = run_checked(&cfg);
    let (mut held, mut reset, mut expected) = (0u64, 0u64, 0.0);
    // The last arrivals' reads are still running at the end (60 s; one arrives at the end).
    let ended = read_before(&arr, 60.0);
    for &a in &ended {
        if a < secs(t0) && a + READ > secs(t0) {
            held += 1;
            expected += 20.0;
        } else if a >= secs(t0) && a < secs(back) {
            reset += 1;
            let (e, gives_up) = rto_expiry(secs(back) - a);
            assert!(!gives_up);
            expected += e;
        } else {
            expected += READ;
        }
    }
    log(format!(
        "  received before T0: {} app_worker_timeout_502 (expected {held}); sent to the silent \
         host: {} db_node_down_500 (expected {reset}), each at its first retransmission after \
         the restart",
        errors(&r, "app_worker_timeout_502"),
        errors(&r, "db_node_down_500")
    ));
    assert_eq!(errors(&r, "app_worker_timeout_502"), held);
    assert_eq!(errors(&r, "db_node_down_500"), reset);
    assert_eq!(r.requests.failed, held + reset, "{:?}", nonzero(&r));
    assert_eq!(r.requests.in_flight_end, (arr.len() - ended.len()) as u64);
    check_sojourn("silent host restarted", &r, expected);
}

/// The first RTO expiry of a segment lost at `lost_at` (s) that finds the link forwarding, the
/// link being dark in each of `dark`'s intervals [from, to): the expiries that fall in one are
/// dropped again (no give-up within these tests' waits).
fn through(lost_at: f64, dark: &[(f64, f64)]) -> f64 {
    let mut wait = 0.0;
    loop {
        let (e, gives_up) = rto_expiry(wait);
        assert!(!gives_up);
        let t = lost_at + e;
        if !dark.iter().any(|&(a, b)| t >= a && t < b) {
            return t;
        }
        wait = e + 1e-6;
    }
}

/// The DB link drops packets for 7 s from T0 = 10.025 s, forwards them for a second, and drops
/// them again for 0.5 s. A retransmission due in the second partition is dropped too and the
/// next one gets through; one due after it was scheduled by both heals and must get through
/// once. Each request's end follows the query, then the reply, through `through`.
/// Would catch: a retransmission delivered twice (a query run twice: reads on the primary), one
/// that goes through the second partition, or one lost for good after it.
#[test]
fn a_retransmission_due_in_a_second_partition_is_dropped_and_the_next_gets_through_once() {
    let _r = Report::start("db.link blackholed twice (7 s, then 0.5 s after a second):");
    let dark = [(10.025, 17.025), (18.025, 18.525)];
    let mut cfg = rto_config(20.0, 60);
    cfg.failures.scheduled = dark
        .iter()
        .map(|&(a, b)| fault(Target::DbLink, FaultKind::Blackhole, at(a), Some(at(b - a))))
        .collect();
    let (r, arr) = run_checked(&cfg);
    let in_dark = |t: f64| dark.iter().any(|&(a, b)| t >= a && t < b);
    let (mut expected, mut ended, mut dropped_twice) = (0.0, 0u64, 0u64);
    for &(a, _) in &arr {
        let mut t = secs(a);
        if in_dark(t) {
            let q = through(t, &dark);
            dropped_twice += u64::from(q > dark[1].0 && through(t, &dark[..1]) < q);
            t = q;
        }
        t += READ;
        if in_dark(t) {
            t = through(t, &dark);
        }
        if t < 60.0 {
            ended += 1;
            expected += t - secs(a);
        }
    }
    log(format!(
        "  retransmissions dropped by the second partition {dropped_twice}; time in system \
         {:.3} s (expected {expected:.3} s)",
        total_sojourn(&r)
    ));
    assert!(dropped_twice > 0);
    assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
    assert_eq!(r.requests.completed, ended);
    // Each query ran once: a duplicate delivery would run it a second time.
    assert_eq!(
        r.database[0].reads,
        arr.len() as u64 - r.requests.in_flight_end
    );
    check_sojourn("two partitions", &r, expected);
}

/// The DB link drops packets for 7 s from T0 = 10.025 s; the primary's host stops answering
/// at 11.025 s and is back at 13.025 s; Gunicorn's worker timeout is 20 s. A reply dropped at
/// T0 (a query that ran across it) was the node's to retransmit: the restarted host has no
/// such connection and sends nothing, and the client, with nothing of its own unacknowledged,
/// is told nothing: it waits for the worker timeout (502, 20 s after its arrival). Queries
/// lost on the link before the restart are reset at their first retransmission after the heal
/// (500); those lost after it get through.
/// Would catch: a lost reply reset (or delivered) as if the restarted host still knew it.
#[test]
fn a_reply_lost_in_a_partition_dies_with_its_hosts_restart() {
    let _r = Report::start("db.link blackhole of 7 s, primary silent for 2 s inside it:");
    let (t0, heal) = (at(10.025), at(17.025));
    let (down, back) = (at(11.025), at(13.025));
    let mut cfg = rto_config(20.0, 60);
    cfg.servers[0].app_timeout = Some(SimTime::from_secs(20));
    cfg.failures.scheduled = vec![
        fault(Target::DbLink, FaultKind::Blackhole, t0, Some(heal - t0)),
        fault(Target::DbNode(0), FaultKind::Down, down, Some(back - down)),
    ];
    let (r, arr) = run_checked(&cfg);
    let (mut held, mut reset, mut expected, mut ended) = (0u64, 0u64, 0.0, 0u64);
    for &(a, _) in &arr {
        let a = secs(a);
        let end = if a < secs(t0) && a + READ >= secs(t0) {
            held += 1;
            a + 20.0
        } else if a >= secs(t0) && a < secs(heal) {
            let (e, gives_up) = rto_expiry(secs(heal) - a);
            assert!(!gives_up);
            if a < secs(back) {
                reset += 1;
                a + e
            } else {
                a + e + READ
            }
        } else {
            a + READ
        };
        if end < 60.0 {
            ended += 1;
            expected += end - a;
        }
    }
    log(format!(
        "  replies lost at T0: {} app_worker_timeout_502 (expected {held}); queries lost before \
         the restart: {} db_node_down_500 (expected {reset})",
        errors(&r, "app_worker_timeout_502"),
        errors(&r, "db_node_down_500")
    ));
    assert_eq!(held, 2);
    assert_eq!(errors(&r, "app_worker_timeout_502"), held);
    assert_eq!(errors(&r, "db_node_down_500"), reset);
    assert_eq!(r.requests.failed, held + reset, "{:?}", nonzero(&r));
    assert_eq!(r.requests.completed + r.requests.failed, ended);
    check_sojourn("reply lost, host restarted", &r, expected);
}

/// The DB link drops packets from 10.5 s for good and server 0's application hangs (`down`)
/// from 12.5 s for good; no timeout anywhere. The queries lost before the hang (sent at 11 and
/// 12 s) are given up by the kernel 924.6 s later, but the application that would read the
/// error and answer 500 is hung: nothing reaches the client, and they are still in flight at
/// the end (1,000 s), like everything that arrived after the hang.
/// Would catch: a hung application answering 500 ("Lost connection") when TCP gives up.
#[test]
fn a_hung_application_answers_nothing_when_tcp_gives_up() {
    let _r = Report::start("db.link blackhole for good, the application hung 2 s later:");
    let mut cfg = rto_config(1.0, 1000);
    // The hung application's backlog holds every later arrival.
    cfg.servers[0].app_queue = 100_000;
    cfg.failures.scheduled = vec![
        fault(Target::DbLink, FaultKind::Blackhole, at(10.5), None),
        fault(Target::App(0), FaultKind::Down, at(12.5), None),
    ];
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let arr = arrivals(&cfg, 0);
    let before = arr.iter().filter(|(a, _)| secs(*a) < 10.5).count() as u64;
    log(format!(
        "  db_timeout_500 {} (expected 0), failed {}, still in flight {}",
        errors(&r, "db_timeout_500"),
        r.requests.failed,
        r.requests.in_flight_end
    ));
    assert_eq!(errors(&r, "db_timeout_500"), 0, "{:?}", nonzero(&r));
    assert_eq!(r.requests.completed, before);
    assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
    check_sojourn("hung application", &r, READ * before as f64);
}

/// Semi-sync as in [`semi_config`] (the only replica crashes at 20.005 s; commits from c1 wait
/// for the 10 s timeout), and the DB link drops packets from c1 + 9.5 s for 3 s, across the
/// switch to asynchronous replication. A stalled commit's OK leaves at the switch (c1 + 10 s),
/// into the partition: it is lost and retransmitted by the primary's kernel, and gets through
/// at its first retransmission after the heal. A commit sent in the partition is a lost query
/// (it returns at once once delivered: replication is asynchronous by then).
/// Would catch: a commit's OK delivered through a blackholed link because it left after the
/// semi-sync wait (no network delay: it never crosses `on_db_reply`).
#[test]
fn a_stalled_commits_ok_sent_into_a_partition_is_retransmitted() {
    let _r = Report::start("semi-sync stall, db.link blackholed across the switch to async:");
    let rtt = SimTime::from_millis(2);
    let mut cfg = semi_config(100_000);
    cfg.servers[0].proxy_read_timeout = SimTime::from_secs(3600);
    cfg.servers[0].app_timeout = None;
    cfg.lb.timeout_server = Some(SimTime::from_secs(3600));
    let arr = arrivals(&cfg, 0);
    let c1 = arr
        .iter()
        .map(|(t, _)| *t)
        .find(|&t| t + SimTime::from_millis(1) > SEMI_T0)
        .unwrap();
    let release = c1 + SimTime::from_secs(10);
    let dark = c1 + SimTime::from_millis(9_500) + SimTime::from_micros(8_333);
    let heal = dark + SimTime::from_secs(3);
    let back = SEMI_T0 + SimTime::from_secs(20);
    assert!(heal < back);
    assert!(arr.iter().all(|(t, _)| ![release, dark, heal].contains(t)));
    cfg.failures.scheduled.push(fault(
        Target::DbLink,
        FaultKind::Blackhole,
        dark,
        Some(heal - dark),
    ));
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    check_rebuilt(&r, &arr);
    let (e_ok, _) = rto_expiry(secs(heal - release));
    let expected: f64 = arr
        .iter()
        .map(|&(t, _)| {
            if t < c1 || t > back + SimTime::from_millis(1) {
                secs(rtt)
            } else if t < dark {
                secs(release - t) + e_ok
            } else if t < heal {
                rto_expiry(secs(heal - t)).0
            } else {
                0.0
            }
        })
        .sum();
    log(format!(
        "  OKs of the stalled commits leave at the switch into the partition and get through \
         {e_ok:.1} s later; time in system {:.3} s (expected {expected:.3} s)",
        total_sojourn(&r)
    ));
    assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
    assert_eq!(r.failover.semi_sync_fallbacks, 1);
    check_sojourn("semi-sync OK into a partition", &r, expected);
}

/// Semi-sync with its replica up (each commit acknowledged 2 ms after it), writes of exactly
/// 90 ms, and the DB link dropping packets for 7 s from T = 20.0083 s. A commit that ends in
/// the partition waits for its acknowledgement first: its OK leaves 2 ms later, into the
/// partition, and the primary's kernel retransmits it from then on. A commit sent in the
/// partition is a lost query: delivered at its first retransmission after the heal, then 90 ms
/// of work and the 2 ms wait.
/// Would catch: an OK dropped at the commit, before the acknowledgement it waits for, whose
/// retransmission then skips that wait.
#[test]
fn a_commits_ok_is_lost_when_it_leaves_after_its_acknowledgement() {
    let _r = Report::start("semi-sync commits of 90 ms, db.link blackholed for 7 s:");
    let ack = 0.002;
    let mut cfg = semi_config(100_000);
    cfg.database.write_time = Dist::det(READ).unwrap();
    cfg.servers[0].proxy_read_timeout = SimTime::from_secs(3600);
    cfg.servers[0].app_timeout = None;
    cfg.lb.timeout_server = Some(SimTime::from_secs(3600));
    let (dark, heal) = (20.008_3, 27.008_3);
    cfg.failures.scheduled = vec![fault(
        Target::DbLink,
        FaultKind::Blackhole,
        at(dark),
        Some(at(heal - dark)),
    )];
    let (r, arr) = run_checked(&cfg);
    let (mut expected, mut ended, mut oks) = (0.0, 0u64, 0u64);
    for &(a, _) in &arr {
        let a = secs(a);
        let end = if a >= dark && a < heal {
            a + rto_expiry(heal - a).0 + READ + ack
        } else if a + READ + ack >= dark && a + READ + ack < heal {
            oks += 1;
            let sent = a + READ + ack;
            sent + rto_expiry(heal - sent).0
        } else {
            a + READ + ack
        };
        if end < 60.0 {
            ended += 1;
            expected += end - a;
        }
    }
    log(format!(
        "  OKs lost after their acknowledgement {oks}; time in system {:.3} s (expected \
         {expected:.3} s)",
        total_sojourn(&r)
    ));
    assert!(oks >= 5);
    assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
    assert_eq!(r.requests.completed, ended);
    check_sojourn("semi-sync OK after its ack", &r, expected);
}

/// The primary's host stops answering at T0 = 10.025 s (for 20 s), and from 13.025 s the DB
/// link rejects (`crash`: REJECT with tcp-reset) for good; Gunicorn's worker timeout is 30 s.
/// A query sent to the silent host is retransmitted by the application's kernel: its first
/// retransmission after the REJECT starts gets a reset from the firewall (500
/// `db_unreachable`), long before the host returns. A query the host had received before it
/// went silent sends nothing the firewall could answer: it waits for the worker timeout. Later
/// queries are rejected at once.
/// Would catch: lost queries that only a heal or the node's return retransmits, so a REJECT
/// that starts meanwhile leaves them waiting.
#[test]
fn a_rejecting_link_resets_queries_retransmitted_to_a_silent_host() {
    let _r = Report::start("silent primary, then the db.link rejects, worker timeout 30 s:");
    let (t0, reject) = (at(10.025), at(13.025));
    let mut cfg = rto_config(20.0, 60);
    cfg.servers[0].app_timeout = Some(SimTime::from_secs(30));
    cfg.failures.scheduled = vec![
        fault(
            Target::DbNode(0),
            FaultKind::Down,
            t0,
            Some(SimTime::from_secs(20)),
        ),
        fault(Target::DbLink, FaultKind::Crash, reject, None),
    ];
    let (r, arr) = run_checked(&cfg);
    let (mut held, mut reset, mut expected) = (0u64, 0u64, 0.0);
    for &(a, _) in &arr {
        let a = secs(a);
        if a < secs(t0) && a + READ > secs(t0) {
            held += 1;
            expected += 30.0;
        } else if a >= secs(t0) && a < secs(reject) {
            reset += 1;
            let (e, gives_up) = rto_expiry(secs(reject) - a);
            assert!(!gives_up);
            expected += e;
        } else if a < secs(t0) {
            expected += READ;
        }
    }
    let rejected = arr.iter().filter(|(a, _)| *a >= reject).count() as u64 + reset;
    log(format!(
        "  received before T0: {} app_worker_timeout_502 (expected {held}); db_unreachable_500 \
         {} (expected {rejected}, {reset} of them at a retransmission)",
        errors(&r, "app_worker_timeout_502"),
        errors(&r, "db_unreachable_500")
    ));
    assert_eq!(errors(&r, "app_worker_timeout_502"), held);
    assert_eq!(errors(&r, "db_unreachable_500"), rejected);
    assert_eq!(r.requests.failed, held + rejected, "{:?}", nonzero(&r));
    assert_eq!(r.requests.in_flight_end, 0);
    check_sojourn("silent host behind a rejecting link", &r, expected);
}

// ---- 6. Semi-sync losing its last replica (domain.md §4.3) ----------------------------------

const SEMI_T0: SimTime = SimTime(20_005_000_000);

/// One primary, one semi-sync replica, 60 writes/s (one write per request, zero service time),
/// replication delay exactly 1 ms each way (so a commit is acknowledged 2 ms after it); the
/// replica crashes at T0 = 20.005 s for 20 s. `rpl_semi_sync_source_timeout` 10 s.
fn semi_config(workers: u32) -> Config {
    let mut cfg = common::stack(60.0, 1, 1, 0, 1, 60);
    cfg.servers[0].app_workers = workers;
    cfg.database.replication.delay = Dist::det(0.001).unwrap();
    cfg.failures.db_failover.semi_sync = true;
    cfg.failures.scheduled = vec![fault(
        Target::DbNode(1),
        FaultKind::Crash,
        SEMI_T0,
        Some(SimTime::from_secs(20)),
    )];
    cfg
}

/// MySQL (`semisync_source.cc`, `commitTrx` / `switch_off`): every session that commits while
/// semi-sync is on waits for an acknowledgement, each up to its own deadline; the first wait
/// to time out switches semi-sync off and wakes every waiter at once. So each commit from the
/// first unacknowledged one, c1 (the first whose events reach the replica after it died,
/// c1 > T0 - 1 ms), to c1 + 10 s returns at c1 + 10 s exactly; later commits return at once
/// (asynchronous), until the replica is back and acknowledges the primary's latest commit
/// (MySQL `try_switch_on`): it reconnects at the repair and acknowledges what it holds 1 ms
/// later, and commits wait 2 ms again. One fallback; `semi_sync_stalled_commits` = the
/// commits waiting at the switch: all 600 of the window with unlimited app workers, 16 with 16
/// workers (each waiter holds its worker: the others wait in the backlog, and are answered at
/// c1 + 10 s as well). Either way the time in system is the same, computed here per arrival.
/// Would catch: the old behaviour (only the first commit waits 10 s, the others switch to
/// async at once), waiters released one by one at their own deadlines, no return to semi-sync,
/// or waiters that do not hold their worker (stalled commits 600 with 16 workers).
#[test]
fn semi_sync_losing_its_last_replica_stalls_every_commit_for_the_timeout() {
    let _r = Report::start("semi-sync, the only replica crashes (60 writes/s, timeout 10 s):");
    let timeout = SimTime::from_secs(10);
    let rtt = SimTime::from_millis(2);
    for workers in [100_000, 16] {
        let cfg = semi_config(workers);
        for r in replicate(&cfg, 2) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let c1 = arr
                .iter()
                .map(|(t, _)| *t)
                .find(|&t| t + SimTime::from_millis(1) > SEMI_T0)
                .unwrap();
            let release = c1 + timeout;
            assert!(
                arr.iter().all(|(t, _)| *t != release),
                "a commit at the switch"
            );
            let window = count_in(&arr, c1, release);
            let back = SEMI_T0 + SimTime::from_secs(20);
            // Time in system, arrival by arrival.
            let expected: f64 = arr
                .iter()
                .map(|&(t, _)| {
                    if t < c1 || t > back + SimTime::from_millis(1) {
                        secs(rtt)
                    } else if t < release {
                        secs(release - t)
                    } else {
                        0.0
                    }
                })
                .sum();
            assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
            assert_eq!(r.failover.semi_sync_fallbacks, 1);
            let stalled = r.failover.semi_sync_stalled_commits;
            assert_eq!(stalled, window.min(workers as u64), "run {}", r.run);
            assert_eq!(r.failover.lost_transactions, 0);
            let timeout_log = log_entries(&r, "semi-sync timeout");
            assert_eq!(timeout_log.len(), 1, "{:?}", r.event_log);
            assert!((timeout_log[0].t - secs(release)).abs() < EPS);
            // The repaired replica reconnects and acknowledges what it holds (it missed
            // nothing: its relay log is assumed refilled), 1 ms later.
            let resumed = log_entries(&r, "semi-sync resumed");
            assert_eq!(resumed.len(), 1, "{:?}", r.event_log);
            assert!(
                (resumed[0].t - secs(back + SimTime::from_millis(1))).abs() < EPS,
                "{}",
                resumed[0].t
            );
            check_sojourn("semi-sync", &r, expected);
            if r.run == 0 {
                log(format!(
                    "  {workers} app workers: first unacknowledged commit +{:.4} s after the \
                     crash, all released at +{:.4} s; stalled commits {stalled} (commits in the \
                     window {window}); resumed at {:.4} s (first commit after the repair + 2 ms); \
                     p99 latency {:.3} s, max {:.3} s",
                    secs(c1 - SEMI_T0),
                    secs(release - SEMI_T0),
                    resumed[0].t,
                    r.latency.p99,
                    r.latency.max
                ));
            }
        }
    }
}

// ---- 7. All servers DOWN: the backend queue is emptied at once ------------------------------

/// 2 servers with maxconn 1, `timeout queue 100s`, 10 req/s; the first two requests take the
/// two slots for good (1000 s of work), so every later one waits in the backend queue. Both
/// hosts go silent at T0 = 5.05 s (what they hold hangs: no `timeout server`). When the last
/// server is marked DOWN, HAProxy has no server left (`tot_wact` = `tot_wbck` = 0) and wakes
/// every queued request, which gets a 503 at once (src/queue.c `pendconn_redistribute`), not
/// `timeout queue` after it was queued; later arrivals get their 503 on arrival. The first
/// server marked DOWN changes nothing for the queue (the other is still UP). Each queued
/// request's time in system is therefore exactly (last DOWN - arrival).
/// Would catch: queued requests left to `timeout queue` (queue_timeout_503), a purge at the
/// first server marked DOWN, or a purge at any other instant (time in system).
#[test]
fn all_servers_down_empties_the_backend_queue_at_once() {
    let _r = Report::start("both servers down, requests waiting in the backend queue:");
    let mut cfg = common::stack(10.0, 2, 0, 0, 0, 40);
    cfg.workload.mix[0].app = Dist::det(1000.0).unwrap();
    cfg.lb.timeout_queue = SimTime::from_secs(100);
    for s in &mut cfg.servers {
        s.maxconn = 1;
    }
    let t0 = SimTime::from_millis(5050);
    cfg.failures.scheduled = (0..2)
        .map(|i| fault(Target::Server(i), FaultKind::Down, t0, None))
        .collect();
    for r in replicate(&cfg, 4) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let first = log_time(&r, "server marked DOWN", "web-01");
        let second = log_time(&r, "server marked DOWN", "web-02");
        let last = first.max(second);
        assert!(
            (first - second).abs() > 0.1,
            "the two are marked DOWN apart"
        );
        let queued: f64 = arr[2..]
            .iter()
            .map(|(t, _)| (last - secs(*t)).max(0.0))
            .sum();
        assert_eq!(
            errors(&r, "no_server_503"),
            arr.len() as u64 - 2,
            "{:?}",
            nonzero(&r)
        );
        assert_eq!(r.requests.failed, arr.len() as u64 - 2, "{:?}", nonzero(&r));
        assert_eq!(r.requests.in_flight_end, 2);
        check_sojourn("queue purge", &r, queued);
        log(format!(
            "  run {}: marked DOWN at {first:.3} s and {second:.3} s; no_server_503 {} (every \
             queued request at {last:.3} s, then every arrival), queue_timeout_503 {}",
            r.run,
            errors(&r, "no_server_503"),
            errors(&r, "queue_timeout_503")
        ));
    }
}

// ---- 8. A server fault is recovered when users are served again -----------------------------

/// web-01's host fails at T0 = 20.012 s for 63 s (issue 10's example), default checks. With
/// web-02 to take over, users stop feeling it when web-01 is marked DOWN (recovered =
/// detected: 4-6 s for a crash, 10-12 s for a silent host). With web-01 alone, nothing takes
/// over: recovered when it is marked UP again, `rise` checks after the repair: 63 s + (2-4 s
/// for a crash: U(0, downinter] + (rise - 1) x fastinter; 2-6 s for a silent host, whose
/// last failing check may still be waiting on its timeout), not the detection time.
/// Would catch: a single server's fault recovered at its detection (issue 10: "5.1 s" for a
/// 63 s outage), or a pair's recovered at the repair.
#[test]
fn server_fault_is_recovered_when_users_are_served_again() {
    let _r = Report::start("recovered_s of a server fault (63 s outage):");
    let t0 = SimTime::from_millis(20_012);
    let d = SimTime::from_secs(63);
    for (servers, kind) in [
        (2, FaultKind::Crash),
        (2, FaultKind::Down),
        (1, FaultKind::Crash),
        (1, FaultKind::Down),
    ] {
        let mut cfg = common::stack(10.0, servers, 0, 0, 0, 120);
        cfg.failures.scheduled = vec![fault(Target::Server(0), kind, t0, Some(d))];
        let detect_lo = if kind == FaultKind::Crash { 4.0 } else { 10.0 };
        for r in replicate(&cfg, 4) {
            let f = &r.faults[0];
            let ttd = f.time_to_detect_s.unwrap();
            assert!(
                (detect_lo - EPS..=detect_lo + 2.0 + EPS).contains(&ttd),
                "{ttd}"
            );
            let ttr = f.time_to_recover_s.expect("recovered");
            if servers == 2 {
                assert!((ttr - ttd).abs() < EPS, "run {}: {ttr} vs {ttd}", r.run);
            } else {
                let up = log_time(&r, "server marked UP", "web-01");
                assert!((f.recovered_s.unwrap() - up).abs() < EPS);
                let after = up - secs(t0 + d);
                // Crash: checks are answered at once, one every downinter while DOWN. Silent: a
                // check that started before the repair fails after its timeout (2 s), so the
                // cycle is 4 s.
                let width = if kind == FaultKind::Crash { 2.0 } else { 4.0 };
                assert!(
                    (2.0 - EPS..=2.0 + width + EPS).contains(&after),
                    "run {}: marked UP {after} s after the repair",
                    r.run
                );
            }
            if r.run == 0 {
                log(format!(
                    "  {servers} server(s), {}: detected +{ttd:.3} s, recovered +{ttr:.3} s",
                    kind.name()
                ));
            }
        }
    }
}

/// A second fault that starts while the part is already failed, detected and routed around
/// (web-01's host goes silent while its crashed processes are still down; a replica crashes
/// again, as `down`, while the first crash keeps it out of the read pool) gives the watchers
/// nothing new to see: HAProxy holds the server DOWN, the monitor the replica out of the pool.
/// It is detected as it starts, and recovered then when the earlier fault was (with web-02 to
/// take over; the replica's readers went to the primary), or with the earlier fault when
/// nothing took over (one server: when it is marked UP again after both repairs). Would catch:
/// the later fault reported as never detected and recovered only at its own repair (issue:
/// `time_to_recover_s` = its whole 10 s though no user felt it).
#[test]
fn a_fault_overlapping_a_handled_one_is_detected_and_recovered_at_its_start() {
    let _r = Report::start("a second fault on a part already failed and handled:");
    let t0 = SimTime::from_millis(20_012);
    let first = SimTime::from_secs(63);
    // Both crash detections are over by then: servers U(0, 2] + 4 s, the replica after
    // poll_count = 2 polls 5 s apart (at most 10 s).
    let later = t0 + SimTime::from_secs(30);
    let second = SimTime::from_secs(10);
    for (servers, target) in [
        (2, Target::Server(0)),
        (1, Target::Server(0)),
        (2, Target::DbNode(1)),
    ] {
        let mut cfg = common::stack(10.0, servers, 1, 1, 0, 120);
        cfg.failures.scheduled = vec![
            fault(target, FaultKind::Crash, t0, Some(first)),
            fault(target, FaultKind::Down, later, Some(second)),
        ];
        for r in replicate(&cfg, 4) {
            let (a, b) = (&r.faults[0], &r.faults[1]);
            assert!(a.detected_s.unwrap() < secs(later), "run {}: {a:?}", r.run);
            assert!(
                (b.detected_s.expect("detected") - secs(later)).abs() < EPS,
                "run {}: {b:?}",
                r.run
            );
            let recovered = b.recovered_s.expect("recovered");
            if servers == 1 {
                // Nobody takes over: both are over when web-01 is marked UP after the repairs.
                let up = log_time(&r, "server marked UP", "web-01");
                assert!((recovered - up).abs() < EPS, "run {}: {b:?}", r.run);
                assert!((a.recovered_s.unwrap() - up).abs() < EPS);
            } else {
                assert!(
                    (recovered - secs(later)).abs() < EPS,
                    "run {}: {b:?}",
                    r.run
                );
            }
            if r.run == 0 {
                log(format!(
                    "  {} ({servers} server(s)): first detected +{:.3} s; second detected \
                     +{:.3} s, recovered +{:.3} s",
                    a.component,
                    a.time_to_detect_s.unwrap(),
                    b.time_to_detect_s.unwrap(),
                    b.time_to_recover_s.unwrap()
                ));
            }
        }
    }
}

/// Both servers crash for good at the same instant: nobody is ever served again, so neither
/// fault is recovered, though both are detected. The first one marked DOWN must not count as
/// "routed around" because the other is still marked UP: that one is dead too (issue 10:
/// the summary said "1.1 s" when every server is down for good).
#[test]

fn all_servers_dead_for_good_is_never_recovered() {
    let _r = Report::start("recovered_s when every server dies for good:");
    let mut cfg = common::stack(10.0, 2, 0, 0, 0, 60);
    cfg.failures.scheduled = (0..2)
        .map(|i| {
            fault(
                Target::Server(i),
                FaultKind::Crash,
                SimTime::from_millis(20_012),
                None,
            )
        })
        .collect();
    for r in replicate(&cfg, 2) {
        for f in &r.faults {
            log(format!(
                "  run {}: {} detected +{:.3} s, recovered {:?}",
                r.run,
                f.component,
                f.time_to_detect_s.unwrap(),
                f.time_to_recover_s
            ));
        }
        for f in &r.faults {
            assert!(f.detected_s.is_some());
            assert_eq!(f.recovered_s, None, "run {}: {f:?}", r.run);
        }
    }
}

// ---- 9. orchestrator: promotion without the relay log, silent primary (domain.md §4.4) -----

/// Writes at 50/s (Poisson), reads on the replica, 1 ms writes, replication delay 2 s and a
/// replica applier 60x slower than the primary: the replica's relay log is far behind when the
/// primary crashes at T0 = 20.005 s for good. Monitor: polls every 5 s, 2 failed polls;
/// promotion takes 1 s.
fn orchestrator_config(kind: FaultKind) -> Config {
    let mut cfg = common::stack(50.0, 2, 1, 1, 1, 90);
    cfg.workload.arrival = ArrivalKind::Poisson;
    cfg.database.write_time = Dist::det(0.001).unwrap();
    cfg.database.replication.delay = Dist::det(2.0).unwrap();
    cfg.database.replication.apply_factor = 60.0;
    cfg.failures.db_failover.promotion = Dist::det(1.0).unwrap();
    cfg.failures.scheduled = vec![fault(
        Target::DbPrimary,
        kind,
        SimTime::from_millis(20_005),
        None,
    )];
    cfg
}

/// By default orchestrator does not wait for the relay log (`DelayMasterPromotionIfSQLThread
/// NotUpToDate` false): the promoted replica takes writes at detection + promotion time (1 s)
/// exactly, though it still has thousands of transactions to apply (tests/failures.rs
/// shows the drain with the option on). A crashed primary resets its replicas' connections,
/// so they agree at once and detection takes 2 failed polls: (5, 10] s after the crash.
/// Would catch: a promotion that waits for the relay log by default (writes resume tens of
/// seconds later), or a crash detected only after `replica_net_timeout`.
#[test]
fn orchestrator_promotes_without_waiting_for_the_relay_log() {
    let _r = Report::start("orchestrator defaults, primary crash with a relay-log backlog:");
    let cfg = orchestrator_config(FaultKind::Crash);
    assert!(!cfg.failures.db_failover.wait_for_apply);
    let t0 = SimTime::from_millis(20_005);
    for r in replicate(&cfg, 4) {
        let det = log_entries(&r, "primary failure detected")[0].t;
        let prom = log_entries(&r, "promoted to primary");
        assert_eq!(prom.len(), 1, "{:?}", r.event_log);
        let prom = prom[0].t;
        let ttd = det - secs(t0);
        assert!(
            (5.0 - EPS..=10.0 + EPS).contains(&ttd),
            "run {}: {ttd}",
            r.run
        );
        assert!(
            (prom - det - 1.0).abs() < EPS,
            "run {}: promoted {prom}, detected {det}",
            r.run
        );
        assert!((r.failover.write_unavailable_s - (prom - secs(t0))).abs() < EPS);
        let backlog = r
            .replication
            .iter()
            .find(|x| x.name == "db-replica-1")
            .map(|x| x.transactions_applied);
        let started = log_entries(&r, "promotion started")[0].detail.clone();
        assert!(!started.contains("applied first"), "{started}");
        let arr = arrivals(&cfg, r.run);
        assert_eq!(
            errors(&r, "no_primary_500"),
            count_in(&arr, t0, at(prom)),
            "run {}: every write of [crash, promotion) fails",
            r.run
        );
        log(format!(
            "  run {}: detected +{ttd:.3} s, promoted +{:.3} s (detection + 1 s); {started}; \
             replica applied {backlog:?}; stale reads {}",
            r.run,
            prom - secs(t0),
            r.failover.stale_reads
        ));
    }
}

/// A primary that goes silent (`down`) does not reset its replicas' connections: they notice
/// only after `replica_net_timeout` (60 s) without events or heartbeats, and orchestrator's
/// DeadMaster needs them to agree. Detection = the first poll at or after T0 + 60 s (the
/// primary has failed every poll since T0): T0 + 60 + U(0, 5] s; promotion 1 s later.
/// Would catch: a silent primary detected after the polls alone (5-10 s), or a phase that is
/// not the poll's.
#[test]
fn orchestrator_silent_primary_waits_for_replica_net_timeout() {
    const R: u64 = 30;
    let _r = Report::start(format!("orchestrator, silent primary ({R} replications):"));
    let mut cfg = orchestrator_config(FaultKind::Down);
    cfg.workload.rate = 5.0;
    cfg.duration = SimTime::from_secs(100);
    let t0 = SimTime::from_millis(20_005);
    let net = secs(cfg.failures.db_failover.replica_net_timeout);
    assert_eq!(net, 60.0);
    let mut xs = vec![];
    for r in replicate(&cfg, R) {
        let det = log_entries(&r, "primary failure detected");
        assert_eq!(det.len(), 1, "{:?}", r.event_log);
        let ttd = det[0].t - secs(t0);
        assert!(
            (net - EPS..=net + 5.0 + EPS).contains(&ttd),
            "run {}: {ttd}",
            r.run
        );
        let prom = log_entries(&r, "promoted to primary")[0].t;
        assert!((prom - det[0].t - 1.0).abs() < EPS);
        xs.push(ttd - net);
    }
    check_uniform_mean("detection - replica_net_timeout", &xs, 0.0, 5.0);
}

/// While the silent primary is not yet replaced, the application's writes go to it over
/// their open connections and get no answer: each blocks its worker until the MySQL client's
/// read timeout (2 s here) and fails with a 500 (`db_timeout_500`) 2 s after it was sent; none
/// fails at once, since nothing tells the application the primary is gone (issue 10: "a query
/// to an unanswering primary ... blocks its app worker until the timeout").
#[test]

fn writes_to_a_silent_primary_wait_for_the_read_timeout() {
    let _r = Report::start("writes to a silent primary before the promotion:");
    let mut cfg = orchestrator_config(FaultKind::Down);
    cfg.workload.rate = 5.0;
    cfg.duration = SimTime::from_secs(100);
    cfg.database.client.read_timeout = Some(SimTime::from_secs(2));
    let t0 = SimTime::from_millis(20_005);
    for r in replicate(&cfg, 2) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let prom = at(log_entries(&r, "promoted to primary")[0].t);
        // Arrivals of [T0, promotion) send their write (after their read on the replica,
        // which takes no time) to the silent primary.
        let blocked = count_in(&arr, t0, prom);
        log(format!(
            "  run {}: writes sent before the promotion {blocked}: db_timeout_500 {}, \
             no_primary_500 {}",
            r.run,
            errors(&r, "db_timeout_500"),
            errors(&r, "no_primary_500")
        ));
        assert_eq!(errors(&r, "no_primary_500"), 0, "run {}", r.run);
        assert_eq!(errors(&r, "db_timeout_500"), blocked, "run {}", r.run);
    }
}

// ---- replays of the queues and loss systems the mechanisms form ------------------------------

/// A loss system: requests arrive at `t` wanting `size` units of a capacity `cap` for `hold`;
/// refused when the units in use plus `size` exceed `cap`. Returns which were accepted.
/// (Continuous random times: no two events coincide.)
fn loss_replay(reqs: &[(SimTime, u32, SimTime)], cap: u32) -> Vec<bool> {
    let mut order: Vec<usize> = (0..reqs.len()).collect();
    order.sort_by_key(|&i| reqs[i].0);
    let mut ends: BinaryHeap<Reverse<(SimTime, u32)>> = BinaryHeap::new();
    let mut used = 0u32;
    let mut accepted = vec![false; reqs.len()];
    for i in order {
        let (t, size, hold) = reqs[i];
        while let Some(&Reverse((end, s))) = ends.peek() {
            if end > t {
                break;
            }
            ends.pop();
            used -= s;
        }
        if used + size <= cap {
            used += size;
            ends.push(Reverse((t + hold, size)));
            accepted[i] = true;
        }
    }
    accepted
}

/// What happened to a request at the application server.
#[derive(Clone, Copy, Debug, PartialEq)]
enum AppOutcome {
    /// Answered at this time.
    Done(SimTime),
    /// Its worker was killed by the app server's timeout at this time (502).
    WorkerTimeout(SimTime),
    /// Unix socket, backlog full: 502 at once.
    BacklogFull(SimTime),
    /// TCP, no SYN got into the backlog before `proxy_connect_timeout`: 504 then.
    ConnectTimeout(SimTime),
}

/// An application server as the real software behaves: `workers` sync workers, each serving
/// one request at a time; a listen backlog of `backlog` connections (FIFO); Gunicorn's worker
/// timeout `worker_timeout` kills a worker busy longer (502 at that time, the worker is
/// replaced at once); a connect to a full backlog fails at once over a unix socket, and over
/// TCP the kernel drops the SYN: Nginx's SYN is retransmitted 1, 3, 7, ... s after the first
/// and gets in if the backlog has room then, until `proxy_connect_timeout` (504; no SYN leaves
/// at the timeout itself). Requests reach Nginx at their arrival time (zero LB and Nginx work).
struct AppReplay {
    workers: u32,
    backlog: usize,
    worker_timeout: Option<SimTime>,
    /// None: unix socket.
    tcp_connect_timeout: Option<SimTime>,
    /// Also try the backlog at the connect timeout instant (not what TCP does: only to show
    /// what a model doing so would give).
    try_at_timeout: bool,
}

impl AppReplay {
    fn run(&self, reqs: &[(SimTime, SimTime)]) -> Vec<AppOutcome> {
        // (time, kind: 0 = a worker frees, 1 = a connection attempt, id, SYNs sent)
        let mut ev: BinaryHeap<Reverse<(SimTime, u8, usize, u32)>> = BinaryHeap::new();
        for (i, &(a, _)) in reqs.iter().enumerate() {
            ev.push(Reverse((a, 1, i, 1)));
        }
        let mut out: Vec<Option<AppOutcome>> = vec![None; reqs.len()];
        let mut busy = 0u32;
        let mut queue: VecDeque<usize> = VecDeque::new();
        let start = |i: usize,
                     t: SimTime,
                     busy: &mut u32,
                     ev: &mut BinaryHeap<Reverse<(SimTime, u8, usize, u32)>>,
                     out: &mut Vec<Option<AppOutcome>>| {
            *busy += 1;
            let work = reqs[i].1;
            let (end, o) = match self.worker_timeout {
                Some(to) if work > to => (t + to, AppOutcome::WorkerTimeout(t + to)),
                _ => (t + work, AppOutcome::Done(t + work)),
            };
            out[i] = Some(o);
            ev.push(Reverse((end, 0, i, 0)));
        };
        while let Some(Reverse((t, kind, i, syns))) = ev.pop() {
            if kind == 0 {
                busy -= 1;
                if let Some(j) = queue.pop_front() {
                    start(j, t, &mut busy, &mut ev, &mut out);
                }
                continue;
            }
            if busy < self.workers {
                start(i, t, &mut busy, &mut ev, &mut out);
            } else if queue.len() < self.backlog {
                queue.push_back(i);
            } else {
                match self.tcp_connect_timeout {
                    None => out[i] = Some(AppOutcome::BacklogFull(t)),
                    Some(to) => {
                        let a = reqs[i].0;
                        let next = a + SimTime::from_secs((1u64 << syns) - 1);
                        if next < a + to {
                            ev.push(Reverse((next, 1, i, syns + 1)));
                        } else if self.try_at_timeout && t < a + to {
                            ev.push(Reverse((a + to, 1, i, 40)));
                        } else {
                            out[i] = Some(AppOutcome::ConnectTimeout(a + to));
                        }
                    }
                }
            }
        }
        out.into_iter().map(|o| o.unwrap()).collect()
    }
}

/// Counts and total time in system of replayed outcomes up to `end` (later ones are still in
/// flight): (completed, worker timeouts, backlog full, connect timeouts, Σ sojourn).
fn app_tally(
    reqs: &[(SimTime, SimTime)],
    out: &[AppOutcome],
    end: SimTime,
) -> (u64, u64, u64, u64, f64) {
    let mut c = (0, 0, 0, 0, 0.0);
    for (&(a, _), o) in reqs.iter().zip(out) {
        let t = match *o {
            AppOutcome::Done(t) | AppOutcome::WorkerTimeout(t) => t,
            AppOutcome::BacklogFull(t) | AppOutcome::ConnectTimeout(t) => t,
        };
        if t > end {
            continue;
        }
        match o {
            AppOutcome::Done(_) => c.0 += 1,
            AppOutcome::WorkerTimeout(_) => c.1 += 1,
            AppOutcome::BacklogFull(_) => c.2 += 1,
            AppOutcome::ConnectTimeout(_) => c.3 += 1,
        }
        c.4 += secs(t - a);
    }
    c
}

/// Erlang B: blocking probability of c servers offered a Erlangs (domain.md §8 recursion).
fn erlang_b(c: u32, a: f64) -> f64 {
    (1..=c).fold(1.0, |b, k| a * b / (k as f64 + a * b))
}

// ---- 10. MySQL max_connections counts connections -------------------------------------------

/// A per-worker pool (each application worker keeps one connection, opened in worker order,
/// server by server): 2 servers x 4 workers and `max_connections 6` on the primary, so
/// web-02's third and fourth workers never got a connection and every query they run fails
/// ("Too many connections": db_too_many_connections_500), while the other 6 workers never fail.
/// 8 req/s alternate over the servers (4/s each) with 0.95 s of app work then one read: a
/// server's j-th request gets worker j mod 4 (the one freed 50 ms earlier, last in, first out),
/// so exactly the requests j = 2, 3 mod 4 of web-02 fail, each after its 0.95 s of work.
/// Would catch: `max_connections` counting concurrent queries (nothing would fail: queries
/// take no time), pools filled in another order, or a refused query
/// that holds its worker longer.
#[test]
fn max_connections_per_worker_pool() {
    let _r = Report::start("max_connections 6, per-worker pool, 2 x 4 workers:");
    let mut cfg = common::stack(8.0, 2, 0, 1, 0, 60);
    cfg.workload.mix[0].app = Dist::det(0.95).unwrap();
    cfg.database.read_from = ReadPolicy::Primary;
    cfg.database.primary.max_connections = 6;
    for s in &mut cfg.servers {
        s.app_workers = 4;
    }
    assert_eq!(cfg.database.client.pool, DbPool::PerWorker);
    let (r, arr) = run_checked(&cfg);
    let work = SimTime::from_millis(950);
    let reached = |t: SimTime| t + work <= cfg.duration;
    let expected = arr
        .iter()
        .enumerate()
        .filter(|(i, (t, _))| rr_of(*i) == 1 && (i / 2) % 4 >= 2 && reached(*t))
        .count() as u64;
    let finished = arr.iter().filter(|(t, _)| reached(*t)).count() as u64;
    let n = errors(&r, "db_too_many_connections_500");
    log(format!(
        "  db_too_many_connections_500 {n} (expected {expected}: web-02's 3rd and 4th workers, \
         1/4 of {finished}), nothing else fails"
    ));
    assert_eq!(n, expected);
    assert_eq!(r.requests.failed, n, "{:?}", nonzero(&r));
    check_sojourn("per-worker pool", &r, 0.95 * finished as f64);
}

/// A per-request pool (a connection opened at the request's first query, closed when it
/// ends): at most `max_connections` requests hold one at a time; a request finding them all
/// taken fails at once. Poisson 5/s, each request one read of exactly 0.8 s on the primary (64
/// executors: never a queue), `max_connections 4`: an Erlang loss system M/D/4/4 offered 4
/// Erlangs. The refusals are replayed exactly, request by request; their fraction over the
/// replications agrees with Erlang B(4, 4) = 0.3107 (insensitive to the holding time's law)
/// within its 99.9% Student t interval.
/// Would catch: connections counted per query instead of per request, not closed at the
/// request's end, or a refusal that waits.
#[test]
fn max_connections_per_request_pool() {
    const R: u64 = 10;
    let _r = Report::start(format!(
        "max_connections 4, per-request pool, 4 Erlangs ({R} replications):"
    ));
    let hold = SimTime::from_millis(800);
    let mut cfg = common::stack(5.0, 1, 0, 1, 0, 2000);
    cfg.workload.arrival = ArrivalKind::Poisson;
    cfg.database.read_from = ReadPolicy::Primary;
    cfg.database.read_time = Dist::det(secs(hold)).unwrap();
    cfg.database.primary.max_connections = 4;
    cfg.database.client.pool = DbPool::PerRequest;
    let mut fractions = vec![];
    for r in replicate(&cfg, R) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let reqs: Vec<(SimTime, u32, SimTime)> = arr.iter().map(|(t, _)| (*t, 1, hold)).collect();
        let ok = loss_replay(&reqs, 4);
        let refused = ok.iter().filter(|&&x| !x).count() as u64;
        let served: Vec<SimTime> = arr
            .iter()
            .zip(&ok)
            .filter(|(_, ok)| **ok)
            .map(|((t, _), _)| *t)
            .collect();
        let done = served.iter().filter(|&&t| t + hold <= cfg.duration).count() as u64;
        assert_eq!(
            errors(&r, "db_too_many_connections_500"),
            refused,
            "run {}",
            r.run
        );
        assert_eq!(r.requests.failed, refused, "{:?}", nonzero(&r));
        assert_eq!(r.requests.completed, done, "run {}", r.run);
        check_sojourn("per-request pool", &r, secs(hold) * done as f64);
        fractions.push(refused as f64 / arr.len() as f64);
    }
    let e = Est::of(&fractions);
    let b = erlang_b(4, 4.0);
    log(format!(
        "  refused fraction {:.4} ± {:.4} (99.9%), Erlang B(4, 4) = {b:.4}; every refusal \
         matches the replay",
        e.mean,
        e.hw999()
    ));
    assert!((e.mean - b).abs() <= e.hw999(), "{e:?} vs {b}");
}

// ---- 11. Nginx worker_connections counts the upstream connection -----------------------------

/// `worker_connections` (here `nginx_max_conns` = 4) counts every connection of Nginx: a proxied
/// request holds 2 (the client's, from HAProxy, and the upstream one to the app), a static
/// file 1. Beyond it Nginx accepts and closes: HAProxy answers 502 (nginx_refused_502) at once.
/// Poisson 4/s, half "page" (proxied, 0.6 s in the app), half "static" (0.6 s in Nginx, no app
/// stage), 100 Nginx workers and 100 app workers (nothing else limits): a loss system of
/// capacity 4 where a page takes 2 units and a static file 1, replayed request by request. With
/// only static files, no request ever reaches the application (its utilisation is 0) or the
/// database.
/// Would catch: 1 connection per proxied request (far fewer pages refused), 2 per static
/// file, or a static file sent to the application.
#[test]
fn nginx_worker_connections_count_the_upstream_connection() {
    let _r = Report::start("Nginx worker_connections 4: 2 per proxied request, 1 per static file:");
    let hold = SimTime::from_millis(600);
    let mut cfg = common::stack(4.0, 1, 0, 0, 0, 2000);
    cfg.workload.arrival = ArrivalKind::Poisson;
    let page = RequestClass {
        name: "page".into(),
        weight: 1.0,
        nginx: Dist::zero(),
        app: Dist::det(secs(hold)).unwrap(),
        reads: 1,
        writes: 0,
        static_file: false,
    };
    let stat = RequestClass {
        name: "static".into(),
        nginx: Dist::det(secs(hold)).unwrap(),
        app: Dist::zero(),
        reads: 0,
        static_file: true,
        ..page.clone()
    };
    cfg.workload.mix = vec![page, stat];
    let s = &mut cfg.servers[0];
    s.nginx_max_conns = 4;
    s.nginx_workers = 100;
    s.app_workers = 100;
    for r in replicate(&cfg, 4) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let reqs: Vec<(SimTime, u32, SimTime)> = arr
            .iter()
            .map(|(t, w)| (*t, if w.class == 0 { 2 } else { 1 }, hold))
            .collect();
        let ok = loss_replay(&reqs, 4);
        let refused = |class: u16| {
            arr.iter()
                .zip(&ok)
                .filter(|((_, w), ok)| w.class == class && !**ok)
                .count() as u64
        };
        let (rp, rs) = (refused(0), refused(1));
        let done = arr
            .iter()
            .zip(&ok)
            .filter(|((t, _), ok)| **ok && *t + hold <= cfg.duration)
            .count() as u64;
        assert_eq!(errors(&r, "nginx_refused_502"), rp + rs, "run {}", r.run);
        assert_eq!(r.requests.failed, rp + rs, "{:?}", nonzero(&r));
        assert_eq!(r.requests.completed, done);
        check_sojourn("worker_connections", &r, secs(hold) * done as f64);
        if r.run == 0 {
            log(format!(
                "  mixed run 0: refused {rp} pages of {} and {rs} static files of {} (replayed \
                 exactly; 1 connection per request would refuse far fewer pages)",
                arr.iter().filter(|(_, w)| w.class == 0).count(),
                arr.iter().filter(|(_, w)| w.class == 1).count()
            ));
        }
    }
    // Static files only: 4 at a time, and the application is never used.
    let mut cfg = cfg.clone();
    cfg.workload.mix.remove(0);
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let arr = arrivals(&cfg, 0);
    let ok = loss_replay(
        &arr.iter().map(|(t, _)| (*t, 1, hold)).collect::<Vec<_>>(),
        4,
    );
    let refused = ok.iter().filter(|&&x| !x).count() as u64;
    assert_eq!(errors(&r, "nginx_refused_502"), refused);
    assert_eq!(r.servers[0].app_utilisation, 0.0);
    assert_eq!(r.database[0].reads + r.database[0].writes, 0);
    log(format!(
        "  static only: refused {refused} of {} (4 at a time), app utilisation {}",
        arr.len(),
        r.servers[0].app_utilisation
    ));
}

// ---- 12. The application's backlog overflows: unix socket vs TCP (Nginx, Linux) ----------------

/// One server, 1 application worker, a backlog of 2, Poisson 1.6/s, exponential work of mean
/// 0.5 s (offered load 0.8: the backlog is often full), zero LB and Nginx work.
fn backlog_config(upstream: Upstream) -> Config {
    let mut cfg = common::stack(1.6, 1, 0, 0, 0, 2000);
    cfg.workload.arrival = ArrivalKind::Poisson;
    cfg.workload.mix[0].app = Dist::exp(0.5).unwrap();
    let s = &mut cfg.servers[0];
    s.app_workers = 1;
    s.app_queue = 2;
    s.upstream = upstream;
    s.proxy_connect_timeout = SimTime::from_secs(5);
    cfg
}

fn backlog_case(upstream: Upstream) {
    let cfg = backlog_config(upstream);
    let replay = AppReplay {
        workers: 1,
        backlog: 2,
        worker_timeout: None,
        tcp_connect_timeout: (upstream == Upstream::Tcp).then_some(SimTime::from_secs(5)),
        try_at_timeout: false,
    };
    let late = AppReplay {
        try_at_timeout: true,
        ..replay
    };
    for r in replicate(&cfg, 3) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let reqs: Vec<(SimTime, SimTime)> = arr.iter().map(|(t, w)| (*t, w.app)).collect();
        let out = replay.run(&reqs);
        let (done, _, full, timeout, sojourn) = app_tally(&reqs, &out, cfg.duration);
        let (late_done, _, _, late_timeout, _) = app_tally(&reqs, &late.run(&reqs), cfg.duration);
        log(format!(
            "  {upstream:?} run {}: completed {} (replay {done}), app_queue_full_502 {} ({full}), \
             upstream_connect_timeout_504 {} ({timeout}){}",
            r.run,
            r.requests.completed,
            errors(&r, "app_queue_full_502"),
            errors(&r, "upstream_connect_timeout_504"),
            if upstream == Upstream::Tcp {
                format!(
                    "; a replay that also tries at the timeout instant: completed {late_done}, \
                     504 {late_timeout}"
                )
            } else {
                String::new()
            }
        ));
        assert_eq!(errors(&r, "app_queue_full_502"), full, "run {}", r.run);
        assert_eq!(
            errors(&r, "upstream_connect_timeout_504"),
            timeout,
            "run {}",
            r.run
        );
        assert_eq!(r.requests.completed, done, "run {}", r.run);
        assert_eq!(r.requests.failed, full + timeout, "{:?}", nonzero(&r));
        check_sojourn(&format!("{upstream:?} backlog"), &r, sojourn);
    }
}

/// Over a unix socket a connect to a full backlog fails at once (EAGAIN): Nginx answers 502
/// (app_queue_full_502), replayed request by request, each at its arrival.
/// Would catch: a unix socket that waits like TCP, or a backlog of the wrong size.
#[test]
fn full_backlog_over_a_unix_socket_fails_at_once() {
    let _r = Report::start("application backlog full, unix socket:");
    backlog_case(Upstream::Unix);
}

/// Over TCP the kernel drops the SYN of a connection that finds the accept queue full; Nginx's
/// SYN is retransmitted 1 and 3 s after the first and gets in if the backlog has room then;
/// otherwise `proxy_connect_timeout` (5 s) expires and Nginx answers 504
/// (upstream_connect_timeout_504) 5 s after the request reached it. Replayed request by
/// request (when each SYN crosses, who is in the backlog).
#[test]

fn full_backlog_over_tcp_waits_for_syn_retransmissions() {
    let _r = Report::start("application backlog full, TCP:");
    backlog_case(Upstream::Tcp);
}

/// The TCP mechanism where the timeout instant plays no part: 1 worker, a backlog of 1, three
/// requests at 0.1, 0.2 and 0.3 s. With 100 s of work each, the first holds the worker, the
/// second the backlog, and the third's SYNs at 0.3, 1.3 and 3.3 s are all dropped: 504 at
/// exactly 0.3 + 5 s. With 1.5 s of work, the first ends at 1.6 s and the second starts then:
/// the third's SYN at 1.3 s is dropped (backlog full), its SYN at 3.3 s gets in (the worker is
/// free since 3.1 s): served from 3.3 to 4.8 s.
/// Would catch: a TCP overflow answered at once (502), a 504 not at `proxy_connect_timeout`,
/// or a SYN schedule other than 1, 3 s (served at 1.6 s or 2.3 s instead of 3.3 s).
#[test]
fn tcp_backlog_overflow_mechanics() {
    let _r = Report::start("application backlog full over TCP, three requests:");
    // Arrivals at 0.1, 0.2 and 0.3 s only.
    let three = |first_work: f64| {
        let mut cfg = common::stack(10.0, 1, 0, 0, 0, 30);
        cfg.workload.phases = vec![RatePhase {
            at: SimTime::from_millis(350),
            rate: 0.0,
        }];
        let class = cfg.workload.mix[0].clone();
        // Deterministic arrivals draw no class: all three get the same work, so the first
        // request's work is set through the single class and the others wait behind it.
        cfg.workload.mix = vec![RequestClass {
            app: Dist::det(first_work).unwrap(),
            ..class
        }];
        let s = &mut cfg.servers[0];
        s.app_workers = 1;
        s.app_queue = 1;
        s.upstream = Upstream::Tcp;
        s.proxy_connect_timeout = SimTime::from_secs(5);
        cfg
    };
    // Work 100 s: the first holds the worker, the second the backlog, the third never gets in:
    // 504 at 0.3 + 5 s.
    let cfg = three(100.0);
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    assert_eq!(r.requests.arrived, 3);
    assert_eq!(
        errors(&r, "upstream_connect_timeout_504"),
        1,
        "{:?}",
        nonzero(&r)
    );
    assert_eq!(r.requests.in_flight_end, 2);
    check_sojourn("no room", &r, 5.0);
    // Work 1.5 s: the first ends at 1.6 s, the second starts then (until 3.1 s) and the backlog
    // is free: the third's SYN at 0.3 + 1 = 1.3 s is dropped (backlog full until 1.6 s), its
    // SYN at 3.3 s gets in, it starts at 3.3 s (worker free since 3.1 s) and ends at 4.8 s.
    let cfg = three(1.5);
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    assert_eq!(
        (r.requests.completed, r.requests.failed),
        (3, 0),
        "{:?}",
        nonzero(&r)
    );
    check_sojourn("room at the second retransmission", &r, 1.5 + 2.9 + 4.5);
    log(format!(
        "  no room: one 504 after exactly 5 s; room at 1.6 s: the third request gets in with its \
         SYN at +3 s and completes after {:.3} s",
        r.latency.max
    ));
}

// ---- 13. A hung application (`down`): timeouts, L7 detection, restart -------------------------

const HUNG_T0: SimTime = SimTime(20_100_000_000);

/// One server, 4 application workers, a backlog of 8 (unix socket), 6 req/s (every 1/6 s),
/// 0.5 s of application work (3 requests in service at a time, nothing waits), TCP checks (the
/// hang is never detected). The application hangs at T0 = 20.1 s for 20 s, then is restarted.
fn hung_config(proxy_read: SimTime, timeout_server: Option<SimTime>) -> Config {
    let mut cfg = common::stack(6.0, 1, 0, 0, 0, 60);
    cfg.workload.mix[0].app = Dist::det(0.5).unwrap();
    let s = &mut cfg.servers[0];
    s.app_workers = 4;
    s.app_queue = 8;
    s.proxy_read_timeout = proxy_read;
    cfg.lb.timeout_server = timeout_server;
    cfg.failures.scheduled = vec![fault(
        Target::App(0),
        FaultKind::Down,
        HUNG_T0,
        Some(SimTime::from_secs(20)),
    )];
    cfg
}

/// A hung process finishes nothing and accepts nothing, while the kernel still queues
/// connections in its backlog. The 3 requests in service at T0 and the next 8 (which fill the
/// backlog) get no answer: Nginx answers 504 `proxy_read_timeout` (3 s) after it passed each to
/// the application (upstream_timeout_504), or HAProxy 504 at `timeout server` (2 s) after the
/// request reached the server when that is shorter (server_timeout_504); their connections stay
/// in the backlog (nothing accepts them), so every later arrival finds it full: 502 at once
/// (app_queue_full_502). With the default `proxy_read_timeout` (60 s) nobody times out within
/// the hang: the restart (the repair, at T0 + 20 s) resets every connection the process had,
/// and those 11 requests get a 502 then (app_down_502). Afterwards everything is served.
/// Would catch: a hung app treated as exited (502 at once), timeouts from the wrong instant,
/// backlog slots freed by Nginx's 504, or a restart that does not reset (requests hanging on).
#[test]
fn hung_application_ends_in_timeouts_and_restart_resets() {
    let _r = Report::start("hung application (4 workers, backlog 8, 6 req/s):");
    let s3 = SimTime::from_secs(3);
    let restart = HUNG_T0 + SimTime::from_secs(20);
    for (proxy_read, timeout_server, cause, after) in [
        (s3, None, "upstream_timeout_504", Some(3.0)),
        (
            s3,
            Some(SimTime::from_secs(2)),
            "server_timeout_504",
            Some(2.0),
        ),
        (SimTime::from_secs(60), None, "app_down_502", None),
    ] {
        let cfg = hung_config(proxy_read, timeout_server);
        let r = Stack::run(&cfg, 0);
        check_run(&r);
        let arr = arrivals(&cfg, 0);
        check_rebuilt(&r, &arr);
        let work = SimTime::from_millis(500);
        let stuck: Vec<SimTime> = arr
            .iter()
            .map(|(t, _)| *t)
            .filter(|&t| t < HUNG_T0 && t + work > HUNG_T0)
            .collect();
        assert_eq!(stuck.len(), 3);
        let window: Vec<SimTime> = arr
            .iter()
            .map(|(t, _)| *t)
            .filter(|&t| t >= HUNG_T0 && t < restart)
            .collect();
        let waiting: Vec<SimTime> = stuck.iter().chain(&window[..8]).copied().collect();
        let completed = arr
            .iter()
            .filter(|(t, _)| *t + work <= HUNG_T0 || (*t >= restart && *t + work <= cfg.duration))
            .count() as u64;
        assert_eq!(errors(&r, cause), 11, "{:?}", nonzero(&r));
        assert_eq!(errors(&r, "app_queue_full_502"), window.len() as u64 - 8);
        assert_eq!(
            r.requests.failed,
            11 + window.len() as u64 - 8,
            "{:?}",
            nonzero(&r)
        );
        assert_eq!(r.requests.completed, completed);
        assert!(
            r.faults[0].detected_s.is_none(),
            "a TCP check does not see a hung app"
        );
        let waited: f64 = waiting
            .iter()
            .map(|&a| match after {
                Some(x) => x,
                None => secs(restart - a),
            })
            .sum();
        check_sojourn(cause, &r, 0.5 * completed as f64 + waited);
        log(format!(
            "  proxy_read_timeout {} s, timeout server {:?}: {cause} {} (3 in service + 8 in the \
             backlog{}), app_queue_full_502 {} (the rest of the hang), completed {completed}",
            secs(proxy_read),
            timeout_server.map(secs),
            errors(&r, cause),
            match after {
                Some(x) => format!(", each {x} s after it reached the server"),
                None => ", at the restart".into(),
            },
            errors(&r, "app_queue_full_502"),
        ));
    }
}

/// An L7 check (`option httpchk`) of a hung application behind a live Nginx: the connection to
/// Nginx succeeds and the check waits for an answer, until HAProxy's check read timeout
/// (`timeout check`, else `inter`) or Nginx's 504 at `proxy_read_timeout`, whichever is first:
/// T = min(timeout check or inter, proxy_read_timeout); detection U(0, inter] + fall x T +
/// (fall - 1) x fastinter. `timeout check 1s`: [7, 9] s. Without it and with
/// `proxy_read_timeout 1.5s`: [8.5, 10.5] s. (2 servers, the hung one unloaded: no request
/// is sent to it, so its backlog has room for the check.)
/// Would catch: a hung app detected like an exited one (4-6 s), `timeout check` or Nginx's
/// timeout ignored.
#[test]
fn hung_application_layer7_detection() {
    const R: u64 = 30;
    let _r = Report::start(format!(
        "L7 check of a hung application ({R} replications):"
    ));
    for (timeout_check, proxy_read, lo) in [
        (Some(SimTime::from_secs(1)), SimTime::from_secs(3), 7.0),
        (None, SimTime::from_millis(1500), 8.5),
    ] {
        let mut cfg = hung_config(proxy_read, None);
        cfg.servers.push(ServerConfig {
            name: "web-02".into(),
            ..cfg.servers[0].clone()
        });
        // All traffic on web-02 (web-01 weight 0 is still checked).
        cfg.servers[0].weight = 0;
        cfg.failures.health.layer7 = true;
        cfg.failures.health.timeout_check = timeout_check;
        let mut xs = vec![];
        for r in replicate(&cfg, R) {
            assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
            let ttd = r.faults[0].time_to_detect_s.expect("an L7 check sees it");
            assert!(
                (lo - EPS..=lo + 2.0 + EPS).contains(&ttd),
                "run {}: detection {ttd}",
                r.run
            );
            xs.push(ttd - lo);
        }
        check_uniform_mean(
            &format!(
                "timeout check {:?}, proxy_read_timeout {}: detection - {lo} s",
                timeout_check.map(secs),
                secs(proxy_read)
            ),
            &xs,
            0.0,
            2.0,
        );
    }
}

/// When the hung application's backlog is full (it is, within a request or two under load),
/// Nginx cannot even connect to it for the check's request: over a unix socket it gets EAGAIN
/// and answers 502 at once, and the L7 check fails at once, like a refused one: detection
/// U(0, inter] + (fall - 1) x fastinter after the backlog filled, not fall x T later. Here the
/// backlog holds 1 and web-01 gets 5 req/s: full ~0.2 s after the hang, detection in about
/// [4, 6.5] s rather than [10, 12] s.
#[test]

fn layer7_check_fails_at_once_when_the_hung_apps_backlog_is_full() {
    let _r = Report::start("L7 check of a hung application whose backlog is full:");
    let mut cfg = hung_config(SimTime::from_secs(60), None);
    cfg.workload.rate = 10.0;
    cfg.workload.mix[0].app = Dist::zero();
    cfg.servers[0].app_queue = 1;
    cfg.servers.push(ServerConfig {
        name: "web-02".into(),
        ..cfg.servers[0].clone()
    });
    cfg.failures.health.layer7 = true;
    for r in replicate(&cfg, 4) {
        let ttd = r.faults[0].time_to_detect_s.unwrap();
        log(format!(
            "  run {}: detection {ttd:.3} s after the hang",
            r.run
        ));
        assert!(ttd <= 6.5, "run {}: {ttd}", r.run);
    }
}

// ---- 14. Gunicorn's worker timeout --------------------------------------------------------

/// One server with 2 sync workers and `timeout 2s` (Gunicorn's arbiter kills a worker silent
/// for longer and starts a new one; Nginx sees the upstream connection close: 502). Poisson
/// 1.5/s, a quarter "report" requests of 3 s of work, the rest 0.4 s: each report is answered
/// 502 (app_worker_timeout_502) exactly 2 s after it took its worker, and the worker is free
/// again then (the next request in the backlog starts). Replayed request by request (FIFO
/// backlog, 2 workers, service min(work, 2 s)).
/// Would catch: no worker timeout, a kill at any other time, or a killed worker that is not
/// freed (the backlog would then wait longer than replayed).
#[test]
fn gunicorn_worker_timeout_kills_long_requests_and_frees_the_worker() {
    let _r = Report::start("Gunicorn timeout 2 s, 2 workers, a quarter of 3 s requests:");
    let mut cfg = common::stack(1.5, 1, 0, 0, 0, 2000);
    cfg.workload.arrival = ArrivalKind::Poisson;
    let base = cfg.workload.mix[0].clone();
    cfg.workload.mix = vec![
        RequestClass {
            name: "report".into(),
            weight: 1.0,
            app: Dist::det(3.0).unwrap(),
            ..base.clone()
        },
        RequestClass {
            name: "page".into(),
            weight: 3.0,
            app: Dist::det(0.4).unwrap(),
            ..base
        },
    ];
    let s = &mut cfg.servers[0];
    s.app_workers = 2;
    s.app_timeout = Some(SimTime::from_secs(2));
    let replay = AppReplay {
        workers: 2,
        backlog: usize::MAX,
        worker_timeout: Some(SimTime::from_secs(2)),
        tcp_connect_timeout: None,
        try_at_timeout: false,
    };
    for r in replicate(&cfg, 3) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let reqs: Vec<(SimTime, SimTime)> = arr.iter().map(|(t, w)| (*t, w.app)).collect();
        let out = replay.run(&reqs);
        let (done, killed, _, _, sojourn) = app_tally(&reqs, &out, cfg.duration);
        assert_eq!(
            errors(&r, "app_worker_timeout_502"),
            killed,
            "run {}",
            r.run
        );
        assert_eq!(r.requests.failed, killed, "{:?}", nonzero(&r));
        assert_eq!(r.requests.completed, done, "run {}", r.run);
        check_sojourn("worker timeout", &r, sojourn);
        log(format!(
            "  run {}: app_worker_timeout_502 {} (replay {killed}; reports {}), completed {} \
             (replay {done}), mean time in system {:.4} s",
            r.run,
            errors(&r, "app_worker_timeout_502"),
            arr.iter().filter(|(_, w)| w.class == 0).count(),
            r.requests.completed,
            r.littles_law.mean_time_in_system
        ));
    }
}

// ---- more of the same mechanisms -------------------------------------------------------------

/// Slots held through connect timeouts: web-01 silent for good, maxconn 4. A request sent to it
/// holds its slot for (1 + retries) x timeout connect = 20 s, longer than the whole detection
/// window (10-12 s): round robin fills the 4 slots with the first 4 requests it sends there and
/// then skips web-01, so exactly 4 requests fail (503 after 20 s each); leastconn sends web-01
/// only its first one (then it is busy): 1.
/// Would catch: a slot released at each connect timeout (each of the 4 then taken every 5 s:
/// 12 failures), or leastconn blind to a connecting request.
#[test]
fn silent_host_slots_held_for_every_connect_timeout() {
    let _r = Report::start("silent host, maxconn 4: slots held 20 s:");
    for (algorithm, expected) in [(Algorithm::RoundRobin, 4), (Algorithm::LeastConn, 1)] {
        let mut cfg = silent_config(60);
        cfg.failures.scheduled[0].duration = None;
        cfg.lb.algorithm = algorithm;
        for s in &mut cfg.servers {
            s.maxconn = 4;
        }
        for r in replicate(&cfg, 3) {
            assert_eq!(
                errors(&r, "connect_failed_503"),
                expected,
                "{:?}",
                nonzero(&r)
            );
            assert_eq!(r.requests.failed, expected);
            assert_eq!(r.servers[0].retries, 3 * expected);
            check_sojourn("silent maxconn", &r, 20.0 * expected as f64);
        }
        log(format!(
            "  {}: {expected} connect failures, each after 20 s",
            algorithm.name()
        ));
    }
}

/// `rpl_semi_sync_source_wait_for_replica_count`: with 2 replicas and a count of 1, losing one
/// changes nothing (the other acknowledges: every commit still returns after 2 ms, no
/// fallback); with a count of 2 the lost one was needed, and every commit stalls until the
/// first wait times out, as with the last replica.
/// Would catch: `wait_for_replica_count` ignored either way.
#[test]
fn semi_sync_stalls_only_when_the_lost_replica_was_needed() {
    let _r = Report::start("semi-sync with 2 replicas, one crashes:");
    for count in [1, 2] {
        let mut cfg = semi_config(100_000);
        cfg.database.replicas.push(DbNodeConfig {
            name: "db-replica-2".into(),
            ..cfg.database.replicas[0].clone()
        });
        cfg.failures.db_failover.semi_sync_replicas = count;
        let r = Stack::run(&cfg, 0);
        check_run(&r);
        assert_eq!(r.requests.failed, 0, "{:?}", nonzero(&r));
        let arr = arrivals(&cfg, 0);
        if count == 1 {
            assert_eq!(r.failover.semi_sync_fallbacks, 0);
            check_sojourn("count 1", &r, 0.002 * arr.len() as f64);
        } else {
            assert_eq!(r.failover.semi_sync_fallbacks, 1);
            assert_eq!(r.failover.semi_sync_stalled_commits, 600);
        }
        log(format!(
            "  wait_for_replica_count {count}: fallbacks {}, stalled commits {}, max latency \
             {:.3} s",
            r.failover.semi_sync_fallbacks, r.failover.semi_sync_stalled_commits, r.latency.max
        ));
    }
}

/// A replica that goes silent while reads are sent to it, until the monitor takes it out of
/// the read pool (2 failed polls; then reads go to the primary). With a per-worker pool the
/// read goes over an open connection and gets no answer; the MySQL client's read timeout
/// (`read_timeout`, 2 s here) fails it with a 500 (db_timeout_500) 2 s after it was sent. With
/// a per-request pool a new connection is needed first: its SYNs (0, 1, 3, 7 s) get no answer
/// and the connect timeout (`connect_timeout`, 10 s, PyMySQL's default) fails it 10 s after.
fn silent_replica_case(pool: DbPool, read_timeout: Option<SimTime>, wait: f64) {
    let t0 = SimTime::from_millis(20_005);
    let mut cfg = common::stack(10.0, 1, 1, 1, 0, 60);
    cfg.database.client.pool = pool;
    cfg.database.client.read_timeout = read_timeout;
    cfg.failures.scheduled = vec![fault(Target::DbNode(1), FaultKind::Down, t0, None)];
    for r in replicate(&cfg, 2) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let out = at(log_time(
            &r,
            "replica failure detected",
            "removed from the read pool",
        ));
        let sent = count_in(&arr, t0, out);
        log(format!(
            "  {pool:?}, read timeout {:?}: {sent} reads sent to the replica before it left \
             the read pool ({:.3} s after the fault): db_timeout_500 {}, mean time in system \
             of the failed {:.3} s (expected {wait} s)",
            read_timeout.map(secs),
            secs(out - t0),
            errors(&r, "db_timeout_500"),
            total_sojourn(&r) / sent as f64
        ));
        assert_eq!(errors(&r, "db_timeout_500"), sent, "{pool:?} run {}", r.run);
        assert_eq!(r.requests.failed, sent, "{:?}", nonzero(&r));
        check_sojourn("silent replica", &r, wait * sent as f64);
    }
}

/// Would catch: reads on a silent replica failing at once, or the wrong timeout applied.
#[test]
fn reads_on_a_silent_replica_wait_for_the_mysql_client_timeouts() {
    let _r = Report::start("reads on a silent replica:");
    silent_replica_case(DbPool::PerWorker, Some(SimTime::from_secs(2)), 2.0);
    silent_replica_case(DbPool::PerRequest, None, 10.0);
}

/// PyMySQL's `read_timeout` bounds reads on an established connection; opening one is
/// bounded by `connect_timeout` alone. So with a per-request pool and `read_timeout 2s`, a read
/// that needs a new connection to the silent replica still fails after the 10 s connect
/// timeout, not after 2 s.
#[test]

fn read_timeout_does_not_bound_a_new_connection() {
    let _r = Report::start("per-request pool, read timeout 2 s, silent replica:");
    silent_replica_case(DbPool::PerRequest, Some(SimTime::from_secs(2)), 10.0);
}

/// A partition that drops packets for 5 s, then heals, with no MySQL read timeout and no
/// worker timeout: the queries sent during the partition are retransmitted by TCP (Linux: RTO
/// from 200 ms, doubled each time) and the first retransmission after the heal gets through;
/// the replies come back and the workers are free again at most about the partition's length
/// plus 0.2 s after the heal. So everything arriving 6 s after the heal is served again. A
/// model that leaves those queries hung for good loses the whole pool to a 5 s partition.
#[test]

fn workers_come_back_after_a_transient_db_partition() {
    let _r = Report::start("db.link blackhole for 5 s, no read timeout:");
    let mut cfg = link_config(FaultKind::Blackhole);
    let heal = LINK_T0 + SimTime::from_secs(5);
    cfg.failures.scheduled[0].duration = Some(SimTime::from_secs(5));
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let arr = arrivals(&cfg, 0);
    // Timeline rows cover (t - 1 s, t]: compare the completions of the rows wholly after
    // heal + 6 s with the arrivals of the same span (service takes no time here).
    let rows: Vec<_> = r
        .timeline
        .iter()
        .filter(|row| row.t - 1.0 >= secs(heal) + 6.0)
        .collect();
    let from = SimTime::from_secs_f64(rows[0].t - 1.0);
    let later = count_in(&arr, from + SimTime(1), cfg.duration + SimTime(1));
    let served_later = rows.iter().map(|row| row.completed).sum::<u64>();
    log(format!(
        "  arrivals from heal + 6 s: {later}; completions from heal + 7 s: {served_later}; \
         errors {:?}",
        nonzero(&r)
    ));
    assert!(served_later >= later - 1, "the pool never came back");
}

/// The client's own timeout does not end the server's wait: when the MySQL client gives up on
/// a commit after its read timeout (5 s, shorter than `rpl_semi_sync_source_timeout`), the
/// session on the primary still waits for its acknowledgement (MySQL notices a gone client
/// only when it writes the reply), so the first wait still times out at c1 + 10 s and switches
/// semi-sync off. Commits of [c1, c1 + 5 s] fail at 5 s (db_timeout_500), later ones are
/// released at c1 + 10 s, and from then on commits are asynchronous. A model that forgets a
/// wait whose client left never switches off: every commit fails at 5 s until the replica
/// comes back.
#[test]

fn semi_sync_falls_back_even_when_clients_time_out_first() {
    let _r = Report::start("semi-sync, last replica lost, MySQL read timeout 5 s:");
    let mut cfg = semi_config(100_000);
    let rt = SimTime::from_secs(5);
    cfg.database.client.read_timeout = Some(rt);
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let arr = arrivals(&cfg, 0);
    let c1 = arr
        .iter()
        .map(|(t, _)| *t)
        .find(|&t| t + SimTime::from_millis(1) > SEMI_T0)
        .unwrap();
    let release = c1 + SimTime::from_secs(10);
    let failed = arr
        .iter()
        .filter(|(t, _)| *t >= c1 && *t + rt <= release)
        .count() as u64;
    log(format!(
        "  fallbacks {} (expected 1), db_timeout_500 {} (expected {failed}: commits of \
         [c1, c1 + 5 s])",
        r.failover.semi_sync_fallbacks,
        errors(&r, "db_timeout_500")
    ));
    assert_eq!(r.failover.semi_sync_fallbacks, 1);
    assert_eq!(errors(&r, "db_timeout_500"), failed);
}

/// A client whose load balancer does not answer (host down) retransmits its SYN at 1, 3, 7,
/// 15, 31 and 63 s and gives up at 127 s (`tcp_syn_retries` 6): no SYN leaves at 127 s, so a
/// client whose last SYN (63 s) came before the repair fails even if the LB is back before
/// 127 s (lb_connect_timeout). LB down 200 s: the failures are the arrivals with no SYN in
/// [repair, arrival + 127 s).
#[test]

fn client_gives_up_at_127_s_without_a_last_syn() {
    let _r = Report::start("clients of a silent LB, repaired after 200 s:");
    let mut cfg = common::stack(100.0, 2, 0, 0, 0, 400);
    let t0 = SimTime::from_millis(10_005);
    let down = SimTime::from_secs(200);
    cfg.failures.scheduled = vec![fault(Target::Lb(0), FaultKind::Down, t0, Some(down))];
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    let arr = arrivals(&cfg, 0);
    let back = t0 + down;
    let timeout = cfg.workload.connect_timeout;
    let gave_up = arr
        .iter()
        .filter(|(t, _)| *t >= t0 && *t < back && syn_answered(*t, back, timeout).is_none())
        .count() as u64;
    log(format!(
        "  lb_connect_timeout {} (expected {gave_up})",
        errors(&r, "lb_connect_timeout")
    ));
    assert_eq!(errors(&r, "lb_connect_timeout"), gave_up);
    assert_eq!(r.requests.failed, gave_up, "{:?}", nonzero(&r));
}

/// 30 000 requests wait in HAProxy's backend queue (one server, maxconn 1, its one request
/// busy for hours) when the application process behind Nginx crashes (a TCP check never
/// notices). Each queued request is let in as soon as the previous one fails (502 at once),
/// so the whole queue drains at that instant. The model must survive it on a 2 MiB thread,
/// the stack of rayon's workers that run `simulate sweep` and `montecarlo` replications
/// (`simulate run` uses the 8 MiB main thread, which overflows at about 100 000). Run in a
/// child process: a stack overflow aborts the whole process.
#[test]

fn a_failure_draining_a_long_haproxy_queue_does_not_overflow_the_stack() {
    const CHILD: &str = "INFRASIM_DEEP_QUEUE_CHILD";
    const NAME: &str = "a_failure_draining_a_long_haproxy_queue_does_not_overflow_the_stack";
    if std::env::var_os(CHILD).is_some() {
        let mut cfg = common::stack(1000.0, 1, 0, 0, 0, 32);
        cfg.workload.mix[0].app = Dist::det(10_000.0).unwrap();
        cfg.lb.timeout_queue = SimTime::from_secs(100_000);
        cfg.servers[0].maxconn = 1;
        cfg.failures.scheduled = vec![fault(Target::App(0), FaultKind::Crash, at(30.0005), None)];
        let r = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(move || Stack::run(&cfg, 0))
            .unwrap()
            .join()
            .unwrap();
        check_run(&r);
        assert_eq!(errors(&r, "app_down_502"), r.requests.arrived);
        return;
    }
    let _r = Report::start("a crash drains 30 000 queued requests at once:");
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", NAME, "--include-ignored", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last: Vec<&str> = stderr.lines().rev().take(3).collect();
    log(format!("  child process: {} {last:?}", out.status));
    assert!(out.status.success(), "the run died: {last:?}");
}

/// The replica is back after 3 s (before the 10 s timeout) while all 16 app workers are
/// waiting for acknowledgements (so no new commit can come): on restart its receiver thread
/// reconnects, fetches the events it missed and acknowledges them, which releases every
/// waiting commit about one round trip after the repair; semi-sync never falls back. A model
/// in which a returning replica acknowledges only when the next commit is shipped to it keeps
/// every worker blocked until the first wait times out (c1 + 10 s) and falls back.
#[test]

fn semi_sync_waiters_are_released_when_the_replica_returns() {
    let _r = Report::start("semi-sync, the only replica back after 3 s, 16 workers:");
    let mut cfg = semi_config(16);
    cfg.failures.scheduled[0].duration = Some(SimTime::from_secs(3));
    let r = Stack::run(&cfg, 0);
    check_run(&r);
    log(format!(
        "  fallbacks {} (expected 0), stalled commits {}, max latency {:.3} s (expected about \
         3 s)",
        r.failover.semi_sync_fallbacks, r.failover.semi_sync_stalled_commits, r.latency.max
    ));
    assert_eq!(r.failover.semi_sync_fallbacks, 0);
    assert!(r.latency.max < 3.1, "{}", r.latency.max);
}

/// No fault, a slow application: Nginx's `proxy_read_timeout` (1.5 s) runs from when the
/// request is passed upstream (the kernel accepts the connection into the backlog, Nginx sends
/// the request at once), so a request that waits in the backlog and then works past 1.5 s in
/// all gets a 504 (upstream_timeout_504) exactly 1.5 s after it reached Nginx; the application
/// is not told (it finds the closed socket only when it writes its answer): the worker keeps
/// working, and a request whose client already left is still taken from the backlog and
/// served in turn. One worker, Poisson 1/s, exponential work of mean 0.7 s: a FIFO single
/// server queue replayed request by request, each answered at min(its end, arrival + 1.5 s).
/// Would catch: a timeout counted from the worker's start (fewer 504s), a worker freed at the
/// 504 (the queue would drain faster than replayed), or orphans dropped from the backlog.
#[test]
fn proxy_read_timeout_answers_504_and_the_worker_goes_on() {
    let _r = Report::start("slow application, proxy_read_timeout 1.5 s:");
    let p = SimTime::from_millis(1500);
    let mut cfg = common::stack(1.0, 1, 0, 0, 0, 3000);
    cfg.workload.arrival = ArrivalKind::Poisson;
    cfg.workload.mix[0].app = Dist::exp(0.7).unwrap();
    let s = &mut cfg.servers[0];
    s.app_workers = 1;
    s.proxy_read_timeout = p;
    let replay = AppReplay {
        workers: 1,
        backlog: usize::MAX,
        worker_timeout: None,
        tcp_connect_timeout: None,
        try_at_timeout: false,
    };
    for r in replicate(&cfg, 3) {
        let arr = arrivals(&cfg, r.run);
        check_rebuilt(&r, &arr);
        let reqs: Vec<(SimTime, SimTime)> = arr.iter().map(|(t, w)| (*t, w.app)).collect();
        let (mut done, mut late, mut sojourn) = (0u64, 0u64, 0.0);
        for (&(a, _), o) in reqs.iter().zip(replay.run(&reqs)) {
            let AppOutcome::Done(end) = o else {
                unreachable!()
            };
            let answered = end.min(a + p);
            if answered > cfg.duration {
                continue;
            }
            if end > a + p {
                late += 1;
            } else {
                done += 1;
            }
            sojourn += secs(answered - a);
        }
        assert_eq!(errors(&r, "upstream_timeout_504"), late, "run {}", r.run);
        assert_eq!(r.requests.failed, late, "{:?}", nonzero(&r));
        assert_eq!(r.requests.completed, done, "run {}", r.run);
        check_sojourn("proxy_read_timeout", &r, sojourn);
        log(format!(
            "  run {}: upstream_timeout_504 {late} of {} (replayed: the worker finished each), \
             completed {done}, app utilisation {:.3} (offered 0.7: the timed-out work is done \
             all the same)",
            r.run,
            arr.len(),
            r.servers[0].app_utilisation
        ));
    }
}

/// `scenarios/db_partition.toml` (300 req/s, 2 x 8 workers, maxconn 64, the DB link blackholed
/// from 1 min to 2 min, no MySQL read timeout, Gunicorn's 30 s worker timeout): the querying
/// requests take every worker within milliseconds and hold them until Gunicorn kills them, 30 s
/// after they took them; HAProxy's slots fill with stuck requests and everything else waits in
/// its queue. So nothing at all completes from one second after the fault until the first
/// kills (rows of (61, 89] s), and the two classes that never query ("home", rendered from a
/// cache, and "static", served by Nginx alone) fail like the others. A partition that rejects
/// (`crash`) fails the querying requests at once and frees their workers: "home" and "static"
/// never fail.
/// Would catch: a blackhole that fails queries at once, workers freed before Gunicorn's
/// timeout, static files or cached pages bypassing the blocked pool in the wrong case.
#[test]
fn db_partition_scenario_takes_down_the_classes_that_never_query() {
    let _r = Report::start("scenarios/db_partition.toml:");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/db_partition.toml");
    for kind in ["blackhole", "crash"] {
        let cfg = infrasim::scenario::load(&path, &[format!("faults[0].kind={kind}")])
            .unwrap_or_else(|e| panic!("{e:?}"))
            .config;
        for r in replicate(&cfg, 2) {
            let class = |name: &str| r.classes.iter().find(|c| c.name == name).unwrap().clone();
            let (home, stat) = (class("home"), class("static"));
            assert!(
                cfg.workload
                    .mix
                    .iter()
                    .any(|c| c.name == "static" && c.static_file)
            );
            let stalled: u64 = r
                .timeline
                .iter()
                .filter(|row| row.t > 61.0 && row.t <= 89.0)
                .map(|row| row.completed)
                .sum();
            if kind == "blackhole" {
                assert_eq!(
                    stalled, 0,
                    "run {}: completions while every worker is stuck",
                    r.run
                );
                assert!(home.failed > 0 && stat.failed > 0, "{home:?} {stat:?}");
            } else {
                assert_eq!((home.failed, stat.failed), (0, 0), "{home:?} {stat:?}");
                assert!(stalled > 0);
            }
            if r.run == 0 {
                log(format!(
                    "  {kind}: completions in (61, 89] s {stalled}; home failed {} of {}, static \
                     failed {} of {}; {:?}",
                    home.failed,
                    home.arrived,
                    stat.failed,
                    stat.arrived,
                    nonzero(&r)
                ));
            }
        }
    }
}

// ---- 14. Backup servers (domain.md §1.1, §1.5) ------------------------------------------------
//
// HAProxy uses the backup group only when no active server is usable (src/backend.c
// `assign_server`, the LB trees hold the backups apart: `recount_servers`), and without
// `option allbackups` only the first usable backup. Found by an audit: backups took an equal
// share from the start of every run (only a health-check transition applied the rule), and
// when every active server died a `roundrobin` backend queue was never drained.

/// Two active servers and a backup, every algorithm, no fault: the backup gets nothing, and
/// every request is served by the two others.
#[test]
fn backups_take_no_traffic_while_an_active_server_is_up() {
    let _r = Report::start("a backup server beside two healthy active ones:");
    for algorithm in [
        Algorithm::RoundRobin,
        Algorithm::StaticRr,
        Algorithm::LeastConn,
        Algorithm::First,
        Algorithm::Source { consistent: false },
        Algorithm::Source { consistent: true },
        Algorithm::Random { draws: 2 },
    ] {
        let mut cfg = common::stack(200.0, 3, 0, 0, 0, 20);
        cfg.name = format!("backup idle {}", algorithm.name());
        cfg.lb.algorithm = algorithm;
        cfg.workload.mix[0].app = Dist::exp(0.004).unwrap();
        cfg.servers[2].backup = true;
        for r in replicate(&cfg, 2) {
            let d: Vec<u64> = r.servers.iter().map(|s| s.dispatched).collect();
            assert_eq!(d[2], 0, "{}: the backup was sent requests: {d:?}", cfg.name);
            assert_eq!(d[0] + d[1], r.requests.arrived, "{}: {d:?}", cfg.name);
            assert_eq!(r.requests.failed, 0, "{}: {:?}", cfg.name, nonzero(&r));
            if r.run == 0 {
                log(format!("  {}: dispatched {d:?}", algorithm.name()));
            }
        }
    }
}

/// Both active servers (maxconn 4) crash for good at T0; a backup stands by. Requests sent to
/// the dead servers hold their slots through their retries (3 s), the rest wait in the backend
/// queue (`timeout queue` 100 s, so none expires). Once both are marked DOWN and their last
/// retrying request has failed, nothing is being served: the next arrival is balanced (the
/// backup is the only usable server), and each completion on the backup takes the oldest
/// queued request. So every arrival after that moment is served, and the only failures are
/// the connects to the dead servers. A model that queues every new arrival while the backend
/// queue is non-empty (without HAProxy's `queue.length != beconn`) never uses the backup:
/// every request from T0 on fails or waits for good.
#[test]
fn a_backup_takes_over_when_every_active_server_dies() {
    let _r = Report::start("both active servers crash for good, a backup stands by:");
    for algorithm in [Algorithm::RoundRobin, Algorithm::StaticRr, Algorithm::First] {
        let mut cfg = common::stack(100.0, 3, 0, 0, 0, 40);
        cfg.name = format!("backup takeover {}", algorithm.name());
        cfg.lb.algorithm = algorithm;
        cfg.lb.timeout_queue = SimTime::from_secs(100);
        cfg.workload.mix[0].app = Dist::det(0.002).unwrap();
        for s in &mut cfg.servers {
            s.maxconn = 4;
        }
        cfg.servers[2].backup = true;
        cfg.failures.scheduled = (0..2)
            .map(|i| fault(Target::Server(i), FaultKind::Crash, RST_T0, None))
            .collect();
        for r in replicate(&cfg, 3) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let down = log_time(&r, "server marked DOWN", "web-01").max(log_time(
                &r,
                "server marked DOWN",
                "web-02",
            ));
            // The last request sent to a dead server gives up at most `RST_HOLD` after it was
            // sent, and none is sent after both are DOWN.
            let free = down + RST_HOLD;
            let after = arr.iter().filter(|(t, _)| secs(*t) > free).count() as u64;
            let backup = &r.servers[2];
            assert!(
                backup.completed >= after,
                "{}: the backup completed {} requests, {after} arrived after {free:.3} s; {:?}",
                cfg.name,
                backup.completed,
                nonzero(&r)
            );
            // Requests in service on the dead servers at T0 (at most their 8 slots) end in a
            // 502; the rest of the failures are connects to them.
            let crashed = errors(&r, "server_crash_502");
            assert!(crashed <= 8, "{}: {:?}", cfg.name, nonzero(&r));
            assert_eq!(
                r.requests.failed,
                errors(&r, "connect_failed_503") + crashed,
                "{}: only connects to the dead servers fail: {:?}",
                cfg.name,
                nonzero(&r)
            );
            // Each of the 8 dead slots is taken at most once per retry cycle until DOWN.
            let cycles = ((down - secs(RST_T0)) / RST_HOLD).ceil() as u64 + 1;
            assert!(
                r.requests.failed <= 8 * cycles,
                "{}: {} failed, at most {} expected",
                cfg.name,
                r.requests.failed,
                8 * cycles
            );
            if r.run == 0 {
                log(format!(
                    "  {}: both DOWN at {down:.3} s; failed {} ({:?}); backup completed {} of \
                     {} arrivals",
                    algorithm.name(),
                    r.requests.failed,
                    nonzero(&r),
                    backup.completed,
                    arr.len()
                ));
            }
        }
    }
}

/// An active-passive keepalived pair: both HAProxy instances check the servers, each on its
/// own phase, but only the holder of the floating IP (lb-1 here: nothing fails it) takes
/// traffic. web-01 crashes at T0 with web-02 to take over: users stop feeling it when lb-1
/// marks it DOWN, whatever lb-2 (passive) sees. Found by an audit: `time_to_recover_s` waited
/// for the later of the two instances. Over 8 replications lb-2 marks it DOWN after lb-1 in
/// some runs and before in others (independent check phases), so both orders are covered.
#[test]
fn active_passive_recovery_follows_the_floating_ip_holder() {
    let _r = Report::start("server crash behind an active-passive pair:");
    let mut cfg = common::stack(10.0, 2, 0, 0, 0, 60);
    cfg.failures.lb_ha = LbHa::ActivePassive {
        advert_int: SimTime::from_secs(1),
        backup_priority: 100,
        preempt: true,
        master_state: true,
        track: None,
    };
    let t0 = SimTime::from_millis(20_012);
    cfg.failures.scheduled = vec![fault(Target::Server(0), FaultKind::Crash, t0, None)];
    let (mut later, mut earlier) = (0, 0);
    for r in replicate(&cfg, 8) {
        let down = |lb: &str| {
            let e: Vec<_> = log_entries(&r, "server marked DOWN")
                .into_iter()
                .filter(|e| e.component == lb && e.detail == "web-01")
                .collect();
            assert_eq!(e.len(), 1, "run {}: {:?}", r.run, r.event_log);
            e[0].t
        };
        let (active, passive) = (down("lb-1"), down("lb-2"));
        let f = &r.faults[0];
        let recovered = f.recovered_s.expect("recovered");
        assert!(
            (recovered - active).abs() < EPS,
            "run {}: recovered at {recovered} s, lb-1 (the VIP holder) marked web-01 DOWN at \
             {active} s, lb-2 at {passive} s",
            r.run
        );
        assert!((f.detected_s.unwrap() - active.min(passive)).abs() < EPS);
        if passive > active {
            later += 1;
        } else {
            earlier += 1;
        }
        if r.run == 0 {
            log(format!(
                "  run 0: lb-1 DOWN +{:.3} s, lb-2 DOWN +{:.3} s, recovered +{:.3} s",
                active - secs(t0),
                passive - secs(t0),
                recovered - secs(t0)
            ));
        }
    }
    assert!(later > 0 && earlier > 0, "both orders: {later} / {earlier}");
}

// ---- HTTP checks wait in the application's backlog (HAProxy `option httpchk`) --------------

/// Two servers of one application worker each, 10 ms of app work, deterministic arrivals at
/// 150/s (75/s each: never a queue); web-01's host crashes at T0 and stays dead. No `maxconn`,
/// an unbounded backlog and no timeouts on requests, so once web-01 is marked DOWN the whole
/// overload (150/s against 100/s) queues at web-02's application, its wait growing by 0.5 s
/// every second. An HTTP check waits in that backlog like a request (HAProxy checks are not
/// streams: no queue, no `maxconn`, src/check.c); a TCP check is answered by the kernel.
fn cascade_config(layer7: bool, timeout_check: Option<SimTime>) -> Config {
    let mut cfg = common::stack(150.0, 2, 0, 0, 0, 60);
    cfg.workload.mix[0].app = Dist::det(0.010).unwrap();
    for s in &mut cfg.servers {
        s.app_workers = 1;
    }
    let h = &mut cfg.failures.health;
    h.layer7 = layer7;
    h.timeout_check = timeout_check;
    let t0 = SimTime::from_millis(20_012);
    cfg.failures.scheduled = vec![fault(Target::Server(0), FaultKind::Crash, t0, None)];
    cfg
}

/// web-02's DOWN periods from the event log, as [from, to) (the last one open until the end).
fn down_windows(r: &RunResults, server: &str, end: SimTime) -> Vec<(SimTime, SimTime)> {
    let mut out = vec![];
    let mut from = None;
    for e in r.event_log.iter().filter(|e| e.detail == server) {
        match (e.event.as_str(), from) {
            ("server marked DOWN", None) => from = Some(at(e.t)),
            ("server marked UP", Some(f)) => {
                out.push((f, at(e.t)));
                from = None;
            }
            _ => {}
        }
    }
    if let Some(f) = from {
        out.push((f, end));
    }
    out
}

/// The cascade: with `check = "http"` and `timeout check 500ms`, web-02's checks wait in its
/// backlog longer than their timeout a second after it takes all the traffic; after `fall`
/// of them it is marked DOWN, and every request that arrives while it is (no server left)
/// gets HAProxy's 503 at once: exactly the arrivals in its DOWN windows. Its backlog then
/// drains, its checks pass again, it is marked UP and overloads again. With `check = "tcp"`
/// (the kernel accepts the connection) it stays UP and serves everything late. Before HTTP
/// checks waited for a worker, they passed at once and web-02 was never marked DOWN.
#[test]
fn http_checks_take_down_the_overloaded_survivor() {
    let _r = Report::start("HTTP checks behind an overloaded application (the cascade):");
    for layer7 in [true, false] {
        let cfg = cascade_config(layer7, Some(SimTime::from_millis(500)));
        for r in replicate(&cfg, 4) {
            let arr = arrivals(&cfg, r.run);
            check_rebuilt(&r, &arr);
            let web01 = down_windows(&r, "web-01", cfg.duration);
            assert_eq!(web01.len(), 1, "run {}: {:?}", r.run, r.event_log);
            let windows = down_windows(&r, "web-02", cfg.duration);
            let no_server = errors(&r, "no_server_503");
            if !layer7 {
                assert!(windows.is_empty(), "tcp: {:?}", r.event_log);
                assert_eq!(no_server, 0);
                assert!(r.servers[1].app_max_queue > 1000, "{:?}", r.servers[1]);
                continue;
            }
            assert!(
                !windows.is_empty(),
                "run {}: web-02 never marked DOWN",
                r.run
            );
            // Marked DOWN only after web-01 was and its backlog grew past the timeout:
            // 1 s of overload, then `fall` checks of 2 s (+ 0.5 s timeout) apart.
            let first = secs(windows[0].0) - secs(web01[0].0);
            assert!((5.5..=9.5).contains(&first), "run {}: {first}", r.run);
            let expected: u64 = windows.iter().map(|&(a, b)| count_in(&arr, a, b)).sum();
            assert_eq!(no_server, expected, "run {}: {:?}", r.run, nonzero(&r));
            if r.run == 0 {
                log(format!(
                    "  http: web-02 DOWN {} times, first {first:.3} s after web-01, {no_server} \
                     503s (the arrivals while it was DOWN)",
                    windows.len()
                ));
            }
        }
    }
}

/// The same overload with checks that may wait longer than the backlog ever grows in the
/// run (`timeout check 30s`; its wait reaches ~17 s): they wait and pass, and web-02 stays
/// UP. With Nginx's `proxy_read_timeout` at 1 s, Nginx answers the waiting check 504 first
/// (HAP-CFG "option httpchk": only 2xx and 3xx pass), so web-02 is marked DOWN again.
#[test]
fn http_checks_wait_and_pass_within_their_timeout() {
    let _r = Report::start("HTTP checks waiting in a backlog shorter than their timeout:");
    for read_timeout in [None, Some(SimTime::from_secs(1))] {
        let mut cfg = cascade_config(true, Some(SimTime::from_secs(30)));
        if let Some(t) = read_timeout {
            for s in &mut cfg.servers {
                s.proxy_read_timeout = t;
            }
        }
        for r in replicate(&cfg, 3) {
            let windows = down_windows(&r, "web-02", cfg.duration);
            // The backlog the checks waited in: 150/s against 100/s for ~35 s (with Nginx's
            // 1 s timeout its requests leave with a 504 and the backlog, which still serves
            // them, grows less: web-02 is DOWN part of the time).
            let wait = r.servers[1].app_max_queue as f64 * 0.010;
            let longest = if read_timeout.is_none() { 10.0 } else { 2.0 };
            assert!(wait > longest, "run {}: {:?}", r.run, r.servers[1]);
            match read_timeout {
                None => {
                    assert!(windows.is_empty(), "run {}: {:?}", r.run, r.event_log);
                    assert_eq!(errors(&r, "no_server_503"), 0);
                }
                Some(_) => assert!(!windows.is_empty(), "run {}", r.run),
            }
            if r.run == 0 {
                log(format!(
                    "  proxy_read_timeout {read_timeout:?}: longest wait {wait:.1} s, web-02 \
                     DOWN {} times",
                    windows.len()
                ));
            }
        }
    }
}

/// An HTTP check's wait is the application's virtual waiting time. One server, M/M/1 at
/// rho = 0.8 (lambda 80/s, mu 100/s), `rise 1 fall 1`, checks every 5 s: a check fails when
/// the work ahead of it exceeds `timeout check` T, with probability p = rho e^{-(mu - lambda)
/// T} (the M/M/1 waiting-time law; a check's start does not depend on the arrivals to come,
/// so it sees the stationary queue, and 5 s is ~5 relaxation times of this queue). Each
/// failure marks the server DOWN for one interval (its backlog drains; the next check passes
/// at once), so per check made while UP the cycle lasts 5 + E[min(V, T)] + 5p s with
/// E[min(V, T)] = rho (1 - e^{-(mu - lambda) T}) / (mu - lambda), and the DOWN marks over D s
/// are D p / (5 + E[min(V, T)] + 5p). Judged at 4.5 binomial standard deviations of the count
/// over the ~D / cycle checks made while UP (the renewal count varies less).
#[test]
fn http_check_failures_follow_the_mm1_waiting_time() {
    let _r = Report::start("HTTP check failures against the M/M/1 waiting time:");
    let (lambda, mu, seconds) = (80.0, 100.0, 40_000u64);
    let rho = lambda / mu;
    for t_ms in [20u64, 50] {
        let mut cfg = common::mmc(lambda, mu, 1, 1, Algorithm::RoundRobin, seconds);
        cfg.warmup = SimTime::ZERO;
        let h = &mut cfg.failures.health;
        h.layer7 = true;
        (h.rise, h.fall) = (1, 1);
        let five = SimTime::from_secs(5);
        (h.inter, h.fastinter, h.downinter) = (five, five, five);
        h.timeout_check = Some(SimTime::from_millis(t_ms));
        let r = Stack::run(&cfg, 0);
        check_run(&r);
        let t = t_ms as f64 / 1000.0;
        let p = rho * (-(mu - lambda) * t).exp();
        let mean_wait = rho * (1.0 - (-(mu - lambda) * t).exp()) / (mu - lambda);
        let cycle = 5.0 + mean_wait + 5.0 * p;
        let expected = seconds as f64 * p / cycle;
        let sd = (seconds as f64 / cycle * p * (1.0 - p)).sqrt();
        let marks = log_entries(&r, "server marked DOWN").len() as f64;
        log(format!(
            "  timeout check {t_ms} ms: {marks} DOWN marks, expected {expected:.1} ± {:.1} \
             (p = {p:.4})",
            4.5 * sd
        ));
        assert!(
            (marks - expected).abs() <= 4.5 * sd,
            "{marks} DOWN marks, expected {expected:.1} (sd {sd:.1})"
        );
    }
}

/// A waiting HTTP check loses its connection with the application: the cascade's overload
/// with checks that would wait and pass (`timeout check 30s`), and web-02's application
/// crashing at 50 s, when its backlog holds ~15 s of work and a check is waiting most of the
/// time. Nginx's upstream connection is reset, so a waiting check fails at once (502), and the
/// next two, refused, fail at once too: web-02 is marked DOWN exactly 2 x fastinter = 4 s
/// after the crash when a check was waiting, within (4, 6] s otherwise, never after the 30 s
/// timeout. And HAProxy crashing for 0.5 s at 50 s abandons its waiting checks: once restarted
/// (every server UP) it checks afresh, its checks wait and pass, and web-02 stays UP.
#[test]
fn a_waiting_http_check_fails_when_the_application_dies() {
    let _r = Report::start("a waiting HTTP check and the application's crash, or its LB's:");
    let crash = SimTime::from_secs(50);
    let mut cfg = cascade_config(true, Some(SimTime::from_secs(30)));
    cfg.failures
        .scheduled
        .push(fault(Target::App(1), FaultKind::Crash, crash, None));
    let mut waiting = 0;
    for r in replicate(&cfg, 6) {
        let f = r
            .faults
            .iter()
            .find(|f| f.component == "web-02.app")
            .unwrap();
        let ttd = f.time_to_detect_s.expect("detected");
        assert!(
            (4.0 - EPS..=6.0 + EPS).contains(&ttd),
            "run {}: {ttd}",
            r.run
        );
        waiting += usize::from((ttd - 4.0).abs() < EPS);
    }
    log(format!(
        "  app crash: detected 4 s after it in {waiting} of 6 runs"
    ));
    assert!(waiting > 0, "a check was waiting at the crash in some run");
    let mut cfg = cascade_config(true, Some(SimTime::from_secs(30)));
    let lb = fault(
        Target::Lb(0),
        FaultKind::Crash,
        crash,
        Some(SimTime::from_millis(500)),
    );
    cfg.failures.scheduled.push(lb);
    for r in replicate(&cfg, 3) {
        let windows = down_windows(&r, "web-02", cfg.duration);
        assert!(windows.is_empty(), "run {}: {:?}", r.run, r.event_log);
    }
}
