//! Where results go and how they are written, for every command: the output folder is claimed
//! (checked and locked, see `report::atomic`) before any work starts, so a run that could not
//! write its results is refused at once rather than after an hour; `--output` says how much is
//! written; the folder is built aside and swapped in whole.

use super::args::{OutArgs, Output as Wanted};
use super::print;
use infrasim::experiment::Shard;
use infrasim::model::timeline::NoRows;
use infrasim::model::{Config, CutShort, RunResults, Stack};
use infrasim::report::atomic::{self, OutDir, Previous};
use infrasim::report::study::StudyRecord;
use infrasim::report::{self, Level, Provenance};
use infrasim::scenario::limits;
use std::io;
use std::path::{Path, PathBuf};

/// The default folder of a command's results: `results/<name>/`, or
/// `results/<name>.shard-K-of-N/` for a shard.
pub fn default_dir(name: &str, shard: Option<Shard>) -> PathBuf {
    let base = PathBuf::from("results");
    match shard {
        Some(s) => base.join(format!("{name}.shard-{}-of-{}", s.k, s.n)),
        None => base.join(name),
    }
}

/// A command's output: the claimed folder (none with `--output none`) and what to write.
pub struct Output {
    dir: Option<OutDir>,
    /// The folder as the user named it (or the default), for messages.
    shown: String,
    level: Level,
    quiet: bool,
}

impl Output {
    /// Claims `args.out`, or `default` when it is not given. Refuses, before anything runs, a
    /// folder that cannot be written (see `report::atomic::OutDir::claim`).
    pub fn claim(args: &OutArgs, default: PathBuf) -> Result<Output, String> {
        let level = match args.output {
            Wanted::None => Level::None,
            Wanted::Summary => Level::Summary,
            Wanted::All => Level::All,
        };
        if level == Level::None {
            if let Some(p) = &args.out {
                return Err(format!(
                    "error: --out {} does not apply with --output none, which writes nothing",
                    p.display()
                ));
            }
            return Ok(Output {
                dir: None,
                shown: String::new(),
                level,
                quiet: args.quiet,
            });
        }
        let path = args.out.clone().unwrap_or(default);
        let dir = OutDir::claim(&path).map_err(|e| format!("error: {e}"))?;
        Ok(Output {
            dir: Some(dir),
            shown: path.display().to_string(),
            level,
            quiet: args.quiet,
        })
    }

    pub fn level(&self) -> Level {
        self.level
    }

    /// The claimed folder; None with `--output none`.
    pub fn dir(&self) -> Option<&OutDir> {
        self.dir.as_ref()
    }

    /// Writes the folder: `build` fills the staging folder with what `level` asks for, then it
    /// is swapped in whole. Nothing happens with `--output none`. Says so (one line on stderr)
    /// when earlier results were replaced.
    pub fn write(&self, build: impl FnOnce(&Path, Level) -> io::Result<()>) -> Result<(), String> {
        let Some(dir) = &self.dir else {
            return Ok(());
        };
        dir.write(|tmp| build(tmp, self.level))
            .map_err(|e| format!("error: writing results to {}/: {e}", self.shown))?;
        if dir.previous() == Previous::Results && !self.quiet {
            print::errln(&format!(
                "note: the earlier results in {}/ were replaced",
                self.shown
            ));
        }
        Ok(())
    }

    /// `results written to X/` for the terminal, or a line saying nothing was.
    pub fn written(&self) -> String {
        match &self.dir {
            Some(_) => format!("results written to {}/", self.shown),
            None => "no files written (--output none)".into(),
        }
    }

    /// The folder as the user named it.
    pub fn shown(&self) -> &str {
        &self.shown
    }
}

/// Runs replication `replication` of `config` and writes its folder (`report::write_run`):
/// with `--output all` the run streams `timeline.csv` into the staging folder as it makes the
/// rows, so no row is held in memory and the folder still appears whole or not at all. A run
/// cut short for its requests in flight is an error naming the keys that would bound them,
/// and writes nothing (its staging folder is removed, earlier results stay).
pub fn run_and_write(
    output: &Output,
    config: &Config,
    replication: u64,
    prov: &Provenance,
) -> Result<RunResults, String> {
    let overloaded =
        |cut: CutShort| limits::in_flight_error(Path::new(&prov.scenario_file), None, config, &cut);
    if output.dir().is_none() || output.level() < Level::All {
        let results = Stack::run_with(config, replication, &mut NoRows)
            .complete()
            .map_err(overloaded)?;
        output.write(|tmp, level| report::write_run(tmp, &results, prov, level))?;
        return Ok(results);
    }
    let mut done = None;
    let mut cut = None;
    let written = output.write(|tmp, level| {
        let mut csv = report::open_timeline(tmp)?;
        let results = Stack::run_with(config, replication, &mut csv);
        report::close_timeline(csv)?;
        let results = results.complete().map_err(|c| {
            cut = Some(c);
            io::Error::other(c.to_string())
        })?;
        report::write_run(tmp, &results, prov, level)?;
        done = Some(results);
        Ok(())
    });
    if let Some(c) = cut {
        return Err(overloaded(c));
    }
    written?;
    done.ok_or_else(|| "error: the run wrote no results".to_string())
}

/// Writes a study folder: `study.json`, `runs.csv` and the `more` files (the data), then
/// with `--output all` whatever `extra` adds (charts, `index.html`); built aside and swapped
/// in whole.
pub fn write_study(
    output: &Output,
    record: &StudyRecord,
    runs_csv: &[u8],
    more: &[(&str, Vec<u8>)],
    extra: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<(), String> {
    let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
    output.write(|tmp, level| {
        atomic::write_file(&tmp.join("study.json"), &json)?;
        atomic::write_file(&tmp.join("runs.csv"), runs_csv)?;
        for (name, bytes) in more {
            atomic::write_file(&tmp.join(name), bytes)?;
        }
        if level == Level::All {
            extra(tmp)?;
        }
        Ok(())
    })
}

pub fn tables(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(l, f)| (l.to_string(), f.to_string()))
        .collect()
}
