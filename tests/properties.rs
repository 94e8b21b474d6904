//! Property tests of the engine: random but valid systems, and the invariants every run of
//! every system must satisfy.
//!
//! Each case builds a [`Config`] directly (no TOML): 1 to 4 servers with random workers,
//! weights, limits and speeds, every HAProxy algorithm, a request mix of reads and writes,
//! static classes Nginx serves alone, 0 to 2 replicas, semi-sync on or off, unix or TCP
//! upstreams, per-worker or per-request MySQL pools, every timeout (HAProxy, Nginx, the app
//! server's workers, the MySQL client; finite or not), random health-check settings, the three
//! LB set-ups (keepalived tracking HAProxy or not, DNS withdrawal delays), scheduled faults of
//! every kind (crash, down, blackhole, slow) on every kind of target (servers, applications,
//! LBs, DB nodes, whichever node is primary, the DB link) and random faults with short MTTF
//! and MTTR.
//! Runs are short (20-60 s at modest rates), so a case takes milliseconds. Checked on every run:
//!
//! * conservation: every measured request is completed, failed (under exactly one cause) or
//!   still in flight at the end; the servers' completions add up to the total;
//! * utilisations within [0, 1], queue lengths >= 0, quantiles ordered;
//! * latency: no completed request is faster than the sum of the minimum stage times on its
//!   path (LB, Nginx, app, and per query the DB time plus the network both ways);
//! * time never goes backwards: timeline rows strictly increasing, one per interval; every
//!   logged event within the run;
//! * determinism: the same configuration twice gives the identical summary, timeline and log.
//!
//! A second property injects a permanent crash at a random time T into a random system and
//! checks nothing is served by the dead component afterwards: the run to the end and the run
//! stopped just before T (a prefix of it: same streams, same events) must agree on what that
//! component served.
//!
//! The cases come from a fixed seed so CI is reproducible; `PROPTEST_RNG_SEED=<n>` and
//! `PROPTEST_CASES=<n>` explore further.

mod common;

use infrasim::dist::{Dist, Uniform};
use infrasim::engine::SimTime;
use infrasim::model::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, RngSeed};

// ---- distributions with a known minimum -----------------------------------------------------

/// A stage-time distribution and its smallest possible value.
#[derive(Clone, Copy, Debug)]
enum D {
    Zero,
    /// Deterministic, microseconds.
    Det(u32),
    /// Exponential, mean in microseconds.
    Exp(u32),
    /// Uniform between two values in microseconds.
    Unif(u32, u32),
}

impl D {
    fn dist(self) -> Dist {
        let us = |x: u32| x as f64 * 1e-6;
        match self {
            D::Zero => Dist::zero(),
            D::Det(x) => Dist::det(us(x)).unwrap(),
            D::Exp(x) => Dist::exp(us(x)).unwrap(),
            D::Unif(a, b) => Dist::Uniform(Uniform::new(us(a.min(b)), us(a.max(b))).unwrap()),
        }
    }

    /// Smallest value a draw can take, seconds.
    fn min(self) -> f64 {
        match self {
            D::Zero | D::Exp(_) => 0.0,
            D::Det(x) => x as f64 * 1e-6,
            D::Unif(a, b) => a.min(b) as f64 * 1e-6,
        }
    }
}

/// Stage times up to `max_us` microseconds (zero, fixed, exponential or uniform).
fn d(max_us: u32) -> impl Strategy<Value = D> {
    prop_oneof![
        1 => Just(D::Zero),
        2 => (1..=max_us).prop_map(D::Det),
        2 => (1..=max_us).prop_map(D::Exp),
        1 => (0..=max_us, 1..=max_us).prop_map(|(a, b)| D::Unif(a, b)),
    ]
}

fn ms(x: u64) -> SimTime {
    SimTime::from_millis(x)
}

// ---- random systems ---------------------------------------------------------------------------

/// A generated system: the configuration and what the latency bound needs to know about it.
#[derive(Clone, Debug)]
struct Sys {
    cfg: Config,
    lb: D,
    /// Per request class: its Nginx and application times (DB times are shared).
    classes: Vec<(D, D)>,
    read: D,
    write: D,
    network: D,
}

