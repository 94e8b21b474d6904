//! The command line: one module per command (`run`, `sweep`, `montecarlo`, `merge`, `replay`,
//! `ladder`), each building the pieces from the parsed arguments and running them, as ripgrep
//! and hyperfine keep theirs. What several commands share lives in one place each: `output`
//! (where results go and how they are written), `gate` (assertions and JUnit), `study` (limits
//! and the worker pool of multi-run studies), `journal` (Ctrl-C and `--resume`), `progress`.
//!
//! Every command returns an [`Outcome`]: `Ok(true)` when every assertion held, `Ok(false)` when
//! one failed (exit 1), `Err` with the message for usage and input errors (exit 2).

pub mod args;
mod gate;
mod journal;
mod ladder;
mod merge;
mod montecarlo;
mod output;
mod progress;
mod replay;
mod run;
mod study;
mod sweep;

pub type Outcome = Result<bool, String>;

/// Runs the command the arguments name.
pub fn dispatch(cli: args::Cli) -> Outcome {
    match cli.command {
        Some(args::Command::Merge { dirs, out, gate }) => merge::merge(&dirs, out, &gate),
        Some(args::Command::Replay { summary, out }) => replay::replay(&summary, out),
        Some(args::Command::Ladder {
            scenarios,
            out,
            runs,
            threads,
        }) => ladder::ladder(&scenarios, out, runs, threads),
        None => run::run(cli.run),
    }
}
