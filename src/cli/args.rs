//! Command-line arguments: parsed into plain structs, nothing else happens here.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Simulate a load-balanced web stack (HAProxy -> Nginx + app -> MySQL) from a TOML scenario:
/// one run, a parameter sweep with replications, or a Monte Carlo availability study.
#[derive(Parser, Debug)]
#[command(
    name = "simulate",
    version,
    about,
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub run: RunArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Combine the outputs of `--shard K/N` runs into the result of one unsharded study.
    Merge {
        /// Shard output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output folder (default: results/<scenario name>/).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        gate: GateArgs,
    },
    /// Compare designs: run the Monte Carlo study of each scenario, in the order given, and
    /// chart availability (in nines) step by step: `simulate ladder scenarios/ladder/*.toml`.
    Ladder {
        /// Scenario files with [[random_faults]], one per design step.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Output folder (default: results/ladder/).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Monte Carlo runs per design (default: each scenario's [montecarlo] runs).
        #[arg(long)]
        runs: Option<u32>,
        /// Worker threads (default: one per core).
        #[arg(long)]
        threads: Option<usize>,
    },
    /// Re-run the run a summary.json records (same scenario, seed and overrides) and check
    /// the new summary is identical. Exit 1 if it differs or the scenario file changed.
    Replay {
        /// A summary.json written by `simulate`.
        summary: PathBuf,
        /// Where to write the regenerated run (default: results/<scenario name>.replay/).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (see docs/scenario.md).
    #[arg(required = true)]
    pub scenario: Option<PathBuf>,

    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,

    /// Output folder (default: results/<scenario name>/). Replaced as a whole.
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// Override any scenario value: --set lb.algorithm=leastconn --set servers.count=3
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,

    /// Print summary.json on stdout instead of the human summary (single runs).
    #[arg(long)]
    pub json: bool,

    /// Sweep a parameter: --sweep lb.algorithm=roundrobin,leastconn (repeatable: cartesian
    /// product, added to the scenario's [sweep] section).
    #[arg(long, value_name = "KEY.PATH=V1,V2,...")]
    pub sweep: Vec<String>,

    /// Replications per sweep point (makes a study even without --sweep).
    #[arg(long)]
    pub replications: Option<u32>,

    /// Run the scenario's Monte Carlo availability study ([montecarlo] section, or defaults).
    #[arg(long)]
    pub montecarlo: bool,

    /// Monte Carlo runs (overrides [montecarlo] runs).
    #[arg(long)]
    pub runs: Option<u32>,

    /// Worker threads (default: one per core). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,

    /// Continue an interrupted study (Ctrl-C) where it stopped: same command, plus --resume.
    #[arg(long)]
    pub resume: bool,

    /// Run only shard K of N of a study's runs (combine with `simulate merge`).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    #[command(flatten)]
    pub gate: GateArgs,

    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug, Default)]
pub struct GateArgs {
    /// A condition on the result: 'availability >= 0.999', 'p99 <= 250ms',
    /// 'lost_transactions == 0'. Exit code 1 when one fails (decided on the 95% interval).
    #[arg(long = "assert", value_name = "EXPR")]
    pub asserts: Vec<String>,

    /// Write a JUnit XML report of the assertions.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}
