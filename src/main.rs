//! `simulate`: the thin shell around the library. Parse arguments, load the scenario, run,
//! hand the results to the writers, map outcomes to exit codes (0 ok, 1 a check failed,
//! 2 usage or input error).

mod cli;

use clap::Parser;
use infrasim::model::Stack;
use infrasim::report::{self, Provenance};
use infrasim::scenario;
use std::path::PathBuf;
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
    match run(args) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

fn run(args: cli::Cli) -> Result<ExitCode, String> {
    let mut overrides = args.set.clone();
    if let Some(seed) = args.seed {
        overrides.push(format!("seed={seed}"));
    }
    let sc = scenario::load(&args.scenario, &overrides).map_err(|e| e.to_string())?;
    let results = Stack::run(&sc.config, 0);
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&sc.config.name));
    let prov = Provenance::new(&args.scenario, &sc.source_hash, &overrides);
    report::write_run(&out, &results, &prov)
        .map_err(|e| format!("error: writing results to {}: {e}", out.display()))?;
    if args.json {
        let json = report::summary::to_json(&results, &prov).map_err(|e| e.to_string())?;
        print!("{}", String::from_utf8_lossy(&json));
    } else {
        print!("{}", report::table::render(&results));
        println!("\nresults written to {}/", out.display());
    }
    Ok(ExitCode::SUCCESS)
}
