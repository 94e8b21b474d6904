//! Flat memory of Monte Carlo studies (issue 13): a study's runs are not held.
//!
//! Each run's row goes to `runs.csv` on disk as the runs finish (in run order, at most a
//! window of runs in memory), and the summary takes the runs as a stream (its first pass as
//! the rows are written, then a binary copy of them read back for the intervals and the exact
//! outage quantiles). So a study of
//! 100,000 runs may not peak more than a few MB above one of 1,000 (measured on two threads:
//! 11.5 and 12.0 MB; `heap_montecarlo.rs` counts the runs' heap to the byte).
//! Holding the runs, as the tool once did, cost about 3.4 KB per one-year run of this study
//! and its `runs.csv` bytes again: with the one-day horizon below, 12.2 MB for 1,000 runs and
//! 102 MB for 100,000 (the command printed by the assertion, run with that binary).
//!
//! The peak resident set is read from `getrusage(RUSAGE_CHILDREN)`, the highest of every
//! child waited for so far, which is why this check has a test binary of its own (the
//! threads of another test file's children would mix in).

#[path = "common/rss.rs"]
mod rss;
use rss::children_peak_kb;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");

/// Slack for what legitimately varies between a study of 1,000 runs and one of 100,000: the
/// runs in flight when a slow one holds a batch back, buffers, allocator fragmentation.
const SLACK_KB: i64 = 8 * 1024;

/// The SPOF study with a day's horizon and no request-level runs of its states: 100,000 runs
/// take about 4.5 s of CPU.
fn study(runs: u32, out: &Path) -> Vec<String> {
    let spof = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/spof_study.toml");
    [
        spof.to_str().unwrap(),
        "--montecarlo",
        "--runs",
        &runs.to_string(),
        "--set",
        "montecarlo.horizon=1d",
        "--set",
        "montecarlo.overload=none",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run(args: &[String]) {
    let status = Command::new(BIN)
        .args(args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run simulate");
    assert!(status.success(), "simulate {args:?} failed");
}

fn rows(dir: &Path) -> usize {
    let bytes = std::fs::read(dir.join("runs.csv")).unwrap();
    bytes.iter().filter(|&&b| b == b'\n').count() - 1
}

#[test]
fn monte_carlo_memory_does_not_grow_with_the_runs() {
    let out: PathBuf = std::env::temp_dir().join(format!("infrasim-mcmem-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let short = study(1_000, &out);
    run(&short);
    assert_eq!(rows(&out), 1_000);
    let short_kb = children_peak_kb();
    let long = study(100_000, &out);
    run(&long);
    assert_eq!(rows(&out), 100_000);
    let long_kb = children_peak_kb();
    eprintln!("peak RSS: {short_kb} KB (1,000 runs), {long_kb} KB (100,000 runs)");
    assert!(
        long_kb <= short_kb + SLACK_KB,
        "100x the runs: peak {short_kb} KB -> {long_kb} KB (simulate {})",
        long.join(" ")
    );
    let _ = std::fs::remove_dir_all(&out);
}