impl Sys {
    /// The fastest a request can be served: every stage at its minimum, on the fastest server
    /// and DB node, semi-sync adding nothing. Seconds.
    fn min_latency(&self) -> f64 {
        let c = &self.cfg;
        let srv = c.servers.iter().map(|s| s.speed).fold(0.0, f64::max);
        let db = std::iter::once(&c.database.primary)
            .chain(&c.database.replicas)
            .map(|n| n.speed)
            .fold(0.0, f64::max);
        // Slow faults multiply DB service times by factors >= 1 (generated so).
        let net = self.network.min();
        c.workload
            .mix
            .iter()
            .zip(&self.classes)
            .map(|(m, (nginx, app))| {
                self.lb.min()
                    + (nginx.min() + app.min()) / srv
                    + m.reads as f64 * (self.read.min() / db + 2.0 * net)
                    + m.writes as f64 * (self.write.min() / db + 2.0 * net)
            })
            .fold(f64::INFINITY, f64::min)
    }
}

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::RoundRobin),
        Just(Algorithm::StaticRr),
        Just(Algorithm::LeastConn),
        Just(Algorithm::First),
        any::<bool>().prop_map(|consistent| Algorithm::Source { consistent }),
        (1u32..=3).prop_map(|draws| Algorithm::Random { draws }),
    ]
}

fn server() -> impl Strategy<Value = ServerConfig> {
    (
        1u32..=4,
        prop_oneof![Just(0u32), 1u32..=20],
        prop_oneof![Just(0u32), 1u32..=20],
        1u32..=3,
        prop_oneof![Just(u32::MAX), 1u32..=200],
        1u32..=8,
        0u32..=64,
        50u32..=200,
        prop::bool::weighted(0.2),
        (
            any::<bool>(),
            1u64..=60_000,
            1u64..=60_000,
            prop::option::weighted(0.7, 1u64..=60_000),
        ),
    )
        .prop_map(
            |(weight, maxconn, maxqueue, nw, nmax, aw, aq, speed, backup, (tcp, pct, prt, at))| {
                ServerConfig {
                    name: String::new(),
                    weight,
                    maxconn,
                    maxqueue,
                    nginx_workers: nw,
                    nginx_max_conns: nmax,
                    app_workers: aw,
                    app_queue: aq,
                    speed: speed as f64 / 100.0,
                    backup,
                    upstream: if tcp { Upstream::Tcp } else { Upstream::Unix },
                    proxy_connect_timeout: ms(pct),
                    proxy_read_timeout: ms(prt),
                    app_timeout: at.map(ms),
                }
            },
        )
}

fn db_node() -> impl Strategy<Value = DbNodeConfig> {
    (1u32..=8, 1u32..=50, 50u32..=200).prop_map(|(w, conns, speed)| DbNodeConfig {
        name: String::new(),
        workers: w,
        max_connections: conns,
        speed: speed as f64 / 100.0,
    })
}

fn db_client() -> impl Strategy<Value = DbClient> {
    (
        any::<bool>(),
        100u64..=10_000,
        prop::option::weighted(0.5, 100u64..=30_000),
    )
        .prop_map(|(per_request, ct, rt)| DbClient {
            pool: if per_request {
                DbPool::PerRequest
            } else {
                DbPool::PerWorker
            },
            connect_timeout: ms(ct),
            read_timeout: rt.map(ms),
        })
}

fn lb_ha() -> impl Strategy<Value = LbHa> {
    prop_oneof![
        2 => Just(LbHa::Single),
        1 => (
            200u64..=2000,
            1u32..=254,
            any::<bool>(),
            any::<bool>(),
            prop::option::weighted(0.5, (200u64..=2000, 1u32..=3, 1u32..=3)),
        )
            .prop_map(|(a, p, preempt, master_state, track)| LbHa::ActivePassive {
                advert_int: ms(a),
                backup_priority: p,
                preempt,
                master_state,
                track: track.map(|(i, fall, rise)| VrrpScript {
                    interval: ms(i),
                    fall,
                    rise,
                }),
            }),
        1 => (1u64..=60, 0u64..=30).prop_map(|(t, w)| LbHa::ActiveActive {
            dns_ttl: SimTime::from_secs(t),
            withdraw_after: SimTime::from_secs(w),
        }),
    ]
}

