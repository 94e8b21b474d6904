//! Interruption and `--resume` for studies.
//!
//! While a study runs, every finished run is appended (one JSON line, written whole) to
//! `<out>.partial/runs.jsonl`, next to the study's `study.json` (a folder marked as this tool's,
//! like the results). A run finished within [`BATCH_WAIT`] of the last write waits for the next
//! (at most [`BATCH_BYTES`] at a time): a write per run was one system call per run, under the
//! journal's lock, and two threads of short runs queued on it (issue 13). A hard kill loses at
//! most those runs, which `--resume` runs again. Ctrl-C stops new runs from
//! starting, lets the running ones finish and be journaled, and exits with code 130. Running
//! the same command with `--resume` reads the journal back, runs only what is missing, and
//! produces exactly the output an uninterrupted run gives (runs are keyed by point and
//! replication, and every output is computed from the runs in study order). The journal is
//! removed once the final output is in place; it is kept when the output cannot be written (a
//! full disk), and the message says that `--resume` finishes the study.
//!
//! The journal is read back line by line. A streamed study (Monte Carlo, [`stream_study`])
//! does not hold the runs it read either: they are sorted on disk and read back in job order
//! as the new runs need them (`journal_sort.rs`), so a `--resume` takes no more memory than a
//! fresh run, whatever the journal holds. Sweeps and the ladder ([`run_study`]) hold theirs.

use super::journal_sort::{self, JobSet, PLAN, Sorted, Spill};
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
use std::io::{BufRead, BufReader, Write};
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
                atomic::release_locks();
                std::process::exit(130);
            }
            print::errln("\ninterrupted: finishing the runs in progress (Ctrl-C again to abort)");
        });
    });
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::Relaxed)
}

/// A finished run's line is written at once if the last write is this old; with the next
/// write otherwise.
pub const BATCH_WAIT: std::time::Duration = std::time::Duration::from_millis(500);

/// Most bytes written at a time.
pub const BATCH_BYTES: usize = 1 << 16;

/// The journal file and the lines not yet written to it.
struct Pending {
    file: File,
    lines: Vec<u8>,
    count: usize,
    /// When lines were last written.
    last: Option<std::time::Instant>,
}

impl Pending {
    /// Writes the waiting lines (whole lines, in one write). Returns how many runs that kept,
    /// or `Err` if the write failed.
    fn write(&mut self) -> std::io::Result<usize> {
        let n = std::mem::take(&mut self.count);
        let r = self.file.write_all(&self.lines);
        self.lines.clear();
        r.map(|()| n)
    }
}

pub struct Journal {
    dir: PathBuf,
    file: Mutex<Pending>,
    /// Runs the journal holds (those read back on --resume, and those appended since).
    kept: AtomicUsize,
    /// An append failed (a full disk): the journal lacks some finished runs.
    incomplete: AtomicBool,
}

/// What [`open`] hands each run a resumed journal holds, with its line.
pub type Held<'a, T> = dyn FnMut(T, &[u8]) -> Result<(), String> + 'a;

/// What a run read back from the journal must pass before it is used: `Err` says which of its
/// figures no study produces (the journal is this tool's file, but a damaged one must give an
/// error rather than an absurd result).
pub type Check<'a, T> = dyn Fn(&T) -> Result<(), String> + 'a;

/// Opens the journal `dir` of a study. With `resume`, hands `each` the runs it already holds
/// (each passing `check`, else an error naming the line), one at a time as its lines are read,
/// with the line (the journal must belong to the same study); without, starts a new one,
/// replacing an old journal (never a folder simulate did not write).
pub fn open<T: DeserializeOwned>(
    dir: &Path,
    record: &StudyRecord,
    resume: bool,
    check: &Check<'_, T>,
    each: &mut Held<'_, T>,
) -> Result<Journal, String> {
    let study = dir.join("study.json");
    let runs = dir.join("runs.jsonl");
    let mut kept = 0;
    let mut torn_tail = false;
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
        // What an earlier --resume killed during its sort left (runs.jsonl is all that counts).
        journal_sort::clear(dir).map_err(|e| {
            format!(
                "error: --resume: {}: {e}",
                journal_sort::sort_dir(dir).display()
            )
        })?;
        torn_tail = journal_lines(&runs, &mut |line, number| {
            // A line cut by a hard kill is simply run again.
            if let Ok(item) = serde_json::from_slice(line) {
                check(&item).map_err(|why| {
                    format!("error: --resume: {} line {number}: {why}", runs.display())
                })?;
                kept += 1;
                each(item, line)?;
            }
            Ok(())
        })?;
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
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&runs)
        .map_err(|e| format!("error: {}: {e}", runs.display()))?;
    if torn_tail {
        // The new runs start on a line of their own, not glued to a cut one (and lost with it).
        file.write_all(b"\n")
            .map_err(|e| format!("error: {}: {e}", runs.display()))?;
    }
    Ok(Journal {
        dir: dir.to_path_buf(),
        file: Mutex::new(Pending {
            file,
            lines: Vec::with_capacity(BATCH_BYTES),
            count: 0,
            last: None,
        }),
        kept: AtomicUsize::new(kept),
        incomplete: AtomicBool::new(false),
    })
}

