//! The command line keeps its word (issue 11, items 8-10, 12, 14-18, 21): a closed stdout is no
//! crash, `--json` stays JSON, bounds hold at once, options that do not apply are refused,
//! `replay` and `merge` work from any folder, a full disk says how to finish, and what is
//! printed and written carries no noise. Each test runs the real binary in a folder of its own.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

#[path = "common/cpu.rs"]
mod cpu;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

struct Tmp(PathBuf);

impl Tmp {
    fn new(tag: &str) -> Tmp {
        let dir = std::env::temp_dir().join(format!("infrasim-cli-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Tmp(dir)
    }

    fn join(&self, p: &str) -> PathBuf {
        self.0.join(p)
    }

    /// Copies `scenarios/<name>` here.
    fn scenario(&self, name: &str) -> &Tmp {
        fs::copy(
            Path::new(ROOT).join("scenarios").join(name),
            self.join(name),
        )
        .unwrap();
        self
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Runs `simulate` in `dir`; returns its output and the CPU time it used. The bounds on that
/// time ("refused at once") are on the work done, not on the wall clock, which on a busy CI
/// machine measures the other builds as much as this command (see `common/cpu.rs`).
fn run_in(dir: &Path, args: &[&str]) -> (Output, Duration) {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(dir);
    // A guard against a hang only: the longest command here takes a few seconds.
    let t = cpu::run(&mut cmd, Duration::from_secs(600));
    (t.output, t.cpu)
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

const QUICK: &[&str] = &["mm1.toml", "--set", "duration=5s", "--set", "warmup=1s"];

fn with<'a>(base: &[&'a str], more: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(more).copied().collect()
}

// ---- item 8: `| head -1` ------------------------------------------------------------------------

#[test]
fn a_closed_stdout_is_not_a_crash() {
    let tmp = Tmp::new("pipe");
    tmp.scenario("mm1.toml");
    for extra in [&[][..], &["--json"], &["--replications", "3", "-q"]] {
        let mut child = Command::new(BIN)
            .args(with(QUICK, extra))
            .args(["--out", "r"])
            .current_dir(&tmp.0)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away before anything is printed, as `head -1` does after a line.
        drop(child.stdout.take());
        let mut e = String::new();
        child.stderr.take().unwrap().read_to_string(&mut e).unwrap();
        let status = child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{extra:?}: {e}");
        assert!(!e.contains("panicked"), "{extra:?}: {e}");
        assert!(tmp.join("r/.infrasim").is_file(), "the results are written");
        fs::remove_dir_all(tmp.join("r")).unwrap();
    }
    // And through a real shell pipeline.
    let o = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; {BIN} mm1.toml --set duration=5s --set warmup=1s --output none | head -1"
        ))
        .current_dir(&tmp.0)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(out(&o).lines().count(), 1);
}

// ---- item 9: --threads ------------------------------------------------------------------------------

#[test]
fn thread_counts_are_bounded_at_once() {
    let tmp = Tmp::new("threads");
    tmp.scenario("mm1.toml");
    for n in ["0", "100000", "1025"] {
        let (o, took) = run_in(
            &tmp.0,
            &with(QUICK, &["--replications", "2", "--threads", n]),
        );
        assert_eq!(o.status.code(), Some(2), "--threads {n}: {}", text(&o));
        assert!(err(&o).contains("--threads"), "{}", text(&o));
        assert!(
            took < Duration::from_secs(1),
            "--threads {n} took {took:?} of CPU"
        );
    }
    let (o, _) = run_in(
        &tmp.0,
        &with(
            QUICK,
            &[
                "--replications",
                "2",
                "--threads",
                "1024",
                "--output",
                "none",
                "-q",
            ],
        ),
    );
    assert!(o.status.success(), "{}", text(&o));
}

// ---- item 10: --json --assert -----------------------------------------------------------------------

#[test]
fn json_output_stays_json_with_assertions() {
    let tmp = Tmp::new("json");
    tmp.scenario("mm1.toml");
    let (o, _) = run_in(
        &tmp.0,
        &with(
            QUICK,
            &[
                "--json",
                "--assert",
                "p99 <= 10s",
                "--assert",
                "availability >= 2",
                "-q",
            ],
        ),
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "one assertion fails: {}",
        text(&o)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", out(&o)));
    assert!(v.get("requests").is_some());
    assert!(err(&o).contains("assert PASS: p99 <= 10s"), "{}", text(&o));
    assert!(
        err(&o).contains("assert FAIL: availability >= 2"),
        "{}",
        text(&o)
    );
}

// ---- item 12: options that do not apply ----------------------------------------------------------------

#[test]
fn options_that_do_not_apply_are_refused_before_running() {
    let tmp = Tmp::new("apply");
    tmp.scenario("mm1.toml").scenario("spof_study.toml");
    for (args, option) in [
        (with(QUICK, &["--runs", "5"]), "--runs"),
        (with(QUICK, &["--resume"]), "--resume"),
        (with(QUICK, &["--threads", "2"]), "--threads"),
        (with(QUICK, &["--shard", "1/2"]), "--shard"),
        (with(QUICK, &["--json", "--replications", "2"]), "--json"),
        (
            with(QUICK, &["--runs", "5", "--replications", "2"]),
            "--runs",
        ),
        (vec!["spof_study.toml", "--json"], "--json"),
        (
            vec!["spof_study.toml", "--montecarlo", "--replications", "3"],
            "--replications",
        ),
        (
            vec![
                "spof_study.toml",
                "--montecarlo",
                "--sweep",
                "workload.rate=1,2",
            ],
            "--sweep",
        ),
        (with(QUICK, &["--output", "none", "--out", "x"]), "--out"),
        (
            with(
                QUICK,
                &["--output", "none", "--replications", "2", "--resume"],
            ),
            "--resume",
        ),
        (
            with(
                QUICK,
                &["--output", "none", "--replications", "2", "--shard", "1/2"],
            ),
            "--shard",
        ),
    ] {
        let (o, took) = run_in(&tmp.0, &args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(err(&o).contains(option), "{args:?}: {}", text(&o));
        assert!(
            took < Duration::from_secs(5),
            "{args:?}: refused after {took:?} of CPU"
        );
    }
    let mut left: Vec<String> = fs::read_dir(&tmp.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(
        left,
        ["mm1.toml", "spof_study.toml"],
        "a refused command wrote something"
    );
}

// ---- item 14: replay and merge from another folder --------------------------------------------------------

#[test]
fn replay_and_merge_work_from_another_folder() {
    let tmp = Tmp::new("elsewhere");
    let project = tmp.join("project");
    fs::create_dir_all(project.join("scenarios")).unwrap();
    for f in ["server_down.toml", "compare_algorithms.toml"] {
        fs::copy(
            Path::new(ROOT).join("scenarios").join(f),
            project.join("scenarios").join(f),
        )
        .unwrap();
    }
    let (o, _) = run_in(
        &project,
        &["scenarios/server_down.toml", "--seed", "3", "-q"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let elsewhere = tmp.join("elsewhere");
    fs::create_dir_all(&elsewhere).unwrap();
    let summary = project.join("results/server_down/summary.json");
    let (o, _) = run_in(
        &elsewhere,
        &["replay", summary.to_str().unwrap(), "--output", "none"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(out(&o).contains("identical"), "{}", text(&o));

    // Shards made in the project, merged from elsewhere: the scenario is found, so the
    // per-algorithm latency CDF is drawn as in the unsharded study.
    for k in 1..=2 {
        let (o, _) = run_in(
            &project,
            &[
                "scenarios/compare_algorithms.toml",
                "--replications",
                "1",
                "--set",
                "duration=20s",
                "--set",
                "warmup=2s",
                "--shard",
                &format!("{k}/2"),
                "--out",
                &format!("shards/{k}"),
                "-q",
            ],
        );
        assert!(o.status.success(), "{}", text(&o));
    }
    let s1 = project.join("shards/1");
    let s2 = project.join("shards/2");
    let (o, _) = run_in(
        &elsewhere,
        &[
            "merge",
            s1.to_str().unwrap(),
            s2.to_str().unwrap(),
            "--out",
            "merged",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!err(&o).contains("not available unchanged"), "{}", text(&o));
    assert!(
        elsewhere
            .join("merged/algorithms_latency_cdf.svg")
            .is_file()
    );

    // An edited scenario is found and reported as changed (exit 1).
    let path = project.join("scenarios/server_down.toml");
    let mut t = fs::read_to_string(&path).unwrap();
    t.push_str("\n# edited\n");
    fs::write(&path, t).unwrap();
    let (o, _) = run_in(
        &elsewhere,
        &["replay", summary.to_str().unwrap(), "--output", "none"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(out(&o).contains("changed"), "{}", text(&o));
}

// ---- item 15: the seed's range ---------------------------------------------------------------------------

#[test]
fn the_cli_and_the_scenario_take_the_same_seeds() {
    let tmp = Tmp::new("seed");
    tmp.scenario("mm1.toml");
    let max = i64::MAX.to_string();
    let (o, _) = run_in(
        &tmp.0,
        &with(QUICK, &["--seed", &max, "--json", "--output", "none"]),
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["seed"].as_u64(), Some(i64::MAX as u64));
    for bad in ["9223372036854775808", "18446744073709551615", "-1"] {
        let (o, took) = run_in(&tmp.0, &with(QUICK, &["--seed", bad]));
        assert_eq!(o.status.code(), Some(2), "--seed {bad}: {}", text(&o));
        assert!(err(&o).contains("--seed"), "{}", text(&o));
        assert!(
            took < Duration::from_secs(1),
            "--seed {bad}: {took:?} of CPU"
        );
    }
}

// ---- item 16: a Weibull with a tiny shape --------------------------------------------------------------

#[test]
fn a_tiny_weibull_shape_is_named_as_such() {
    let tmp = Tmp::new("weibull");
    tmp.scenario("mm1.toml");
    let (o, _) = run_in(
        &tmp.0,
        &with(
            QUICK,
            &["--set", "workload.mix[0].app=weibull(shape=1e-3, mean=1ms)"],
        ),
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = err(&o);
    assert!(
        e.contains("workload.mix[0].app") && e.contains("shape must be at least"),
        "{e}"
    );
    assert!(!e.contains("scale"), "no scale was given: {e}");
}

// ---- item 17: a bad value in the file's [sweep] ------------------------------------------------------

#[test]
fn a_bad_sweep_value_is_reported_where_it_is_written() {
    let tmp = Tmp::new("sweep");
    fs::write(
        tmp.join("s.toml"),
        "duration = \"10s\"\n[workload]\nrate = 5\n[sweep]\nreplications = 2\n\
         parameters = { \"workload.rte\" = [1, 2] }\n",
    )
    .unwrap();
    let (o, _) = run_in(&tmp.0, &["s.toml"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = err(&o);
    assert!(
        e.contains("s.toml: sweep.parameters.\"workload.rte\" (line 6)"),
        "the file's key and line: {e}"
    );
    assert!(!e.contains("--set"), "the user gave no --set: {e}");
    let (o, _) = run_in(
        &tmp.0,
        &["s.toml", "--sweep", "lb.algoritm=first,leastconn"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(err(&o).contains("--sweep"), "{}", text(&o));
}

// ---- item 18: a full disk ------------------------------------------------------------------------------

#[test]
fn a_study_that_cannot_be_written_says_resume_finishes_it() {
    let tmp = Tmp::new("full");
    tmp.scenario("compare_algorithms.toml");
    let study = [
        "compare_algorithms.toml",
        "--replications",
        "1",
        "--threads",
        "1",
        "-q",
    ];
    // Files larger than 64 KiB cannot be written (RLIMIT_FSIZE; SIGXFSZ ignored, so a write
    // fails with EFBIG as it would with ENOSPC on a full disk).
    let o = Command::new("sh")
        .arg("-c")
        .arg(format!("trap '' XFSZ; ulimit -f 64; exec {BIN} \"$@\""))
        .arg("sh")
        .args(study)
        .args(["--out", "full"])
        .current_dir(&tmp.0)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let e = err(&o);
    assert!(e.contains("writing results to full/"), "{e}");
    assert!(e.contains("--resume") && e.contains("full.partial"), "{e}");
    assert!(!tmp.join("full").exists(), "no half-written results");
    let (o, _) = run_in(
        &tmp.0,
        &[&study[..], &["--out", "full", "--resume"]].concat(),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!tmp.join("full.partial").exists(), "the journal is gone");
    let (o, _) = run_in(&tmp.0, &[&study[..], &["--out", "clean"]].concat());
    assert!(o.status.success(), "{}", text(&o));
    for f in ["runs.csv", "sweep.csv", "comparisons.csv", "study.json"] {
        assert_eq!(
            fs::read(tmp.join("full").join(f)).unwrap(),
            fs::read(tmp.join("clean").join(f)).unwrap(),
            "{f}: the resumed study differs from an uninterrupted one"
        );
    }
}

// ---- item 21: what is printed and written ----------------------------------------------------------------

/// The longest run of significant digits in a number of `text`.
fn longest_number(text: &str) -> (usize, String) {
    let mut best = (0, String::new());
    for token in text.split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == 'e')) {
        let digits: String = token
            .split('e')
            .next()
            .unwrap_or("")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let significant = digits.trim_start_matches('0').len();
        if token.contains('.') && significant > best.0 {
            best = (significant, token.to_string());
        }
    }
    best
}

#[test]
fn csv_and_html_figures_carry_no_float_noise() {
    let tmp = Tmp::new("noise");
    tmp.scenario("distributed.toml");
    let (o, _) = run_in(
        &tmp.0,
        &[
            "distributed.toml",
            "--set",
            "duration=30s",
            "--set",
            "warmup=3s",
            "--out",
            "run",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let (o, _) = run_in(
        &tmp.0,
        &[
            "distributed.toml",
            "--set",
            "duration=20s",
            "--set",
            "warmup=2s",
            "--sweep",
            "lb.algorithm=roundrobin,leastconn",
            "--replications",
            "3",
            "--out",
            "study",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    for dir in ["run", "study"] {
        for e in fs::read_dir(tmp.join(dir)).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if !(name.ends_with(".csv") || name.ends_with(".html")) {
                continue;
            }
            let (n, number) = longest_number(&fs::read_to_string(&p).unwrap());
            assert!(n <= 10, "{dir}/{name}: {number} has {n} significant digits");
        }
    }
}

#[test]
fn tables_align_and_intervals_show_only_when_there_are_some() {
    let tmp = Tmp::new("tables");
    tmp.scenario("distributed.toml").scenario("spof_study.toml");
    // Sweep labels longer than the old fixed column.
    let (o, _) = run_in(
        &tmp.0,
        &[
            "distributed.toml",
            "--set",
            "duration=10s",
            "--set",
            "warmup=1s",
            "--sweep",
            "database.replicas[0].speed=0.5,1.0",
            "--sweep",
            "lb.algorithm=roundrobin,source-consistent",
            "--replications",
            "2",
            "--output",
            "none",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let stdout = out(&o);
    let lines: Vec<&str> = stdout.lines().collect();
    let header = lines.iter().position(|l| l.starts_with("point")).unwrap();
    let end = lines[header].find("runs").unwrap() + "runs".len();
    for row in &lines[header + 1..header + 5] {
        let chars: Vec<char> = row.chars().collect();
        assert!(
            chars[end - 1] == '2' && chars[end] == ' ',
            "misaligned row (runs should end at column {end}):\n{}\n{row}",
            lines[header]
        );
    }
    // One Monte Carlo run: no interval, no "± 0".
    let (o, _) = run_in(
        &tmp.0,
        &["spof_study.toml", "--runs", "1", "--output", "none"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(!out(&o).contains('±'), "{}", out(&o));
    assert!(out(&o).contains("one run: no interval"), "{}", out(&o));
    // Many runs: signed improvements, never "+-".
    let (o, _) = run_in(
        &tmp.0,
        &["spof_study.toml", "--runs", "200", "--output", "none"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(out(&o).contains('±'));
    assert!(
        !out(&o).contains("+-") && !out(&o).contains("-0.00000%"),
        "{}",
        out(&o)
    );
}

#[test]
fn a_run_without_requests_claims_no_availability() {
    let tmp = Tmp::new("empty");
    tmp.scenario("mm1.toml");
    let (o, _) = run_in(
        &tmp.0,
        &with(
            QUICK,
            &["--set", "workload.rate=0.001", "--json", "--output", "none"],
        ),
    );
    assert!(o.status.success(), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["requests"]["arrived"], 0);
    assert!(v["availability"].is_null(), "{}", v["availability"]);
    let (o, _) = run_in(
        &tmp.0,
        &with(QUICK, &["--set", "workload.rate=0.001", "--output", "none"]),
    );
    let s = out(&o);
    assert!(s.contains("availability n/a"), "{s}");
    assert!(
        !s.contains("All 0 requests") && !s.contains("100.000%"),
        "{s}"
    );
}

// ---- found by the kill test: a journal killed before its record ---------------------------------------

#[test]
fn a_journal_killed_before_its_record_resumes_as_a_fresh_start() {
    let tmp = Tmp::new("bare-journal");
    tmp.scenario("mm1.toml");
    // What a kill between creating the journal folder and writing its study.json leaves.
    fs::create_dir_all(tmp.join("r.partial")).unwrap();
    fs::write(tmp.join("r.partial/.infrasim"), "infrasim journal\n").unwrap();
    fs::write(tmp.join("r.partial/.study.json.tmp-4513"), "{\"tool\"").unwrap();
    let (o, _) = run_in(
        &tmp.0,
        &with(
            QUICK,
            &["--replications", "2", "--out", "r", "--resume", "-q"],
        ),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(tmp.join("r/runs.csv").is_file());
    assert!(!tmp.join("r.partial").exists());
}