fn health() -> impl Strategy<Value = HealthCheck> {
    (
        prop::bool::weighted(0.8),
        (200u64..=3000, 200u64..=3000, 200u64..=3000),
        (1u32..=3, 1u32..=3),
        any::<bool>(),
        0u32..=3,
        any::<bool>(),
        (100u64..=5000, prop::option::weighted(0.5, 100u64..=3000)),
    )
        .prop_map(
            |(
                enabled,
                (inter, fast, down),
                (rise, fall),
                layer7,
                retries,
                redispatch,
                (tc, tk),
            )| {
                HealthCheck {
                    enabled,
                    inter: ms(inter),
                    fastinter: ms(fast),
                    downinter: ms(down),
                    rise,
                    fall,
                    layer7,
                    retries,
                    redispatch,
                    timeout_connect: ms(tc),
                    timeout_check: tk.map(ms),
                }
            },
        )
}

fn db_failover() -> impl Strategy<Value = DbFailover> {
    (
        prop::bool::weighted(0.8),
        500u64..=5000,
        1u32..=3,
        500u32..=10_000,
        any::<bool>(),
        100u64..=10_000,
        (1u32..=2, 1u64..=60, any::<bool>()),
    )
        .prop_map(
            |(automatic, poll, count, promo, semi, timeout, (acks, rnt, wait))| DbFailover {
                automatic,
                poll_interval: ms(poll),
                poll_count: count,
                promotion: Dist::det(promo as f64 * 1e-3).unwrap(),
                semi_sync: semi,
                semi_sync_timeout: ms(timeout),
                semi_sync_replicas: acks,
                replica_net_timeout: SimTime::from_secs(rnt),
                wait_for_apply: wait,
            },
        )
}

/// A fault target valid for `servers` servers, `nodes` DB nodes and `lbs` LB instances.
fn target(servers: usize, nodes: usize, lbs: usize) -> impl Strategy<Value = Target> {
    prop_oneof![
        (0..servers).prop_map(Target::Server),
        (0..servers).prop_map(Target::App),
        (0..lbs).prop_map(Target::Lb),
        (0..nodes).prop_map(Target::DbNode),
        Just(Target::DbPrimary),
        Just(Target::DbLink),
    ]
}

fn scheduled(
    servers: usize,
    nodes: usize,
    lbs: usize,
    duration_ms: u64,
) -> impl Strategy<Value = ScheduledFault> {
    (
        target(servers, nodes, lbs),
        prop::option::weighted(0.3, 100u32..=500),
        0..duration_ms,
        prop::option::weighted(0.8, 100u64..=20_000),
        fault_kind(),
    )
        .prop_map(|(target, slow, at, dur, kind)| {
            let db = matches!(target, Target::DbNode(_) | Target::DbPrimary);
            ScheduledFault {
                target,
                // Slow applies to DB nodes only; factors >= 1 keep the latency bound simple.
                kind: match slow {
                    Some(x) if db => FaultKind::Slow(x as f64 / 100.0),
                    _ => kind,
                },
                at: ms(at),
                duration: dur.map(ms),
            }
        })
}

/// Crash (answers with a reset), down or blackhole (no answer at all).
fn fault_kind() -> impl Strategy<Value = FaultKind> {
    prop_oneof![
        2 => Just(FaultKind::Crash),
        1 => Just(FaultKind::Down),
        1 => Just(FaultKind::Blackhole),
    ]
}

fn random_faults() -> impl Strategy<Value = RandomFaults> {
    (
        prop_oneof![
            Just(TargetKind::Lb),
            Just(TargetKind::Server),
            Just(TargetKind::App),
            Just(TargetKind::DbNode),
            Just(TargetKind::DbLink),
        ],
        5u64..=30,
        500u32..=5000,
        fault_kind(),
    )
        .prop_map(|(kind, ttf, ttr, fault)| RandomFaults {
            kind,
            fault,
            ttf: Dist::exp(ttf as f64).unwrap(),
            ttr: Dist::exp(ttr as f64 * 1e-3).unwrap(),
            repair: Default::default(),
        })
}

