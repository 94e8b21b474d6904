//! The experiment layer through the real `simulate` binary (issue 4): studies whose results do
//! not depend on the thread count, shards that merge into exactly the unsharded study,
//! assertions that gate CI through the exit code (0 ok, 1 an assertion failed, 2 input error)
//! and a JUnit report, input errors that write nothing, and the speed of the Monte Carlo
//! study.
//!
//! Every test runs the binary from the crate root (so `scenarios/...` resolves) and writes
//! only into its own scratch folder under the system temp dir, removed when the test ends.
//! "Identical" means byte for byte, over every file of the output folder, `study.json`
//! included.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

#[path = "common/cpu.rs"]
mod cpu;

// ---- running the binary ------------------------------------------------------------------------

/// Tests share the machine through this lock: the timing test takes it exclusively, so its
/// wall times are not inflated by other tests of this file running at the same moment.
static MACHINE: RwLock<()> = RwLock::new(());

fn shared() -> RwLockReadGuard<'static, ()> {
    MACHINE.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    MACHINE.write().unwrap_or_else(|e| e.into_inner())
}

/// A scratch folder of its own for one test, removed on drop (also when the test fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "infrasim-experiments-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What one invocation of `simulate` did.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// Wall time (printed only: on a busy machine it measures the other processes too).
    secs: f64,
    /// CPU time, user + system, of all its threads: the work it did (`common/cpu.rs`).
    cpu: f64,
    what: String,
}

