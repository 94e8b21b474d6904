//! Flat memory of `--resume` (issue 13): the runs a Monte Carlo study's journal holds are sorted
//! on disk and read back in run order (`src/cli/journal_sort.rs`), not held.
//!
//! A study of 1,000 and one of 100,000 one-day runs are resumed from journals holding all but
//! one run in a hundred, written as three out-of-order sequences (the second journals a run in
//! ten again) and a line cut by a kill: the 100,000-run journal (35 MB) spans some thirty
//! chunks. The resumed folders must equal the uninterrupted ones byte for byte, and the larger
//! resume may not peak more than a few MB above the smaller (measured on two threads: 11.1 and
//! 12.6 MB; holding the journal's runs, as the tool once did, peaked at 11.6 and 85.7 MB).
//! Before the measured resume, one is killed (`kill -9`) during its sort: the next resume
//! must not be misled by what it left.
//!
//! The peak resident set is read from `getrusage(RUSAGE_CHILDREN)`, the highest of every
//! child waited for so far, which is why this check has a test binary of its own. A child's
//! peak starts from this process's own peak when it is spawned (Linux records the peak of the
//! memory a child leaves at `exec`, and `posix_spawn` children share this process's), so this
//! process writes the journals and compares the folders as streams: holding the 100,000 runs
//! here would read as 80 MB of every later child.

use infrasim::report::atomic::{Kind, create_marked};
use infrasim::report::study::McRows;
#[path = "common/rss.rs"]
mod rss;
use rss::children_peak_kb;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/files.rs"]
mod files;
use files::names;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");

/// As in `memory_montecarlo.rs`: what legitimately varies between the two sizes (buffers,
/// allocator fragmentation, runs in flight).
const SLACK_KB: i64 = 8 * 1024;

/// The SPOF study with a day's horizon and no request-level runs of its states.
fn study(runs: u32, out: &Path, resume: bool) -> Vec<String> {
    let spof = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/spof_study.toml");
    let mut a: Vec<String> = [
        spof.to_str().unwrap(),
        "--montecarlo",
        "--runs",
        &runs.to_string(),
        "--set",
        "montecarlo.horizon=1d",
        "--set",
        "montecarlo.overload=none",
        "--threads",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if resume {
        a.push("--resume".into());
    }
    a
}

fn run(args: &[String]) {
    let o = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .output()
        .expect("run simulate");
    assert!(
        o.status.success(),
        "simulate {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The journal (`<out>.partial/`) of an interrupted run of the study whose uninterrupted folder
/// is `clean`, from its rows (so which runs it holds does not depend on when a kill lands):
/// every run but one in a hundred, as the threads of three sessions would have finished them.
/// Written as a stream: this process must stay small (see the module's doc).
fn write_journal(clean: &Path, partial: &Path) {
    create_marked(partial, Kind::Journal).unwrap();
    let record = fs::read(clean.join("study.json")).unwrap();
    fs::write(partial.join("study.json"), &record).unwrap();
    let record: serde_json::Value = serde_json::from_slice(&record).unwrap();
    let components = record["components"].as_array().unwrap().len();
    let mut journal = BufWriter::new(File::create(partial.join("runs.jsonl")).unwrap());
    // A session: the runs `keep` accepts, each block of `block` runs backwards.
    let mut session = |block: usize, keep: &dyn Fn(usize) -> bool| {
        let csv = BufReader::new(File::open(clean.join("runs.csv")).unwrap());
        let mut held: Vec<Vec<u8>> = vec![];
        for (i, run) in McRows::new(csv, components).enumerate() {
            if keep(i) && i % 100 != 99 {
                held.push(serde_json::to_vec(&run.unwrap()).unwrap());
            }
            if (i + 1) % block == 0 {
                for line in held.drain(..).rev() {
                    journal.write_all(&line).unwrap();
                    journal.write_all(b"\n").unwrap();
                }
            }
        }
        for line in held.drain(..).rev() {
            journal.write_all(&line).unwrap();
            journal.write_all(b"\n").unwrap();
        }
    };
    // The even runs; then the odd ones and every tenth run again (journaled twice).
    session(128, &|i| i % 2 == 0);
    session(1000, &|i| i % 2 == 1 || i % 10 == 0);
    // A third, killed while journaling one of the missing runs.
    let csv = BufReader::new(File::open(clean.join("runs.csv")).unwrap());
    let run = McRows::new(csv, components).nth(99).unwrap().unwrap();
    let cut = serde_json::to_vec(&run).unwrap();
    journal.write_all(&cut[..cut.len() / 2]).unwrap();
    journal.flush().unwrap();
}

/// Whether two files hold the same bytes, read a block at a time.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut a, mut b) = (
        BufReader::new(File::open(a).unwrap()),
        BufReader::new(File::open(b).unwrap()),
    );
    loop {
        let x = a.fill_buf().unwrap().to_vec();
        let y = b.fill_buf().unwrap();
        let n = x.len().min(y.len());
        if x[..n] != y[..n] {
            return false;
        }
        if n == 0 {
            return x.len() == y.len();
        }
        a.consume(n);
        b.consume(n);
    }
}

fn assert_same(clean: &Path, resumed: &Path) {
    assert_eq!(names(resumed), names(clean));
    for f in names(clean) {
        assert!(
            same_bytes(&resumed.join(&f), &clean.join(&f)),
            "{f} differs between {} and {}",
            resumed.display(),
            clean.display()
        );
    }
}

/// Starts a resume and kills it (`kill -9`) once its sort has written a chunk.
fn kill_during_sort(args: &[String], partial: &Path) {
    let sort = partial.join("sort");
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run simulate");
    let t0 = Instant::now();
    while !sort.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the resume ended before its sort wrote a chunk"
        );
        assert!(t0.elapsed() < Duration::from_secs(60), "no sort in 60 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(sort.exists(), "the kill left the sort's chunks");
}

#[test]
fn resume_memory_does_not_grow_with_the_journal() {
    let tmp: PathBuf =
        std::env::temp_dir().join(format!("infrasim-resumemem-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).unwrap();
    let mut peaks = vec![];
    for runs in [1_000u32, 100_000] {
        let clean = tmp.join(format!("clean-{runs}"));
        run(&study(runs, &clean, false));
        let out = tmp.join(format!("resumed-{runs}"));
        let partial = tmp.join(format!("resumed-{runs}.partial"));
        write_journal(&clean, &partial);
        let resume = study(runs, &out, true);
        if runs == 100_000 {
            kill_during_sort(&resume, &partial);
        }
        run(&resume);
        peaks.push(children_peak_kb());
        assert!(!partial.exists(), "the journal is removed");
        assert_same(&clean, &out);
        fs::remove_dir_all(&clean).unwrap();
        fs::remove_dir_all(&out).unwrap();
    }
    let (short_kb, long_kb) = (peaks[0], peaks[1]);
    eprintln!("peak RSS of --resume: {short_kb} KB (1,000 runs), {long_kb} KB (100,000 runs)");
    assert!(
        long_kb <= short_kb + SLACK_KB,
        "100x the journal: peak {short_kb} KB -> {long_kb} KB"
    );
    let _ = fs::remove_dir_all(&tmp);
}
