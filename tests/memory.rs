//! Flat memory (issue 13): what a run holds must not grow with its length.
//!
//! Each check runs `simulate` in a child process, a short run then a far longer one, and
//! reads the children's peak resident set from `getrusage(RUSAGE_CHILDREN)` (the highest of
//! every child waited for so far, so the checks run one after another in one test, and that
//! test has this binary to itself: a child's peak starts from this process's own peak when it
//! is spawned, and every child waited for counts, so another test running here at the same
//! time, with its own children or a run held in this process, would move the measure). What a run
//! must hold does not depend on its length (the servers, the requests in the system, the
//! charts' bounded summary), so the longer run may not peak more than a few MB above the
//! shorter one. Holding the timeline's rows, as the tool once did, costs ~30 KB per row of
//! 1,000 servers: the 3,950 extra rows below would add over 100 MB.

#[path = "common/rss.rs"]
mod rss;
use rss::children_peak_kb;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");

/// Slack for what legitimately varies between two runs of different lengths: the calendar's
/// and the request slab's high-water marks, allocator fragmentation.
const SLACK_KB: i64 = 8 * 1024;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// Runs `simulate` with `args`, writing everything into a fresh folder; returns the folder.
fn simulate(args: &[&str], tag: &str) -> PathBuf {
    let out = std::env::temp_dir().join(format!("infrasim-memory-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let status = Command::new(BIN)
        .args(args)
        .arg("--out")
        .arg(&out)
        .arg("--quiet")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run simulate");
    assert!(status.success(), "simulate {args:?} failed");
    out
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn rows(dir: &Path) -> usize {
    std::fs::read(dir.join("timeline.csv"))
        .unwrap()
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        - 1
}

#[test]
fn memory_does_not_grow_with_the_run() {
    // 1,000 servers with a 10 ms timeline: 1,000 rows of 1,000+ columns a second of run.
    let mm1 = scenario("mm1.toml");
    let mm1 = mm1.to_str().unwrap();
    let pool = |duration: &str| -> Vec<String> {
        [
            mm1,
            "--set",
            "servers.count=1000",
            "--set",
            "workload.rate=20000",
            "--set",
            "warmup=0s",
            "--set",
            "timeline.interval=10ms",
            "--set",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([format!("duration={duration}")])
        .collect()
    };
    let short = pool("0.5s");
    let dir = simulate(&strs(&short), "short");
    assert_eq!(rows(&dir), 50);
    let _ = std::fs::remove_dir_all(&dir);
    let short_kb = children_peak_kb();
    let long = pool("40s");
    let dir = simulate(&strs(&long), "long");
    assert_eq!(rows(&dir), 4000);
    let long_kb = children_peak_kb();
    eprintln!("peak RSS: {short_kb} KB (50 rows), {long_kb} KB (4,000 rows)");
    assert!(
        long_kb <= short_kb + SLACK_KB,
        "80x the rows of 1,000 servers: peak {short_kb} KB -> {long_kb} KB"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
