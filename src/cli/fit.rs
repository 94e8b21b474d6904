//! `simulate fit LOG [--config haproxy.cfg] -o scenario.toml`: the traffic and service times a
//! HAProxy log shows, written as a scenario with its fit report (`NAME.fit/` beside it). The
//! same pipeline as `import`, entered from the log.

use super::Outcome;
use super::args::IngestArgs;
use std::path::Path;

pub fn fit(log: &Path, config: Option<&Path>, inputs: &IngestArgs) -> Outcome {
    super::import::import(config, Some(log), inputs, "fit")
}
