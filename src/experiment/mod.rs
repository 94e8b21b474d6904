//! Many runs: replications, parameter sweeps, Monte Carlo availability studies, shards, and
//! the assertions that gate CI on their results.
//!
//! Every run is identified by (point, replication) and its random streams derive from
//! (seed, stream name, replication) only, so results do not depend on how runs are spread
//! over threads or machines: rayon's ordered `collect` puts them back in job order, and a
//! shard is just a subset of the same jobs.

pub mod assertion;
pub mod mc_summary;
pub mod metrics;
pub mod montecarlo;
pub mod nearest_rank;
pub mod overload;
pub mod reps;
pub mod shard;
pub mod sweep;

pub use assertion::{Assertion, Verdict};
pub use reps::Reps;
pub use shard::Shard;
