//! `simulate replay`: re-run what a `summary.json` records and check the result is identical.

use super::Outcome;
use infrasim::model::Stack;
use infrasim::report::{self, Provenance};
use infrasim::scenario;
use std::path::{Path, PathBuf};

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

pub fn replay(summary: &Path, out: Option<PathBuf>) -> Outcome {
    let bytes = std::fs::read(summary).map_err(|e| format!("error: {}: {e}", summary.display()))?;
    let rec: Recorded = serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "error: {}: not a summary.json written by simulate: {e}",
            summary.display()
        )
    })?;
    let scenario_path = PathBuf::from(&rec.scenario_file);
    let sc = scenario::load(&scenario_path, &rec.overrides).map_err(|e| e.to_string())?;
    let mut same = true;
    if sc.source_hash != rec.scenario_hash {
        println!(
            "the scenario file {} changed since the run (hash {} now, {} then): results may differ",
            rec.scenario_file, sc.source_hash, rec.scenario_hash
        );
        same = false;
    }
    let tool = format!("infrasim {}", env!("CARGO_PKG_VERSION"));
    if tool != rec.tool {
        println!("recorded with {}, replayed with {tool}", rec.tool);
    }
    let results = Stack::run(&sc.config, rec.run);
    let prov = Provenance::new(&scenario_path, &sc.source_hash, &rec.overrides);
    let out =
        out.unwrap_or_else(|| PathBuf::from("results").join(format!("{}.replay", rec.scenario)));
    report::write_run(&out, &results, &prov)
        .map_err(|e| format!("error: writing results to {}: {e}", out.display()))?;
    let fresh = std::fs::read(out.join("summary.json")).map_err(|e| e.to_string())?;
    if fresh == bytes {
        println!(
            "replayed {} (seed {}, overrides {:?}): summary.json is identical; written to {}/",
            rec.scenario_file,
            sc.config.seed,
            rec.overrides,
            out.display()
        );
    } else {
        println!(
            "replayed {}: the new summary.json ({}/summary.json) DIFFERS from {}",
            rec.scenario_file,
            out.display(),
            summary.display()
        );
        same = false;
    }
    Ok(same)
}
