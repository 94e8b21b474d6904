//! `simulate merge`: combine the outputs of `--shard K/N` runs into what one unsharded study
//! gives, byte for byte.

use super::Outcome;
use super::args::{GateArgs, OutArgs};
use super::gate::Gate;
use super::montecarlo::{finish_mc, known_metrics};
use super::output::{Output, default_dir};
use super::print;
use super::run::examples;
use super::source;
use super::sweep::{MAX_PAIRS, MAX_POINTS, build_points, finish_sweep};
use infrasim::experiment::metrics;
use infrasim::experiment::montecarlo::McSummary;
use infrasim::experiment::sweep::{self, Point};
use infrasim::report::scratch;
use infrasim::report::study::{self as files, StudyRecord};
use infrasim::scenario::build::name_problem;
use infrasim::scenario::build::{MAX_REPLICAS, MAX_SERVERS};
use infrasim::scenario::{self, input};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Largest `study.json` and `runs.csv` of a shard read (a study's runs are bounded well below).
const MAX_STUDY_JSON: u64 = 64 << 20;
const MAX_RUNS_CSV: u64 = 4 << 30;

pub fn merge(dirs: &[PathBuf], out_args: &OutArgs, gate_args: &GateArgs) -> Outcome {
    let gate = Gate::new(gate_args)?;
    let mut record: Option<StudyRecord> = None;
    let mut parts: Vec<(PathBuf, Vec<u8>)> = vec![];
    for d in dirs {
        let read = |name: &str, limit: u64| {
            input::read_file(&d.join(name), limit)
                .map_err(|e| format!("error: {}: {e}", d.join(name).display()))
        };
        let r: StudyRecord = serde_json::from_slice(&read("study.json", MAX_STUDY_JSON)?)
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
        parts.push((d.clone(), read("runs.csv", MAX_RUNS_CSV)?));
        record = Some(r);
    }
    let mut record = record.ok_or("error: nothing to merge")?;
    check_record(&record, &dirs[0].join("study.json"))?;
    record.shard = None;
    let name = record.name.clone();
    if record.kind == "montecarlo" {
        gate.check_metrics(
            |m| (!McSummary::knows(m)).then(String::new),
            &known_metrics(),
        )?;
        let n = record.components.len();
        let mut runs = vec![];
        for (d, bytes) in &parts {
            runs.extend(
                files::decode_mc_runs(bytes, n)
                    .map_err(|e| format!("error: {}: {e}", d.display()))?,
            );
        }
        if let Some(r) = runs.iter().find(|r| r.rep >= u64::from(record.runs)) {
            return Err(format!(
                "error: a shard's runs.csv holds run {}, outside the study's {} runs",
                r.rep, record.runs
            ));
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
        let runs_csv = scratch::create(None, "runs.csv")
            .and_then(|f| {
                let mut w =
                    files::McRunsWriter::new(std::io::BufWriter::new(f), &record.components)?;
                runs.iter().try_for_each(|r| w.write(r))?;
                w.finish()?.into_inner().map_err(|e| e.into_error())
            })
            .map_err(|e| format!("error: writing the merged rows to a temporary file: {e}"))?;
        drop(runs);
        let output = Output::claim(out_args, default_dir(&name, None))?;
        let ok = finish_mc(&output, &record, runs_csv, None, &gate, &name)?;
        print::outln(&output.written());
        return Ok(ok);
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
    if let Some(r) = rows
        .iter()
        .find(|r| r.point >= labels.len() || r.rep >= u64::from(record.runs))
    {
        return Err(format!(
            "error: a shard's runs.csv holds run {} of point {}, outside the study's {} points \
             of {} runs",
            r.rep,
            r.point,
            labels.len(),
            record.runs
        ));
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
    // The metrics are the columns of runs.csv: an assertion on another is a usage error.
    let known: BTreeSet<String> = rows
        .iter()
        .flat_map(|r| r.metrics.iter().map(|(k, _)| k.clone()))
        .collect();
    gate.check_metrics(
        |m| (!known.contains(m)).then(String::new),
        &format!(
            "the study reports {} (short names) and every column of runs.csv: {}",
            metrics::ALIASES,
            examples(&known)
        ),
    )?;
    let runs_csv = files::encode_runs(&keys, &labels, &rows).map_err(|e| e.to_string())?;
    let output = Output::claim(out_args, default_dir(&name, None))?;
    let points = points_of(&record, &dirs[0]);
    if points.is_none() && !out_args.quiet {
        print::errln(&format!(
            "note: {} is not available unchanged here: the per-algorithm latency CDF is left out",
            record.scenario_file
        ));
    }
    let points = points.as_deref().map(|p| (p, &[][..]));
    let ok = finish_sweep(&output, &record, &runs_csv, points, &gate, &name)?;
    print::outln(&output.written());
    Ok(ok)
}

/// Checks what a shard's `study.json` asks for before acting on it (the file is an input like
/// any other: a tampered one must not send the output elsewhere or ask for a product of
/// parameters that does not fit in memory).
fn check_record(r: &StudyRecord, file: &Path) -> Result<(), String> {
    let fail = |key: &str, why: String| Err(format!("error: {}: {key}: {why}", file.display()));
    if let Some(why) = name_problem(&r.name) {
        return fail("name", why);
    }
    if r.kind != "sweep" && r.kind != "montecarlo" {
        return fail(
            "kind",
            format!("must be \"sweep\" or \"montecarlo\", got {:?}", r.kind),
        );
    }
    let max_runs = scenario::study::MAX_RUNS as u64;
    if r.runs == 0 || u64::from(r.runs) > max_runs {
        return fail(
            "runs",
            format!("must be from 1 to {max_runs}, got {}", r.runs),
        );
    }
    let points = r
        .parameters
        .iter()
        .try_fold(1u128, |acc, (_, v)| acc.checked_mul(v.len() as u128))
        .unwrap_or(u128::MAX);
    if points == 0 || points > MAX_POINTS as u128 {
        return fail(
            "parameters",
            format!("make {points} points; a study has 1 to {MAX_POINTS}"),
        );
    }
    if points * u128::from(r.runs) > max_runs as u128 {
        return fail(
            "runs",
            format!(
                "{points} points x {} runs is more than {max_runs} runs",
                r.runs
            ),
        );
    }
    if sweep::pair_count(&r.parameters) > MAX_PAIRS {
        return fail(
            "parameters",
            "make more pairs of points than a sweep compares".into(),
        );
    }
    if r.components.len() > MAX_COMPONENTS {
        return fail(
            "components",
            format!(
                "{} components; a study has at most {MAX_COMPONENTS}",
                r.components.len()
            ),
        );
    }
    Ok(())
}

/// Most components of a Monte Carlo study (every server and its app, the primary and every
/// replica, two LBs, the link).
const MAX_COMPONENTS: usize = 2 * MAX_SERVERS + MAX_REPLICAS + 1 + 3;

/// The sweep points of a recorded study, if its scenario file is found unchanged (from here or
/// from a folder above the shard).
fn points_of(record: &StudyRecord, shard: &Path) -> Option<Vec<Point>> {
    let found = source::locate(
        &record.scenario_file,
        &record.scenario_hash,
        &record.overrides,
        shard,
    )
    .ok()?;
    if !found.exact {
        return None;
    }
    build_points(&found.scenario, &sweep::product(&record.parameters)).ok()
}
