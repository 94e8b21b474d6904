//! Writers that turn results into files and text: one module per output format.
//!
//! This is the only layer (with `scenario` and the CLI) that touches the file system. Every
//! file is written to a temporary name and renamed into place, and a run's output folder is
//! built aside and swapped in whole ([`atomic::OutDir`]), so an interrupted run never leaves
//! half-written or mixed results, and a folder this tool did not write is never replaced.

pub mod atomic;
pub mod charts;
pub mod csv_tables;
mod decimal;
pub mod html;
pub mod junit;
pub mod num;
pub mod runs_bin;
pub mod scratch;
pub mod study;
pub mod summary;
pub mod table;
pub mod verdict;

use crate::model::RunResults;
use std::path::Path;

/// Where a run came from: recorded in `summary.json` so any figure can be regenerated.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Provenance {
    pub tool: String,
    pub scenario_file: String,
    /// FNV-1a-64 of the scenario file's bytes, hex.
    pub scenario_hash: String,
    pub overrides: Vec<String>,
}

impl Provenance {
    pub fn new(scenario_file: &Path, scenario_hash: &str, overrides: &[String]) -> Self {
        Provenance {
            tool: format!("infrasim {}", env!("CARGO_PKG_VERSION")),
            scenario_file: scenario_file.display().to_string(),
            scenario_hash: scenario_hash.to_string(),
            overrides: overrides.to_vec(),
        }
    }
}

/// How much a command writes (`--output`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing: the terminal only (benchmarks, CI gates).
    None,
    /// The data files: `summary.json` of a run; `study.json`, `runs.csv` and the aggregates of
    /// a study. No charts, no `index.html`.
    Summary,
    /// Everything: the data, every CSV, the charts and `index.html`.
    All,
}

/// Opens `timeline.csv` in the staging folder `tmp`, for a run to stream its rows into as it
/// makes them (`Stack::run_with`); [`close_timeline`] completes it.
pub fn open_timeline(tmp: &Path) -> std::io::Result<csv_tables::TimelineCsv<std::fs::File>> {
    Ok(csv_tables::TimelineCsv::new(std::fs::File::create(
        tmp.join("timeline.csv"),
    )?))
}

/// Flushes and syncs a streamed `timeline.csv`, or returns the first error its rows met.
pub fn close_timeline(csv: csv_tables::TimelineCsv<std::fs::File>) -> std::io::Result<()> {
    csv.finish()?.sync_all()
}

/// Writes the files of one run into `tmp` (a staging folder, swapped in whole by the caller):
/// `summary.json`, then with [`Level::All`] `servers.csv`, `database.csv`, `replication.csv`,
/// `events.csv`, `classes.csv`, `waits.csv`, the charts and `index.html`. `timeline.csv` is not written here: the run
/// streams it into `tmp` ([`open_timeline`]), or, for rows a run kept,
/// [`csv_tables::timeline`] makes it.
pub fn write_run(
    tmp: &Path,
    results: &RunResults,
    prov: &Provenance,
    level: Level,
) -> std::io::Result<()> {
    atomic::write_file(&tmp.join("summary.json"), &summary::to_json(results, prov)?)?;
    if level < Level::All {
        return Ok(());
    }
    atomic::write_file(&tmp.join("servers.csv"), &csv_tables::servers(results)?)?;
    atomic::write_file(&tmp.join("database.csv"), &csv_tables::database(results)?)?;
    atomic::write_file(
        &tmp.join("replication.csv"),
        &csv_tables::replication(results)?,
    )?;
    atomic::write_file(&tmp.join("events.csv"), &csv_tables::events(results)?)?;
    atomic::write_file(&tmp.join("classes.csv"), &csv_tables::classes(results)?)?;
    atomic::write_file(&tmp.join("waits.csv"), &csv_tables::waits(results)?)?;
    let mut charts = charts::failure_timeline(tmp, results)?;
    charts.extend(charts::latency_cdf(
        tmp,
        "latency_cdf",
        &format!(
            "{}: end-to-end latency of successful requests",
            results.scenario
        ),
        &[("this run".to_string(), results.latency_hist.clone())],
    )?);
    if !results.replication.is_empty() {
        charts.extend(charts::replication_lag(tmp, results)?);
    }
    let tables: Vec<(String, String)> = [
        ("Request classes", "classes.csv"),
        ("Waiting time per stage", "waits.csv"),
        ("Servers", "servers.csv"),
        ("Database nodes", "database.csv"),
        ("Replication", "replication.csv"),
        ("Events", "events.csv"),
        ("Timeline", "timeline.csv"),
    ]
    .iter()
    .map(|(l, f)| (l.to_string(), f.to_string()))
    .collect();
    let mut words = vec!["simulate".to_string(), prov.scenario_file.clone()];
    for o in &prov.overrides {
        words.extend(["--set".to_string(), o.clone()]);
    }
    html::index(
        tmp,
        &html::Page {
            title: format!("{}: simulation results", results.scenario),
            kind: &format!(
                "Single run {} (seed {}): {} simulated",
                results.run,
                results.seed,
                charts::style::duration(results.duration_s)
            ),
            answer: verdict::run_answer(results),
            charts: &charts,
            tables: &tables,
            text: Some(&table::render(results)),
            reproduce: html::Reproduce::new(
                html::shell_words(&words),
                std::slice::from_ref(&prov.scenario_file),
            ),
        },
    )?;
    Ok(())
}