/// A journal past this size is not read back (a study's runs are bounded well below it).
const MAX_JOURNAL_BYTES: u64 = 16 << 30;

/// A journal line longer than this is taken for a damaged one and its run is run again (a
/// run's line is a few hundred bytes plus 20 or so per outage; this is the bound on what is
/// held of one line). The unit tests lower it to reach it.
#[cfg(not(test))]
const MAX_LINE: usize = journal_sort::MAX_LINE;
#[cfg(test)]
const MAX_LINE: usize = 100;

/// What [`journal_lines`] hands each line to, with its number.
type Line<'a> = dyn FnMut(&[u8], usize) -> Result<(), String> + 'a;

/// Hands `each` the lines of the journal `runs` (without their newline), read as a stream: at
/// most one line is held, and a line longer than [`MAX_LINE`] is skipped (as a cut one is).
/// A missing file holds no line. Returns whether the file ends in a cut line (no newline).
/// `each` gets each line's number too (from 1, skipped lines counted).
fn journal_lines(runs: &Path, each: &mut Line<'_>) -> Result<bool, String> {
    if fs::symlink_metadata(runs).is_err() {
        return Ok(false);
    }
    let shown = runs.display();
    let file = input::open_file(runs, MAX_JOURNAL_BYTES)
        .map_err(|e| format!("error: --resume: {shown}: {e}"))?;
    let mut rd = BufReader::with_capacity(1 << 16, file);
    let mut line = vec![];
    let mut too_long = false;
    let mut number = 1;
    loop {
        let buf = rd
            .fill_buf()
            .map_err(|e| format!("error: --resume: {shown}: {e}"))?;
        if buf.is_empty() {
            if !too_long && !line.is_empty() {
                each(&line, number)?;
            }
            return Ok(too_long || !line.is_empty());
        }
        let (part, used, ends) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (&buf[..i], i + 1, true),
            None => (buf, buf.len(), false),
        };
        if !too_long {
            if line.len() + part.len() > MAX_LINE {
                too_long = true;
                line = vec![];
            } else {
                line.extend_from_slice(part);
            }
        }
        rd.consume(used);
        if ends {
            if !too_long {
                each(&line, number)?;
            }
            number += 1;
            line.clear();
            too_long = false;
        }
    }
}

impl Journal {
    /// Appends one finished run: its line is written at once when the last write is
    /// [`BATCH_WAIT`] old, else with the next write, or at the latest by [`Journal::flush`]. A
    /// failed write (a full disk) is noted: the runs are still in memory, and only a later
    /// `--resume` would have to run them again.
    pub fn append<T: Serialize>(&self, item: &T) {
        let Ok(mut line) = serde_json::to_vec(item) else {
            return;
        };
        line.push(b'\n');
        let now = std::time::Instant::now();
        if let Ok(mut p) = self.file.lock() {
            if p.lines.len() + line.len() > BATCH_BYTES && p.count > 0 {
                self.wrote(p.write());
            }
            p.lines.extend_from_slice(&line);
            p.count += 1;
            let due = p.last.is_none_or(|t| now.duration_since(t) >= BATCH_WAIT);
            if due || p.lines.len() >= BATCH_BYTES {
                self.wrote(p.write());
                p.last = Some(now);
            }
        }
    }

    /// Writes the lines still waiting (before the study's outcome is judged or reported).
    pub fn flush(&self) {
        if let Ok(mut p) = self.file.lock()
            && p.count > 0
        {
            self.wrote(p.write());
        }
    }

