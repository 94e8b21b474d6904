//! The command line: one module per command (`run`, `sweep`, `montecarlo`, `merge`, `replay`,
//! `ladder`, `import`, `fit`), each building the pieces from the parsed arguments and running them, as ripgrep
//! and hyperfine keep theirs. What several commands share lives in one place each: `output`
//! (where results go and how they are written), `gate` (assertions and JUnit), `study` (limits
//! and the worker pool of multi-run studies), `journal` (Ctrl-C and `--resume`), `progress`.
//!
//! Every command returns an [`Outcome`]: `Ok(true)` when every assertion held, `Ok(false)` when
//! one failed (exit 1), `Err` with the message for usage and input errors (exit 2).

pub mod args;
mod fit;
mod gate;
mod import;
mod journal;
mod journal_sort;
mod ladder;
mod merge;
mod montecarlo;
mod output;
mod print;
mod progress;
mod replay;
mod run;
mod source;
mod study;
mod sweep;

pub type Outcome = Result<bool, String>;

/// Runs the command the arguments name.
pub fn dispatch(cli: args::Cli) -> Outcome {
    match cli.command {
        Some(args::Command::Merge { dirs, output, gate }) => merge::merge(&dirs, &output, &gate),
        Some(args::Command::Import {
            haproxy,
            inputs,
            log,
        }) => import::import(Some(&haproxy), log.as_deref(), &inputs, "import"),
        Some(args::Command::Fit {
            log,
            config,
            inputs,
        }) => fit::fit(&log, config.as_deref(), &inputs),
        Some(args::Command::Replay { summary, output }) => replay::replay(&summary, &output),
        Some(args::Command::Ladder {
            scenarios,
            runs,
            threads,
            output,
        }) => ladder::ladder(&scenarios, &output, runs, threads),
        None => run::run(cli.run),
    }
}

/// Prints an error message (stderr, whatever state stdout is in).
pub fn report_error(msg: &str) {
    print::errln(msg);
}
