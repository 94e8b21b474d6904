//! Interruption and `--resume` for studies.
//!
//! While a study runs, every finished run is appended (one JSON line, written whole) to
//! `<out>.partial/runs.jsonl`, next to the study's `study.json` (a folder marked as this tool's,
//! like the results). Ctrl-C stops new runs from
//! starting, lets the running ones finish and be journaled, and exits with code 130. Running
//! the same command with `--resume` reads the journal back, runs only what is missing, and
//! produces exactly the output an uninterrupted run gives (runs are keyed by point and
//! replication, and every output is computed from the runs in study order). The journal is
//! removed once the final output is in place; it is kept when the output cannot be written (a
//! full disk), and the message says that `--resume` finishes the study.

use super::print;
use super::progress::Progress;
use infrasim::experiment::Reps;
use infrasim::report::atomic;
use infrasim::report::study::StudyRecord;
use infrasim::scenario::input;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
            print::errln("\ninterrupted: finishing the runs in progress (Ctrl-C again to abort)");
        });
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

pub struct Journal {
    dir: PathBuf,
    file: Mutex<File>,
    /// Runs the journal holds (those read back on --resume, and those appended since).
    kept: AtomicUsize,
    /// An append failed (a full disk): the journal lacks some finished runs.
    incomplete: AtomicBool,
}

