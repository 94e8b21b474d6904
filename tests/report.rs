//! The charts and the HTML report, end to end through the binary: every output folder gets
//! its charts (valid SVG with the series they should have) and an index.html whose links all
//! resolve; the compare_algorithms report is produced in under 30 s of CPU.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "common/cpu.rs"]
mod cpu;

/// The compare_algorithms report's bound, in seconds of CPU (all threads): it takes 3.6 s of
/// CPU. It was 30 s of wall time, which a busy CI machine can reach without the report growing.
const CPU_BOUND: f64 = 30.0;

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("infrasim-report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn simulate(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .arg("--quiet")
        .output()
        .expect("simulate runs");
    assert!(
        out.status.success(),
        "simulate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every `src="..."` and `href="..."` of index.html names a file of the folder.
fn check_links(dir: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(dir.join("index.html")).expect("index.html written");
    let mut targets = vec![];
    for attr in ["src=\"", "href=\""] {
        for part in html.split(attr).skip(1) {
            let t = part.split('"').next().unwrap_or("");
            if t.starts_with('#') || t.is_empty() {
                continue;
            }
            assert!(!t.contains("://"), "external link {t}");
            assert!(dir.join(t).is_file(), "index.html links to missing {t}");
            targets.push(t.to_string());
        }
    }
    assert!(!targets.is_empty(), "index.html links to nothing");
    targets
}

fn svg(dir: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(dir.join(name)).unwrap_or_else(|_| panic!("{name}"));
    roxmltree::Document::parse(&text).unwrap_or_else(|e| panic!("{name} is not valid XML: {e}"));
    assert!(text.contains("<svg"), "{name} is not SVG");
    text
}

#[test]
fn compare_algorithms_report_has_one_series_per_algorithm_and_is_fast() {
    let dir = tmp("compare");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_simulate"));
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).args([
        "scenarios/compare_algorithms.toml",
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    // The runaway guard is generous; the bound is on the CPU time, the work done, which on
    // a busy machine the wall time is not (common/cpu.rs).
    let t = cpu::run(&mut cmd, Duration::from_secs(600));
    assert!(
        t.output.status.success(),
        "{}",
        String::from_utf8_lossy(&t.output.stderr)
    );
    let (cpu, wall) = (t.cpu.as_secs_f64(), t.wall.as_secs_f64());
    eprintln!("compare_algorithms report in {wall:.2} s ({cpu:.2} s of CPU)");
    assert!(cpu < CPU_BOUND, "took {cpu:.1} s of CPU ({wall:.1} s)");
    let links = check_links(&dir);
    for chart in [
        "algorithms_latency_servers-3-speed-1.0.svg",
        "algorithms_latency_cdf.svg",
        "algorithms_errors.svg",
    ] {
        assert!(links.iter().any(|l| l == chart), "index.html lacks {chart}");
        let text = svg(&dir, chart);
        for algo in [
            "roundrobin",
            "leastconn",
            "random(1)",
            "random(2)",
            "source",
        ] {
            assert!(text.contains(algo), "{chart} has no series for {algo}");
        }
        let png = std::fs::read(dir.join(chart.replace(".svg", ".png"))).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
    let balance = svg(&dir, "algorithms_balance_servers-3-speed-0.3.svg");
    for s in ["web-01", "web-02", "web-03", "web-04"] {
        assert!(balance.contains(s), "balance chart lacks {s}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn failure_run_report_has_timeline_marks_and_a_lag_series_per_replica() {
    let dir = tmp("primary");
    simulate(&[
        "scenarios/primary_down.toml",
        "--out",
        dir.to_str().unwrap(),
    ]);
    check_links(&dir);
    let timeline = svg(&dir, "failure_timeline.svg");
    for text in ["db-replica-1", "promoted", "detected", "no_primary_500"] {
        assert!(timeline.contains(text), "timeline lacks {text}");
    }
    let lag = svg(&dir, "replication_lag.svg");
    assert!(lag.contains("db-replica-1"));
    // The answer's count is of the finished requests, as its share and the story's line are
    // (the run ends with 7 requests in flight: counted against arrivals it read 950 of 80825).
    let html = std::fs::read_to_string(dir.join("index.html")).expect("index.html written");
    let summary = std::fs::read_to_string(dir.join("summary.json")).expect("summary.json");
    let count = |key: &str| -> u64 {
        let at = summary.find(&format!("\"{key}\":")).expect(key) + key.len() + 3;
        let digits: String = summary[at..]
            .chars()
            .skip_while(|c| c.is_whitespace())
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().expect(key)
    };
    let (completed, failed, in_flight) =
        (count("completed"), count("failed"), count("in_flight_end"));
    assert!(in_flight > 0, "the run should end with requests in flight");
    let expected = format!(
        "({failed} of {} finished requests failed; {in_flight} still in flight at the end)",
        completed + failed
    );
    assert!(html.contains(&expected), "the answer lacks {expected}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn monte_carlo_and_ladder_reports() {
    let dir = tmp("spof");
    simulate(&[
        "scenarios/spof_study.toml",
        "--runs",
        "100",
        "--out",
        dir.to_str().unwrap(),
    ]);
    check_links(&dir);
    let comps = svg(&dir, "availability_components.svg");
    for c in ["lb-1", "web-01", "db-primary", "db.link"] {
        assert!(comps.contains(c), "components chart lacks {c}");
    }
    svg(&dir, "availability_outages.svg");
    let ladder = tmp("ladder");
    let mut args = vec!["ladder", "--runs", "50", "--out", ladder.to_str().unwrap()];
    let mut files: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/ladder"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
    files.sort();
    assert!(files.len() >= 5, "the ladder has {} steps", files.len());
    args.extend(files.iter().map(String::as_str));
    let out = Command::new(env!("CARGO_BIN_EXE_simulate"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check_links(&ladder);
    let chart = svg(&ladder, "availability_ladder.svg");
    for step in ["ladder_1_one_server", "ladder_6_monitoring"] {
        assert!(chart.contains(step), "ladder chart lacks {step}");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&ladder);
}

/// Moved here from `tests/memory.rs`, whose peak-RSS measure must have its binary to itself.
#[test]
fn the_streamed_timeline_is_the_kept_one() {
    // The CLI streams rows into timeline.csv; `Stack::run` keeps them: same bytes, same charts.
    use infrasim::model::Stack;
    use infrasim::model::timeline::NoRows;
    use infrasim::report::csv_tables;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/primary_down.toml");
    let dir = tmp("stream");
    simulate(&[path.to_str().unwrap(), "--out", dir.to_str().unwrap()]);
    let streamed = std::fs::read(dir.join("timeline.csv")).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = infrasim::scenario::load(&path, &[]).unwrap().config;
    let kept = Stack::run(&cfg, 0);
    assert!(kept.timeline.len() > 100);
    assert_eq!(streamed, csv_tables::timeline(&kept).unwrap());
    let dropped = Stack::run_with(&cfg, 0, &mut NoRows);
    assert!(dropped.timeline.is_empty());
    assert_eq!(
        format!("{:?}", dropped.timeline_chart),
        format!("{:?}", kept.timeline_chart)
    );
    assert_eq!(dropped.events, kept.events);
}
