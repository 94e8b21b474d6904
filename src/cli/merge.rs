//! `simulate merge`: combine the outputs of `--shard K/N` runs into what one unsharded study
//! gives, byte for byte.

use super::Outcome;
use super::args::GateArgs;
use super::gate::parse_asserts;
use super::{montecarlo::finish_mc, sweep::build_points, sweep::finish_sweep};
use infrasim::experiment::sweep::{self, Point};
use infrasim::report::study::{self as files, StudyRecord};
use infrasim::scenario;
use std::path::{Path, PathBuf};

pub fn merge(dirs: &[PathBuf], out: Option<PathBuf>, gate_args: &GateArgs) -> Outcome {
    let asserts = parse_asserts(gate_args)?;
    let mut record: Option<StudyRecord> = None;
    let mut parts: Vec<(PathBuf, Vec<u8>)> = vec![];
    for d in dirs {
        let read = |name: &str| {
            std::fs::read(d.join(name))
                .map_err(|e| format!("error: {}: {e}", d.join(name).display()))
        };
        let r: StudyRecord = serde_json::from_slice(&read("study.json")?)
            .map_err(|e| format!("error: {}: {e}", d.join("study.json").display()))?;
        let same = |a: &StudyRecord, b: &StudyRecord| {
            StudyRecord {
                shard: None,
                ..a.clone()
            } == StudyRecord {
                shard: None,
                ..b.clone()
            }
        };
        if let Some(first) = &record
            && !same(first, &r)
        {
            return Err(format!(
                "error: {} is not a shard of the same study as {} (scenario, overrides, seed or plan differ)",
                d.display(),
                dirs[0].display()
            ));
        }
        parts.push((d.clone(), read("runs.csv")?));
        record = Some(r);
    }
    let mut record = record.ok_or("error: nothing to merge")?;
    record.shard = None;
    let name = record.name.clone();
    let out = out.unwrap_or_else(|| PathBuf::from("results").join(&name));
    if record.kind == "montecarlo" {
        let n = record.components.len();
        let mut runs = vec![];
        for (d, bytes) in &parts {
            runs.extend(
                files::decode_mc_runs(bytes, n)
                    .map_err(|e| format!("error: {}: {e}", d.display()))?,
            );
        }
        runs.sort_by_key(|r| r.rep);
        runs.dedup_by_key(|r| r.rep);
        let missing: Vec<u64> = (0..record.runs as u64)
            .filter(|r| runs.binary_search_by_key(r, |x| x.rep).is_err())
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "error: the shards lack {} of {} runs (e.g. run {}): merge every shard",
                missing.len(),
                record.runs,
                missing[0]
            ));
        }
        let runs_csv =
            files::encode_mc_runs(&record.components, &runs).map_err(|e| e.to_string())?;
        return finish_mc(&out, &record, &runs_csv, gate_args, &asserts, &name);
    }
    let keys: Vec<String> = record.parameters.iter().map(|(k, _)| k.clone()).collect();
    let labels = sweep::product(&record.parameters);
    let mut rows = vec![];
    for (d, bytes) in &parts {
        rows.extend(
            files::decode_runs(bytes, keys.len())
                .map_err(|e| format!("error: {}: {e}", d.display()))?,
        );
    }
    rows.sort_by_key(|r| (r.point, r.rep));
    rows.dedup_by_key(|r| (r.point, r.rep));
    let expected = labels.len() * record.runs as usize;
    if rows.len() != expected {
        return Err(format!(
            "error: the shards hold {} of the study's {expected} runs: merge every shard",
            rows.len()
        ));
    }
    let runs_csv = files::encode_runs(&keys, &labels, &rows).map_err(|e| e.to_string())?;
    let points = points_of(&record);
    if points.is_none() {
        println!(
            "note: {} is not available unchanged here: the per-algorithm latency CDF is left out",
            record.scenario_file
        );
    }
    finish_sweep(
        &out,
        &record,
        &runs_csv,
        points.as_deref(),
        gate_args,
        &asserts,
        &name,
    )
}

/// The sweep points of a recorded study, if its scenario file is here and unchanged.
fn points_of(record: &StudyRecord) -> Option<Vec<Point>> {
    let sc = scenario::load(Path::new(&record.scenario_file), &record.overrides).ok()?;
    if sc.source_hash != record.scenario_hash {
        return None;
    }
    build_points(&sc, &sweep::product(&record.parameters)).ok()
}
