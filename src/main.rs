//! `simulate`: the thin shell around the library. Parse arguments, load the scenario, run,
//! hand the results to the writers, map outcomes to exit codes: 0 ok, 1 an assertion failed,
//! 2 usage or input error.

mod cli;
mod commands;
mod journal;
mod progress;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let outcome = match args.command {
        Some(cli::Command::Merge { dirs, out, gate }) => commands::merge(&dirs, out, &gate),
        Some(cli::Command::Replay { summary, out }) => commands::replay(&summary, out),
        Some(cli::Command::Ladder {
            scenarios,
            out,
            runs,
            threads,
        }) => commands::ladder(&scenarios, out, runs, threads),
        None => commands::run(args.run),
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}
