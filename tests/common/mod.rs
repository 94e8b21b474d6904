//! Hand-built configurations for the theory tests: no TOML, straight to the model.
#![allow(dead_code)]

pub mod paired;
pub mod reliability;
pub mod runs;
#[allow(unused_imports)]
pub use reliability::*;
#[allow(unused_imports)]
pub use runs::*;

use infrasim::dist::Dist;
use infrasim::engine::SimTime;
use infrasim::model::*;

/// One server with `c` app workers fed by Poisson arrivals at `lambda`, exponential work of
/// mean `1/mu`; LB, Nginx, DB and network take no time. An M/M/c queue.
pub fn mmc(
    lambda: f64,
    mu: f64,
    c: u32,
    servers: usize,
    algorithm: Algorithm,
    seconds: u64,
) -> Config {
    Config {
        name: "mmc-test".into(),
        seed: 1,
        duration: SimTime::from_secs(seconds),
        warmup: SimTime::from_secs(seconds / 20),
        slo: None,
        workload: WorkloadConfig {
            arrival: ArrivalKind::Poisson,
            rate: lambda,
            phases: vec![],
            clients: 100_000,
            mix: vec![RequestClass {
                name: "default".into(),
                weight: 1.0,
                nginx: Dist::zero(),
                app: Dist::exp(1.0 / mu).unwrap(),
                reads: 0,
                writes: 0,
                static_file: false,
            }],
            connect_timeout: SimTime::from_secs(127),
            client_timeout: None,
            users: None,
            retry: None,
            flood: None,
            shape: None,
            popularity: None,
        },
        lb: LbConfig {
            algorithm,
            processing: Dist::zero(),
            connect: Dist::zero(),
            abortonclose: false,
            threads: 1,
            maxconn: 0,
            timeout_queue: SimTime::from_secs(3600),
            // Queueing theory knows no timeouts.
            timeout_server: None,
            tls: None,
            rate_limit: None,
            firewall: None,
            persistence: None,
        },
        servers: (0..servers)
            .map(|i| ServerConfig {
                name: format!("web-{:02}", i + 1),
                weight: 1,
                maxconn: 0,
                maxqueue: 0,
                nginx_workers: 1,
                nginx_max_conns: u32::MAX,
                app_workers: c,
                app_queue: u32::MAX,
                speed: 1.0,
                backup: false,
                upstream: Upstream::Unix,
                proxy_connect_timeout: SimTime::from_secs(60),
                proxy_read_timeout: SimTime::from_secs(365 * 86_400),
                app_timeout: None,
            })
            .collect(),
        database: DbConfig {
            primary: DbNodeConfig {
                name: "db-primary".into(),
                workers: 1,
                max_connections: 1,
                speed: 1.0,
            },
            replicas: vec![],
            read_from: ReadPolicy::Replicas,
            read_time: Dist::zero(),
            write_time: Dist::zero(),
            network: Dist::zero(),
            replication: ReplicationConfig {
                delay: Dist::zero(),
                appliers: 1,
                apply_factor: 1.0,
            },
            client: DbClient::default(),
        },
        failures: Failures {
            timeline_interval: SimTime::from_secs(1),
            ..Default::default()
        },
    }
}

/// A small web stack for the failure tests: `servers` web servers behind one HAProxy
/// (roundrobin), a MySQL primary and `replicas` replicas, one request class of `reads` reads
/// then `writes` writes, deterministic arrivals at `rate` per second (the k-th at k / rate), and
/// every stage (LB, Nginx, app, DB, network, replication) taking no time, so nothing ever
/// queues and each outcome is decided by the failure mechanisms alone. Application workers are
/// unlimited in effect (100 000 per server), so a test that adds a wait (app work, semi-sync
/// acknowledgements) still sees no queueing. No warm-up; default
/// failure settings (nothing fails), timeline rows of 1 s.
pub fn stack(
    rate: f64,
    servers: usize,
    replicas: usize,
    reads: u32,
    writes: u32,
    seconds: u64,
) -> Config {
    let node = |name: String| DbNodeConfig {
        name,
        workers: 64,
        // Every application worker keeps a connection (a per-worker pool): enough for all.
        max_connections: 1_000_000,
        speed: 1.0,
    };
    let mut cfg = mmc(rate, 1.0, 100_000, servers, Algorithm::RoundRobin, seconds);
    cfg.name = "stack-test".into();
    cfg.warmup = SimTime::ZERO;
    cfg.workload.arrival = ArrivalKind::Deterministic;
    cfg.workload.mix = vec![RequestClass {
        name: "default".into(),
        weight: 1.0,
        nginx: Dist::zero(),
        app: Dist::zero(),
        reads,
        writes,
        static_file: false,
    }];
    cfg.database.primary = node("db-primary".into());
    cfg.database.replicas = (0..replicas)
        .map(|i| node(format!("db-replica-{}", i + 1)))
        .collect();
    cfg
}