/// The system without failures.
fn base() -> impl Strategy<Value = Sys> {
    let workload = (
        any::<bool>(),
        10u32..=300,
        prop::collection::vec((1u64..=60_000, 0u32..=300), 0..=2),
        1u32..=1000,
        prop::collection::vec(
            (
                50u32..=300,
                d(2000),
                d(10_000),
                0u32..=3,
                0u32..=2,
                prop::bool::weighted(0.2),
            ),
            1..=3,
        ),
        1000u64..=127_000,
    );
    let servers = prop::collection::vec(server(), 1..=4);
    let lb = (
        algorithm(),
        d(500),
        1u32..=4,
        prop_oneof![Just(0u32), 1..=500u32],
        100u64..=5000,
        prop::option::weighted(0.7, 1000u64..=60_000),
    );
    let db = (
        db_node(),
        prop::collection::vec(db_node(), 0..=2),
        any::<bool>(),
        (d(5000), d(5000), d(1000), d(50_000)),
        (1u32..=4, 50u32..=200),
        db_client(),
    );
    let times = (
        20u64..=60,
        0u64..=5000,
        prop_oneof![Just(0u64), Just(500), Just(1000)],
    );
    (workload, servers, lb, db, times).prop_map(
        |(
            (poisson, rate, mut phases, clients, mut mix, connect_timeout),
            mut servers,
            (algorithm, lbp, threads, maxconn, tq, ts),
            (
                primary,
                replicas,
                reads_on_primary,
                (read, write, network, delay),
                (appl, af),
                client,
            ),
            (secs, warmup, interval),
        )| {
            for (i, s) in servers.iter_mut().enumerate() {
                s.name = format!("web-{:02}", i + 1);
            }
            servers[0].backup = false;
            phases.sort_by_key(|p| p.0);
            phases.dedup_by_key(|p| p.0);
            // A static class has no application stage and no queries.
            for c in &mut mix {
                if c.5 {
                    (c.2, c.3, c.4) = (D::Zero, 0, 0);
                }
            }
            let classes: Vec<(D, D)> = mix.iter().map(|c| (c.1, c.2)).collect();
            let cfg = Config {
                name: "prop".into(),
                seed: 1,
                duration: SimTime::from_secs(secs),
                warmup: ms(warmup),
                // Half the systems are judged against a latency objective (it draws nothing).
                slo: (secs % 2 == 0).then(|| Slo {
                    latency: ms(20),
                    target: Some(0.99),
                    percentiles: vec![(0.5, ms(10)), (0.99, ms(50))],
                }),
                workload: WorkloadConfig {
                    arrival: if poisson {
                        ArrivalKind::Poisson
                    } else {
                        ArrivalKind::Deterministic
                    },
                    rate: rate as f64,
                    phases: phases
                        .iter()
                        .map(|&(at, r)| RatePhase {
                            at: ms(at),
                            rate: r as f64,
                        })
                        .collect(),
                    clients,
                    mix: mix
                        .iter()
                        .enumerate()
                        .map(
                            |(i, &(w, nginx, app, reads, writes, static_file))| RequestClass {
                                name: format!("class-{i}"),
                                weight: w as f64 / 100.0,
                                nginx: nginx.dist(),
                                app: app.dist(),
                                reads,
                                writes,
                                static_file,
                            },
                        )
                        .collect(),
                    connect_timeout: ms(connect_timeout),
                    client_timeout: None,
                    users: None,
                    retry: None,
                    flood: None,
                    shape: None,
                    popularity: None,
                },
                lb: LbConfig {
                    algorithm,
                    processing: lbp.dist(),
                    connect: infrasim::dist::Dist::zero(),
                    abortonclose: false,
                    threads,
                    maxconn,
                    timeout_queue: ms(tq),
                    timeout_server: ts.map(ms),
                    tls: None,
                    rate_limit: None,
                    firewall: None,
                    persistence: None,
                },
                servers,
                database: DbConfig {
                    primary: DbNodeConfig {
                        name: "db-primary".into(),
                        ..primary
                    },
                    replicas: replicas
                        .into_iter()
                        .enumerate()
                        .map(|(i, n)| DbNodeConfig {
                            name: format!("db-replica-{}", i + 1),
                            ..n
                        })
                        .collect(),
                    read_from: if reads_on_primary {
                        ReadPolicy::Primary
                    } else {
                        ReadPolicy::Replicas
                    },
                    read_time: read.dist(),
                    write_time: write.dist(),
                    network: network.dist(),
                    replication: ReplicationConfig {
                        delay: delay.dist(),
                        appliers: appl,
                        apply_factor: af as f64 / 100.0,
                    },
                    client,
                },
                failures: Failures {
                    timeline_interval: ms(interval),
                    ..Failures::default()
                },
            };
            Sys {
                cfg,
                lb: lbp,
                classes,
                read,
                write,
                network,
            }
        },
    )
}

