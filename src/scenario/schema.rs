//! The scenario file as serde sees it: every key optional, unknown keys refused.
//!
//! Values whose meaning needs more than a type check (durations, distributions, algorithm names,
//! counts that must be in a range) are kept raw here and checked in `build`, so that one pass
//! reports every problem with its key path. The meaning of each key is in `docs/scenario.md`.

use serde::Deserialize;
use toml::Value;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: Option<String>,
    pub seed: Option<i64>,
    /// Duration string.
    pub duration: Option<Value>,
    /// Duration string.
    pub warmup: Option<Value>,
    pub workload: Option<Workload>,
    pub lb: Option<Lb>,
    pub defaults: Option<Defaults>,
    /// Either a count (`servers = 3`) or an array of [`Server`] tables.
    pub servers: Option<Value>,
    pub database: Option<Database>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    pub arrival: Option<String>,
    pub rate: Option<f64>,
    pub clients: Option<i64>,
    pub phases: Option<Vec<Phase>>,
    pub mix: Option<Vec<Class>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub at: Option<Value>,
    pub rate: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Class {
    pub name: Option<String>,
    pub weight: Option<f64>,
    pub nginx: Option<Value>,
    pub app: Option<Value>,
    pub reads: Option<i64>,
    pub writes: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lb {
    pub algorithm: Option<String>,
    pub processing: Option<Value>,
    pub threads: Option<i64>,
    pub maxconn: Option<i64>,
    pub timeout_queue: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    pub server: Option<ServerFields>,
}

/// The per-server settings, shared by `[defaults.server]` and each `[[servers]]` entry.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFields {
    pub weight: Option<i64>,
    pub maxconn: Option<i64>,
    pub maxqueue: Option<i64>,
    pub nginx_workers: Option<i64>,
    pub nginx_max_conns: Option<i64>,
    pub app_workers: Option<i64>,
    pub app_queue: Option<i64>,
    pub speed: Option<f64>,
}

/// One `[[servers]]` entry.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    pub name: Option<String>,
    pub weight: Option<i64>,
    pub maxconn: Option<i64>,
    pub maxqueue: Option<i64>,
    pub nginx_workers: Option<i64>,
    pub nginx_max_conns: Option<i64>,
    pub app_workers: Option<i64>,
    pub app_queue: Option<i64>,
    pub speed: Option<f64>,
}

impl Server {
    /// This server's settings, each unset one taken from `defaults`.
    pub fn over(&self, defaults: &ServerFields) -> ServerFields {
        ServerFields {
            weight: self.weight.or(defaults.weight),
            maxconn: self.maxconn.or(defaults.maxconn),
            maxqueue: self.maxqueue.or(defaults.maxqueue),
            nginx_workers: self.nginx_workers.or(defaults.nginx_workers),
            nginx_max_conns: self.nginx_max_conns.or(defaults.nginx_max_conns),
            app_workers: self.app_workers.or(defaults.app_workers),
            app_queue: self.app_queue.or(defaults.app_queue),
            speed: self.speed.or(defaults.speed),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub read_from: Option<String>,
    pub read_time: Option<Value>,
    pub write_time: Option<Value>,
    pub network: Option<Value>,
    pub primary: Option<DbNode>,
    /// Either a count (`replicas = 2`) or an array of [`DbNode`] tables.
    pub replicas: Option<Value>,
    pub replication: Option<Replication>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbNode {
    pub name: Option<String>,
    pub workers: Option<i64>,
    pub max_connections: Option<i64>,
    pub speed: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Replication {
    pub delay: Option<Value>,
    pub appliers: Option<i64>,
    pub apply_factor: Option<f64>,
}
