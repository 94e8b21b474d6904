//! `simulate`: the thin shell around the library. Parse arguments, run the command (`cli`),
//! map outcomes to exit codes: 0 ok, 1 an assertion failed, 2 usage or input error.

mod cli;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = match cli::args::Cli::try_parse() {
        Ok(a) => a,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli::dispatch(args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(msg) => {
            cli::report_error(&msg);
            ExitCode::from(2)
        }
    }
}