/// A system with random failure settings, scheduled faults and random faults.
fn system() -> impl Strategy<Value = Sys> {
    (base(), lb_ha(), health(), db_failover()).prop_flat_map(|(sys, ha, health, fo)| {
        let servers = sys.cfg.servers.len();
        let nodes = 1 + sys.cfg.database.replicas.len();
        let lbs = ha.instances();
        let dur = sys.cfg.duration.as_nanos() / 1_000_000;
        (
            Just(sys),
            Just(ha),
            Just(health),
            Just(fo),
            prop::collection::vec(scheduled(servers, nodes, lbs, dur), 0..=4),
            prop::collection::vec(random_faults(), 0..=2),
        )
            .prop_map(|(mut sys, ha, health, fo, scheduled, random)| {
                let f = &mut sys.cfg.failures;
                f.lb_ha = ha;
                f.health = health;
                f.db_failover = fo;
                f.scheduled = scheduled;
                f.random = random;
                sys
            })
    })
}

// ---- invariants --------------------------------------------------------------------------------

/// Relative precision of the latency histogram (3 significant digits).
const HIST_REL: f64 = 1e-3;

/// Each stage time is rounded to a whole nanosecond (after division by a speed): a path of a
/// few dozen stages may come out this much below the sum of the exact minima.
const ROUNDING: f64 = 1e-7;

