//! The CPU time a child process used, for the tests that bound how much work a command does.
//! Included by `#[path]` (`mod cpu;`), not through `common/mod.rs`.
//!
//! Wall time measures the machine as much as the command: CI runs on a shared two-core machine
//! that other builds keep busy, and the tests of one binary run side by side, so a command that
//! needs 0.1 s of CPU can take seconds of wall time there. The CPU time the kernel charges to the
//! child (user + system, all its threads, from `wait4`) is the work it did, whatever else runs.
//! A bound on it still catches what the wall-clock bounds were written for: a refusal that
//! comes after the work, a run that grew with its input.

// Each test binary that includes this file uses part of it.
#![allow(dead_code)]

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// What [`run`] saw: the child's output and status, its CPU time and the wall time it took.
pub struct Timed {
    pub output: Output,
    pub cpu: Duration,
    pub wall: Duration,
}

/// Runs `cmd` with stdin empty and stdout and stderr captured (as `Command::output` does) and
/// waits for it; kills it and panics if it is still running after `runaway` of wall time (a
/// guard against a hang, not a measure: make it generous).
pub fn run(cmd: &mut Command, runaway: Duration) -> Timed {
    try_run(cmd, runaway)
        .unwrap_or_else(|| panic!("{cmd:?} still running after {runaway:?} (killed)"))
}

/// [`run`], returning `None` instead of panicking when the command had to be killed.
// The child is reaped by `wait4` (for its rusage), which clippy does not see as a `wait`.
#[allow(clippy::zombie_processes)]
pub fn try_run(cmd: &mut Command, runaway: Duration) -> Option<Timed> {
    let t0 = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the command starts");
    let pid = child.id() as libc::pid_t;
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut v = vec![];
            let _ = r.read_to_end(&mut v);
            v
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero `rusage` is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not yet reaped; both pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        assert!(r >= 0, "wait4: {}", std::io::Error::last_os_error());
        if r == pid {
            break;
        }
        if t0.elapsed() > runaway {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let wall = t0.elapsed();
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Some(Timed {
        output: Output {
            status: ExitStatus::from_raw(status),
            stdout: out.join().unwrap(),
            stderr: err.join().unwrap(),
        },
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
        wall,
    })
}
