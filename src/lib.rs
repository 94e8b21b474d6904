//! infrasim: a deterministic discrete-event simulator of a load-balanced web stack.
//!
//! Data flows one way: `scenario` turns a TOML file into a [`model::Config`], the model runs on
//! the `engine`, `stats` summarise, and `report` writes files. The engine and the model do no
//! I/O and know nothing of TOML, terminals or charts.

pub mod dist;
pub mod engine;
pub mod experiment;
pub mod ingest;
pub mod model;
pub mod report;
pub mod scenario;
pub mod stats;
