//! Overloaded stacks whose queues nothing bounds: the run stops when its requests in flight
//! reach the model's bound (`model::stack::MAX_IN_FLIGHT`) and the command exits 2 with a
//! message naming the scenario, the rate against the capacity and the keys left unbounded,
//! instead of growing until an allocation fails (an audit: 2.2 GB and an abort, exit 134).
//!
//! One test runs the commands one after another: the peak resident set is read from
//! `getrusage(RUSAGE_CHILDREN)`, the highest of every child waited for so far (as in
//! `tests/memory.rs`), so the children must not overlap.

#[path = "common/rss.rs"]
mod rss;
use rss::children_peak_kb;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

#[path = "common/cpu.rs"]
mod cpu;

const BIN: &str = env!("CARGO_BIN_EXE_simulate");

/// A run at the bound holds about 1.1 GB (8.4 million requests of 128 bytes, and their
/// queue entries); without the bound these commands grew past 4 GB and aborted.
const MAX_PEAK_KB: i64 = 2_000_000;
/// Each command reaches the bound in a few seconds of CPU in release (measured: 3.7 s for the
/// largest, of which 2.7 s of the kernel's zeroing 1.4 GB). A bound on CPU time, not wall
/// time: on a busy machine, or one short of free memory, the wall time measures the machine.
const MAX_CPU_SECS: u64 = 90;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
}

/// Runs `simulate` and returns its stderr after checking that it exited 2 in bounded time
/// and memory.
fn overloaded(args: &[&str]) -> String {
    let mut cmd = Command::new(BIN);
    cmd.args(args).current_dir(env!("CARGO_MANIFEST_DIR"));
    // The wall-clock limit only stops a hang; `cpu::run` reaps the child with `wait4`, so its
    // peak counts in `children_peak_kb` as with `output()`.
    let t = cpu::run(&mut cmd, Duration::from_secs(900));
    let (out, took) = (t.output, t.cpu);
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        took < Duration::from_secs(MAX_CPU_SECS),
        "{args:?} took {took:?} of CPU"
    );
    let peak = children_peak_kb();
    assert!(peak < MAX_PEAK_KB, "{args:?}: peak {peak} KB");
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{err}"
    );
    assert!(
        err.contains("overloaded") && err.contains("requests in flight"),
        "{err}"
    );
    eprintln!(
        "{args:?}: {took:.1?} of CPU ({:.1?} wall), peak so far {} MB",
        t.wall,
        peak / 1024
    );
    err
}

/// [`overloaded`] on `mm1.toml` with HAProxy serving one request at a time and queueing the
/// rest without a limit or a timeout, for 10 minutes, and `more` arguments.
/// A 200-run Monte Carlo study of shipped scenario `name` at a million requests per second,
/// with `more` arguments: its request-level runs reach the bound on requests in flight.
fn study_at_a_million(name: &str, more: &[&str]) -> String {
    let path = scenario(name);
    let mut args = vec![
        path.to_str().unwrap(),
        "--set",
        "workload.rate=1000000",
        "--runs",
        "200",
        // One request-level run at a time: two threads each hold one at the bound (2.2 GB).
        "--threads",
        "1",
        "--output",
        "none",
        "--quiet",
    ];
    args.extend(more);
    overloaded(&args)
}

fn unbounded_mm1(more: &[&str]) -> String {
    let mm1 = scenario("mm1.toml");
    let mut args = vec![
        mm1.to_str().unwrap(),
        "--set",
        "servers[0].maxconn=1",
        "--set",
        "duration=10min",
    ];
    args.extend(more);
    overloaded(&args)
}

#[test]
fn unbounded_queues_stop_at_the_bound_with_exit_2() {
    let err = unbounded_mm1(&[
        "--set",
        "workload.rate=1000000",
        "--output",
        "none",
        "--quiet",
    ]);
    for key in [
        "mm1.toml",
        "lb.maxconn = 0",
        "servers[0].maxqueue = 0",
        "lb.timeout_queue",
        "workload.client_timeout",
        "workload.rate",
    ] {
        assert!(err.contains(key), "{key} missing: {err}");
    }
    // The scenario bounds its queues (a frontend maxconn of 4096): with it set to 0,
    // HAProxy's queues grow without end.
    let distributed = scenario("distributed.toml");
    let err = overloaded(&[
        distributed.to_str().unwrap(),
        "--set",
        "workload.rate=1000000",
        "--set",
        "lb.maxconn=0",
        "--output",
        "none",
        "--quiet",
    ]);
    assert!(
        err.contains("distributed.toml") && err.contains("lb.maxconn = 0"),
        "{err}"
    );

    // A results folder is not swapped in for a run cut short, and earlier results stay.
    let out = std::env::temp_dir().join(format!("infrasim-overload-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&out);
    let err = unbounded_mm1(&[
        "--set",
        "workload.rate=1000000",
        "--output",
        "all",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(err.contains("servers[0].maxqueue"), "{err}");
    assert!(!out.exists(), "{} was written", out.display());
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(&format!("infrasim-overload-{}", std::process::id())))
        .collect();
    assert!(left.is_empty(), "staging left behind: {left:?}");

    // A sweep: the point that overflows is named, the other ran.
    let err = unbounded_mm1(&[
        "--sweep",
        "workload.rate=50,1000000",
        "--replications",
        "1",
        // One run at a time: each thread's run reaches the bound before it sees another's.
        "--threads",
        "1",
        "--output",
        "none",
        "--quiet",
    ]);
    assert!(err.contains("(point workload.rate=1000000)"), "{err}");

    // The Monte Carlo study's request-level runs of degraded states.
    let err = study_at_a_million("spof_study.toml", &[]);
    assert!(
        err.contains("spof_study.toml") && err.contains("Monte Carlo state run"),
        "{err}"
    );

    // A semi-sync stall's request-level run (`overload = "none"`: no state is run) is named as
    // what it is, not as a state run described without its semi-sync and its lost replica.
    let err = study_at_a_million(
        "ladder/5_db_failover.toml",
        &["--set", "montecarlo.overload=none"],
    );
    assert!(
        err.contains("5_db_failover.toml")
            && err.contains("Monte Carlo semi-sync stall run (1 replica(s) lost, with semi-sync)")
            && !err.contains("state run"),
        "{err}"
    );
}