/// Opens the journal `dir` of a study. With `resume`, returns the runs it already holds (the
/// journal must belong to the same study); without, starts a new one, replacing an old journal
/// (never a folder simulate did not write).
pub fn open<T: DeserializeOwned>(
    dir: &Path,
    record: &StudyRecord,
    resume: bool,
) -> Result<(Journal, Vec<T>), String> {
    let study = dir.join("study.json");
    let runs = dir.join("runs.jsonl");
    let mut done = vec![];
    // A journal killed before its record was written holds no run: resuming it is starting.
    let resume = resume && !(atomic::is_marked(dir) && fs::symlink_metadata(&study).is_err());
    if resume {
        if !atomic::is_marked(dir) {
            return Err(format!(
                "error: --resume: nothing to resume in {} (no interrupted run of this study)",
                dir.display()
            ));
        }
        let bytes = input::read_file(&study, 1 << 20)
            .map_err(|e| format!("error: --resume: {}: {e}", study.display()))?;
        let recorded: StudyRecord = serde_json::from_slice(&bytes)
            .map_err(|e| format!("error: --resume: {}: {e}", study.display()))?;
        // The measured degraded states follow from the rest (scenario, overrides, tool), and
        // a Monte Carlo study measures them while it runs: not compared.
        let plain = |r: &StudyRecord| StudyRecord {
            degraded: vec![],
            ..r.clone()
        };
        if plain(&recorded) != plain(record) {
            return Err(format!(
                "error: --resume: {} holds a different study (scenario, overrides, parameters or \
                 runs differ); run without --resume to start afresh",
                dir.display()
            ));
        }
        let text = input::read_file(&runs, MAX_JOURNAL_BYTES).unwrap_or_default();
        for line in text.split(|&b| b == b'\n') {
            // A line cut by a hard kill is simply run again.
            if let Ok(item) = serde_json::from_slice(line) {
                done.push(item);
            }
        }
    } else {
        if fs::symlink_metadata(dir).is_ok() && !atomic::remove_marked(dir) {
            return Err(format!(
                "error: {} exists and was not written by simulate (it would hold the journal of \
                 this study): move it away, or give another --out",
                dir.display()
            ));
        }
        atomic::create_marked(dir, atomic::Kind::Journal)
            .map_err(|e| format!("error: {}: {e}", dir.display()))?;
        let json = serde_json::to_vec_pretty(record).map_err(|e| e.to_string())?;
        atomic::write_file(&study, &json)
            .map_err(|e| format!("error: {}: {e}", study.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&runs)
        .map_err(|e| format!("error: {}: {e}", runs.display()))?;
    let kept = AtomicUsize::new(done.len());
    Ok((
        Journal {
            dir: dir.to_path_buf(),
            file: Mutex::new(file),
            kept,
            incomplete: AtomicBool::new(false),
        },
        done,
    ))
}

/// A journal past this size is not read back (a study's runs are bounded well below it).
const MAX_JOURNAL_BYTES: u64 = 16 << 30;

impl Journal {
    /// Appends one finished run as a single write. A failed write (a full disk) is noted: the
    /// run is still in memory, and only a later `--resume` would have to run it again.
    pub fn append<T: Serialize>(&self, item: &T) {
        let Ok(mut line) = serde_json::to_vec(item) else {
            return;
        };
        line.push(b'\n');
        if let Ok(mut f) = self.file.lock() {
            match f.write_all(&line) {
                Ok(()) => {
                    self.kept.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => self.incomplete.store(true, Ordering::Relaxed),
            }
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What is kept and how to finish, for a study whose results could not be written.
    pub fn resume_note(&self, total: usize) -> String {
        let kept = self.kept.load(Ordering::Relaxed);
        let lost = if self.incomplete.load(Ordering::Relaxed) {
            " (the others could not be journaled either)"
        } else {
            ""
        };
        format!(
            "note: {kept} of the study's {total} runs are kept in {}/{lost}; free some space (or \
             fix the problem above), then run the same command with --resume: it runs only \
             what is missing and writes the results",
            self.dir.display()
        )
    }

    /// The study is complete and written: the journal is no longer needed.
    pub fn remove(self) {
        drop(self.file);
        atomic::remove_marked(&self.dir);
    }
}

/// Adds to the error of a failed write of a study's results what is kept and how to finish.
pub fn with_resume_note(journal: Option<&Journal>, total: usize, e: String) -> String {
    match journal {
        Some(j) => format!("{e}\n{}", j.resume_note(total)),
        None => e,
    }
}

/// Runs the jobs of a study with a journal in `journal_dir` (none with `--output none`):
/// resumes from it with `resume`, skips what it already holds, journals each finished run, and
/// exits with code 130 on Ctrl-C. Returns the journal (to remove once the outputs are
/// written), every run in job order, and the time the new runs took. `key` identifies a run's
/// job; `run` runs the given jobs.
#[allow(clippy::too_many_arguments)]
pub fn run_study<J, T>(
    journal_dir: Option<&Path>,
    record: &StudyRecord,
    resume: bool,
    quiet: bool,
    jobs: &[J],
    key: impl Fn(&T) -> J,
    run: impl FnOnce(&[J], &(dyn Fn() -> bool + Sync), &(dyn Fn(&T) + Sync)) -> Vec<T>,
) -> Result<(Option<Journal>, Vec<T>, std::time::Duration), String>
where
    J: Copy + Ord,
    T: Serialize + DeserializeOwned,
{
    let (journal, mut done) = match journal_dir {
        Some(dir) => {
            let (j, done) = open::<T>(dir, record, resume)?;
            (Some(j), done)
        }
        None => (None, vec![]),
    };
    let wanted: BTreeSet<J> = jobs.iter().copied().collect();
    done.retain(|r| wanted.contains(&key(r)));
    let have: BTreeSet<J> = done.iter().map(&key).collect();
    let todo: Vec<J> = jobs.iter().copied().filter(|j| !have.contains(j)).collect();
    let progress = Progress::new(todo.len() as u64, &record.name, quiet);
    watch_interrupts();
    let t0 = std::time::Instant::now();
    let fresh = run(&todo, &interrupted, &|r: &T| {
        if let Some(j) = &journal {
            j.append(r);
        }
        progress.tick();
    });
    progress.finish();
    let elapsed = t0.elapsed();
    done.extend(fresh);
    done.sort_by_key(&key);
    done.dedup_by_key(|r| key(r));
    if interrupted() || done.len() < jobs.len() {
        match &journal {
            Some(j) => print::errln(&format!(
                "interrupted: {} of {} runs are kept in {}/; run the same command with --resume \
                 to finish the study",
                done.len(),
                jobs.len(),
                j.dir().display()
            )),
            None => print::errln(&format!(
                "interrupted after {} of {} runs; nothing is kept (--output none)",
                done.len(),
                jobs.len()
            )),
        }
        std::process::exit(130);
    }
    Ok((journal, done, elapsed))
}

/// What [`stream_study`] hands each run to, in job order: where the rows go (a `Result` so
/// that a full disk stops the study).
pub type Ordered<'a, T> = dyn FnMut(T) -> Result<(), String> + Send + 'a;

/// The jobs of a streamed study still to run, drawn one at a time as they start.
pub type Todo<'a> = dyn Iterator<Item = u64> + Send + 'a;

/// [`run_study`] for a study whose runs are not held (issue 13): `run` hands its finished runs
/// to `ordered` in job order, and they go on to `sink` merged, in job order, with the runs the
/// journal already held (`--resume`; only those are held in memory). The jobs are replications
/// described by `jobs`, never listed: what is left to run is drawn from it as runs start.
/// Journals each finished run, and exits with code 130 on Ctrl-C, as `run_study`. Returns the
/// journal and the time the new runs took.
#[allow(clippy::too_many_arguments)]
pub fn stream_study<T>(
    journal_dir: Option<&Path>,
    record: &StudyRecord,
    resume: bool,
    quiet: bool,
    jobs: Reps,
    key: impl Fn(&T) -> u64 + Sync,
    run: impl FnOnce(
        &mut Todo<'_>,
        &(dyn Fn() -> bool + Sync),
        &(dyn Fn(&T) + Sync),
        &mut Ordered<'_, T>,
    ) -> Result<(), String>,
    sink: &mut Ordered<'_, T>,
) -> Result<(Option<Journal>, std::time::Duration), String>
where
    T: Serialize + DeserializeOwned + Send,
{
    let (journal, mut done) = match journal_dir {
        Some(dir) => {
            let (j, done) = open::<T>(dir, record, resume)?;
            (Some(j), done)
        }
        None => (None, vec![]),
    };
    done.retain(|r| jobs.contains(key(r)));
    done.sort_by_key(&key);
    done.dedup_by_key(|r| key(r));
    // The jobs the journal already holds, in order (empty unless resumed): skipped by bisection.
    let have: Vec<u64> = done.iter().map(&key).collect();
    let mut todo = jobs.iter().filter(|j| have.binary_search(j).is_err());
    let todo_len = jobs.len() - have.len();
    let progress = Progress::new(todo_len as u64, &record.name, quiet);
    watch_interrupts();
    let t0 = std::time::Instant::now();
    let mut held = done.into_iter().peekable();
    let mut handed = 0usize;
    let mut merged = |r: T| -> Result<(), String> {
        let k = key(&r);
        while let Some(h) = held.next_if(|h| key(h) < k) {
            sink(h)?;
            handed += 1;
        }
        sink(r)?;
        handed += 1;
        Ok(())
    };
    let ran = run(
        &mut todo,
        &interrupted,
        &|r: &T| {
            if let Some(j) = &journal {
                j.append(r);
            }
            progress.tick();
        },
        &mut merged,
    );
    progress.finish();
    let elapsed = t0.elapsed();
    // A row that could not be written (a full disk): what the journal keeps finishes it.
    let note = |e: String| with_resume_note(journal.as_ref(), jobs.len(), e);
    ran.map_err(note)?;
    for h in held {
        sink(h).map_err(note)?;
        handed += 1;
    }
    if interrupted() || handed < jobs.len() {
        match &journal {
            Some(j) => print::errln(&format!(
                "interrupted: {} of {} runs are kept in {}/; run the same command with --resume \
                 to finish the study",
                j.kept.load(Ordering::Relaxed),
                jobs.len(),
                j.dir().display()
            )),
            None => print::errln(&format!(
                "interrupted after {handed} of {} runs; nothing is kept (--output none)",
                jobs.len()
            )),
        }
        std::process::exit(130);
    }
    Ok((journal, elapsed))
}