/// Erlang C: probability that an arrival waits in M/M/c with offered load a = lambda/mu, via
/// the Erlang B recursion B_0 = 1, B_k = a B_{k-1} / (k + a B_{k-1}) (numerically stable), then
/// C = B_c / (1 - rho + rho B_c) with rho = a / c (domain.md §8); c = 1 gives rho.
/// (theory_queueing.rs checks it against known values.)
pub fn erlang_c(a: f64, c: u32) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    let rho = a / c as f64;
    assert!(rho < 1.0);
    b / (1.0 - rho + rho * b)
}

/// P(|T| < t) for Student t with `df` degrees of freedom, exact for integer df (Abramowitz &
/// Stegun 26.7.3-4), with theta = atan(t / sqrt(df)):
///   odd df:  (2/pi) (theta + sin theta (cos theta + 2/3 cos^3 theta + ...
///                                       + (2.4...(df-3))/(1.3...(df-2)) cos^(df-2) theta))
///   even df: sin theta (1 + 1/2 cos^2 theta + ... + (1.3...(df-3))/(2.4...(df-2)) cos^(df-2) theta)
/// (theory_queueing.rs checks it against the printed tables.)
pub fn t_central_prob(t: f64, df: usize) -> f64 {
    let theta = (t / (df as f64).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    if df % 2 == 1 {
        let mut sum = 0.0;
        let mut term = c;
        for k in 1..=(df - 1) / 2 {
            sum += term;
            term *= c * c * (2 * k) as f64 / (2 * k + 1) as f64;
        }
        2.0 / std::f64::consts::PI * (theta + s * sum)
    } else {
        let mut sum = 0.0;
        let mut term = 1.0;
        for k in 1..=df / 2 {
            sum += term;
            term *= c * c * (2 * k - 1) as f64 / (2 * k) as f64;
        }
        s * sum
    }
}

/// t_{0.9995, df}: the half-width multiplier of a two-sided 99.9% Student t interval, found by
/// bisection on [`t_central_prob`] (any df >= 1).
pub fn student_t_999(df: usize) -> f64 {
    assert!(df >= 1);
    let (mut lo, mut hi) = (0.0_f64, 1000.0_f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_central_prob(mid, df) < 0.999 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// Two-sided 99.9% quantile of the standard normal, z_{0.9995} (checked in
/// theory_queueing.rs's `t_quantile_table_is_correct`).
pub const Z_999: f64 = 3.290_527;

// ---- test reports --------------------------------------------------------------------------------

thread_local! {
    static LOG: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Buffers a line of this test's report; tests run in parallel, so each prints its report in
/// one piece when its [`Report`] guard drops (also when an assertion fails).
pub fn log(line: String) {
    LOG.with(|l| {
        let mut l = l.borrow_mut();
        l.push_str(&line);
        l.push('\n');
    });
}

pub struct Report;

impl Report {
    pub fn start(title: impl Into<String>) -> Report {
        log(title.into());
        Report
    }
}

impl Drop for Report {
    fn drop(&mut self) {
        LOG.with(|l| eprint!("{}", std::mem::take(&mut *l.borrow_mut())));
    }
}

// ---- statistics over replications ----------------------------------------------------------------

/// Mean and standard error of independent replication values.
#[derive(Clone, Copy, Debug)]
pub struct Est {
    pub mean: f64,
    pub se: f64,
    pub n: usize,
}

impl Est {
    pub fn of(xs: &[f64]) -> Est {
        let n = xs.len();
        assert!(n >= 2);
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Est {
            mean,
            se: (var / n as f64).sqrt(),
            n,
        }
    }

    /// Half-width of the two-sided 99.9% Student t interval.
    pub fn hw999(&self) -> f64 {
        student_t_999(self.n - 1) * self.se
    }
}
