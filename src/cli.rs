//! Command-line arguments: parsed into one plain struct, nothing else happens here.

use clap::Parser;
use std::path::PathBuf;

/// Simulate a load-balanced web stack (HAProxy -> Nginx + app -> MySQL) from a TOML scenario.
#[derive(Parser, Debug)]
#[command(name = "simulate", version, about, long_about = None)]
pub struct Cli {
    /// The scenario file (see docs/scenario.md).
    pub scenario: PathBuf,

    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Output folder (default: results/<scenario name>/). Replaced as a whole.
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Override any scenario value: --set lb.algorithm=leastconn --set servers.count=3
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,

    /// Print summary.json on stdout instead of the human summary.
    #[arg(long)]
    pub json: bool,
}
