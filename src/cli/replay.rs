//! `simulate replay`: re-run what a `summary.json` records and check the result is identical.

use super::Outcome;
use super::args::OutArgs;
use super::output::{Output, default_dir, run_and_write};
use super::print;
use super::source;
use infrasim::report::{self, Provenance};
use infrasim::scenario::build::name_problem;
use infrasim::scenario::input;
use std::path::Path;

/// Largest summary.json read (one with a thousand servers and a year of faults is far below).
const MAX_SUMMARY_BYTES: u64 = 64 << 20;

/// The provenance part of a summary.json.
#[derive(serde::Deserialize)]
struct Recorded {
    tool: String,
    scenario_file: String,
    scenario_hash: String,
    overrides: Vec<String>,
    scenario: String,
    run: u64,
}

pub fn replay(summary: &Path, out_args: &OutArgs) -> Outcome {
    let bytes = input::read_file(summary, MAX_SUMMARY_BYTES)
        .map_err(|e| format!("error: {}: {e}", summary.display()))?;
    let rec: Recorded = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "error: {}: not a summary.json written by simulate: {e}",
            summary.display()
        )
    })?;
    // The name becomes a folder name: a summary that was tampered with must not send the
    // output elsewhere (`"scenario": "../../x"`).
    if let Some(why) = name_problem(&rec.scenario) {
        return Err(format!(
            "error: {}: scenario: {why}; not a summary.json written by simulate",
            summary.display()
        ));
    }
    let near = summary.parent().unwrap_or(Path::new("."));
    let near = if near.as_os_str().is_empty() {
        Path::new(".")
    } else {
        near
    };
    let found = source::locate(&rec.scenario_file, &rec.scenario_hash, &rec.overrides, near)?;
    let sc = found.scenario;
    let mut same = true;
    if !found.exact {
        print::outln(&format!(
            "the scenario file {} changed since the run (hash {} now, {} then): results may differ",
            sc.path.display(),
            sc.source_hash,
            rec.scenario_hash
        ));
        same = false;
    }
    let tool = format!("infrasim {}", env!("CARGO_PKG_VERSION"));
    if tool != rec.tool {
        print::outln(&format!("recorded with {}, replayed with {tool}", rec.tool));
    }
    let output = Output::claim(
        out_args,
        default_dir(&format!("{}.replay", rec.scenario), None),
    )?;
    // The provenance as recorded (the path as it was given), so that an identical run gives an
    // identical file wherever it is replayed from.
    let prov = Provenance::new(
        Path::new(&rec.scenario_file),
        &sc.source_hash,
        &rec.overrides,
    );
    let results = run_and_write(&output, &sc.config, rec.run, &prov)?;
    let fresh = report::summary::to_json(&results, &prov).map_err(|e| e.to_string())?;
    let written = match output.dir() {
        Some(_) => format!("; {}", output.written()),
        None => String::new(),
    };
    if fresh == bytes {
        print::outln(&format!(
            "replayed {} (seed {}, overrides {:?}): summary.json is identical{written}",
            sc.path.display(),
            sc.config.seed,
            rec.overrides,
        ));
    } else {
        print::outln(&format!(
            "replayed {}: the new summary.json DIFFERS from {}{written}",
            sc.path.display(),
            summary.display()
        ));
        same = false;
    }
    Ok(same)
}