fn check_invariants(sys: &Sys, r: &RunResults) -> Result<(), TestCaseError> {
    let cfg = &sys.cfg;
    let q = &r.requests;
    // Conservation.
    prop_assert!(
        q.completed + q.failed <= q.arrived,
        "completed {} + failed {} > arrived {}",
        q.completed,
        q.failed,
        q.arrived
    );
    prop_assert_eq!(q.arrived, q.completed + q.failed + q.in_flight_end);
    prop_assert_eq!(r.errors.values().sum::<u64>(), q.failed, "errors by cause");
    prop_assert_eq!(
        r.servers.iter().map(|s| s.completed).sum::<u64>(),
        q.completed,
        "the servers' completions must add up to the total"
    );
    for s in &r.servers {
        prop_assert!(
            s.completed <= s.dispatched,
            "{}: completed {} > dispatched {}",
            s.name,
            s.completed,
            s.dispatched
        );
    }
    // Utilisations and queues.
    let unit = |x: f64| x.is_finite() && (-1e-9..=1.0 + 1e-9).contains(&x);
    prop_assert!(
        unit(r.lb.utilisation),
        "lb utilisation {}",
        r.lb.utilisation
    );
    prop_assert!(
        r.lb.mean_queue >= -1e-9,
        "lb mean queue {}",
        r.lb.mean_queue
    );
    for s in &r.servers {
        prop_assert!(
            unit(s.nginx_utilisation),
            "{} nginx {}",
            s.name,
            s.nginx_utilisation
        );
        prop_assert!(
            unit(s.app_utilisation),
            "{} app {}",
            s.name,
            s.app_utilisation
        );
        prop_assert!(unit(s.app_wait_probability), "{} P(wait)", s.name);
        prop_assert!(s.app_mean_queue >= -1e-9, "{} app queue", s.name);
    }
    for n in &r.database {
        prop_assert!(
            unit(n.utilisation),
            "{} utilisation {}",
            n.name,
            n.utilisation
        );
        prop_assert!(n.mean_queue >= -1e-9, "{} queue", n.name);
    }
    prop_assert!(unit(r.availability), "availability {}", r.availability);
    // [slo]: every success is good or slow, good ones per class add up, and being served within
    // the latency is rarer than being served.
    prop_assert_eq!(r.slo.is_some(), sys.cfg.slo.is_some());
    prop_assert_eq!(r.slo_availability.is_some(), sys.cfg.slo.is_some());
    if let (Some(s), Some(a)) = (&r.slo, r.slo_availability) {
        prop_assert_eq!(s.good + s.slow, q.completed);
        prop_assert_eq!(s.failed, q.failed);
        let by_class: u64 = r.classes.iter().filter_map(|c| c.good).sum();
        prop_assert_eq!(by_class, s.good);
        prop_assert!(unit(a), "slo_availability {}", a);
        prop_assert!(
            a.is_nan() || a <= r.availability,
            "slo_availability {a} above availability {}",
            r.availability
        );
        for p in &s.percentiles {
            prop_assert_eq!(
                p.met,
                (q.completed > 0).then_some(p.observed_s <= p.target_s)
            );
        }
    }
    // Latency: never below the fastest possible path.
    let l = &r.latency;
    if q.completed > 0 {
        let bound = sys.min_latency();
        let lowest = r.latency_hist.quantile_secs(0.0);
        prop_assert!(
            l.mean >= bound - ROUNDING,
            "mean latency {} below the minimum path time {bound}",
            l.mean
        );
        prop_assert!(
            lowest >= bound * (1.0 - HIST_REL) - ROUNDING,
            "a request completed in {lowest} s, below the minimum path time {bound}"
        );
        prop_assert!(l.max >= l.mean * (1.0 - 1e-12) && l.max >= bound - ROUNDING);
        prop_assert!(l.p50 <= l.p90 && l.p90 <= l.p99 && l.p99 <= l.p999);
        prop_assert!(l.p999 <= l.max * (1.0 + HIST_REL) + 1e-9);
        prop_assert!(l.std >= 0.0 && l.std.is_finite());
    }
    // Per class: completions, failures and failures by cause add up to the run's, and the
    // classes' mean latencies weighted by their completions make the run's mean.
    let classes = &r.classes;
    prop_assert_eq!(
        classes.iter().map(|c| c.completed).sum::<u64>(),
        q.completed
    );
    prop_assert_eq!(classes.iter().map(|c| c.failed).sum::<u64>(), q.failed);
    for (cause, &n) in &r.errors {
        let by_class: u64 = classes.iter().map(|c| c.errors[cause]).sum();
        prop_assert_eq!(by_class, n, "{} by class", cause);
    }
    if q.completed > 0 {
        let weighted: f64 = classes
            .iter()
            .map(|c| c.latency.mean * c.completed as f64)
            .sum::<f64>()
            / q.completed as f64;
        prop_assert!(
            (weighted - l.mean).abs() <= 1e-9 * l.mean,
            "classes' mean latency {weighted} vs the run's {}",
            l.mean
        );
    }
    // Waits: P(wait) a fraction, percentiles in order up to the maximum, the mean over every
    // pass no more than the mean of those that waited; a stage nobody waited at shows zeros.
    // Every assignment by HAProxy passes its queue (a redispatch passes again).
    for w in &r.waits {
        prop_assert!(w.waited <= w.passed, "{}: waited > passed", w.name);
        prop_assert!(unit(w.wait_probability), "{} P(wait)", w.name);
        prop_assert!(
            w.p50_s <= w.p90_s && w.p90_s <= w.p99_s && w.p99_s <= w.p999_s,
            "{}: percentiles out of order",
            w.name
        );
        prop_assert!(w.p999_s <= w.max_s, "{}: p99.9 above the max", w.name);
        prop_assert!(w.mean_s <= w.mean_if_waited_s * (1.0 + 1e-12), "{}", w.name);
        prop_assert!(w.mean_if_waited_s <= w.max_s * (1.0 + 1e-12), "{}", w.name);
        if w.waited == 0 {
            prop_assert!(w.max_s == 0.0 && w.mean_s == 0.0, "{}", w.name);
        }
    }
    let dispatched: u64 = r.servers.iter().map(|s| s.dispatched).sum();
    let lb_queue = r.waits.iter().find(|w| w.name == "lb_queue");
    prop_assert_eq!(lb_queue.map(|w| w.passed), Some(dispatched));
    // Time never goes backwards.
    let end = cfg.duration.as_secs_f64();
    let interval = cfg.failures.timeline_interval;
    if interval > SimTime::ZERO {
        let expect = cfg.duration.as_nanos() / interval.as_nanos();
        prop_assert_eq!(
            r.timeline.len() as u64,
            expect,
            "one timeline row per interval"
        );
        for w in r.timeline.windows(2) {
            prop_assert!(
                w[0].t < w[1].t,
                "timeline goes back: {} then {}",
                w[0].t,
                w[1].t
            );
        }
        for row in &r.timeline {
            prop_assert!(row.t > 0.0 && row.t <= end + 1e-9, "row at {}", row.t);
            prop_assert_eq!(
                row.errors.iter().sum::<u64>(),
                row.failed,
                "row at {}",
                row.t
            );
            prop_assert!(row.p50 <= row.p99, "row at {}", row.t);
        }
    } else {
        prop_assert!(r.timeline.is_empty());
    }
    for e in &r.event_log {
        prop_assert!(
            (0.0..=end + 1e-9).contains(&e.t),
            "event at {} s outside the run [0, {end}]: {} {} {}",
            e.t,
            e.component,
            e.event,
            e.detail
        );
    }
    for f in &r.faults {
        prop_assert!(f.start_s >= 0.0 && f.start_s <= end + 1e-9);
        if let Some(e) = f.end_s {
            prop_assert!(e >= f.start_s && e <= end + 1e-9, "fault {:?}", f);
        }
        if let Some(d) = f.detected_s {
            prop_assert!(d >= f.start_s, "detected before it happened: {:?}", f);
        }
        if let Some(m) = f.recovered_s {
            prop_assert!(m >= f.start_s, "recovered before it happened: {:?}", f);
        }
    }
    Ok(())
}

