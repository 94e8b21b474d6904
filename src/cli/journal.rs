//! Interruption and `--resume` for studies.
//!
//! While a study runs, every finished run is appended (one JSON line, written whole) to
//! `<out>.partial/runs.jsonl`, next to the study's `study.json`. Ctrl-C stops new runs from
//! starting, lets the running ones finish and be journaled, and exits with code 130. Running
//! the same command with `--resume` reads the journal back, runs only what is missing, and
//! produces exactly the output an uninterrupted run gives (runs are keyed by point and
//! replication, and every output is computed from the runs in study order). The journal is
//! removed once the final output is in place.

use super::progress::Progress;
use infrasim::report::study::StudyRecord;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler (once).
pub fn watch_interrupts() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = ctrlc::set_handler(|| {
            if INTERRUPTED.swap(true, Ordering::SeqCst) {
                // A second Ctrl-C: the user insists.
                std::process::exit(130);
            }
            eprintln!("\ninterrupted: finishing the runs in progress (Ctrl-C again to abort)");
        });
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

pub struct Journal {
    dir: PathBuf,
    file: Mutex<File>,
}

fn partial_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "study".into());
    out.with_file_name(format!("{name}.partial"))
}

/// Opens the journal of the study that will be written to `out`. With `resume`, returns the
/// runs it already holds (the journal must belong to the same study).
pub fn open<T: DeserializeOwned>(
    out: &Path,
    record: &StudyRecord,
    resume: bool,
) -> Result<(Journal, Vec<T>), String> {
    let dir = partial_dir(out);
    let study = dir.join("study.json");
    let runs = dir.join("runs.jsonl");
    let mut done = vec![];
    if resume {
        let bytes = fs::read(&study).map_err(|_| {
            format!(
                "error: --resume: nothing to resume in {} (no interrupted run of this study)",
                dir.display()
            )
        })?;
        let recorded: StudyRecord = serde_json::from_slice(&bytes)
            .map_err(|e| format!("error: --resume: {}: {e}", study.display()))?;
        if &recorded != record {
            return Err(format!(
                "error: --resume: {} holds a different study (scenario, overrides, parameters or \
                 runs differ); run without --resume to start afresh",
                dir.display()
            ));
        }
        let text = fs::read_to_string(&runs).unwrap_or_default();
        for line in text.lines() {
            // A line cut by a hard kill is simply run again.
            if let Ok(item) = serde_json::from_str(line) {
                done.push(item);
            }
        }
    } else {
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("error: {}: {e}", dir.display()))?;
        let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
        infrasim::report::atomic::write_file(&study, &json)
            .map_err(|e| format!("error: {}: {e}", study.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&runs)
        .map_err(|e| format!("error: {}: {e}", runs.display()))?;
    Ok((
        Journal {
            dir,
            file: Mutex::new(file),
        },
        done,
    ))
}

impl Journal {
    /// Appends one finished run as a single write.
    pub fn append<T: Serialize>(&self, item: &T) {
        if let Ok(mut line) = serde_json::to_vec(item) {
            line.push(b'\n');
            if let Ok(mut f) = self.file.lock() {
                let _ = f.write_all(&line);
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The study is complete and written: the journal is no longer needed.
    pub fn remove(self) {
        drop(self.file);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Runs the jobs of a study with a journal: resumes from it with `resume`, skips what it
/// already holds, journals each finished run, and exits with code 130 on Ctrl-C. Returns the
/// journal (to remove once the outputs are written), every run in job order, and the time
/// the new runs took. `key` identifies a run's job; `run` runs the given jobs.
pub fn run_study<J, T>(
    out: &Path,
    record: &StudyRecord,
    resume: bool,
    quiet: bool,
    jobs: &[J],
    key: impl Fn(&T) -> J,
    run: impl FnOnce(&[J], &(dyn Fn() -> bool + Sync), &(dyn Fn(&T) + Sync)) -> Vec<T>,
) -> Result<(Journal, Vec<T>, std::time::Duration), String>
where
    J: Copy + Ord,
    T: Serialize + DeserializeOwned,
{
    let (journal, mut done) = open::<T>(out, record, resume)?;
    let wanted: BTreeSet<J> = jobs.iter().copied().collect();
    done.retain(|r| wanted.contains(&key(r)));
    let have: BTreeSet<J> = done.iter().map(&key).collect();
    let todo: Vec<J> = jobs.iter().copied().filter(|j| !have.contains(j)).collect();
    let progress = Progress::new(todo.len() as u64, &record.name, quiet);
    watch_interrupts();
    let t0 = std::time::Instant::now();
    let fresh = run(&todo, &interrupted, &|r: &T| {
        journal.append(r);
        progress.tick();
    });
    progress.finish();
    let elapsed = t0.elapsed();
    done.extend(fresh);
    done.sort_by_key(&key);
    done.dedup_by_key(|r| key(r));
    if interrupted() || done.len() < jobs.len() {
        eprintln!(
            "interrupted: {} of {} runs are kept in {}/; run the same command with --resume \
             to finish the study",
            done.len(),
            jobs.len(),
            journal.dir().display()
        );
        std::process::exit(130);
    }
    Ok((journal, done, elapsed))
}