    fn wrote(&self, r: std::io::Result<usize>) {
        match r {
            Ok(n) => {
                self.kept.fetch_add(n, Ordering::Relaxed);
            }
            Err(_) => self.incomplete.store(true, Ordering::Relaxed),
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
    run: impl FnOnce(&[J], &(dyn Fn() -> bool + Sync), &(dyn Fn(&T) + Sync)) -> Result<Vec<T>, String>,
) -> Result<(Option<Journal>, Vec<T>, std::time::Duration), String>
where
    J: Copy + Ord,
    T: Serialize + DeserializeOwned,
{
    let mut done = vec![];
    let journal = match journal_dir {
        Some(dir) => Some(open::<T>(dir, record, resume, &|_| Ok(()), &mut |r, _| {
            done.push(r);
            Ok(())
        })?),
        None => None,
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
    if let Some(j) = &journal {
        j.flush();
    }
    let elapsed = t0.elapsed();
    // A run that could not finish (cut short for its requests in flight): the runs that did
    // are kept for --resume, which fails the same way unless the scenario changes (and then
    // the journal is another study's).
    done.extend(fresh?);
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
        atomic::release_locks();
        std::process::exit(130);
    }
    Ok((journal, done, elapsed))
}

/// A run of a streamed study, or what it became: which job it is.
pub trait Job {
    fn job(&self) -> u64;
}

/// What [`stream_study`] hands each run to, in job order: where the rows go (a `Result` so
/// that a full disk stops the study).
pub type Ordered<'a, T> = dyn FnMut(T) -> Result<(), String> + Send + 'a;

/// The jobs of a streamed study still to run, drawn one at a time as they start.
pub type Todo<'a> = dyn Iterator<Item = u64> + Send + 'a;

/// [`run_study`] for a study whose runs are not held (issue 13): `run` hands its finished runs
/// to `ordered` in job order, and they go on to `sink` merged, in job order, with the runs the
/// journal already held (`--resume`; sorted on disk and read back as needed, not held). The
/// jobs are replications described by `jobs`, never listed: what is left to run is drawn from
/// it as runs start, skipping those held (a bit per job: [`JobSet`]).
/// Journals each finished run, and exits with code 130 on Ctrl-C, as `run_study`; a held run
/// must pass `check`. Returns the journal and the time the new runs took.
///
/// Each run becomes what the sink takes by `prepare`: a new run in `run`'s `done`, on the thread
/// that ran it, as it finishes (so that work is shared by the threads, not left to the one
/// handing runs on in order); a held run as it is read back.
#[allow(clippy::too_many_arguments)]
pub fn stream_study<T, U>(
    journal_dir: Option<&Path>,
    record: &StudyRecord,
    resume: bool,
    quiet: bool,
    jobs: Reps,
    check: &Check<'_, T>,
    prepare: impl Fn(T) -> U + Sync,
    run: impl FnOnce(
        &mut Todo<'_>,
        &(dyn Fn() -> bool + Sync),
        &(dyn Fn(T) -> U + Sync),
        &mut Ordered<'_, U>,
    ) -> Result<(), String>,
    sink: &mut Ordered<'_, U>,
) -> Result<(Option<Journal>, std::time::Duration), String>
where
    T: Serialize + DeserializeOwned + Send + Job,
    U: Send + Job,
{
    // The runs the journal holds (`--resume`) are sorted on disk as they are read, and read
    // back in job order as the new runs need them (journal_sort.rs): memory does not grow
    // with the journal.
    let mut spill = journal_dir.map(|dir| Spill::new(dir, PLAN));
    let journal = match journal_dir {
        Some(dir) => Some(open::<T>(dir, record, resume, check, &mut |r, line| {
            let job = r.job();
            match &mut spill {
                Some(s) if jobs.contains(job) => s.push(job, line).map_err(|e| sort_error(dir, e)),
                _ => Ok(()),
            }
        })?),
        None => None,
    };
    let (mut held, have) = match (spill, journal_dir) {
        (Some(s), Some(dir)) => s.finish().map_err(|e| sort_error(dir, e))?,
        _ => (Sorted::empty(), JobSet::default()),
    };
    let todo_len = jobs.len() - have.len();
    // The jobs the journal already holds are skipped (a bit per job).
    let mut todo = jobs.iter().filter(move |&j| !have.contains(j));
    let progress = Progress::new(todo_len as u64, &record.name, quiet);
    watch_interrupts();
    let t0 = std::time::Instant::now();
    let mut handed = 0usize;
    let mut merged = |r: U| -> Result<(), String> {
        let k = r.job();
        while held.peek_job().is_some_and(|h| h < k) {
            if let Some(h) = next_held(&mut held, journal_dir)? {
                sink(prepare(h))?;
                handed += 1;
            }
        }
        sink(r)?;
        handed += 1;
        Ok(())
    };
    let ran = run(
        &mut todo,
        &interrupted,
        &|r: T| {
            if let Some(j) = &journal {
                j.append(&r);
            }
            progress.tick();
            prepare(r)
        },
        &mut merged,
    );
    progress.finish();
    if let Some(j) = &journal {
        j.flush();
    }
    let elapsed = t0.elapsed();
    // A row that could not be written (a full disk): what the journal keeps finishes it.
    let note = |e: String| with_resume_note(journal.as_ref(), jobs.len(), e);
    ran.map_err(note)?;
    while let Some(h) = next_held::<T>(&mut held, journal_dir).map_err(note)? {
        sink(prepare(h)).map_err(note)?;
        handed += 1;
    }
    drop(held);
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
        atomic::release_locks();
        std::process::exit(130);
    }
    Ok((journal, elapsed))
}

/// The next run the journal held, in job order.
fn next_held<T: DeserializeOwned>(
    held: &mut Sorted,
    journal_dir: Option<&Path>,
) -> Result<Option<T>, String> {
    let dir = journal_dir.unwrap_or(Path::new("."));
    let Some((_, line)) = held.next_row().map_err(|e| sort_error(dir, e))? else {
        return Ok(None);
    };
    serde_json::from_slice(line)
        .map(Some)
        .map_err(|e| sort_error(dir, std::io::Error::other(e)))
}

fn sort_error(journal_dir: &Path, e: std::io::Error) -> String {
    format!(
        "error: --resume: sorting the journal's runs in {}/: {e}",
        journal_sort::sort_dir(journal_dir).display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Row {
        rep: u64,
        tag: String,
    }

    impl Job for Row {
        fn job(&self) -> u64 {
            self.rep
        }
    }

    fn record() -> StudyRecord {
        StudyRecord {
            tool: "test".into(),
            name: "journal".into(),
            scenario_file: "x.toml".into(),
            scenario_hash: "0".into(),
            overrides: vec![],
            kind: "montecarlo".into(),
            seed: 1,
            runs: 200,
            horizon_s: Some(1.0),
            parameters: vec![],
            labels: vec![],
            components: vec![],
            spofs: vec![],
            degraded: vec![],
            slo_latency_s: None,
            shard: None,
        }
    }

    fn line(rep: u64, tag: &str) -> Vec<u8> {
        let mut l = serde_json::to_vec(&Row {
            rep,
            tag: tag.into(),
        })
        .unwrap();
        l.push(b'\n');
        l
    }

    /// Resumes the study of `jobs` from the journal in `dir`: what the sink got (in order) and
    /// the jobs that were run.
    fn resume(dir: &Path, jobs: Reps) -> (Vec<(u64, String)>, Vec<u64>) {
        let mut got = vec![];
        let mut ran = vec![];
        let mut sink = |r: Row| -> Result<(), String> {
            got.push((r.rep, r.tag));
            Ok(())
        };
        let (journal, _) = stream_study(
            Some(dir),
            &record(),
            true,
            true,
            jobs,
            &|_| Ok(()),
            |r: Row| r,
            |todo, _stop, done, ordered| {
                for rep in todo {
                    ran.push(rep);
                    let r = Row {
                        rep,
                        tag: "fresh".into(),
                    };
                    ordered(done(r))?;
                }
                Ok(())
            },
            &mut sink,
        )
        .unwrap();
        assert!(
            !journal_sort::sort_dir(dir).exists(),
            "the chunks are removed once read"
        );
        drop(journal);
        (got, ran)
    }

    /// A journal of several out-of-order sequences, with runs journaled twice, runs of other
    /// jobs, an over-long line and a cut last line, spanning many chunks and merge passes
    /// (the test `PLAN`): the sink gets every job once, in order, the first journaled line of
    /// each held one, and only the others are run. A second resume (after a kill that left
    /// chunks behind) reads the runs the first appended, the cut line kept apart from them.
    #[test]
    fn a_resumed_study_gets_held_and_new_runs_in_job_order() {
        let dir = std::env::temp_dir().join(format!("infrasim-journal-{}", std::process::id()));
        let _ = atomic::remove_marked(&dir);
        atomic::create_marked(&dir, atomic::Kind::Journal).unwrap();
        atomic::write_file(
            &dir.join("study.json"),
            &serde_json::to_vec_pretty(&record()).unwrap(),
        )
        .unwrap();
        // Shard 2/3 of 200 runs: jobs 1, 4, ..., 199.
        let jobs = Reps::owned(200, Some(infrasim::experiment::Shard { k: 2, n: 3 }));
        let mut journal = vec![];
        let mut first = std::collections::BTreeMap::new();
        // Jobs 7 and 199 are journaled only damaged (below).
        let mut add = |journal: &mut Vec<u8>, rep: u64, tag: &str| {
            if rep == 7 || rep == 199 {
                return;
            }
            if jobs.contains(rep) {
                first.entry(rep).or_insert_with(|| tag.to_string());
            }
            journal.extend(line(rep, tag));
        };
        // First sequence: scrambled (the threads' completion order), with other jobs.
        for i in 0..150u64 {
            add(&mut journal, (i * 77) % 200, "one");
        }
        // A line too long to be held: its run is run again.
        journal.extend(line(7, &"x".repeat(MAX_LINE)));
        // Second sequence: some again (kept from the first), then backwards.
        for rep in (0..200u64).step_by(5) {
            add(&mut journal, rep, "two");
        }
        journal.extend(b"not json\n");
        for rep in (100..190u64).rev() {
            add(&mut journal, rep, "three");
        }
        let cut = line(199, "cut");
        journal.extend(&cut[..cut.len() / 2]);
        fs::write(dir.join("runs.jsonl"), &journal).unwrap();
        assert!(
            journal.len() > 10 * journal_sort::PLAN.chunk_bytes,
            "several chunks"
        );

        let (got, ran) = resume(&dir, jobs);
        let expected: Vec<(u64, String)> = jobs
            .iter()
            .map(|j| (j, first.get(&j).cloned().unwrap_or("fresh".into())))
            .collect();
        assert_eq!(got, expected);
        let not_held: Vec<u64> = jobs.iter().filter(|j| !first.contains_key(j)).collect();
        assert_eq!(ran, not_held);
        assert!(ran.contains(&7) && ran.contains(&199));

        // As if a resume had been killed during its sort: chunks left, one damaged.
        let sort = journal_sort::sort_dir(&dir);
        fs::create_dir(&sort).unwrap();
        fs::write(sort.join("000000.chunk"), b"\x05\x00").unwrap();
        let (again, ran) = resume(&dir, jobs);
        assert!(ran.is_empty(), "everything is journaled: {ran:?}");
        assert_eq!(again, expected);
        assert!(atomic::remove_marked(&dir));
    }

    /// Lines are read as a stream: cut, over-long and empty lines, with and without a final
    /// newline.
    #[test]
    fn journal_lines_are_bounded_and_a_cut_tail_is_reported() {
        let dir = std::env::temp_dir().join(format!("infrasim-lines-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let p = dir.join("runs.jsonl");
        let read = |bytes: &[u8]| {
            fs::write(&p, bytes).unwrap();
            let mut lines = vec![];
            let torn = journal_lines(&p, &mut |l, _| {
                lines.push(String::from_utf8(l.to_vec()).unwrap());
                Ok(())
            })
            .unwrap();
            (lines, torn)
        };
        assert_eq!(read(b""), (vec![], false));
        assert_eq!(
            read(b"a\n\nb\n"),
            (vec!["a".into(), "".into(), "b".into()], false)
        );
        assert_eq!(read(b"a\nb"), (vec!["a".into(), "b".into()], true));
        let long = "y".repeat(MAX_LINE + 1);
        assert_eq!(
            read(format!("{long}\nc\n{long}").as_bytes()),
            (vec!["c".to_string()], true)
        );
        let just = "z".repeat(MAX_LINE);
        assert_eq!(read(format!("{just}\n").as_bytes()), (vec![just], false));
        fs::remove_file(&p).unwrap();
        assert_eq!(journal_lines(&p, &mut |_, _| Ok(())), Ok(false), "no file");
        fs::remove_dir_all(&dir).unwrap();
    }
}
