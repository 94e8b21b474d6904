//! The model of the web stack: workload, load balancer, servers, database, replication.
//!
//! Everything here is pure computation over a [`Config`]: no files, no TOML, no terminal.

pub mod availability;
pub mod capacity;
pub mod clients;
pub mod colocation;
pub mod config;
pub mod degraded;
pub mod firewall;
pub mod flood;
pub mod health;
pub mod lb;
pub mod popularity;
pub mod ratelimit;
pub mod repair;
pub mod replication;
pub mod results;
pub mod retry;
pub mod shape;
pub mod slo;
pub mod spread;
pub mod stack;
pub mod station;
pub mod story;
pub mod tcp;
pub mod timeline;
pub mod tls;
pub mod workload;

pub use config::*;
pub use results::{CutShort, RunResults};
pub use stack::Stack;