/// Everything a run produces, as text: two runs are identical iff these are.
fn fingerprint(r: &RunResults) -> String {
    format!(
        "{}\n{:?}\n{:?}\n{:?}",
        serde_json::to_string(r).unwrap(),
        r.timeline,
        r.event_log,
        r.latency_hist.cdf_points()
    )
}

fn config(cases: u32) -> PtConfig {
    let env = PtConfig::default();
    PtConfig {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() {
            env.cases
        } else {
            cases
        },
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            env.rng_seed
        } else {
            RngSeed::Fixed(0x1f5_2026)
        },
        failure_persistence: None,
        ..env
    }
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn every_run_keeps_the_invariants(sys in system(), rep in 0u64..4) {
        let a = Stack::run(&sys.cfg, rep);
        check_invariants(&sys, &a)?;
        let b = Stack::run(&sys.cfg, rep);
        prop_assert!(fingerprint(&a) == fingerprint(&b), "same config, same run: different results");
    }
}

// ---- nothing is served by a dead component ----------------------------------------------------

/// What a component served: the measure that must stop growing once it is dead.
fn served(r: &RunResults, t: Target) -> u64 {
    match t {
        Target::Server(i) | Target::App(i) => r.servers[i].completed,
        Target::DbNode(n) => r.database[n].reads + r.database[n].writes,
        // Only checked with a single LB, or when every request needs the database.
        Target::Lb(_) | Target::DbLink => r.requests.completed,
        Target::DbPrimary => unreachable!("resolved before use"),
        Target::Host(_) | Target::Rack(_) => unreachable!("no hosts in these systems"),
    }
}

fn crash_case() -> impl Strategy<Value = (Sys, Target, u64, FaultKind)> {
    system().prop_flat_map(|sys| {
        let servers = sys.cfg.servers.len();
        let nodes = 1 + sys.cfg.database.replicas.len();
        let dur = sys.cfg.duration.as_nanos();
        // After the warm-up (so the run stopped before T measures the same requests).
        let from = (dur / 10).max(sys.cfg.warmup.as_nanos() + 1_000_000_000);
        (
            Just(sys),
            prop_oneof![
                (0..servers).prop_map(Target::Server),
                (0..servers).prop_map(Target::App),
                (0..nodes).prop_map(Target::DbNode),
                Just(Target::Lb(0)),
                Just(Target::DbLink),
            ],
            // Not a round time: no arrival is scheduled at exactly T.
            (from..dur * 9 / 10).prop_map(|t| t | 1),
            fault_kind(),
        )
    })
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn nothing_is_served_by_a_dead_component((mut sys, target, t, kind) in crash_case()) {
        let f = &mut sys.cfg.failures;
        if target == Target::Lb(0) {
            f.lb_ha = LbHa::Single;
            f.scheduled.retain(|s| !matches!(s.target, Target::Lb(k) if k > 0));
        }
        let every_request_queries =
            sys.cfg.workload.mix.iter().all(|c| c.reads + c.writes > 0);
        prop_assume!(target != Target::DbLink || every_request_queries);
        // Nginx serves static files without the application.
        let any_static = sys.cfg.workload.mix.iter().any(|c| c.static_file);
        prop_assume!(!matches!(target, Target::App(_)) || !any_static);
        sys.cfg.failures.scheduled.push(ScheduledFault {
            target,
            kind,
            at: SimTime(t),
            duration: None,
        });
        let full = Stack::run(&sys.cfg, 0);
        check_invariants(&sys, &full)?;
        // The same run stopped 1 ns before the crash: same streams, same events up to there.
        let mut before = sys.cfg.clone();
        before.duration = SimTime(t - 1);
        let early = Stack::run(&before, 0);
        prop_assert_eq!(
            served(&full, target),
            served(&early, target),
            "{:?} failed ({:?}) for good at {} s but served more afterwards",
            target,
            kind,
            t as f64 * 1e-9
        );
    }
}

