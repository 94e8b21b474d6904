//! Hand-built configurations for the theory tests: no TOML, straight to the model.
#![allow(dead_code)]

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
            }],
        },
        lb: LbConfig {
            algorithm,
            processing: Dist::zero(),
            threads: 1,
            maxconn: 0,
            timeout_queue: SimTime::from_secs(3600),
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
        },
        failures: Failures {
            timeline_interval: SimTime::from_secs(1),
            ..Default::default()
        },
    }
}
