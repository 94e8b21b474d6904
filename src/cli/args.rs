//! Command-line arguments: parsed into plain structs, nothing else happens here. Values clap
//! can check alone (thread counts, seeds) are bounded here, so they fail before any work.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Most worker threads: a thread costs a stack and a share of the memory of its runs, and
/// beyond the cores of the largest machines more threads only slow a study down.
pub const MAX_THREADS: usize = 1024;

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
        #[command(flatten)]
        output: OutArgs,
        #[command(flatten)]
        gate: GateArgs,
    },
    /// Compare designs: run the Monte Carlo study of each scenario, in the order given, and
    /// chart availability (in nines) step by step: `simulate ladder scenarios/ladder/*.toml`.
    Ladder {
        /// Scenario files with [[random_faults]], one per design step.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
        /// Monte Carlo runs per design (default: each scenario's [montecarlo] runs).
        #[arg(long, allow_negative_numbers = true)]
        runs: Option<u32>,
        /// Worker threads (default: one per core), 1 to 1024.
        #[arg(long, allow_negative_numbers = true, value_parser = threads)]
        threads: Option<usize>,
        #[command(flatten)]
        output: OutArgs,
    },
    /// Write a scenario from your own configuration: haproxy.cfg, and optionally nginx.conf,
    /// keepalived.conf, my.cnf and a HAProxy log (for the traffic and service times). Every
    /// directive that is not mapped is listed, on the terminal and atop the scenario.
    Import {
        /// The HAProxy configuration.
        haproxy: PathBuf,
        #[command(flatten)]
        inputs: IngestArgs,
        /// A HAProxy log to fit the traffic and service times from (as `simulate fit`).
        #[arg(long)]
        log: Option<PathBuf>,
    },
    /// Fit traffic and service times from a HAProxy log (httplog or JSON lines) and write a
    /// scenario with a fit report; --config adds what a haproxy.cfg says.
    Fit {
        /// The HAProxy log.
        log: PathBuf,
        /// The HAProxy configuration (as `simulate import`).
        #[arg(long)]
        config: Option<PathBuf>,
        #[command(flatten)]
        inputs: IngestArgs,
    },
    /// Re-run the run a summary.json records (same scenario, seed and overrides) and check
    /// the new summary is identical. Exit 1 if it differs or the scenario file changed.
    Replay {
        /// A summary.json written by `simulate`.
        summary: PathBuf,
        #[command(flatten)]
        output: OutArgs,
    },
}

/// The inputs `import` and `fit` share.
#[derive(Args, Debug, Clone)]
pub struct IngestArgs {
    /// nginx.conf of the web servers.
    #[arg(long)]
    pub nginx: Option<PathBuf>,
    /// keepalived.conf of the load balancers (makes them active-passive).
    #[arg(long)]
    pub keepalived: Option<PathBuf>,
    /// my.cnf of the MySQL primary.
    #[arg(long)]
    pub mysql: Option<PathBuf>,
    /// The backend (or listen section) to import (default: the first frontend's default).
    #[arg(long)]
    pub backend: Option<String>,
    /// The log's format: HAProxy's `option httplog` lines, or one JSON object per line.
    #[arg(long, value_enum, default_value_t = LogFormat::Httplog)]
    pub format: LogFormat,
    /// The scenario file to write (a new file, or one simulate wrote). Without it the
    /// scenario is printed (a log's fit needs it: its report goes beside, in NAME.fit/).
    #[arg(short = 'o', long = "out")]
    pub out: Option<PathBuf>,
    /// Do not list the directives that were not mapped on the terminal.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Httplog,
    Json,
}

/// What a command writes, and where: shared by every command.
#[derive(Args, Debug, Clone)]
pub struct OutArgs {
    /// Output folder (default: results/<scenario name>/). A new folder, or one simulate wrote
    /// and nobody added to (it is then replaced whole); a symbolic link to such a folder is
    /// followed. Anything else is refused.
    #[arg(long)]
    pub out: Option<PathBuf>,

    /// What to write: `all` (data, CSVs, charts, index.html), `summary` (the data files only:
    /// summary.json of a run, the JSON and CSV files of a study) or `none` (the terminal only).
    #[arg(long, value_enum, default_value_t = Output::All)]
    pub output: Output,

    /// No progress output, and no note when earlier results are replaced.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Output {
    None,
    Summary,
    All,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (see docs/scenario.md).
    #[arg(required = true)]
    pub scenario: Option<PathBuf>,

    /// Override the scenario's seed (0 to 9223372036854775807, as `seed` in the file).
    #[arg(long, allow_negative_numbers = true,
          value_parser = clap::value_parser!(u64).range(0..=i64::MAX as u64))]
    pub seed: Option<u64>,

    /// Override any scenario value: --set lb.algorithm=leastconn --set servers.count=3
    #[arg(long = "set", value_name = "KEY.PATH=VALUE")]
    pub set: Vec<String>,

    /// Print summary.json on stdout instead of the human summary (single runs only).
    #[arg(long)]
    pub json: bool,

    /// Sweep a parameter: --sweep lb.algorithm=roundrobin,leastconn (repeatable: cartesian
    /// product, added to the scenario's [sweep] section).
    #[arg(long, value_name = "KEY.PATH=V1,V2,...")]
    pub sweep: Vec<String>,

    /// Replications per sweep point (makes a study even without --sweep).
    #[arg(long, allow_negative_numbers = true)]
    pub replications: Option<u32>,

    /// Run the scenario's Monte Carlo availability study ([montecarlo] section, or defaults).
    #[arg(long)]
    pub montecarlo: bool,

    /// Monte Carlo runs (overrides [montecarlo] runs; Monte Carlo studies only).
    #[arg(long, allow_negative_numbers = true)]
    pub runs: Option<u32>,

    /// Worker threads of a study (default: one per core), 1 to 1024. Results do not depend on
    /// it.
    #[arg(long, allow_negative_numbers = true, value_parser = threads)]
    pub threads: Option<usize>,

    /// Continue an interrupted study (Ctrl-C, or a failed write) where it stopped: same
    /// command, plus --resume.
    #[arg(long)]
    pub resume: bool,

    /// Run only shard K of N of a study's runs (combine with `simulate merge`).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,

    #[command(flatten)]
    pub output: OutArgs,

    #[command(flatten)]
    pub gate: GateArgs,
}

#[derive(Args, Debug, Default)]
pub struct GateArgs {
    /// A condition on the result: 'availability >= 0.999', 'p99 <= 250ms',
    /// 'lost_transactions == 0'. Exit code 1 when one fails (decided on the 95% interval).
    #[arg(long = "assert", value_name = "EXPR")]
    pub asserts: Vec<String>,

    /// Write a JUnit XML report of the assertions (a new file, or one simulate wrote).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

fn threads(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=MAX_THREADS).contains(&n) => Ok(n),
        _ => Err(format!("must be a whole number from 1 to {MAX_THREADS}")),
    }
}