// ---- regressions found by these properties ------------------------------------------------------

/// Found by the latency bound (src/model/stack/db.rs, `Ev::SemiAck`): a semi-sync commit's OK
/// reached the application the moment the replica's acknowledgement reached the primary,
/// skipping the network leg back to the app server, so with a fast replica a semi-sync write
/// was faster than an asynchronous one.
#[test]
fn a_semi_sync_commit_reply_crosses_the_network() {
    let mut cfg = common::stack(50.0, 1, 1, 0, 1, 20);
    cfg.database.network = Dist::det(0.001).unwrap();
    let plain = Stack::run(&cfg, 0);
    cfg.failures.db_failover.semi_sync = true;
    let semi = Stack::run(&cfg, 0);
    assert!(semi.requests.completed > 900, "{:?}", semi.requests);
    // Replication takes no time: the acknowledgement is immediate and costs nothing; the
    // write still goes to the primary and back (1 ms each way).
    for r in [&plain, &semi] {
        assert!((r.latency.mean - 0.002).abs() < 1e-9, "{}", r.latency.mean);
        assert!(r.latency_hist.quantile_secs(0.0) >= 0.002 * (1.0 - 1e-3));
    }
}

/// Found by the event-time check (src/model/stack/db.rs, `commit`): when no replica
/// acknowledged a semi-sync commit in time, the fall-back to asynchronous replication was
/// counted and logged at `now + semi_sync_timeout` even when that instant is after the end of
/// the run, so events.csv listed an event that never happened within it.
#[test]
fn a_semi_sync_timeout_due_after_the_run_is_not_reported() {
    let mut cfg = common::stack(10.0, 1, 1, 0, 1, 20);
    cfg.failures.db_failover.semi_sync = true;
    cfg.failures.db_failover.semi_sync_timeout = SimTime::from_secs(10);
    cfg.failures.scheduled.push(ScheduledFault {
        target: Target::DbNode(1),
        kind: FaultKind::Crash,
        at: SimTime::from_secs(15),
        duration: None,
    });
    let r = Stack::run(&cfg, 0);
    assert_eq!(r.failover.semi_sync_fallbacks, 0);
    assert!(r.event_log.iter().all(|e| e.t <= 20.0), "{:?}", r.event_log);
    // The same timeout within the run is counted and logged when it expires.
    cfg.failures.scheduled[0].at = SimTime::from_secs(5);
    let r = Stack::run(&cfg, 0);
    assert!(
        r.event_log
            .iter()
            .any(|e| e.event == "semi-sync timeout" && (e.t - 15.0).abs() < 0.2),
        "{:?}",
        r.event_log
    );
}

/// Found while writing the test above (src/model/stack/db.rs, `on_repl_arrive`): a crashed
/// replica still receives binlog events (its relay log is assumed refilled on restart), and
/// each arrival "caught up" and switched semi-sync back on, so the next commit waited for a
/// dead replica and fell back again: 51 fall-backs instead of 1 in this run, and "semi-sync
/// resumed" logged while the only replica was down.
#[test]
fn a_crashed_replica_does_not_switch_semi_sync_back_on() {
    let mut cfg = common::stack(10.0, 1, 1, 0, 1, 20);
    cfg.failures.db_failover.semi_sync = true;
    cfg.failures.db_failover.semi_sync_timeout = SimTime::from_secs(1);
    cfg.failures.scheduled.push(ScheduledFault {
        target: Target::DbNode(1),
        kind: FaultKind::Crash,
        at: SimTime::from_secs(5),
        duration: Some(SimTime::from_secs(5)),
    });
    let r = Stack::run(&cfg, 0);
    assert_eq!(r.failover.semi_sync_fallbacks, 1, "{:?}", r.event_log);
    let resumed: Vec<f64> = r
        .event_log
        .iter()
        .filter(|e| e.event == "semi-sync resumed")
        .map(|e| e.t)
        .collect();
    // Semi-sync comes back with the first commit the repaired replica receives.
    assert_eq!(resumed.len(), 1, "{:?}", r.event_log);
    assert!((10.0..10.2).contains(&resumed[0]), "{:?}", r.event_log);
}
