//! `simulate merge` and `--resume` check every figure they read back: a shard's `runs.csv` (or a
//! journal line) holding a value no study produces (an availability of 2, a negative or NaN
//! downtime, a fractional count) exits 2 naming the file, the line in that file and the column,
//! and writes nothing; valid shards still merge into exactly the unsharded study.
//!
//! Every test runs the real binary (`CARGO_BIN_EXE_simulate`) from the crate's root, on shards
//! of `scenarios/spof_study.toml` it makes itself.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "common/files.rs"]
mod files;
use files::names;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A fresh temporary folder, removed when dropped.
struct Tmp(PathBuf);

impl Tmp {
    fn new(tag: &str) -> Tmp {
        let dir = std::env::temp_dir().join(format!(
            "infrasim-merge-validation-{}-{tag}",
            std::process::id()
        ));
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

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(ROOT)
        .args(args)
        .output()
        .expect("the simulate binary runs")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The study, small: 40 runs of 30 days.
const STUDY: [&str; 7] = [
    "scenarios/spof_study.toml",
    "--runs",
    "40",
    "--set",
    "montecarlo.horizon=30d",
    "-q",
    "--out",
];

/// Runs the study into `out` (as shard `shard` if given).
fn study(out: &Path, shard: Option<&str>, more: &[&str]) -> Output {
    let mut a: Vec<&str> = STUDY.to_vec();
    a.push(s(out));
    if let Some(k) = shard {
        a.extend(["--shard", k]);
    }
    a.extend(more);
    run(&a)
}

/// Shards 1/2 and 2/2 of the study in `tmp`.
fn shards(tmp: &Tmp) -> (PathBuf, PathBuf) {
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    for (dir, k) in [(&a, "1/2"), (&b, "2/2")] {
        let o = study(dir, Some(k), &[]);
        assert!(o.status.success(), "shard {k}: {}", text(&o));
    }
    (a, b)
}

/// `csv` with the field of `column` on line `line` (from 1, the header's line) set to `value`.
fn with_field(csv: &str, line: usize, column: &str, value: &str) -> String {
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    let j = lines[0]
        .split(',')
        .position(|c| c == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let mut fields: Vec<&str> = lines[line - 1].split(',').collect();
    fields[j] = value;
    lines[line - 1] = fields.join(",");
    lines.join("\n") + "\n"
}

#[test]
fn a_shard_with_an_impossible_figure_is_refused_naming_file_line_and_column() {
    let tmp = Tmp::new("bad");
    let (a, b) = shards(&tmp);
    let clean = fs::read_to_string(b.join("runs.csv")).unwrap();
    let cases: &[(&str, usize, &str, &str)] = &[
        // (column, line, value, what the message says of it)
        ("availability", 6, "2.0", "fraction from 0 to 1"),
        ("availability", 3, "-0.5", "fraction from 0 to 1"),
        ("slo_availability", 4, "1.5", "fraction from 0 to 1"),
        ("time_availability", 5, "inf", "fraction from 0 to 1"),
        ("downtime_s", 6, "-1e308", "seconds from 0"),
        ("downtime_s", 6, "NaN", "seconds from 0"),
        ("downtime_s", 7, "", "not a number"),
        ("downtime_s", 2, "abc", "not a number"),
        // Longer than the 30-day horizon.
        ("overload_s", 8, "2592001", "seconds from 0"),
        ("failed_requests", 6, "-3", "0 or more"),
        ("failed_requests", 9, "1e400", "0 or more"),
        ("failures", 6, "1.5", "whole number"),
        ("failures", 6, "-1", "whole number"),
        ("rep", 10, "2.5", "whole number"),
        ("outages", 6, "1 2 -4", "seconds from 0"),
        ("outages", 11, "1 NaN", "seconds from 0"),
        ("blame_s.db.link", 9, "1e9", "seconds from 0"),
        (
            "availability_if_perfect.lb-1",
            7,
            "-0.5",
            "fraction from 0 to 1",
        ),
        (
            "slo_availability_if_perfect.web-01",
            12,
            "3",
            "fraction from 0 to 1",
        ),
    ];
    for (i, &(column, line, value, why)) in cases.iter().enumerate() {
        let bad = tmp.join(&format!("bad{i}"));
        fs::create_dir_all(&bad).unwrap();
        fs::copy(b.join("study.json"), bad.join("study.json")).unwrap();
        fs::write(
            bad.join("runs.csv"),
            with_field(&clean, line, column, value),
        )
        .unwrap();
        let out = tmp.join(&format!("merged{i}"));
        let o = run(&["merge", s(&a), s(&bad), "--out", s(&out), "-q"]);
        let case = format!("{column}={value:?} on line {line}");
        assert_eq!(o.status.code(), Some(2), "{case}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let at = format!("{}/runs.csv line {line}: {column}: ", bad.display());
        assert!(err.contains(&at), "{case}: expected {at:?} in: {err}");
        assert!(err.contains(why), "{case}: expected {why:?} in: {err}");
        assert!(!out.exists(), "{case}: a refused merge writes nothing");
        fs::remove_dir_all(&bad).unwrap();
    }
}

#[test]
fn a_shard_with_a_wrong_header_or_horizon_is_refused() {
    let tmp = Tmp::new("header");
    let (_, b) = shards(&tmp);
    let clean = fs::read_to_string(b.join("runs.csv")).unwrap();
    let record = fs::read_to_string(b.join("study.json")).unwrap();
    // Two columns swapped: the figures would be read as each other.
    let swapped = clean.replacen("downtime_s,overload_s", "overload_s,downtime_s", 1);
    let horizon = |h: &str| {
        let v: serde_json::Value = serde_json::from_str(&record).unwrap();
        let was = v["horizon_s"].to_string();
        record.replacen(
            &format!("\"horizon_s\": {was}"),
            &format!("\"horizon_s\": {h}"),
            1,
        )
    };
    let cases = [
        (
            record.clone(),
            swapped,
            "runs.csv line 1: column 5",
            "a swapped header",
        ),
        (
            horizon("-5.0"),
            clean.clone(),
            "study.json: horizon_s",
            "a negative horizon",
        ),
        (
            horizon("null"),
            clean.clone(),
            "study.json: horizon_s",
            "no horizon",
        ),
    ];
    for (i, (json, csv, expected, case)) in cases.into_iter().enumerate() {
        let bad = tmp.join(&format!("bad{i}"));
        fs::create_dir_all(&bad).unwrap();
        assert!(
            json != record || csv != clean,
            "{case}: the file is changed"
        );
        fs::write(bad.join("study.json"), json).unwrap();
        fs::write(bad.join("runs.csv"), csv).unwrap();
        let out = tmp.join(&format!("merged{i}"));
        // Alone: with the other shard, a changed study.json is another study's.
        let o = run(&["merge", s(&bad), "--out", s(&out), "-q"]);
        assert_eq!(o.status.code(), Some(2), "{case}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(expected),
            "{case}: expected {expected:?} in: {err}"
        );
        assert!(!out.exists(), "{case}: a refused merge writes nothing");
    }
}

/// A sweep shard's `runs.csv` holding a figure no run writes (NaN, infinite, out of f64's
/// range: a run writes an undefined figure as an empty field) or a metric's column twice is
/// refused naming the file, the line and the column, and nothing is written.
#[test]
fn a_sweep_shard_with_a_non_finite_figure_or_a_repeated_column_is_refused() {
    let tmp = Tmp::new("sweep");
    let sweep = |out: &Path, shard: &str| {
        run(&[
            "scenarios/mm1.toml",
            "--set",
            "duration=20s",
            "--set",
            "warmup=0s",
            "--sweep",
            "lb.algorithm=roundrobin,leastconn",
            "--replications",
            "2",
            "--shard",
            shard,
            "-q",
            "--out",
            s(out),
        ])
    };
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    for (dir, k) in [(&a, "1/2"), (&b, "2/2")] {
        let o = sweep(dir, k);
        assert!(o.status.success(), "shard {k}: {}", text(&o));
    }
    let clean = fs::read_to_string(b.join("runs.csv")).unwrap();
    let header = clean.lines().next().unwrap().to_string();
    let mut cases: Vec<(String, String)> = ["NaN", "inf", "-inf", "1e999"]
        .iter()
        .map(|v| {
            (
                with_field(&clean, 2, "latency.mean", v),
                format!("runs.csv line 2: latency.mean: '{v}' is not a finite number"),
            )
        })
        .collect();
    // latency.p99's column named latency.p90 (a whole field, not a part of one).
    let twice = header
        .split(',')
        .map(|c| if c == "latency.p99" { "latency.p90" } else { c })
        .collect::<Vec<_>>()
        .join(",");
    assert_ne!(twice, header, "the header names latency.p99");
    cases.push((
        clean.replacen(&header, &twice, 1),
        "runs.csv line 1: column".to_string(),
    ));
    // The unchanged shard merges: the refusals are the figures', not the folder's.
    let good = tmp.join("good");
    let o = run(&["merge", s(&a), s(&b), "--out", s(&good), "-q"]);
    assert!(o.status.success(), "unchanged shards: {}", text(&o));
    for (i, (csv, expected)) in cases.into_iter().enumerate() {
        let bad = tmp.join(&format!("bad{i}"));
        fs::create_dir_all(&bad).unwrap();
        fs::copy(b.join("study.json"), bad.join("study.json")).unwrap();
        fs::write(bad.join("runs.csv"), csv).unwrap();
        let out = tmp.join(&format!("merged{i}"));
        let o = run(&["merge", s(&a), s(&bad), "--out", s(&out), "-q"]);
        assert_eq!(o.status.code(), Some(2), "case {i}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let at = format!("{}/{expected}", bad.display());
        assert!(err.contains(&at), "case {i}: expected {at:?} in: {err}");
        assert!(!out.exists(), "case {i}: a refused merge writes nothing");
    }
}

/// A shard given twice (its folder copied aside, `shards/*` catching the copy) used to merge
/// silently, the first copy's rows kept; shards written by two versions of simulate were
/// refused as "scenario, overrides, seed or plan differ", none of which did. Now the first is
/// refused naming both folders and the shard, the second naming the field that differs.
#[test]
fn a_shard_given_twice_or_from_another_version_is_refused_saying_so() {
    let tmp = Tmp::new("twice");
    let (a, b) = shards(&tmp);
    let copy = |to: &str, edit: &dyn Fn(String) -> String| {
        let dir = tmp.join(to);
        fs::create_dir_all(&dir).unwrap();
        let json = fs::read_to_string(b.join("study.json")).unwrap();
        fs::write(dir.join("study.json"), edit(json)).unwrap();
        fs::copy(b.join("runs.csv"), dir.join("runs.csv")).unwrap();
        dir
    };
    let again = copy("b-copy", &|j| j);
    let out = tmp.join("merged");
    let o = run(&["merge", s(&a), s(&b), s(&again), "--out", s(&out), "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("both shard 2/2"), "{err}");
    assert!(err.contains(s(&b)) && err.contains(s(&again)), "{err}");
    assert!(!out.exists(), "a refused merge writes nothing");

    let older = copy("b-older", &|j| {
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        let tool = v["tool"].to_string();
        j.replacen(&tool, "\"infrasim 0.0.1\"", 1)
    });
    let o = run(&["merge", s(&a), s(&older), "--out", s(&out), "-q"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("tool = \"infrasim 0.0.1\""), "{err}");
    assert!(err.contains("two versions of simulate"), "{err}");
    assert!(!out.exists(), "a refused merge writes nothing");

    // The two shards, once each, still merge.
    let o = run(&["merge", s(&a), s(&b), "--out", s(&out), "-q"]);
    assert!(o.status.success(), "{}", text(&o));
}

/// Valid shards merge, in either order, into exactly the files of the unsharded study: the
/// checks change no output.
#[test]
fn valid_shards_still_merge_into_the_unsharded_study() {
    let tmp = Tmp::new("valid");
    let (a, b) = shards(&tmp);
    let whole = tmp.join("whole");
    let o = study(&whole, None, &[]);
    assert!(o.status.success(), "unsharded: {}", text(&o));
    for (tag, first, second) in [("ab", &a, &b), ("ba", &b, &a)] {
        let out = tmp.join(&format!("merged-{tag}"));
        let o = run(&["merge", s(first), s(second), "--out", s(&out), "-q"]);
        assert!(o.status.success(), "{tag}: {}", text(&o));
        assert_eq!(names(&out), names(&whole), "{tag}");
        for f in names(&whole) {
            assert!(
                fs::read(out.join(&f)).unwrap() == fs::read(whole.join(&f)).unwrap(),
                "{tag}: {f} differs between the merge and the unsharded study"
            );
        }
    }
}

/// A journal line holding an impossible figure stops `--resume` with an error naming the
/// journal, the line and the column (not a silently absurd result).
#[test]
fn a_journal_line_with_an_impossible_figure_stops_resume() {
    use infrasim::report::atomic::{Kind, create_marked};
    use infrasim::report::study::decode_mc_runs;
    let tmp = Tmp::new("journal");
    let clean = tmp.join("clean");
    let o = study(&clean, None, &["--output", "summary"]);
    assert!(o.status.success(), "{}", text(&o));
    let record = fs::read(clean.join("study.json")).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&record).unwrap();
    let components = value["components"].as_array().unwrap().len();
    let runs = decode_mc_runs(&fs::read(clean.join("runs.csv")).unwrap(), components).unwrap();
    let cases: &[(&str, serde_json::Value, &str)] = &[
        (
            "availability",
            2.0.into(),
            "availability: 2.0 is not a fraction",
        ),
        (
            "downtime_s",
            (-1e308).into(),
            "downtime_s: -1e308 is not seconds",
        ),
        (
            "blame_s",
            serde_json::json!([1.0]),
            &format!(
                "blame_s.{}: missing or extra",
                value["components"][1].as_str().unwrap()
            ),
        ),
    ];
    for (i, (key, bad, expected)) in cases.iter().enumerate() {
        let out = tmp.join(&format!("resumed{i}"));
        let partial = tmp.join(&format!("resumed{i}.partial"));
        create_marked(&partial, Kind::Journal).unwrap();
        fs::write(partial.join("study.json"), &record).unwrap();
        let mut journal = vec![];
        for (n, r) in runs.iter().take(5).enumerate() {
            let mut v = serde_json::to_value(r).unwrap();
            if n == 3 {
                v[*key] = bad.clone();
            }
            journal.extend(serde_json::to_vec(&v).unwrap());
            journal.push(b'\n');
        }
        fs::write(partial.join("runs.jsonl"), &journal).unwrap();
        let o = study(&out, None, &["--output", "summary", "--resume"]);
        assert_eq!(o.status.code(), Some(2), "{key}: {}", text(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        let at = format!(
            "{} line 4: {expected}",
            partial.join("runs.jsonl").display()
        );
        assert!(err.contains(&at), "{key}: expected {at:?} in: {err}");
        assert!(!out.exists(), "{key}: nothing is written");
    }
}

/// `merge A B --out A` (or through a link to A) is refused: it would replace shard A, a folder
/// simulate wrote, with the study merged from it. The shard is left as it was.
#[test]
fn a_merge_into_one_of_its_shards_is_refused() {
    let tmp = Tmp::new("into-shard");
    let (a, b) = shards(&tmp);
    let files_of = |d: &Path| -> Vec<(String, Vec<u8>)> {
        names(d)
            .into_iter()
            .map(|f| {
                let bytes = fs::read(d.join(&f)).unwrap();
                (f, bytes)
            })
            .collect()
    };
    let before = files_of(&a);
    let link = tmp.join("link-to-a");
    std::os::unix::fs::symlink(&a, &link).unwrap();
    for out in [&a, &link] {
        let o = run(&["merge", s(&a), s(&b), "--out", s(out), "-q"]);
        assert_eq!(
            o.status.code(),
            Some(2),
            "--out {}: {}",
            out.display(),
            text(&o)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains(&format!("is the shard {} being merged", a.display())),
            "{err}"
        );
        assert!(
            files_of(&a) == before,
            "--out {}: the shard changed",
            out.display()
        );
    }
    // Another folder still takes the merge.
    let o = run(&["merge", s(&a), s(&b), "--out", s(&tmp.join("m")), "-q"]);
    assert!(o.status.success(), "{}", text(&o));
}
