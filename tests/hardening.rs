//! The `simulate` binary under stress: interrupted and resumed studies, output folders that are
//! replaced whole and never half-written, absurd sizes refused up front, and `replay`.
//!
//! Every test runs the real binary (`CARGO_BIN_EXE_simulate`) from the crate's root, writing
//! into its own temporary folder.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "common/files.rs"]
mod files;
use files::names;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A fresh temporary folder, removed when dropped.
struct Tmp(PathBuf);

impl Tmp {
    fn new(tag: &str) -> Tmp {
        let dir =
            std::env::temp_dir().join(format!("infrasim-hardening-{}-{tag}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        Tmp(dir)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Tmp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn simulate(args: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(ROOT).args(args);
    c
}

fn run(args: &[&str]) -> Output {
    simulate(args).output().expect("the simulate binary runs")
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Waits for `child` at most `limit`; kills it (and fails) if it is still running then.
fn wait_at_most(child: &mut Child, limit: Duration, what: &str) -> (ExitStatus, String) {
    let t0 = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            return (status, err);
        }
        if t0.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: still running after {limit:?} (killed)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn lines(p: &Path) -> usize {
    fs::read(p)
        .map(|b| b.iter().filter(|&&c| c == b'\n').count())
        .unwrap_or(0)
}

/// No staging or temporary sibling (`.x.tmp-<pid>`, `.x.new-<pid>`, `.x.old-<pid>`) anywhere
/// under `dir`.
fn assert_no_leftovers(dir: &Path) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            !(name.contains(".tmp-") || name.contains(".new-") || name.contains(".old-")),
            "leftover from an atomic write: {}",
            e.path().display()
        );
        if e.file_type().unwrap().is_dir() {
            assert_no_leftovers(&e.path());
        }
    }
}

// ---- Ctrl-C and --resume ------------------------------------------------------------------------

#[test]
fn an_interrupted_study_resumes_to_exactly_the_uninterrupted_result() {
    let tmp = Tmp::new("resume");
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    let partial = tmp.join("a.partial");
    let journal = partial.join("runs.jsonl");
    let scenario = "scenarios/compare_algorithms.toml";
    let args = |out: &Path| -> Vec<String> {
        [scenario, "--threads", "1", "-q", "--out", s(out)]
            .iter()
            .map(|x| x.to_string())
            .collect()
    };

    // Start the study and interrupt it once at least 20 runs are journaled.
    let mut child = Command::new(BIN)
        .current_dir(ROOT)
        .args(args(&a))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    while lines(&journal) < 20 {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the study ended ({status}) before 20 runs were journaled: too fast to interrupt"
            );
        }
        assert!(
            t0.elapsed() < Duration::from_secs(300),
            "no progress in the journal"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -INT failed");
    let (status, err) = wait_at_most(&mut child, Duration::from_secs(120), "interrupted study");
    assert_eq!(
        status.code(),
        Some(130),
        "exit code after Ctrl-C; stderr:\n{err}"
    );
    assert!(
        err.contains("--resume"),
        "the message says how to continue:\n{err}"
    );
    assert!(
        partial.join("study.json").is_file(),
        "the journal's study record is kept"
    );
    let kept = lines(&journal);
    assert!(kept >= 20, "the journaled runs are kept ({kept})");
    assert!(
        kept < 300,
        "the study was really interrupted ({kept} of 300 runs)"
    );
    assert!(!a.exists(), "no output is written for an interrupted study");
    // Exit 130 runs no destructors: the folder's lock used to stay beside it.
    assert!(
        !tmp.join(".a.lock").exists(),
        "an interrupted study leaves no lock file beside its folder"
    );

    // Resume it, then run it again uninterrupted elsewhere: the outputs must be identical.
    let mut resume = args(&a);
    resume.push("--resume".into());
    let o = simulate(&[]).args(&resume).output().unwrap();
    assert!(o.status.success(), "resume: {}", text(&o));
    assert!(
        !partial.exists(),
        "the journal is removed once the study is complete"
    );
    let o = simulate(&[]).args(args(&b)).output().unwrap();
    assert!(o.status.success(), "uninterrupted run: {}", text(&o));
    for f in ["runs.csv", "sweep.csv", "comparisons.csv", "study.json"] {
        let (x, y) = (fs::read(a.join(f)).unwrap(), fs::read(b.join(f)).unwrap());
        assert!(
            x == y,
            "{f} differs between the resumed and the uninterrupted study"
        );
    }
    assert_eq!(names(&a), names(&b));
    assert_no_leftovers(&tmp.0);
    assert_eq!(names(&tmp.0), ["a", "b"]);
}

#[test]
fn resume_without_a_journal_is_a_clear_error() {
    let tmp = Tmp::new("resume-none");
    let out = tmp.join("x");
    let o = run(&[
        "scenarios/compare_algorithms.toml",
        "--replications",
        "1",
        "-q",
        "--resume",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("nothing to resume"),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
}

/// A journal whose `runs.jsonl` is not a file (a FIFO: reading or appending would block) is
/// refused at once, naming the file, rather than read, waited on or silently started afresh.
#[test]
fn a_journal_that_is_not_a_file_is_a_clear_error() {
    use infrasim::report::atomic::{Kind, create_marked};
    let tmp = Tmp::new("resume-fifo");
    let args = |out: &Path, resume: bool| {
        let mut a = vec![
            "scenarios/spof_study.toml".to_string(),
            "--runs".into(),
            "10".into(),
            "--set".into(),
            "montecarlo.horizon=1d".into(),
            "--set".into(),
            "montecarlo.overload=none".into(),
            "-q".into(),
            "--out".into(),
            s(out).into(),
        ];
        if resume {
            a.push("--resume".into());
        }
        a
    };
    let clean = tmp.join("clean");
    let o = simulate(&[]).args(args(&clean, false)).output().unwrap();
    assert!(o.status.success(), "{}", text(&o));
    let out = tmp.join("x");
    let partial = tmp.join("x.partial");
    create_marked(&partial, Kind::Journal).unwrap();
    fs::copy(clean.join("study.json"), partial.join("study.json")).unwrap();
    let fifo = partial.join("runs.jsonl");
    let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success());
    let mut child = simulate(&[])
        .args(args(&out, true))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = wait_at_most(&mut child, Duration::from_secs(60), "resume from a FIFO");
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(
        err.contains("runs.jsonl") && err.contains("--resume"),
        "{err}"
    );
    assert!(!out.exists());
}

// ---- output folders -------------------------------------------------------------------------------

/// A short single run of mm1.toml into `out`.
fn quick_run(out: &Path) -> Output {
    run(&[
        "scenarios/mm1.toml",
        "--set",
        "duration=5s",
        "--set",
        "warmup=1s",
        "--out",
        s(out),
    ])
}

#[test]
fn a_new_run_replaces_the_output_folder_as_a_whole() {
    let tmp = Tmp::new("replace");
    let out = tmp.join("run");
    let o = quick_run(&out);
    assert!(o.status.success(), "{}", text(&o));
    // A folder simulate wrote (it holds the marker), its files from an older run: one the next
    // run does not write (`timeline.csv`: the next writes the data only), one edited since
    // (editing or deleting the tool's own files keeps it the tool's; adding files does not,
    // tests/output_folders.rs).
    assert!(out.join("timeline.csv").exists(), "{:?}", names(&out));
    fs::write(out.join("summary.json"), "{ \"old\": true }").unwrap();
    let mut args = vec![
        "scenarios/mm1.toml",
        "--set",
        "duration=5s",
        "--set",
        "warmup=1s",
    ];
    args.extend(["--output", "summary", "--out", s(&out)]);
    let o = run(&args);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        !out.join("timeline.csv").exists(),
        "a file of the previous results survived: {:?}",
        names(&out)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(summary.get("old").is_none() && summary.get("requests").is_some());
    assert_no_leftovers(&tmp.0);
    assert_eq!(
        names(&tmp.0),
        ["run"],
        "nothing but the output folder is left"
    );
}

#[test]
fn results_are_never_half_written() {
    let tmp = Tmp::new("complete");
    let out = tmp.join("run");
    for _ in 0..2 {
        let o = quick_run(&out);
        assert!(o.status.success(), "{}", text(&o));
    }
    assert_no_leftovers(&tmp.0);
    assert_eq!(names(&tmp.0), ["run"]);
    // Every file is complete: the JSON parses, every CSV has a header and ends its last line.
    for name in names(&out) {
        let p = out.join(&name);
        let bytes = fs::read(&p).unwrap();
        if name.ends_with(".json") {
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .unwrap_or_else(|e| panic!("{name} is not complete JSON: {e}"));
        } else if name.ends_with(".csv") {
            assert!(
                bytes.ends_with(b"\n") && bytes.contains(&b','),
                "{name} is not a complete CSV"
            );
            let mut rows = csv::Reader::from_reader(bytes.as_slice());
            let width = rows.headers().unwrap().len();
            for r in rows.records() {
                assert_eq!(r.unwrap().len(), width, "{name}: a short row");
            }
        }
    }
    for f in ["summary.json", "timeline.csv", "events.csv", "servers.csv"] {
        assert!(out.join(f).is_file(), "{f} is missing: {:?}", names(&out));
    }

    // A run that fails (a bad override) leaves the previous results untouched.
    let before: Vec<(String, Vec<u8>)> = names(&out)
        .into_iter()
        .map(|n| (n.clone(), fs::read(out.join(&n)).unwrap()))
        .collect();
    let o = run(&[
        "scenarios/mm1.toml",
        "--set",
        "workload.rate=-1",
        "--out",
        s(&out),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let after: Vec<(String, Vec<u8>)> = names(&out)
        .into_iter()
        .map(|n| (n.clone(), fs::read(out.join(&n)).unwrap()))
        .collect();
    assert!(before == after, "a failed run changed the previous results");
    assert_no_leftovers(&tmp.0);
}

// ---- absurd sizes -----------------------------------------------------------------------------------

/// Runs `simulate` with `args`, expecting a refusal (exit 2) within a few seconds, with a
/// message containing each of `words`; nothing may be written to the output folder.
fn refused(tag: &str, args: &[&str], words: &[&str]) {
    let tmp = Tmp::new(tag);
    let out = tmp.join("out");
    let mut child = simulate(args)
        .args(["-q", "--out", s(&out)])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, err) = wait_at_most(
        &mut child,
        Duration::from_secs(20),
        &format!(
            "simulate {}: should have been refused at once",
            args.join(" ")
        ),
    );
    assert_eq!(status.code(), Some(2), "simulate {}: {err}", args.join(" "));
    assert!(err.starts_with("error: "), "an error message: {err}");
    for w in words {
        assert!(err.contains(w), "the message should mention `{w}`: {err}");
    }
    assert!(!out.exists(), "nothing is written for a refused run");
    assert!(
        !tmp.join("out.partial").exists(),
        "no journal for a refused run"
    );
}

#[test]
fn too_many_servers_is_refused() {
    refused(
        "servers",
        &[
            "scenarios/distributed.toml",
            "--set",
            "servers.count=100000",
        ],
        &["servers.count", "10000"],
    );
    refused(
        "servers-file",
        &["scenarios/distributed.toml", "--set", "servers=100000"],
        &["servers", "10000"],
    );
}

#[test]
fn too_many_requests_is_refused() {
    refused(
        "rate",
        &["scenarios/distributed.toml", "--set", "workload.rate=1e12"],
        &["requests", "1e10"],
    );
    refused(
        "duration",
        &["scenarios/mm1.toml", "--set", "duration=500y"],
        &["requests"],
    );
    refused(
        "timeline",
        &[
            "scenarios/mm1.toml",
            "--set",
            "duration=30d",
            "--set",
            "workload.rate=1",
            "--set",
            "timeline.interval=1ms",
        ],
        &["timeline"],
    );
}

#[test]
fn too_many_replications_is_refused() {
    refused(
        "replications",
        &[
            "scenarios/compare_algorithms.toml",
            "--replications",
            "2000000",
        ],
        &["replications"],
    );
    refused(
        "mc-runs",
        &["scenarios/spof_study.toml", "--runs", "5000000"],
        &["runs"],
    );
}

#[test]
fn nested_list_copies_are_refused() {
    // Each `count` copies the list below it 1024 times: 1024^4 tables if nothing stopped it.
    let tmp = Tmp::new("nested-file");
    let scenario = tmp.join("nested.toml");
    fs::write(
        &scenario,
        "duration = \"10s\"\nx = [{a = [{b = [{c = [{}]}]}]}]\n[workload]\nrate = 10\n",
    )
    .unwrap();
    refused(
        "nested",
        &[
            s(&scenario),
            "--set",
            "x[0].a[0].b[0].c.count=1024",
            "--set",
            "x[0].a[0].b.count=1024",
            "--set",
            "x[0].a.count=1024",
            "--set",
            "x.count=1024",
        ],
        &["x.count", "300000 values"],
    );
}

// ---- replay ------------------------------------------------------------------------------------------

#[test]
fn replay_reproduces_a_run_and_reports_a_changed_scenario() {
    let tmp = Tmp::new("replay");
    let scenario = tmp.join("scenario.toml");
    fs::copy(
        Path::new(ROOT).join("scenarios/server_down.toml"),
        &scenario,
    )
    .unwrap();
    let run_dir = tmp.join("run");
    let o = run(&[
        s(&scenario),
        "--set",
        "workload.rate=150",
        "--seed",
        "7",
        "--out",
        s(&run_dir),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let summary = run_dir.join("summary.json");

    let o = run(&["replay", s(&summary), "--out", s(&tmp.join("replay"))]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("identical"),
        "{}",
        text(&o)
    );
    assert_eq!(
        fs::read(&summary).unwrap(),
        fs::read(tmp.join("replay").join("summary.json")).unwrap()
    );

    // Edit the scenario: replay must say so and exit 1.
    let mut t = fs::read_to_string(&scenario).unwrap();
    t.push_str("\n# edited after the run\n");
    fs::write(&scenario, t).unwrap();
    let o = run(&["replay", s(&summary), "--out", s(&tmp.join("replay2"))]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("changed"),
        "{}",
        text(&o)
    );

    // A file that is not a summary is an input error.
    let o = run(&["replay", s(&scenario)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_no_leftovers(&tmp.0);
}

/// A Monte Carlo study resumed from a journal with gaps (its first run, every third run, the
/// last runs missing, and a line cut by a kill) writes exactly the files of the uninterrupted
/// study, unsharded and as a shard: the runs still to do are drawn around the journaled ones,
/// and the two streams are merged back in run order (issue 13). The journal is written from
/// the uninterrupted study's rows (`runs.csv` holds each figure's shortest exact decimal), so
/// which runs it holds does not depend on when a kill lands.
#[test]
fn a_montecarlo_study_resumed_from_a_journal_with_gaps_equals_the_uninterrupted_one() {
    use infrasim::report::atomic::{Kind, create_marked};
    use infrasim::report::study::decode_mc_runs;
    let tmp = Tmp::new("mc-resume");
    let study = |out: &Path, shard: Option<&str>, resume: bool| -> Output {
        let mut a: Vec<String> = [
            "scenarios/spof_study.toml",
            "--runs",
            "90",
            "--set",
            "montecarlo.horizon=30d",
            "--threads",
            "2",
            "--output",
            "summary",
            "-q",
            "--out",
            s(out),
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        if let Some(k) = shard {
            a.extend(["--shard".to_string(), k.to_string()]);
        }
        if resume {
            a.push("--resume".into());
        }
        run(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    for (tag, shard) in [("whole", None), ("shard", Some("2/3"))] {
        let clean = tmp.join(&format!("{tag}-clean"));
        let o = study(&clean, shard, false);
        assert!(o.status.success(), "{tag}: {}", text(&o));

        // The journal of an interrupted run of the same study.
        let out = tmp.join(&format!("{tag}-resumed"));
        let partial = tmp.join(&format!("{tag}-resumed.partial"));
        create_marked(&partial, Kind::Journal).unwrap();
        let record = fs::read(clean.join("study.json")).unwrap();
        fs::write(partial.join("study.json"), &record).unwrap();
        let record: serde_json::Value = serde_json::from_slice(&record).unwrap();
        let components = record["components"].as_array().unwrap().len();
        let runs = decode_mc_runs(&fs::read(clean.join("runs.csv")).unwrap(), components).unwrap();
        assert_eq!(runs.len(), if shard.is_some() { 30 } else { 90 }, "{tag}");
        let mut journal = vec![];
        let mut kept = 0;
        for (i, r) in runs.iter().enumerate() {
            if i % 3 == 0 || i + 4 >= runs.len() {
                continue;
            }
            // Finished out of order, as threads finish them.
            let line = serde_json::to_vec(r).unwrap();
            if i % 3 == 2 {
                journal.splice(0..0, line.into_iter().chain([b'\n']));
            } else {
                journal.extend(line);
                journal.push(b'\n');
            }
            kept += 1;
        }
        let cut = serde_json::to_vec(&runs[runs.len() - 1]).unwrap();
        journal.extend(&cut[..cut.len() / 2]);
        fs::write(partial.join("runs.jsonl"), &journal).unwrap();
        assert!(kept > runs.len() / 2, "{tag}: the journal holds most runs");

        let o = study(&out, shard, true);
        assert!(o.status.success(), "{tag}: resume: {}", text(&o));
        assert!(!partial.exists(), "{tag}: the journal is removed");
        assert_eq!(names(&out), names(&clean), "{tag}");
        for f in names(&clean) {
            assert!(
                fs::read(out.join(&f)).unwrap() == fs::read(clean.join(&f)).unwrap(),
                "{tag}: {f} differs between the resumed and the uninterrupted study"
            );
        }
    }
    assert_no_leftovers(&tmp.0);
}