impl Run {
    fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "`simulate {}` exited {} (expected {code})\n--- stdout\n{}\n--- stderr\n{}",
            self.what, self.code, self.stdout, self.stderr
        );
        self
    }

    fn output(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Runs `simulate` with `args` from the crate root.
fn simulate<S: AsRef<OsStr>>(args: &[S]) -> Run {
    let what = args
        .iter()
        .map(|a| a.as_ref().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_simulate"));
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    // A guard against a hang only: the longest study here takes seconds.
    let t = cpu::run(&mut cmd, Duration::from_secs(900));
    let out = t.output;
    let (secs, cpu) = (t.wall.as_secs_f64(), t.cpu.as_secs_f64());
    Run {
        code: out.status.code().expect("exited normally, not by a signal"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        secs,
        cpu,
        what,
    }
}

/// `base` followed by `more`, as owned strings (paths included).
fn args(base: &[&str], more: &[&dyn AsRef<OsStr>]) -> Vec<std::ffi::OsString> {
    base.iter()
        .map(|s| s.into())
        .chain(more.iter().map(|s| s.as_ref().to_os_string()))
        .collect()
}

// ---- comparing output folders --------------------------------------------------------------

/// Every file of an output folder (they are flat), by name.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let e = e.unwrap();
        assert!(
            e.file_type().unwrap().is_file(),
            "{}: unexpected folder",
            e.path().display()
        );
        out.insert(
            e.file_name().to_string_lossy().into_owned(),
            std::fs::read(e.path()).unwrap(),
        );
    }
    out
}

/// Asserts that two output folders hold the same files with the same bytes, and that they
/// hold at least `expected`.
fn assert_same_folders(a: &Path, b: &Path, expected: &[&str], context: &str) {
    let (fa, fb) = (files(a), files(b));
    for name in expected {
        assert!(
            fa.contains_key(*name),
            "{context}: {} lacks {name}",
            a.display()
        );
    }
    assert_eq!(
        fa.keys().collect::<Vec<_>>(),
        fb.keys().collect::<Vec<_>>(),
        "{context}: the two folders hold different files"
    );
    for (name, bytes) in &fa {
        let other = &fb[name];
        if bytes != other {
            let (ta, tb) = (
                String::from_utf8_lossy(bytes),
                String::from_utf8_lossy(other),
            );
            let line = ta
                .lines()
                .zip(tb.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(ta.lines().count().min(tb.lines().count()));
            panic!(
                "{context}: {name} differs ({} vs {} bytes), first at line {}:\n  {}: {}\n  {}: {}",
                bytes.len(),
                other.len(),
                line + 1,
                a.display(),
                ta.lines().nth(line).unwrap_or("<end>"),
                b.display(),
                tb.lines().nth(line).unwrap_or("<end>")
            );
        }
    }
}

/// Number of data rows of a CSV file (lines after the header).
fn csv_rows(path: &Path) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().count().saturating_sub(1)
}

// ---- the studies the tests run -------------------------------------------------------------

/// 2 points x 4 replications of a 30 s distributed.toml: 8 short request-level runs.
const SWEEP: &[&str] = &[
    "scenarios/distributed.toml",
    "--set",
    "duration=30s",
    "--set",
    "warmup=5s",
    "--sweep",
    "lb.algorithm=roundrobin,leastconn",
    "--replications",
    "4",
    "-q",
];
const SWEEP_FILES: &[&str] = &["study.json", "runs.csv", "sweep.csv", "comparisons.csv"];

/// 200 simulated years of spof_study.toml on the fast path.
const MC: &[&str] = &["scenarios/spof_study.toml", "--runs", "200", "-q"];
const MC_FILES: &[&str] = &[
    "study.json",
    "runs.csv",
    "montecarlo.json",
    "components.csv",
    "outages.csv",
];

/// A 55 s measured window of mm1.toml: a single request-level run.
const SINGLE: &[&str] = &[
    "scenarios/mm1.toml",
    "--set",
    "duration=60s",
    "--set",
    "warmup=5s",
];

// ---- 1. thread-count independence ----------------------------------------------------------

fn same_with_1_and_2_threads(study: &[&str], expected: &[&str], tag: &str) {
    let _g = shared();
    let tmp = Scratch::new(tag);
    let (one, two) = (tmp.path("threads-1"), tmp.path("threads-2"));
    simulate(&args(study, &[&"--threads", &"1", &"--out", &one])).expect(0);
    simulate(&args(study, &[&"--threads", &"2", &"--out", &two])).expect(0);
    assert_same_folders(&one, &two, expected, "--threads 1 vs --threads 2");
}

#[test]
fn sweep_results_do_not_depend_on_the_thread_count() {
    same_with_1_and_2_threads(SWEEP, SWEEP_FILES, "sweep-threads");
}

#[test]
fn montecarlo_results_do_not_depend_on_the_thread_count() {
    same_with_1_and_2_threads(MC, MC_FILES, "mc-threads");
}

// ---- 2. shards and merge -------------------------------------------------------------------

/// Runs `study` unsharded and as shards 1/3, 2/3, 3/3; merges the shards (in two orders) and
/// compares every file with the unsharded folder; `runs` is the study's number of runs.
fn shards_merge_to_the_unsharded_study(study: &[&str], expected: &[&str], runs: usize, tag: &str) {
    let _g = shared();
    let tmp = Scratch::new(tag);
    let whole = tmp.path("unsharded");
    simulate(&args(study, &[&"--out", &whole])).expect(0);
    assert_eq!(csv_rows(&whole.join("runs.csv")), runs);
    let shards: Vec<PathBuf> = (1..=3).map(|k| tmp.path(&format!("shard-{k}"))).collect();
    let mut rows = 0;
    for (k, dir) in shards.iter().enumerate() {
        let spec = format!("{}/3", k + 1);
        simulate(&args(study, &[&"--shard", &spec, &"--out", dir])).expect(0);
        let study_json = std::fs::read_to_string(dir.join("study.json")).unwrap();
        assert!(
            study_json.contains(&format!("\"{spec}\"")),
            "shard {spec}: study.json does not record the shard:\n{study_json}"
        );
        rows += csv_rows(&dir.join("runs.csv"));
    }
    assert_eq!(rows, runs, "the three shards together run every run once");

    let merged = tmp.path("merged");
    let m = simulate(&args(
        &["merge"],
        &[&shards[0], &shards[1], &shards[2], &"--out", &merged],
    ));
    m.expect(0);
    assert_same_folders(&whole, &merged, expected, "unsharded vs merge A B C");

    // The order of the folders does not matter.
    let merged2 = tmp.path("merged-cab");
    simulate(&args(
        &["merge"],
        &[&shards[2], &shards[0], &shards[1], &"--out", &merged2],
    ))
    .expect(0);
    assert_same_folders(&whole, &merged2, expected, "unsharded vs merge C A B");
}

#[test]
fn sharded_sweep_merges_into_exactly_the_unsharded_sweep() {
    shards_merge_to_the_unsharded_study(SWEEP, SWEEP_FILES, 8, "sweep-shards");
}

#[test]
fn sharded_montecarlo_merges_into_exactly_the_unsharded_study() {
    shards_merge_to_the_unsharded_study(MC, MC_FILES, 200, "mc-shards");
}

/// Merging only some shards is an input error (exit 2) that names the problem and writes
/// nothing.
fn incomplete_merge_is_refused(study: &[&str], tag: &str) {
    let _g = shared();
    let tmp = Scratch::new(tag);
    let a = tmp.path("shard-1");
    let b = tmp.path("shard-2");
    simulate(&args(study, &[&"--shard", &"1/3", &"--out", &a])).expect(0);
    simulate(&args(study, &[&"--shard", &"2/3", &"--out", &b])).expect(0);
    let out = tmp.path("merged");
    let r = simulate(&args(&["merge"], &[&a, &b, &"--out", &out]));
    r.expect(2);
    assert!(
        r.stderr.contains("merge every shard"),
        "the message should say shards are missing:\n{}",
        r.stderr
    );
    assert!(
        !out.exists(),
        "a refused merge must not write {}",
        out.display()
    );
    // The same shard twice is no more complete.
    let r = simulate(&args(&["merge"], &[&a, &b, &b, &"--out", &out]));
    r.expect(2);
    assert!(!out.exists());
}

#[test]
fn merging_an_incomplete_set_of_sweep_shards_is_an_input_error() {
    incomplete_merge_is_refused(SWEEP, "sweep-incomplete");
}

#[test]
fn merging_an_incomplete_set_of_montecarlo_shards_is_an_input_error() {
    incomplete_merge_is_refused(MC, "mc-incomplete");
}

#[test]
fn merging_shards_of_different_studies_is_an_input_error() {
    let _g = shared();
    let tmp = Scratch::new("mixed-studies");
    let shard = |study: &[&str], extra: &[&str], k: u32, name: &str| -> PathBuf {
        let dir = tmp.path(name);
        let spec = format!("{k}/3");
        let mut a = args(study, &[&"--shard", &spec, &"--out", &dir]);
        a.extend(extra.iter().map(|s| s.into()));
        simulate(&a).expect(0);
        dir
    };
    let out = tmp.path("merged");
    // Same scenario, another seed.
    let s1 = shard(SWEEP, &[], 1, "seed1-shard1");
    let s2 = shard(SWEEP, &["--seed", "2"], 2, "seed2-shard2");
    let s3 = shard(SWEEP, &["--seed", "2"], 3, "seed2-shard3");
    let r = simulate(&args(&["merge"], &[&s1, &s2, &s3, &"--out", &out]));
    r.expect(2);
    assert!(
        r.stderr.contains("not a shard of the same study"),
        "the message should say the shards do not belong together:\n{}",
        r.stderr
    );
    assert!(
        !out.exists(),
        "a refused merge must not write {}",
        out.display()
    );
    // Same scenario and seed, another replication count.
    let five: Vec<&str> = SWEEP
        .iter()
        .map(|&a| if a == "4" { "5" } else { a })
        .collect();
    let r4 = shard(&five, &[], 2, "reps5-shard2");
    let r = simulate(&args(&["merge"], &[&s1, &r4, &"--out", &out]));
    r.expect(2);
    assert!(
        r.stderr.contains("not a shard of the same study"),
        "{}",
        r.stderr
    );
    // A sweep shard with a Monte Carlo shard.
    let mc = shard(MC, &[], 2, "mc-shard2");
    let r = simulate(&args(&["merge"], &[&s1, &mc, &"--out", &out]));
    r.expect(2);
    assert!(
        r.stderr.contains("not a shard of the same study"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}

/// `merge --junit` names the suite after the scenario file's stem, an unsharded run after the
/// scenario's `name`: for a scenario whose name is not its file name (every ladder scenario)
/// the two JUnit reports differ, and so do the default output folders (results/<stem>/ vs
/// results/<name>/). src/cli/merge.rs derives `name` from `record.scenario_file`; the
/// study record does not carry the scenario name.
#[test]
fn merged_junit_report_equals_the_unsharded_one() {
    let _g = shared();
    let tmp = Scratch::new("merge-junit");
    let study = [
        "scenarios/ladder/3_distributed.toml",
        "--set",
        "duration=20s",
        "--set",
        "warmup=5s",
        "--replications",
        "2",
        "-q",
    ];
    let gate = "availability >= 0.5";
    let (whole, whole_xml) = (tmp.path("unsharded"), tmp.path("unsharded.xml"));
    simulate(&args(
        &study,
        &[&"--assert", &gate, &"--junit", &whole_xml, &"--out", &whole],
    ))
    .expect(0);
    let shards: Vec<PathBuf> = (1..=2).map(|k| tmp.path(&format!("shard-{k}"))).collect();
    for (k, dir) in shards.iter().enumerate() {
        let spec = format!("{}/2", k + 1);
        simulate(&args(&study, &[&"--shard", &spec, &"--out", dir])).expect(0);
    }
    let (merged, merged_xml) = (tmp.path("merged"), tmp.path("merged.xml"));
    simulate(&args(
        &["merge"],
        &[
            &shards[0],
            &shards[1],
            &"--assert",
            &gate,
            &"--junit",
            &merged_xml,
            &"--out",
            &merged,
        ],
    ))
    .expect(0);
    assert_same_folders(&whole, &merged, SWEEP_FILES, "unsharded vs merged");
    assert_eq!(
        std::fs::read_to_string(&whole_xml).unwrap(),
        std::fs::read_to_string(&merged_xml).unwrap(),
        "the JUnit report of the merge differs from the unsharded one"
    );
}

// ---- 4. assertions -------------------------------------------------------------------------

#[test]
fn single_run_assertions_set_the_exit_code() {
    let _g = shared();
    let tmp = Scratch::new("single-assert");
    let out = tmp.path("run");
    // p99 of M/M/1 at rho 0.8 is ~230 ms: far above 1 ms, far below 10 s.
    let r = simulate(&args(SINGLE, &[&"--assert", &"p99 <= 1ms", &"--out", &out]));
    r.expect(1);
    assert!(r.stdout.contains("assert FAIL: p99 <= 1ms"), "{}", r.stdout);
    let r = simulate(&args(SINGLE, &[&"--assert", &"p99 <= 10s", &"--out", &out]));
    r.expect(0);
    assert!(r.stdout.contains("assert PASS: p99 <= 10s"), "{}", r.stdout);
    // One failing assertion among passing ones fails the run.
    simulate(&args(
        SINGLE,
        &[
            &"--assert",
            &"p99 <= 10s",
            &"--assert",
            &"availability >= 100%",
            &"--assert",
            &"p99 <= 1ms",
            &"--out",
            &out,
        ],
    ))
    .expect(1);
}

#[test]
fn montecarlo_assertions_set_the_exit_code() {
    let _g = shared();
    let tmp = Scratch::new("mc-assert");
    let out = tmp.path("study");
    // spof_study.toml is ~0.9997 available: the lower 95% bound is far below eight nines.
    let r = simulate(&args(
        MC,
        &[&"--assert", &"availability >= 0.99999999", &"--out", &out],
    ));
    r.expect(1);
    assert!(r.stdout.contains("assert FAIL"), "{}", r.stdout);
    let r = simulate(&args(
        MC,
        &[&"--assert", &"availability >= 0.9", &"--out", &out],
    ));
    r.expect(0);
    assert!(r.stdout.contains("assert PASS"), "{}", r.stdout);
}

#[test]
fn sweep_assertions_must_hold_at_every_point() {
    let _g = shared();
    let tmp = Scratch::new("sweep-assert");
    let out = tmp.path("sweep");
    simulate(&args(SWEEP, &[&"--assert", &"p99 <= 10s", &"--out", &out])).expect(0);
    simulate(&args(SWEEP, &[&"--assert", &"p99 <= 1us", &"--out", &out])).expect(1);
}

/// Reads a JUnit file: (testcase name, has a <failure>) in order.
fn junit_cases(xml: &str) -> Vec<(String, bool)> {
    assert!(xml.starts_with("<?xml"), "not XML:\n{xml}");
    let mut cases = vec![];
    for chunk in xml.split("<testcase ").skip(1) {
        let body = chunk.split("</testcase>").next().unwrap();
        let name = body
            .split(" name=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_else(|| panic!("testcase without a name:\n{xml}"))
            .to_string();
        cases.push((name, body.contains("<failure")));
    }
    assert_eq!(
        xml.matches("<testcase ").count(),
        xml.matches("</testcase>").count(),
        "unbalanced testcases:\n{xml}"
    );
    cases
}

#[test]
fn junit_report_has_one_testcase_per_assertion_and_a_failure_for_the_failing_one() {
    let _g = shared();
    let tmp = Scratch::new("junit");
    let xml = tmp.path("report.xml");
    simulate(&args(
        SINGLE,
        &[
            &"--assert",
            &"p99 <= 10s",
            &"--assert",
            &"p99 <= 1ms",
            &"--junit",
            &xml,
            &"--out",
            &tmp.path("run"),
        ],
    ))
    .expect(1);
    let text = std::fs::read_to_string(&xml).unwrap();
    assert_eq!(
        junit_cases(&text),
        [
            ("p99 &lt;= 10s".to_string(), false),
            ("p99 &lt;= 1ms".to_string(), true)
        ],
        "{text}"
    );
    assert!(text.contains("tests=\"2\" failures=\"1\""), "{text}");

    // A Monte Carlo study: all passing.
    let xml = tmp.path("mc.xml");
    simulate(&args(
        MC,
        &[
            &"--assert",
            &"availability >= 0.9",
            &"--assert",
            &"spofs >= 1",
            &"--junit",
            &xml,
            &"--out",
            &tmp.path("mc"),
        ],
    ))
    .expect(0);
    let text = std::fs::read_to_string(&xml).unwrap();
    assert_eq!(
        junit_cases(&text),
        [
            ("availability &gt;= 0.9".to_string(), false),
            ("spofs &gt;= 1".to_string(), false)
        ],
        "{text}"
    );
}

#[test]
fn malformed_assertion_is_an_input_error() {
    let _g = shared();
    let tmp = Scratch::new("malformed-assert");
    for bad in ["p99 fast", "p99 <= fast", "<= 1s", "availability >="] {
        let out = tmp.path("run");
        let r = simulate(&args(SINGLE, &[&"--assert", &bad, &"--out", &out]));
        r.expect(2);
        assert!(
            r.stderr.contains(bad),
            "the message should quote '{bad}':\n{}",
            r.stderr
        );
        assert!(
            !out.exists(),
            "--assert '{bad}': nothing should be run or written"
        );
    }
    // Also for merge, before reading any folder.
    let r = simulate(&args(
        &["merge", "--assert", "p99 fast"],
        &[&tmp.path("no-such-shard")],
    ));
    r.expect(2);
}

/// Issue 11 item 11: an assertion on a metric the run will not report is a usage error found
/// before anything runs (exit 2, nothing written), not a failed gate after the whole run.
#[test]
fn unknown_metric_is_refused_before_running() {
    let _g = shared();
    let tmp = Scratch::new("unknown-metric");
    for (what, base) in [("run", SINGLE), ("mc", MC), ("sweep", SWEEP)] {
        let out = tmp.path(what);
        let r = simulate(&args(
            base,
            &[&"--assert", &"bogus_metric <= 1", &"--out", &out],
        ));
        r.expect(2);
        assert!(
            r.stderr.contains("no metric named 'bogus_metric'"),
            "{what}: {}",
            r.output()
        );
        assert!(r.cpu < 5.0, "{what}: refused after {:.1} s of CPU", r.cpu);
        assert!(
            !std::path::Path::new(&out).exists(),
            "{what}: nothing is written"
        );
    }
    // A metric of a server that exists at some points of a sweep only.
    let r = simulate(&args(
        SWEEP,
        &[
            &"--set",
            &"servers.count=2",
            &"--sweep",
            &"servers.count=2,3",
            &"--assert",
            &"servers.web-03.app_utilisation <= 1",
            &"--out",
            &tmp.path("partial"),
        ],
    ));
    r.expect(2);
    assert!(
        r.stderr.contains("at 2 of the 4 points") && r.stderr.contains("servers.count=2"),
        "{}",
        r.output()
    );
}

// ---- 5. input errors -----------------------------------------------------------------------

/// Runs `simulate` expecting exit 2, a message containing `needle`, and no output folder.
fn input_error(tmp: &Scratch, a: &[std::ffi::OsString], needle: &str) {
    let out = tmp.path("out");
    let mut a = a.to_vec();
    a.extend(["--out".into(), out.clone().into_os_string()]);
    let r = simulate(&a);
    r.expect(2);
    assert!(
        r.stderr.contains(needle),
        "`simulate {}`: the message should mention '{needle}':\n{}",
        r.what,
        r.stderr
    );
    assert!(
        !out.exists(),
        "`simulate {}` wrote {}",
        r.what,
        out.display()
    );
}

#[test]
fn input_errors_exit_2_and_write_nothing() {
    let _g = shared();
    let tmp = Scratch::new("input-errors");
    // A scenario with an unknown key.
    let mm1 =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/mm1.toml"))
            .unwrap();
    let bad = tmp.path("unknown_key.toml");
    std::fs::write(&bad, format!("bogus_key = 3\n{mm1}")).unwrap();
    input_error(&tmp, &args(&[], &[&bad]), "bogus_key");
    // ... also when a study is asked for.
    input_error(&tmp, &args(&["--replications", "2"], &[&bad]), "bogus_key");
    // An unknown key through --set.
    input_error(&tmp, &args(SINGLE, &[&"--set", &"lb.bogus=1"]), "bogus");
    input_error(&tmp, &args(SWEEP, &[&"--shard", &"0/3"]), "--shard");
    input_error(&tmp, &args(SWEEP, &[&"--shard", &"4/3"]), "--shard");
    input_error(&tmp, &args(MC, &[&"--shard", &"0/3"]), "--shard");
    input_error(&tmp, &args(SWEEP, &[&"--threads", &"0"]), "--threads");
    input_error(&tmp, &args(MC, &[&"--threads", &"0"]), "--threads");
    input_error(&tmp, &args(SINGLE, &[&"--threads", &"0"]), "--threads");
    // Nothing else appeared in the scratch folder (no staging folders left behind).
    let left: Vec<String> = std::fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["unknown_key.toml"]);
}

// ---- 7. speed --------------------------------------------------------------------------------

#[test]
fn year_long_thousand_run_spof_study_takes_under_10_s() {
    let _g = exclusive();
    let tmp = Scratch::new("speed-mc");
    let out = tmp.path("study");
    let r = simulate(&args(
        &["scenarios/spof_study.toml", "-q"],
        &[&"--out", &out],
    ));
    r.expect(0);
    eprintln!(
        "spof_study.toml, 1000 runs of 365 days (Monte Carlo fast path): {:.2} s wall, \
         {:.2} s of CPU",
        r.secs, r.cpu
    );
    assert_eq!(csv_rows(&out.join("runs.csv")), 1000);
    let study = std::fs::read_to_string(out.join("study.json")).unwrap();
    assert!(study.contains("\"horizon_s\": 31536000"), "{study}");
    // Under 10 s of CPU, so under 10 s on one core: 1.8 s of CPU measured. The wall time was
    // asserted before; on the shared CI machine it measures the other builds too (4.2 s wall
    // measured with two other builds running, for the same 1.8 s of CPU).
    assert!(
        r.cpu < 10.0,
        "the 1000-year study took {:.2} s of CPU ({:.2} s wall)",
        r.cpu,
        r.secs
    );
}

#[test]
fn sweep_3x8_runs_with_1_and_2_threads() {
    let _g = exclusive();
    let tmp = Scratch::new("speed-sweep");
    let study = [
        "scenarios/distributed.toml",
        "--sweep",
        "lb.algorithm=roundrobin,leastconn,random",
        "--replications",
        "8",
        "-q",
    ];
    let mut secs = vec![];
    for threads in ["1", "2"] {
        let out = tmp.path(&format!("threads-{threads}"));
        let r = simulate(&args(&study, &[&"--threads", &threads, &"--out", &out]));
        r.expect(0);
        assert_eq!(csv_rows(&out.join("runs.csv")), 24);
        assert_eq!(csv_rows(&out.join("sweep.csv")), 3);
        secs.push(r.secs);
    }
    eprintln!(
        "distributed.toml, 3 algorithms x 8 replications of 5 min: {:.2} s with 1 thread, \
         {:.2} s with 2 threads: speed-up {:.2} on {} cores",
        secs[0],
        secs[1],
        secs[0] / secs[1],
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    assert_same_folders(
        &tmp.path("threads-1"),
        &tmp.path("threads-2"),
        SWEEP_FILES,
        "3 x 8 sweep, --threads 1 vs 2",
    );
}
